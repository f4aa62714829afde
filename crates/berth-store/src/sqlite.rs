//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::{Store, StoreError, Tx};

/// Schema migrations, applied in order; the database's `user_version` counts those applied.
/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: one ordered key-value table per logical table name.
    "CREATE TABLE kv (
        tbl TEXT NOT NULL,
        k   TEXT NOT NULL,
        v   BLOB NOT NULL,
        PRIMARY KEY (tbl, k)
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How many read-only connections a file-backed store keeps besides its writer: one per async
/// worker answering reads inline (tokio starts one per CPU) plus one for a blocking thread, at
/// least 3 and at most 16 (with all taken, a read waits for one). 3 on a 2-CPU machine.
fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() + 1)
        .unwrap_or(3)
        .clamp(3, 16)
}
/// Each reader's page cache, in KiB (SQLite's default is 2,000 KiB per connection; the
/// readers share the OS page cache anyway, and resident memory is a target).
const READER_CACHE_KIB: i64 = 1024;

/// A [`Store`] in one SQLite database file.
///
/// Several processes may open the same file (the server and `berth account create`): SQLite's
/// locking serialises their writes and `busy_timeout` makes a writer wait rather than fail.
///
/// Within the process, writes go through the one writer connection (behind a mutex, so they
/// are serialised here rather than in SQLite's busy loop); read transactions go to a small pool
/// of read-only connections, which in WAL mode read a consistent snapshot of the last commit
/// without waiting for the writer (a reader never waits behind a writer's fsync). An in-memory
/// store has no pool: another connection would be another database.
///
/// A read scope ([`Store::read_scope`]) takes one reader connection out of the pool for the
/// scope's thread and opens one read transaction on it; every `read_tx` of that thread on this
/// store inside the scope runs in that transaction (found through a thread-local keyed by the
/// store's id), so a request's reads cost one snapshot (two WAL lock calls) instead of one
/// each. The scope ends (transaction closed, connection back in the pool) when its closure
/// returns or unwinds; nothing is kept across scopes, so the next request sees every commit,
/// this process's or another's.
///
/// Writes of a file-backed store are group-committed: see [`Writer`].
pub struct SqliteStore {
    id: u64,
    writer: Mutex<Writer>,
    /// Threads in `write_tx` waiting for the writer's lock: while there are any, a write
    /// leaves its batch open for them instead of committing it.
    writers_waiting: AtomicUsize,
    /// Batches committed (or failed to commit); for tests.
    commits: AtomicU64,
    /// Idle reader connections; a read takes one out and puts it back.
    readers: Mutex<Vec<Connection>>,
    reader_count: usize,
    reader_returned: Condvar,
}

/// The most writes one commit (one fsync) takes: a bound on how long the first of them waits.
const MAX_BATCH: usize = 32;

/// The writer connection and the group commit open on it.
///
/// Group commit: a write takes the writer's lock; if no batch is open it begins one
/// (`BEGIN IMMEDIATE`); it runs its closure inside its own `SAVEPOINT` (released when the
/// closure returns `Ok`, rolled back to when it fails or panics: a failing write leaves no trace
/// and does not touch the batch's other writes). Then, if other writes are waiting for the
/// lock and the batch has fewer than [`MAX_BATCH`] writes, it leaves the batch open, lets go of
/// the lock and waits for the batch's outcome; otherwise it commits the batch (one `COMMIT`,
/// one fsync under `synchronous=FULL`) and hands the outcome to every write in it. No write
/// returns `Ok` before the commit of its batch has returned; if the commit fails, every write of
/// the batch gets the error and none of them is stored. The last write of a batch always sees
/// no one waiting (or the cap), so every batch is committed by one of its own writes.
struct Writer {
    conn: Connection,
    batch: Option<Arc<Batch>>,
    batch_len: usize,
}

/// One group commit's outcome, awaited by the writes in it that did not commit it.
#[derive(Default)]
struct Batch {
    outcome: Mutex<Option<Result<(), String>>>,
    decided: Condvar,
}

impl Batch {
    fn decide(&self, outcome: Result<(), String>) {
        *lock_any(&self.outcome) = Some(outcome);
        self.decided.notify_all();
    }

    fn wait(&self) -> Result<(), StoreError> {
        let mut o = lock_any(&self.outcome);
        loop {
            if let Some(r) = o.as_ref() {
                return r.clone().map_err(StoreError::Commit);
            }
            o = self.decided.wait(o).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Distinguishes stores within the process (tests open several on one thread).
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The read scope open on this thread, if any: the store it belongs to and its reader
/// connection, inside an open read transaction.
struct Scope {
    store_id: u64,
    conn: Connection,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let store = Self::init(Connection::open(path)?)?;
        let count = reader_count();
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
            readers.push(conn);
        }
        Ok(SqliteStore {
            readers: Mutex::new(readers),
            reader_count: count,
            ..store
        })
    }

    /// A private in-memory database, for tests of the domain crates.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            writer: Mutex::new(Writer {
                conn,
                batch: None,
                batch_len: 0,
            }),
            writers_waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            readers: Mutex::new(Vec::new()),
            reader_count: 0,
            reader_returned: Condvar::new(),
        })
    }

    /// The schema version the open database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let w = lock_any(&self.writer);
        Ok(w.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Takes an idle reader connection out of the pool, waiting for one when all are taken.
    /// `None` for an in-memory store (it reads on the writer).
    fn take_reader(&self) -> Option<Connection> {
        if self.reader_count == 0 {
            return None;
        }
        let mut idle = lock_any(&self.readers);
        loop {
            if let Some(conn) = idle.pop() {
                drop(idle);
                if !conn.is_autocommit() {
                    // Only if a ROLLBACK failed earlier: end the stale transaction before use.
                    let _ = conn.execute_batch("ROLLBACK");
                }
                return Some(conn);
            }
            idle = self
                .reader_returned
                .wait(idle)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    fn return_reader(&self, conn: Connection) {
        lock_any(&self.readers).push(conn);
        self.reader_returned.notify_one();
    }

    /// Ends this thread's read scope on this store, if one is open and not in use by a read
    /// running right now (a write inside a read closure keeps it).
    fn end_scope(&self) {
        let taken = SCOPE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) if s.as_ref().is_some_and(|s| s.store_id == self.id) => s.take(),
            _ => None,
        });
        if let Some(scope) = taken {
            let _ = scope
                .conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute([]));
            self.return_reader(scope.conn);
        }
    }

    /// Runs `f` in this thread's open read scope on this store; `None` when there is none.
    fn in_scope(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Option<Result<(), StoreError>> {
        SCOPE.with(|cell| {
            // A shared borrow: a read nested inside `f` borrows again, which is fine.
            let scope = cell.try_borrow().ok()?;
            match scope.as_ref() {
                Some(s) if s.store_id == self.id => Some(f(&SqlTx(&s.conn))),
                _ => None,
            }
        })
    }
}

impl SqliteStore {
    /// One write as part of a group commit (see [`Writer`]).
    fn write_batched(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.writers_waiting.fetch_add(1, Ordering::SeqCst);
        let mut w = lock_any(&self.writer);
        self.writers_waiting.fetch_sub(1, Ordering::SeqCst);
        let batch = match &w.batch {
            Some(b) => b.clone(),
            None => {
                w.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
                let b = Arc::new(Batch::default());
                w.batch = Some(b.clone());
                w.batch_len = 0;
                b
            }
        };
        w.batch_len += 1;
        let mut member = Member {
            store: self,
            writer: Some(w),
            batch,
        };
        let own = member.run(f);
        member.finish(own)
    }
}

/// One write inside a batch, holding the writer's lock. Dropped without `finish` (its closure
/// panicked), it undoes its savepoint and still sees the batch committed for the others.
struct Member<'s> {
    store: &'s SqliteStore,
    writer: Option<MutexGuard<'s, Writer>>,
    batch: Arc<Batch>,
}

impl Member<'_> {
    /// Runs the closure in its own savepoint. `Err(Some(e))`: the write failed and left no
    /// trace; `Err(None)` is never returned — a failure that took the batch with it (the
    /// savepoint could not be undone, or SQLite rolled the transaction back) aborts the batch
    /// here and is reported as the write's error.
    fn run(
        &mut self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Some(w) = self.writer.as_ref() else {
            return Err(StoreError::Aborted);
        };
        w.conn
            .prepare_cached("SAVEPOINT berth_write")?
            .execute([])?;
        let r = f(&SqlTx(&w.conn));
        if w.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, disk full, …).
            self.abort("the transaction was rolled back by the database");
            return Err(r.err().unwrap_or(StoreError::Commit(
                "the transaction was rolled back by the database".into(),
            )));
        }
        let settled = match &r {
            Ok(()) => w
                .conn
                .prepare_cached("RELEASE berth_write")
                .and_then(|mut s| s.execute([]))
                .map(|_| ()),
            Err(_) => undo_savepoint(&w.conn),
        };
        if let Err(e) = settled {
            let msg = e.to_string();
            // The savepoint neither released nor undone: the batch cannot be trusted.
            if undo_savepoint(&w.conn).is_err() {
                self.abort(&msg);
                return Err(StoreError::Commit(msg));
            }
            return Err(e.into());
        }
        r
    }

    /// Rolls the whole batch back and fails every write in it.
    fn abort(&mut self, why: &str) {
        if let Some(mut w) = self.writer.take() {
            if !w.conn.is_autocommit() {
                let _ = w.conn.execute_batch("ROLLBACK");
            }
            w.batch = None;
            w.batch_len = 0;
            self.store.commits.fetch_add(1, Ordering::Relaxed);
            self.batch.decide(Err(why.to_string()));
        }
    }

    /// Commits the batch if this is its last write (no one waiting, or the cap), else waits
    /// for the write that commits it. Returns this write's outcome: its own error, or the
    /// batch's.
    fn finish(mut self, own: Result<(), StoreError>) -> Result<(), StoreError> {
        let Some(mut w) = self.writer.take() else {
            // The batch was aborted in `run`.
            return own;
        };
        let others_waiting = self.store.writers_waiting.load(Ordering::SeqCst) > 0;
        if others_waiting && w.batch_len < MAX_BATCH {
            drop(w);
            return match own {
                Ok(()) => self.batch.wait(),
                Err(e) => Err(e),
            };
        }
        let committed = commit(&w.conn);
        w.batch = None;
        w.batch_len = 0;
        self.store.commits.fetch_add(1, Ordering::Relaxed);
        drop(w);
        self.batch
            .decide(committed.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        own?;
        committed
    }
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        // Only reached with the lock still held when the closure panicked.
        let Some(w) = self.writer.as_ref() else {
            return;
        };
        if w.conn.is_autocommit() || undo_savepoint(&w.conn).is_err() {
            self.abort("a write panicked");
            return;
        }
        if self.store.writers_waiting.load(Ordering::SeqCst) > 0 {
            // The next write takes the batch over and commits it.
            self.writer = None;
            return;
        }
        if let Some(mut w) = self.writer.take() {
            let committed = commit(&w.conn);
            w.batch = None;
            w.batch_len = 0;
            self.store.commits.fetch_add(1, Ordering::Relaxed);
            drop(w);
            self.batch.decide(committed.map_err(|e| e.to_string()));
        }
    }
}

/// Undoes a write's savepoint (and ends it), leaving the batch's other writes as they were.
fn undo_savepoint(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.prepare_cached("ROLLBACK TO berth_write")?
        .execute([])?;
    conn.prepare_cached("RELEASE berth_write")?.execute([])?;
    Ok(())
}

/// Commits the open transaction; on failure rolls it back, so that the connection is clean.
fn commit(conn: &Connection) -> Result<(), StoreError> {
    match conn
        .prepare_cached("COMMIT")
        .and_then(|mut s| s.execute([]))
    {
        Ok(_) => Ok(()),
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e.into())
        }
    }
}

/// Ends this thread's read scope when dropped (also when unwinding): closes its transaction and
/// gives its connection back to the pool (a read transaction has nothing to commit; ROLLBACK
/// just ends it, and should it fail, the next user of the connection ends it: `take_reader`).
struct ScopeGuard<'s>(&'s SqliteStore);

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        self.0.end_scope();
    }
}

/// A panic while holding a lock cannot leave a transaction half-done (the guards in `run_tx`
/// and `write_batched` roll back when unwinding), so a poisoned lock is safe to reuse.
fn lock_any<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` in a transaction opened with `begin` on `conn`: committed when `f` returns `Ok`,
/// rolled back otherwise (and when `f` panics). The statements are prepared once per
/// connection.
fn run_tx(
    conn: &Connection,
    begin: &str,
    f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    struct Open<'c>(Option<&'c Connection>);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if let Some(conn) = self.0 {
                // Nothing to report to: the transaction's outcome is already an error.
                let _ = conn
                    .prepare_cached("ROLLBACK")
                    .and_then(|mut s| s.execute([]));
            }
        }
    }
    conn.prepare_cached(begin)?.execute([])?;
    let mut open = Open(Some(conn));
    f(&SqlTx(conn))?;
    conn.prepare_cached("COMMIT")?.execute([])?;
    open.0 = None;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

struct SqlTx<'a>(&'a Connection);

/// The smallest string greater than every string that starts with `prefix` (keys are ASCII).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{7f}")
}

impl Tx for SqlTx<'_> {
    fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT v FROM kv WHERE tbl = ?1 AND k = ?2")?;
        Ok(stmt
            .query_row(params![table, key], |r| r.get(0))
            .optional()?)
    }

    fn put(&self, table: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("INSERT INTO kv (tbl, k, v) VALUES (?1, ?2, ?3) ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v")?;
        stmt.execute(params![table, key, value])?;
        Ok(())
    }

    fn delete(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("DELETE FROM kv WHERE tbl = ?1 AND k = ?2")?;
        Ok(stmt.execute(params![table, key])? > 0)
    }

    fn scan(&self, table: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT k, v FROM kv WHERE tbl = ?1 AND k >= ?2 AND k < ?3 ORDER BY k",
        )?;
        let rows = stmt.query_map(params![table, prefix, prefix_end(prefix)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row?;
            if k.starts_with(prefix) {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    fn scan_range(
        &self,
        table: &str,
        prefix: &str,
        after: Option<&str>,
        descending: bool,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let end = prefix_end(prefix);
        // The bounds: [prefix, end) narrowed by the cursor, which is exclusive.
        let (lo, lo_op, hi, hi_op) = match (after, descending) {
            (Some(a), false) if a >= prefix => (a, ">", end.as_str(), "<"),
            (Some(a), true) if a < end.as_str() => (prefix, ">=", a, "<"),
            _ => (prefix, ">=", end.as_str(), "<"),
        };
        let sql = format!(
            "SELECT k, v FROM kv WHERE tbl = ?1 AND k {lo_op} ?2 AND k {hi_op} ?3 ORDER BY k {} LIMIT ?4",
            if descending { "DESC" } else { "ASC" }
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![table, lo, hi, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row?;
            if k.starts_with(prefix) {
                out.push((k, v));
            }
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn read_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Some(r) = self.in_scope(f) {
            return r;
        }
        match self.take_reader() {
            None => run_tx(&lock_any(&self.writer).conn, "BEGIN DEFERRED", f),
            Some(conn) => {
                let r = run_tx(&conn, "BEGIN DEFERRED", f);
                self.return_reader(conn);
                r
            }
        }
    }

    fn read_scope(&self, f: &mut dyn FnMut()) {
        let already = SCOPE.with(|cell| cell.try_borrow().map_or(true, |s| s.is_some()));
        if already {
            // Nested (or another store's scope is open on this thread): reads keep their own
            // transactions.
            return f();
        }
        let Some(conn) = self.take_reader() else {
            return f();
        };
        if conn
            .prepare_cached("BEGIN DEFERRED")
            .and_then(|mut s| s.execute([]))
            .is_err()
        {
            self.return_reader(conn);
            return f();
        }
        let refused = SCOPE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => {
                *s = Some(Scope {
                    store_id: self.id,
                    conn,
                });
                None
            }
            Err(_) => Some(conn),
        });
        if let Some(conn) = refused {
            let _ = conn.execute_batch("ROLLBACK");
            self.return_reader(conn);
            return f();
        }
        let _guard = ScopeGuard(self);
        f()
    }

    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A write ends this thread's read scope on this store first: the scope's reader is not
        // held while waiting for the writer or a batch, and the scope's later reads see the
        // write (they run in their own transactions from here on).
        self.end_scope();
        if self.reader_count == 0 {
            // In memory: reads share the writer connection, so no batch may stay open.
            return run_tx(&lock_any(&self.writer).conn, "BEGIN IMMEDIATE", f);
        }
        self.write_batched(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{StoreExt, get_json, put_json, scan_json};

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error("store: {0}")]
        Store(#[from] StoreError),
        #[error("domain said no")]
        No,
    }

    #[test]
    fn put_get_scan_delete() {
        let s = SqliteStore::in_memory().unwrap();
        s.write(|tx| -> Result<(), StoreError> {
            put_json(tx, "t", "a/1", &1u32)?;
            put_json(tx, "t", "a/2", &2u32)?;
            put_json(tx, "t", "b/1", &3u32)?;
            put_json(tx, "u", "a/9", &9u32)
        })
        .unwrap();
        let (one, scan): (Option<u32>, Vec<(String, u32)>) = s
            .read(|tx| -> Result<_, StoreError> {
                Ok((get_json(tx, "t", "a/1")?, scan_json(tx, "t", "a/")?))
            })
            .unwrap();
        assert_eq!(one, Some(1));
        assert_eq!(scan, vec![("a/1".to_string(), 1), ("a/2".to_string(), 2)]);
        let removed = s.write(|tx| tx.delete("t", "a/1")).unwrap();
        assert!(removed);
        let again = s.write(|tx| tx.delete("t", "a/1")).unwrap();
        assert!(!again);
    }

    #[test]
    fn scan_range_pages_both_ways() {
        let s = SqliteStore::in_memory().unwrap();
        s.write(|tx| -> Result<(), StoreError> {
            for i in 0..10u32 {
                put_json(tx, "t", &format!("p/{i:02}"), &i)?;
            }
            put_json(tx, "t", "o/1", &99u32)?;
            put_json(tx, "t", "q/1", &99u32)
        })
        .unwrap();
        let keys = |after: Option<&str>, desc: bool, limit: usize| -> Vec<String> {
            s.read(|tx| tx.scan_range("t", "p/", after, desc, limit))
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(keys(None, false, 3), ["p/00", "p/01", "p/02"]);
        assert_eq!(keys(Some("p/02"), false, 3), ["p/03", "p/04", "p/05"]);
        assert_eq!(keys(Some("p/08"), false, 3), ["p/09"]);
        assert!(keys(Some("p/09"), false, 3).is_empty());
        assert_eq!(keys(None, true, 2), ["p/09", "p/08"]);
        assert_eq!(keys(Some("p/08"), true, 2), ["p/07", "p/06"]);
        assert_eq!(keys(Some("p/01"), true, 5), ["p/00"]);
        // A cursor outside the prefix does not leak other keys.
        assert_eq!(keys(Some("a"), false, 2), ["p/00", "p/01"]);
        assert_eq!(keys(Some("z"), true, 1), ["p/09"]);
    }

    #[test]
    fn failed_closure_rolls_back() {
        let s = SqliteStore::in_memory().unwrap();
        let r: Result<(), TestError> = s.write(|tx| {
            put_json(tx, "t", "k", &"half")?;
            Err(TestError::No)
        });
        assert!(matches!(r, Err(TestError::No)));
        let v: Option<String> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(v, None, "a failed transaction must leave nothing behind");
    }

    #[test]
    fn reopen_keeps_data_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.write(|tx| put_json(tx, "t", "k", &"v")).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let v: Option<String> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        let mode: String = lock_any(&s.writer)
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = lock_any(&s.writer)
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
    }

    #[test]
    fn readers_see_every_commit_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("berth.db")).unwrap();
        assert_eq!(s.reader_count, reader_count());
        for i in 0..(2 * s.reader_count as u32) {
            s.write(|tx| put_json(tx, "t", "k", &i)).unwrap();
            // Each read may land on another reader connection: each sees the last commit.
            let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
            assert_eq!(v, Some(i));
        }
        // A write inside a read transaction is refused, not silently applied.
        assert!(s.read(|tx| tx.put("t", "k", b"1")).is_err());
        // A read that holds one reader does not stop another read or a write.
        s.read(|_| -> Result<(), StoreError> {
            let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k"))?;
            assert!(v.is_some());
            s.write(|tx| put_json(tx, "t", "k2", &1u32))
        })
        .unwrap();
    }

    #[test]
    fn a_panic_inside_a_transaction_rolls_it_back() {
        let s = SqliteStore::in_memory().unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = s.write(|tx| -> Result<(), StoreError> {
                put_json(tx, "t", "k", &1u32)?;
                panic!("boom")
            });
        }));
        assert!(r.is_err());
        let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(v, None);
        s.write(|tx| put_json(tx, "t", "k", &2u32)).unwrap();
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    /// Three concurrent writes in one group commit: the failing one leaves no trace and does
    /// not disturb the other two, and no write is acknowledged before the batch's commit.
    #[test]
    fn group_commit_isolates_a_failing_write_and_acknowledges_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
        // Another handle on the file: it sees only what is committed.
        let other = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
        let committed =
            |key: &str| -> bool { other.read(|tx| tx.get("t", key)).unwrap().is_some() };
        let commits_before = s.commits.load(Ordering::SeqCst);
        let inside = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            // A holds the writer until B and C are both waiting for it.
            let a = scope.spawn(|| {
                s.write(|tx| -> Result<(), StoreError> {
                    tx.put("t", "a", b"1")?;
                    inside.store(true, Ordering::SeqCst);
                    while s.writers_waiting.load(Ordering::SeqCst) < 2 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(())
                })
                .unwrap();
                // Acknowledged: so it must be committed, visible to another connection, even
                // though C (last of the batch, slow) had not finished when A's part was done.
                assert!(committed("a"), "acknowledged before its commit");
            });
            while !inside.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let b = scope.spawn(|| {
                let r: Result<(), TestError> = s.write(|tx| {
                    tx.put("t", "b", b"1")?;
                    tx.put("t", "a", b"clobbered")?;
                    Err(TestError::No)
                });
                assert!(matches!(r, Err(TestError::No)));
            });
            let c = scope.spawn(|| {
                s.write(|tx| -> Result<(), StoreError> {
                    std::thread::sleep(Duration::from_millis(150));
                    tx.put("t", "c", b"1")
                })
                .unwrap();
                assert!(committed("c"));
            });
            a.join().unwrap();
            b.join().unwrap();
            c.join().unwrap();
        });
        assert_eq!(
            s.commits.load(Ordering::SeqCst) - commits_before,
            1,
            "the three writes must share one commit"
        );
        assert!(committed("a") && committed("c"));
        assert!(!committed("b"), "the failed write must leave nothing");
        let a: Option<Vec<u8>> = other.read(|tx| tx.get("t", "a")).unwrap();
        assert_eq!(
            a.as_deref(),
            Some(&b"1"[..]),
            "the failed write undid only itself"
        );
        // The writer is usable afterwards, alone (commits at once) as before.
        s.write(|tx| tx.put("t", "d", b"1")).unwrap();
        assert!(committed("d"));
    }

    #[test]
    fn a_panicking_write_in_a_batch_leaves_the_others_committed() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(SqliteStore::open(&dir.path().join("berth.db")).unwrap());
        let inside = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = s.write(|tx| -> Result<(), StoreError> {
                        tx.put("t", "p", b"1")?;
                        inside.store(true, Ordering::SeqCst);
                        while s.writers_waiting.load(Ordering::SeqCst) < 1 {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        panic!("boom")
                    });
                }));
                assert!(r.is_err());
            });
            while !inside.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let b = scope.spawn(|| s.write(|tx| tx.put("t", "q", b"1")).unwrap());
            a.join().unwrap();
            b.join().unwrap();
        });
        let (p, q) = s
            .read(|tx| -> Result<_, StoreError> { Ok((tx.get("t", "p")?, tx.get("t", "q")?)) })
            .unwrap();
        assert!(p.is_none());
        assert!(q.is_some());
    }

    /// Inside a read scope every read of the thread shares one snapshot; the next scope sees
    /// commits made since (also by another handle on the file).
    #[test]
    fn a_read_scope_is_one_snapshot_and_the_next_sees_new_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = SqliteStore::open(&path).unwrap();
        let other = SqliteStore::open(&path).unwrap();
        other.write(|tx| tx.put("t", "k", b"1")).unwrap();
        let mut seen = Vec::new();
        s.read_scope(&mut || {
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            // Another handle's write does not end this scope: same snapshot.
            other.write(|tx| tx.put("t", "k", b"2")).unwrap();
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            // A nested read (another connection) and a nested scope still work.
            s.read(|_| s.read(|tx| tx.get("t", "k")).map(|_| ()))
                .unwrap();
            s.read_scope(&mut || {
                seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            });
        });
        let one = Some(b"1".to_vec());
        assert_eq!(seen, vec![one.clone(), one.clone(), one]);
        s.read_scope(&mut || {
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
        });
        assert_eq!(seen[3].as_deref(), Some(&b"2"[..]));
        // A write of this store inside the scope ends it: its reader goes back to the pool at
        // once and the reads after the write see it.
        s.read_scope(&mut || {
            assert_eq!(lock_any(&s.readers).len(), s.reader_count - 1);
            s.write(|tx| tx.put("t", "k", b"3")).unwrap();
            assert_eq!(lock_any(&s.readers).len(), s.reader_count);
            let v = s.read(|tx| tx.get("t", "k")).unwrap();
            assert_eq!(v.as_deref(), Some(&b"3"[..]));
        });
        // Every reader is back in the pool.
        assert_eq!(lock_any(&s.readers).len(), s.reader_count);
    }

    #[test]
    fn two_handles_on_one_file_see_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        a.write(|tx| put_json(tx, "accounts", "111122223333", &"x"))
            .unwrap();
        let v: Option<String> = b
            .read(|tx| get_json(tx, "accounts", "111122223333"))
            .unwrap();
        assert_eq!(v.as_deref(), Some("x"));
    }
}
