//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
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

/// How many read-only connections a file-backed store keeps besides its writer: enough for
/// the async workers answering reads inline plus a blocking thread or two (a reader that is
/// busy is skipped; with all busy, a read waits for one).
const READERS: usize = 3;
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
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut store = Self::init(Connection::open(path)?)?;
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
            store.readers.push(Mutex::new(conn));
        }
        Ok(store)
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
            writer: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The schema version the open database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = lock(&self.writer);
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// A reader connection: the first free one from a rotating start, else wait for one.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let Some(n) = std::num::NonZeroUsize::new(self.readers.len()) else {
            return lock(&self.writer);
        };
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n.get();
        for i in 0..n.get() {
            match self.readers[(start + i) % n.get()].try_lock() {
                Ok(g) => return g,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[start])
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a transaction open (the guard in `run_tx`
    // rolls it back when unwinding), so a poisoned lock is safe to reuse.
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
        run_tx(&self.reader(), "BEGIN DEFERRED", f)
    }

    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        run_tx(&lock(&self.writer), "BEGIN IMMEDIATE", f)
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
        let mode: String = lock(&s.writer)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = lock(&s.writer)
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
    }

    #[test]
    fn readers_see_every_commit_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("berth.db")).unwrap();
        assert_eq!(s.readers.len(), READERS);
        for i in 0..(2 * READERS as u32) {
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
