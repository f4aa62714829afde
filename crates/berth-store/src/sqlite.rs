//! The embedded default: one SQLite file in WAL mode, every acknowledged write fsynced.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::{Settle, Store, StoreError, Ticket, Tx};

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
/// **Group commit with the fsync off the writer.** A write takes the writer's lock only to run
/// its closure: it joins the open transaction (a *batch*; `BEGIN IMMEDIATE` if none is open)
/// inside its own `SAVEPOINT` (released when the closure returns `Ok`, rolled back to when it
/// fails or panics: a failing write leaves no trace and does not touch the batch's others),
/// and lets go. One committer thread per store takes the open batch, `COMMIT`s it (the WAL
/// frames written, `synchronous=NORMAL`: no fsync in the commit itself), lets go of the lock,
/// and then fsyncs the WAL file; only then is the batch *settled*, and only then is any write
/// in it acknowledged. While it fsyncs, new writes gather in the next batch. So a write costs
/// no thread hand-off and never waits for the disk while holding the writer; one fsync covers
/// every write that arrived during the previous one. SQLite's automatic checkpoint runs inside
/// the committer's COMMIT, as it would in any commit (it syncs what it copies).
///
/// Because a commit is visible before its fsync returns, readers could see a write that is not
/// yet on disk. So nothing leaves the store unsettled: outside a [`Store::request_scope`] a
/// write returns after its batch settled, and a read that may have seen an unsettled commit
/// waits for it; inside a scope both are deferred to the scope's [`Ticket`], which the API
/// awaits (without blocking a thread) before it answers.
///
/// A request scope with a snapshot takes one reader connection out of the pool for the
/// thread and opens one read transaction on it; every `read_tx` of that thread on this store
/// inside the scope runs in that transaction (found through a thread-local keyed by the
/// store's id), so a request's reads cost one snapshot (two WAL lock calls) instead of one
/// each. The snapshot ends (transaction closed, connection back in the pool) when the scope's
/// closure returns or unwinds, or at the scope's first write; nothing is kept across scopes,
/// so the next request sees every commit, this process's or another's.
pub struct SqliteStore {
    id: u64,
    core: Arc<Core>,
    /// Idle reader connections; a read takes one out and puts it back.
    readers: Mutex<Vec<Connection>>,
    reader_count: usize,
    reader_returned: Condvar,
    committer: Option<std::thread::JoinHandle<()>>,
}

/// What the writers and the committer share.
struct Core {
    writer: Mutex<Writer>,
    /// Wakes the committer: a batch was opened or aborted, or the store is closing.
    work: Condvar,
    /// The newest batch whose `COMMIT` has begun: a read snapshot taken after this was loaded
    /// may contain it, none taken before can contain a later one.
    committing: AtomicU64,
    /// The newest settled batch (every batch up to it is on disk or failed); mirrors
    /// `settled.settled_upto` for a check without the lock.
    settled_upto: AtomicU64,
    settled: Mutex<Settled>,
    /// Wakes threads waiting for a batch to settle.
    settled_changed: Condvar,
    /// Threads blocked on `settled_changed` (counted under `settled`'s lock), so that a
    /// settle with none skips the wake-up's syscall; requests wait asynchronously instead.
    blocked: AtomicUsize,
    /// Set once any batch failed or an fsync did: from then on a settled ticket's outcome is
    /// looked up under the lock; until then it is `Ok` without it.
    troubled: AtomicBool,
    /// The same for async waiters: its value is `settled_upto`.
    settled_rx: tokio::sync::watch::Receiver<u64>,
    /// Batches committed (or failed to commit); for tests.
    commits: AtomicU64,
    /// The newest batch whose WAL fsync returned `Ok` (set right after the `fdatasync`, before
    /// the batch settles); for tests.
    wal_synced: AtomicU64,
    /// Requests inside a [`Store::request_scope`] right now: those that may still join the
    /// open batch. The committer gathers only while there are any.
    in_flight: AtomicUsize,
    /// Set while the committer gathers, so that the last request leaving its scope wakes it.
    gathering: AtomicBool,
}

/// The writer connection and the batch open on it.
struct Writer {
    conn: Connection,
    /// The open batch's id (a write transaction begun and not yet committed).
    open: Option<u64>,
    /// How many writes the open batch has.
    open_len: usize,
    /// The id the next batch gets (ids start at 1 and only grow).
    next: u64,
    /// Batches that had to be rolled back whole before the committer took them (see
    /// [`abort_batch`]); the committer settles them as failed.
    aborted: Vec<u64>,
    /// Set when the store is dropped: the committer commits what is open and stops.
    closing: bool,
    /// While the committer gathers (see [`GATHER`]): the batch size it waits for; the write
    /// that brings the batch to it wakes the committer. 0 otherwise.
    gather_until: usize,
}

/// The settled batches' outcomes.
#[derive(Default)]
struct Settled {
    settled_upto: u64,
    /// Batches that were not stored (their `COMMIT` failed, or they were rolled back whole),
    /// newest last, the last [`FAILED_KEPT`]; their writes get the message.
    failed: VecDeque<(u64, String)>,
    /// The first batch whose fsync failed, and why: from it on nothing can be promised (the
    /// kernel may have dropped the pages), so every later ticket fails too.
    poisoned: Option<(u64, String)>,
    /// The committer stopped (the store closed, or it panicked): waiting is pointless.
    gone: bool,
}

/// How many failed batches are remembered for their writes' tickets.
const FAILED_KEPT: usize = 1024;

/// The most writes one batch takes before a write waits for the committer to take it: a bound
/// on how much one failed commit can take with it, and on the first write's wait.
const MAX_BATCH: usize = 256;

/// The longest the committer waits for a batch to fill before committing it (PostgreSQL's
/// `commit_delay`, adaptive): only when the previous batch had several writes, this one has
/// fewer so far and requests that may join it are in progress (`commit_siblings`), and only
/// until it has as many or none is left. Under load, bigger batches mean fewer fsyncs and
/// WAL pages per write (measured: RegisterTaskDefinition at 16 connections, 120 → 85 µs of CPU
/// per request with 300 µs); a lone writer never waits, as its previous batch had one write.
const GATHER: Duration = Duration::from_micros(250);

/// Distinguishes stores within the process (tests open several on one thread).
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The read snapshot open on this thread, if any: the store it belongs to and its reader
/// connection, inside an open read transaction.
struct Scope {
    store_id: u64,
    conn: Connection,
}

/// The request scope open on this thread, if any: the store and what its answer waits for.
#[derive(Clone, Copy)]
struct Deferral {
    store_id: u64,
    ticket: Ticket,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
    static DEFERRAL: Cell<Option<Deferral>> = const { Cell::new(None) };
    /// Set while this thread runs a write closure (and so holds a writer's lock): a read
    /// nested in it must neither go to the writer nor wait for the committer.
    static IN_WRITE: Cell<bool> = const { Cell::new(false) };
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// The database file is created with mode 0600, and an existing one, its WAL (`-wal`) and
    /// shared-memory index (`-shm`) are set to 0600 before SQLite opens them; SQLite creates
    /// the WAL and the index with the database file's mode.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        restrict_files(path)?;
        let conn = Connection::open(path)?;
        let (mut store, settled_tx) = Self::init(conn, true)?;
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
        store.readers = Mutex::new(readers);
        store.reader_count = count;
        let core = store.core.clone();
        let committer = Committer::new(core, path, settled_tx);
        store.committer = Some(
            std::thread::Builder::new()
                .name("berth-commit".into())
                .spawn(move || committer.run())
                .map_err(|e| StoreError::Commit(format!("cannot start the committer: {e}")))?,
        );
        Ok(store)
    }

    /// A private in-memory database, for tests of the domain crates. Its writes commit at once
    /// (there is no disk to wait for).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Ok(Self::init(Connection::open_in_memory()?, false)?.0)
    }

    fn init(
        mut conn: Connection,
        file: bool,
    ) -> Result<(SqliteStore, tokio::sync::watch::Sender<u64>), StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        migrate(&mut conn)?;
        if file {
            // From here on the committer fsyncs the WAL after each commit itself, off the
            // writer's lock (see [`SqliteStore`]). SQLite's automatic checkpoint stays: it runs
            // inside the committer's COMMIT (syncing the WAL, then the database file, first),
            // so that the next write transaction can start the WAL over.
            conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        }
        let (settled_tx, settled_rx) = tokio::sync::watch::channel(0);
        let store = SqliteStore {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            core: Arc::new(Core {
                writer: Mutex::new(Writer {
                    conn,
                    open: None,
                    open_len: 0,
                    next: 1,
                    aborted: Vec::new(),
                    closing: false,
                    gather_until: 0,
                }),
                work: Condvar::new(),
                committing: AtomicU64::new(0),
                settled_upto: AtomicU64::new(0),
                settled: Mutex::new(Settled::default()),
                settled_changed: Condvar::new(),
                blocked: AtomicUsize::new(0),
                troubled: AtomicBool::new(false),
                settled_rx,
                commits: AtomicU64::new(0),
                wal_synced: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                gathering: AtomicBool::new(false),
            }),
            readers: Mutex::new(Vec::new()),
            reader_count: 0,
            reader_returned: Condvar::new(),
            committer: None,
        };
        Ok((store, settled_tx))
    }

    /// Whether the store holds any record besides its own ([`crate::META_TABLE`]): `false`
    /// for a new database.
    pub fn holds_data(&self) -> Result<bool, StoreError> {
        let w = lock_any(&self.core.writer);
        Ok(w.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM kv WHERE tbl <> ?1)",
            params![crate::META_TABLE],
            |r| r.get(0),
        )?)
    }

    /// Every table name in the database, in order (for copying the store whole).
    pub fn tables(&self) -> Result<Vec<String>, StoreError> {
        let w = lock_any(&self.core.writer);
        let mut stmt = w.conn.prepare("SELECT DISTINCT tbl FROM kv ORDER BY tbl")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(names.collect::<Result<Vec<_>, _>>()?)
    }

    /// The schema version the open database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let w = lock_any(&self.core.writer);
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

    /// Ends this thread's read snapshot on this store, if one is open and not in use by a read
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

    /// Runs `f` in this thread's open read snapshot on this store; `None` when there is none.
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

    /// Opens a read snapshot for this thread on this store (see [`SqliteStore`]); false when
    /// one is open already or none could be.
    fn open_snapshot(&self) -> bool {
        let already = SCOPE.with(|cell| cell.try_borrow().map_or(true, |s| s.is_some()));
        if already {
            return false;
        }
        let Some(conn) = self.take_reader() else {
            return false;
        };
        if conn
            .prepare_cached("BEGIN DEFERRED")
            .and_then(|mut s| s.execute([]))
            .is_err()
        {
            self.return_reader(conn);
            return false;
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
            return false;
        }
        true
    }

    /// This thread's request scope on this store, if one is open.
    fn deferral(&self) -> Option<Deferral> {
        DEFERRAL
            .get()
            .filter(|d| d.store_id == self.id && self.committer.is_some())
    }

    fn set_ticket(&self, ticket: Ticket) {
        DEFERRAL.set(Some(Deferral {
            store_id: self.id,
            ticket,
        }));
    }

    /// After a read: a read snapshot may contain every commit begun before now. Inside a
    /// request scope that goes on the ticket; outside one the read waits until it is on disk.
    fn after_read(&self) {
        if self.committer.is_none() {
            return;
        }
        let seen = self.core.committing.load(Ordering::SeqCst);
        if let Some(d) = self.deferral() {
            let mut t = d.ticket;
            t.seen = t.seen.max(seen);
            self.set_ticket(t);
        } else if seen > self.core.settled_upto.load(Ordering::SeqCst) && !IN_WRITE.get() {
            // The read's own outcome stands; what it saw is on disk or (an fsync failed) the
            // store is poisoned, which the next write reports.
            let _ = self.core.wait_settled(seen);
        }
    }

    /// Reads after a write of this thread's request scope: on the writer connection, so that
    /// they see the write (inside the open batch, or the committed state), in a savepoint
    /// rolled back afterwards (a read leaves nothing, even if `f` tried to write). A read
    /// inside an open batch may see that batch's other writes, so the request now depends on
    /// that batch as on its own writes.
    fn read_on_writer(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let w = lock_any(&self.core.writer);
        let Some(batch) = w.open else {
            return run_tx(&w.conn, "BEGIN DEFERRED", f);
        };
        if let Some(d) = self.deferral() {
            let mut t = d.ticket;
            t.last_write = t.last_write.max(batch);
            self.set_ticket(t);
        }
        w.conn.prepare_cached("SAVEPOINT berth_read")?.execute([])?;
        let r = f(&SqlTx(&w.conn));
        if !w.conn.is_autocommit() {
            w.conn
                .prepare_cached("ROLLBACK TO berth_read")?
                .execute([])?;
            w.conn.prepare_cached("RELEASE berth_read")?.execute([])?;
        }
        r
    }

    /// One write, joining the open batch (see [`SqliteStore`]); returns the batch's id with the
    /// write's own outcome. Does not wait for the batch to commit.
    fn write_in_batch(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut w = lock_any(&self.core.writer);
        while w.open_len >= MAX_BATCH {
            // Rare: the committer is behind by a whole batch. Let it take this one.
            drop(w);
            std::thread::yield_now();
            w = lock_any(&self.core.writer);
        }
        let id = match w.open {
            Some(id) => id,
            None => {
                w.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
                let id = w.next;
                w.next += 1;
                w.open = Some(id);
                w.open_len = 0;
                self.core.work.notify_one();
                id
            }
        };
        if w.conn.is_autocommit() {
            // The open batch's transaction is gone (the database rolled it back): fail it and
            // start another, rather than let a savepoint begin a transaction of its own.
            abort_batch(&self.core, &mut w, id);
            drop(w);
            return self.write_in_batch(f);
        }
        w.open_len += 1;
        if w.gather_until != 0 && w.open_len >= w.gather_until {
            self.core.work.notify_one();
        }
        let mut member = Member {
            core: &self.core,
            writer: Some(w),
            batch: id,
        };
        let r = member.run(f);
        // Done with the lock (a panic in `run` leaves it to `Member`'s drop instead).
        member.writer = None;
        r.map(|()| id)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(handle) = self.committer.take() {
            lock_any(&self.core.writer).closing = true;
            self.core.work.notify_all();
            let _ = handle.join();
        }
    }
}

impl Core {
    /// Blocks until every batch up to `upto` is settled; the store's poison if it is
    /// poisoned at or before `upto`.
    fn wait_settled(&self, upto: u64) -> Result<(), StoreError> {
        let mut s = lock_any(&self.settled);
        while s.settled_upto < upto && !s.gone {
            self.blocked.fetch_add(1, Ordering::SeqCst);
            s = self
                .settled_changed
                .wait(s)
                .unwrap_or_else(|p| p.into_inner());
            self.blocked.fetch_sub(1, Ordering::SeqCst);
        }
        s.outcome(Ticket {
            seen: upto,
            first_write: 0,
            last_write: 0,
        })
    }

    /// Records that every batch up to `upto` is settled (with `failed`, if it failed) and
    /// wakes whoever waits.
    fn settle(
        &self,
        upto: u64,
        failed: Option<(u64, String)>,
        sender: &tokio::sync::watch::Sender<u64>,
    ) {
        {
            let mut s = lock_any(&self.settled);
            if let Some(f) = failed {
                self.troubled.store(true, Ordering::SeqCst);
                if s.failed.len() == FAILED_KEPT {
                    s.failed.pop_front();
                }
                s.failed.push_back(f);
            }
            s.settled_upto = s.settled_upto.max(upto);
            self.settled_upto.store(s.settled_upto, Ordering::SeqCst);
        }
        // (a waiter counts itself under the lock before it checks, so none is missed)
        if self.blocked.load(Ordering::SeqCst) > 0 {
            self.settled_changed.notify_all();
        }
        sender.send_replace(self.settled_upto.load(Ordering::SeqCst));
    }
}

impl Settled {
    /// The outcome of a settled ticket.
    fn outcome(&self, t: Ticket) -> Result<(), StoreError> {
        if let Some((at, why)) = &self.poisoned
            && *at <= t.upto()
        {
            return Err(StoreError::Commit(format!(
                "the database file could not be synced: {why}"
            )));
        }
        if self.settled_upto < t.upto() {
            return Err(StoreError::Commit("the store was closed".into()));
        }
        if t.first_write != 0
            && let Some((_, why)) = self
                .failed
                .iter()
                .find(|(id, _)| (t.first_write..=t.last_write).contains(id))
        {
            return Err(StoreError::Commit(why.clone()));
        }
        Ok(())
    }
}

/// Makes the database file at `path` (created empty if missing) and SQLite's files beside it
/// that exist readable and writable by their owner only.
fn restrict_files(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |path: &Path| {
        let path = path.display().to_string();
        move |source| StoreError::File { path, source }
    };
    // An empty file is an empty SQLite database: SQLite writes its header on the first write.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(failed(path))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(&file)(e)),
        }
    }
    Ok(())
}

/// The thread that commits batches and fsyncs the WAL (see [`SqliteStore`]).
struct Committer {
    core: Arc<Core>,
    db_path: std::path::PathBuf,
    wal_path: std::path::PathBuf,
    sender: tokio::sync::watch::Sender<u64>,
}

/// Marks the committer gone when its thread ends, however it ends, so that no one waits for it
/// forever.
struct Gone<'c>(&'c Core);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        lock_any(&self.0.settled).gone = true;
        self.0.settled_changed.notify_all();
    }
}

impl Committer {
    fn new(core: Arc<Core>, db_path: &Path, sender: tokio::sync::watch::Sender<u64>) -> Self {
        let mut wal = db_path.as_os_str().to_owned();
        wal.push("-wal");
        Committer {
            core,
            db_path: db_path.to_path_buf(),
            wal_path: wal.into(),
            sender,
        }
    }

    fn run(self) {
        let _gone = Gone(&self.core);
        let mut wal: Option<std::fs::File> = None;
        // How many writes the last batch had.
        let mut last_len = 0;
        loop {
            let mut w = lock_any(&self.core.writer);
            while w.open.is_none() && w.aborted.is_empty() && !w.closing {
                w = self.core.work.wait(w).unwrap_or_else(|p| p.into_inner());
            }
            let busy = || self.core.in_flight.load(Ordering::SeqCst) > 0;
            if last_len > 1 && w.open.is_some() && w.open_len < last_len && !w.closing && busy() {
                // Gather: let the batch fill up to the last one's size, for at most GATHER, while
                // requests that may join it are in progress.
                w.gather_until = last_len;
                self.core.gathering.store(true, Ordering::SeqCst);
                let deadline = std::time::Instant::now() + GATHER;
                while w.open_len < w.gather_until && !w.closing && busy() {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    w = match self.core.work.wait_timeout(w, left) {
                        Ok((w, _)) => w,
                        Err(p) => p.into_inner().0,
                    };
                }
                w.gather_until = 0;
                self.core.gathering.store(false, Ordering::SeqCst);
            }
            last_len = w.open_len;
            let aborted = std::mem::take(&mut w.aborted);
            let open = w.open.take();
            w.open_len = 0;
            let committed = open.map(|id| {
                self.core.committing.store(id, Ordering::SeqCst);
                (id, commit(&w.conn))
            });
            let closing = w.closing;
            drop(w);
            for &id in &aborted {
                self.core.commits.fetch_add(1, Ordering::Relaxed);
                // Its writes got their error already, in `Member::abort`; record it for the
                // tickets of the scope's that wrote into it before.
                self.core.settle(
                    id,
                    Some((id, "the transaction was rolled back by the database".into())),
                    &self.sender,
                );
            }
            if let Some((id, result)) = committed {
                self.core.commits.fetch_add(1, Ordering::Relaxed);
                let failed = match result {
                    Err(e) => Some((id, e.to_string())),
                    Ok(()) => {
                        if let Err(e) = self.sync_wal(&mut wal, id) {
                            let mut s = lock_any(&self.core.settled);
                            if s.poisoned.is_none() {
                                s.poisoned = Some((id, e.to_string()));
                            }
                            self.core.troubled.store(true, Ordering::SeqCst);
                        }
                        None
                    }
                };
                self.core.settle(id, failed, &self.sender);
            }
            if closing && open.is_none() && aborted.is_empty() {
                return;
            }
        }
    }

    /// fsyncs the WAL file: every frame written so far (every commit so far, batch `id`'s
    /// included) is then on disk. The file is opened once (and its directory synced once, so
    /// that the file itself is found after a crash) and opened again should it ever be replaced.
    fn sync_wal(&self, wal: &mut Option<std::fs::File>, id: u64) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let current = std::fs::metadata(&self.wal_path)?.ino();
        let stale = match wal {
            Some(f) => f.metadata()?.ino() != current,
            None => true,
        };
        if stale {
            let f = std::fs::File::open(&self.wal_path)?;
            if let Some(dir) = self.db_path.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                std::fs::File::open(dir)?.sync_all()?;
            }
            *wal = Some(f);
        }
        match wal {
            Some(f) => f.sync_data().inspect(|()| {
                self.core.wal_synced.fetch_max(id, Ordering::SeqCst);
            }),
            None => Ok(()),
        }
    }
}

/// One write inside a batch, holding the writer's lock while its closure runs. Dropped with the
/// lock still held (its closure panicked), it undoes its savepoint, or the whole batch if that
/// fails.
struct Member<'s> {
    core: &'s Core,
    writer: Option<MutexGuard<'s, Writer>>,
    batch: u64,
}

impl Member<'_> {
    /// Runs the closure in its own savepoint: on `Err` the write left no trace. A failure that
    /// took the batch with it (the savepoint could not be undone, or SQLite rolled the
    /// transaction back) aborts the batch here and is reported as the write's error.
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
        let outer = IN_WRITE.replace(true);
        let r = f(&SqlTx(&w.conn));
        IN_WRITE.set(outer);
        if w.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, disk full, …).
            self.abort();
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
                self.abort();
                return Err(StoreError::Commit(msg));
            }
            return Err(e.into());
        }
        r
    }

    fn abort(&mut self) {
        if let Some(mut w) = self.writer.take() {
            abort_batch(self.core, &mut w, self.batch);
        }
    }
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        // Only reached with the lock still held when the closure panicked.
        let Some(w) = self.writer.as_ref() else {
            return;
        };
        IN_WRITE.set(false);
        if w.conn.is_autocommit() || undo_savepoint(&w.conn).is_err() {
            self.abort();
        }
    }
}

/// Rolls batch `id` back whole; the committer records it as failed, so that the writes that
/// joined it earlier, whose request scopes were told `Ok`, see the failure on their tickets.
fn abort_batch(core: &Core, w: &mut Writer, id: u64) {
    if !w.conn.is_autocommit() {
        let _ = w.conn.execute_batch("ROLLBACK");
    }
    if w.open == Some(id) {
        w.open = None;
        w.open_len = 0;
        w.aborted.push(id);
        core.work.notify_one();
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

/// Ends this thread's read snapshot when dropped (also when unwinding): closes its transaction
/// and gives its connection back to the pool (a read transaction has nothing to commit;
/// ROLLBACK just ends it, and should it fail, the next user of the connection ends it:
/// `take_reader`).
struct ScopeGuard<'s>(&'s SqliteStore);

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        self.0.end_scope();
    }
}

/// Ends this thread's request scope when dropped (also when unwinding); the last request to
/// leave wakes a gathering committer (nothing more will join its batch).
struct DeferralGuard<'c>(&'c Core);

impl Drop for DeferralGuard<'_> {
    fn drop(&mut self) {
        DEFERRAL.set(None);
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
            && self.0.gathering.load(Ordering::SeqCst)
        {
            self.0.work.notify_one();
        }
    }
}

/// A panic while holding a lock cannot leave a transaction half-done (the guards in `run_tx`
/// and `Member` roll back when unwinding), so a poisoned lock is safe to reuse.
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

/// The rows of a key scan whose key starts with `prefix` (the SQL bounds are by byte order; the
/// prefix check keeps exactly the keys that start with it).
fn keep_prefixed(
    rows: impl Iterator<Item = rusqlite::Result<(String, Vec<u8>)>>,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (k, v) = row?;
        if k.starts_with(prefix) {
            out.push((k, v));
        }
    }
    Ok(out)
}

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
        keep_prefixed(rows, prefix)
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
        keep_prefixed(rows, prefix)
    }
}

impl Store for SqliteStore {
    fn read_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let r = if let Some(r) = self.in_scope(f) {
            r
        } else if self.deferral().is_some_and(|d| d.ticket.wrote()) && !IN_WRITE.get() {
            self.read_on_writer(f)
        } else {
            match self.take_reader() {
                None => run_tx(&lock_any(&self.core.writer).conn, "BEGIN DEFERRED", f),
                Some(conn) => {
                    let r = run_tx(&conn, "BEGIN DEFERRED", f);
                    self.return_reader(conn);
                    r
                }
            }
        };
        self.after_read();
        r
    }

    fn request_scope(&self, snapshot: bool, f: &mut dyn FnMut()) -> Ticket {
        if DEFERRAL.get().is_some() {
            // Nested, or another store's scope is open on this thread: the outer one is in
            // charge, and this store's operations settle as outside a scope.
            f();
            return Ticket::default();
        }
        self.set_ticket(Ticket::default());
        self.core.in_flight.fetch_add(1, Ordering::SeqCst);
        let _deferral = DeferralGuard(&self.core);
        let _snapshot = (snapshot && self.open_snapshot()).then(|| ScopeGuard(self));
        f();
        DEFERRAL.get().map(|d| d.ticket).unwrap_or_default()
    }

    fn settle(&self, ticket: Ticket) -> Settle {
        let upto = ticket.upto();
        if upto == 0 || self.committer.is_none() {
            return Settle::Done(Ok(()));
        }
        let settled_upto = self.core.settled_upto.load(Ordering::SeqCst);
        if settled_upto >= upto && !self.core.troubled.load(Ordering::SeqCst) {
            // The common case, without the lock: settled, and nothing ever failed.
            return Settle::Done(Ok(()));
        }
        if settled_upto < upto {
            let s = lock_any(&self.core.settled);
            if s.settled_upto < upto && !s.gone {
                return Settle::Wait {
                    settled: self.core.settled_rx.clone(),
                    upto,
                };
            }
        }
        Settle::Done(lock_any(&self.core.settled).outcome(ticket))
    }

    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A write ends this thread's read snapshot on this store first: the snapshot's reader
        // is not held while waiting for the writer, and the reads after the write see it.
        self.end_scope();
        if self.committer.is_none() {
            // In memory: no disk, and reads share the writer connection, so no batch may stay
            // open.
            return run_tx(&lock_any(&self.core.writer).conn, "BEGIN IMMEDIATE", f);
        }
        let id = self.write_in_batch(f)?;
        if let Some(d) = self.deferral() {
            let mut t = d.ticket;
            if t.first_write == 0 {
                t.first_write = id;
            }
            t.last_write = id;
            self.set_ticket(t);
            return Ok(());
        }
        self.core.wait_settled(id)?;
        lock_any(&self.core.settled).outcome(Ticket {
            seen: 0,
            first_write: id,
            last_write: id,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{StoreExt, get_json, put_json};

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error("store: {0}")]
        Store(#[from] StoreError),
        #[error("domain said no")]
        No,
    }

    #[test]
    fn put_get_scan_delete() {
        crate::suite::put_get_scan_delete(&SqliteStore::in_memory().unwrap());
    }

    #[test]
    fn keys_are_in_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        crate::suite::keys_are_in_byte_order(&SqliteStore::open(&dir.path().join("b.db")).unwrap());
    }

    #[test]
    fn values_are_bytes() {
        crate::suite::values_are_bytes(&SqliteStore::in_memory().unwrap());
    }

    #[test]
    fn scan_range_pages_both_ways() {
        crate::suite::scan_range_pages_both_ways(&SqliteStore::in_memory().unwrap());
    }

    #[test]
    fn failed_closure_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        crate::suite::failed_closure_rolls_back(&SqliteStore::in_memory().unwrap());
        crate::suite::failed_closure_rolls_back(
            &SqliteStore::open(&dir.path().join("b.db")).unwrap(),
        );
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
        let mode: String = lock_any(&s.core.writer)
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // The commit writes the WAL; the committer fsyncs it before anything is acknowledged.
        let sync: i64 = lock_any(&s.core.writer)
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "synchronous=NORMAL on the writer");
    }

    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_database_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = SqliteStore::open(&path).unwrap();
        s.write(|tx| put_json(tx, "t", "k", &"v")).unwrap();
        for name in ["berth.db", "berth.db-wal", "berth.db-shm"] {
            assert_eq!(mode_of(&dir.path().join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn open_restricts_existing_database_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let keep = SqliteStore::open(&path).unwrap();
        keep.write(|tx| put_json(tx, "t", "k", &"v")).unwrap();
        // As an older berth left them (SQLite's default mode), WAL and index still there.
        for name in ["berth.db", "berth.db-wal", "berth.db-shm"] {
            let file = dir.path().join(name);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        for name in ["berth.db", "berth.db-wal", "berth.db-shm"] {
            assert_eq!(mode_of(&dir.path().join(name)), 0o600, "{name}");
        }
        let v: Option<String> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        drop(keep);
    }

    #[test]
    fn the_root_key_check_is_recorded_once() {
        let s = SqliteStore::in_memory().unwrap();
        crate::suite::the_root_key_check_is_recorded_once(&s, &|| s.holds_data().unwrap());
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
        let dir = tempfile::tempdir().unwrap();
        crate::suite::a_panic_inside_a_transaction_rolls_it_back(
            &SqliteStore::in_memory().unwrap(),
        );
        crate::suite::a_panic_inside_a_transaction_rolls_it_back(
            &SqliteStore::open(&dir.path().join("b.db")).unwrap(),
        );
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

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Deferred writes gather in one batch while the committer is busy; they are visible to
    /// no one before the batch commits, and their tickets settle only after it did; a failing
    /// and a panicking write leave no trace and do not disturb the others; reads after a write
    /// in the scope see it; a write outside a scope returns committed.
    #[test]
    fn deferred_writes_share_a_commit_and_settle_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = SqliteStore::open(&path).unwrap();
        // Another handle on the file: it sees only what is committed.
        let other = SqliteStore::open(&path).unwrap();
        let committed =
            |key: &str| -> bool { other.read(|tx| tx.get("t", key)).unwrap().is_some() };
        let commits_before = s.core.commits.load(Ordering::SeqCst);

        // Hold the committer after its next COMMIT: it cannot settle (and so cannot take the
        // next batch) until this guard goes.
        let stuck = lock_any(&s.core.settled);
        let t1 = s.request_scope(false, &mut || {
            s.write(|tx| tx.put("t", "a", b"1")).unwrap();
        });
        assert!(t1.wrote());
        wait_until("batch 1 committed", || committed("a"));
        assert!(s.core.settled_upto.load(Ordering::SeqCst) < t1.upto());

        let t2 = s.request_scope(true, &mut || {
            s.write(|tx| tx.put("t", "b", b"1")).unwrap();
            let failed: Result<(), TestError> = s.write(|tx| {
                tx.put("t", "c", b"1")?;
                tx.put("t", "b", b"clobbered")?;
                Err(TestError::No)
            });
            assert!(matches!(failed, Err(TestError::No)));
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = s.write(|tx| -> Result<(), StoreError> {
                    tx.put("t", "p", b"1")?;
                    panic!("boom")
                });
            }));
            assert!(panicked.is_err());
            s.write(|tx| tx.put("t", "d", b"1")).unwrap();
            // This request's reads see its own writes, before they are committed.
            let b = s.read(|tx| tx.get("t", "b")).unwrap();
            assert_eq!(b.as_deref(), Some(&b"1"[..]));
        });
        assert!(t2.wrote() && t2.upto() > t1.upto());
        // Batch 2 is open: nothing of it is visible elsewhere.
        assert!(!committed("b") && !committed("d"));
        // A read that may have seen batch 1 (committed, not settled) must wait for it too.
        let t3 = s.request_scope(true, &mut || {
            assert!(s.read(|tx| tx.get("t", "a")).unwrap().is_some());
        });
        assert!(!t3.wrote() && t3.upto() >= t1.upto());
        drop(stuck);

        for t in [t1, t2, t3] {
            block_on(crate::settled(&s, t)).unwrap();
        }
        assert!(committed("b") && committed("d"));
        assert!(
            !committed("c") && !committed("p"),
            "failed writes leave nothing"
        );
        let b: Option<Vec<u8>> = other.read(|tx| tx.get("t", "b")).unwrap();
        assert_eq!(
            b.as_deref(),
            Some(&b"1"[..]),
            "the failed write undid only itself"
        );
        assert_eq!(
            s.core.commits.load(Ordering::SeqCst) - commits_before,
            2,
            "the writes of t2 share one commit"
        );
        // Outside a scope a write returns committed and settled.
        s.write(|tx| tx.put("t", "e", b"1")).unwrap();
        assert!(committed("e"));
        assert!(matches!(
            s.settle(Ticket {
                seen: s.core.committing.load(Ordering::SeqCst),
                first_write: 0,
                last_write: 0
            }),
            Settle::Done(Ok(()))
        ));
    }

    /// The WAL is fsynced after a batch commits and before it settles: a write's ticket (in a
    /// request scope) or the write itself (outside one) is done only once the committer's
    /// `fdatasync` of the WAL covering its batch returned.
    #[test]
    fn a_write_settles_only_after_the_wal_is_fsynced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = SqliteStore::open(&path).unwrap();
        let other = SqliteStore::open(&path).unwrap();
        let committed =
            |key: &str| -> bool { other.read(|tx| tx.get("t", key)).unwrap().is_some() };
        let synced = || s.core.wal_synced.load(Ordering::SeqCst);

        // The committer cannot settle while this guard is held: it commits, fsyncs, then waits.
        let stuck = lock_any(&s.core.settled);
        let t = s.request_scope(false, &mut || {
            s.write(|tx| tx.put("t", "a", b"1")).unwrap();
        });
        assert!(t.wrote());
        wait_until("batch committed", || committed("a"));
        wait_until("the WAL fsynced before the batch settles", || {
            synced() >= t.upto()
        });
        assert!(
            s.core.settled_upto.load(Ordering::SeqCst) < t.upto(),
            "not settled yet"
        );
        drop(stuck);
        block_on(crate::settled(&s, t)).unwrap();
        assert!(synced() >= t.upto());

        // Outside a scope the write returns settled, so fsynced.
        for i in 0..5u8 {
            let before = s.core.committing.load(Ordering::SeqCst);
            s.write(|tx| tx.put("t", "b", &[i])).unwrap();
            assert!(synced() > before, "write {i} returned before its fsync");
            assert!(synced() >= s.core.committing.load(Ordering::SeqCst));
        }
    }

    /// A batch rolled back whole by the database fails every write in it, also those told `Ok`
    /// before (their tickets carry the failure), and the store goes on with a new batch.
    #[test]
    fn an_aborted_batch_fails_the_tickets_of_its_writes() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("berth.db")).unwrap();
        let stuck = lock_any(&s.core.settled);
        // Batch 1 goes to the committer, which then waits for `stuck`.
        let t1 = s.request_scope(false, &mut || s.write(|tx| tx.put("t", "x", b"1")).unwrap());
        wait_until("batch 1 taken", || lock_any(&s.core.writer).open.is_none());
        let t2 = s.request_scope(false, &mut || s.write(|tx| tx.put("t", "a", b"1")).unwrap());
        // The database rolls batch 2 back (as it does on an I/O error or a full disk).
        lock_any(&s.core.writer)
            .conn
            .execute_batch("ROLLBACK")
            .unwrap();
        // The next write finds its batch gone: that batch fails, the write goes to a new one.
        let t3 = s.request_scope(false, &mut || s.write(|tx| tx.put("t", "b", b"1")).unwrap());
        assert!(t3.upto() > t2.upto());
        drop(stuck);
        block_on(crate::settled(&s, t1)).unwrap();
        assert!(
            block_on(crate::settled(&s, t2)).is_err(),
            "a was told Ok, its batch is gone"
        );
        block_on(crate::settled(&s, t3)).unwrap();
        let (a, b) = s
            .read(|tx| -> Result<_, StoreError> { Ok((tx.get("t", "a")?, tx.get("t", "b")?)) })
            .unwrap();
        assert!(a.is_none() && b.is_some());
        s.write(|tx| tx.put("t", "c", b"1")).unwrap();
        assert!(s.read(|tx| tx.get("t", "c")).unwrap().is_some());
    }

    /// Under back-to-back batches and busy readers the WAL is still started over (SQLite's
    /// checkpoint runs in the committer's COMMIT, before the next batch begins): it stays near
    /// the 1,000-page checkpoint size instead of growing with every write.
    #[test]
    fn the_wal_stays_bounded_under_back_to_back_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let s = SqliteStore::open(&path).unwrap();
        let value = vec![b'x'; 4000];
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while !done.load(Ordering::SeqCst) {
                        let _ = s.read(|tx| tx.get("t", "w0/0"));
                    }
                });
            }
            let writers: Vec<_> = (0..4)
                .map(|w| {
                    let (s, value) = (&s, &value);
                    scope.spawn(move || {
                        for i in 0..1000 {
                            let t = s.request_scope(false, &mut || {
                                s.write(|tx| tx.put("t", &format!("w{w}/{i}"), value))
                                    .unwrap();
                            });
                            block_on(crate::settled(s, t)).unwrap();
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, Ordering::SeqCst);
        });
        // 4,000 writes of 4 KB: at least 16 MB had the WAL never started over.
        let wal = std::fs::metadata(dir.path().join("berth.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 8 << 20, "the WAL grew to {wal} bytes");
        let n = s.read(|tx| tx.scan("t", "w")).unwrap().len();
        assert_eq!(n, 4000);
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
        s.request_scope(true, &mut || {
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            // Another handle's write does not end this scope: same snapshot.
            other.write(|tx| tx.put("t", "k", b"2")).unwrap();
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            // A nested read (another connection) and a nested scope still work.
            s.read(|_| s.read(|tx| tx.get("t", "k")).map(|_| ()))
                .unwrap();
            s.request_scope(true, &mut || {
                seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
            });
        });
        let one = Some(b"1".to_vec());
        assert_eq!(seen, vec![one.clone(), one.clone(), one]);
        s.request_scope(true, &mut || {
            seen.push(s.read(|tx| tx.get("t", "k")).unwrap());
        });
        assert_eq!(seen[3].as_deref(), Some(&b"2"[..]));
        // A write of this store inside the scope ends it: its reader goes back to the pool at
        // once and the reads after the write see it.
        s.request_scope(true, &mut || {
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

/// What [`backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The backup file's size.
    pub bytes: u64,
    /// The schema version of the database backed up (`PRAGMA user_version`).
    pub schema_version: i64,
}

/// Copies the database at `db` to a new file `to` (mode 0600; an existing file is refused)
/// with SQLite's online backup, while a server may be writing: the copy is one consistent
/// snapshot (a read transaction on the WAL database, which writers do not wait for), every
/// record as stored (secrets stay sealed; the root key is not in the database). The copy is a
/// single file in rollback-journal mode, checked with `PRAGMA quick_check` and fsynced; it
/// opens as a data directory's `berth.db`. On failure the partial file is removed.
pub fn backup(db: &Path, to: &Path) -> Result<BackupSummary, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| StoreError::File { path, source }
    };
    // The source must exist: it is opened without SQLITE_OPEN_CREATE (read-write, so that the
    // WAL's shared-memory index can be used whether or not a server has it open; nothing is
    // written).
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(10))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(file_error(to))?;
    let copied = copy_to(&src, to);
    if copied.is_err() {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut file = to.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(file));
        }
    }
    let schema_version = copied?;
    let file = std::fs::File::open(to).map_err(file_error(to))?;
    file.sync_all().map_err(file_error(to))?;
    let bytes = file.metadata().map_err(file_error(to))?.len();
    // The new directory entry, too.
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(file_error(parent))?;
    }
    Ok(BackupSummary {
        bytes,
        schema_version,
    })
}

/// The backup proper: all pages in one step (one read snapshot, never restarted by a
/// concurrent write), then the copy made a rollback-journal file and checked.
fn copy_to(src: &Connection, to: &Path) -> Result<i64, StoreError> {
    use rusqlite::backup::{Backup, StepResult};
    let mut dst = Connection::open(to)?;
    {
        let backup = Backup::new(src, &mut dst)?;
        let mut waited = Duration::ZERO;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                // A lock another connection holds for a moment (a checkpoint): try again.
                StepResult::Busy | StepResult::Locked => {
                    if waited >= Duration::from_secs(30) {
                        return Err(StoreError::Commit(
                            "backup: the database stayed locked for 30 s".into(),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    waited += Duration::from_millis(50);
                }
                _ => {}
            }
        }
    }
    let _mode: String = dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Commit(format!(
            "backup: the copy fails SQLite's quick_check: {check}"
        )));
    }
    let version: i64 = dst.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    dst.close().map_err(|(_, e)| StoreError::Database(e))?;
    Ok(version)
}

#[cfg(test)]
mod backup_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::StoreExt;

    #[test]
    fn a_backup_taken_while_writing_opens_with_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("berth.db");
        let store = SqliteStore::open(&db).unwrap();
        for i in 0..50 {
            store
                .write::<_, StoreError>(|tx| tx.put("t", &format!("k{i:03}"), b"sealed bytes"))
                .unwrap();
        }
        let to = dir.path().join("backup.db");
        let summary = backup(&db, &to).unwrap();
        assert_eq!(summary.schema_version, SCHEMA_VERSION);
        assert!(summary.bytes > 0);
        // The store kept serving: a write after the backup is not in it.
        store
            .write::<_, StoreError>(|tx| tx.put("t", "later", b"x"))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("backup.db-wal").exists());
        let copy = SqliteStore::open(&to).unwrap();
        let rows = copy.read::<_, StoreError>(|tx| tx.scan("t", "")).unwrap();
        assert_eq!(rows.len(), 50);
        assert_eq!(rows[0].1, b"sealed bytes");
        // An existing file is not overwritten; a missing database is an error.
        assert!(matches!(backup(&db, &to), Err(StoreError::File { .. })));
        let nowhere = dir.path().join("missing.db");
        let other = dir.path().join("other.db");
        assert!(backup(&nowhere, &other).is_err());
        assert!(!other.exists());
    }
}
