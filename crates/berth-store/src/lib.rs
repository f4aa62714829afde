//! berth-store: where berth's state lives.
//!
//! The domain crates see only the [`Store`] trait: ordered tables of keys to bytes, read and
//! written inside transactions that commit whole or not at all. [`SqliteStore`] is the embedded
//! default (one file, WAL journal, every acknowledged write fsynced, so it survives a `kill -9` or
//! a power cut); [`PostgresStore`] keeps the same tables in a PostgreSQL database that several
//! berth servers share (see `docs/postgres.md`). Keys are ASCII strings; values are whatever the domain serialises
//! (JSON through [`get_json`]/[`put_json`]). Nothing in this crate knows what a secret or a task is.
//!
//! Invariant: a closure given to [`StoreExt::write`] that returns `Err` leaves no trace.

pub mod postgres;
mod sqlite;
#[cfg(test)]
mod suite;

pub use postgres::{Copied, PostgresStore, copy_into_empty};
pub use sqlite::{BackupSummary, SqliteStore, backup};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What can go wrong in the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The database could not be reached or used (no free connection, bad URL, TLS setup).
    #[error("database unavailable: {0}")]
    Connect(String),
    #[error("stored record {table}/{key} does not decode: {source}")]
    Decode {
        table: String,
        key: String,
        source: serde_json::Error,
    },
    #[error("record does not encode: {0}")]
    Encode(serde_json::Error),
    #[error("database schema version {found} is newer than this berth knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// A file of the database could not be created or restricted to its owner.
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// The group commit this write was part of did not commit (the message says why); nothing
    /// of the write is stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// A copy's target database already holds records.
    #[error("the target database is not empty: it already holds berth data")]
    NotEmpty,
    /// Used internally to roll back a transaction whose closure failed.
    #[error("transaction aborted")]
    Aborted,
}

/// The operations available inside a transaction. Keys are ASCII; a scan returns keys in order.
pub trait Tx {
    fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&self, table: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes a key; returns whether it was there.
    fn delete(&self, table: &str, key: &str) -> Result<bool, StoreError>;
    /// Every key of `table` starting with `prefix`, in key order.
    fn scan(&self, table: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// A keyed cursor: at most `limit` keys of `table` starting with `prefix` that come after
    /// `after` (strictly) in the scan's direction — ascending key order, or descending when
    /// `descending` (then "after" means "before" in key order). Reads only the rows returned.
    fn scan_range(
        &self,
        table: &str,
        prefix: &str,
        after: Option<&str>,
        descending: bool,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}

/// A transactional key-value store. Implementations must make each `write` atomic, and durable
/// before it returns `Ok` (inside a [`Store::request_scope`]: before its ticket settles).
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a read transaction (a consistent snapshot).
    fn read_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `f` in a write transaction: committed when `f` returns `Ok`, rolled back otherwise.
    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `f`, one API request, with its wait for the disk deferred to the caller, and
    /// returns what the request's answer must wait for ([`Ticket`]; see [`settled`]).
    ///
    /// Inside the scope a write of this thread on this store returns as soon as it is part of
    /// a transaction (a group commit, see [`SqliteStore`]), before that transaction is
    /// committed and on disk; the ticket names it. Reads may see commits whose fsync has not
    /// returned yet; the ticket names those too. The caller must not answer before
    /// [`settled`] of the ticket returned `Ok`: that keeps the store's promise that an
    /// acknowledged write, and anything an answer showed, survives a crash or a power cut.
    /// Reads after a write of the scope see that write.
    ///
    /// With `snapshot`, every read transaction of the thread on this store shares one
    /// snapshot (one read transaction instead of one each), taken when the first of them runs,
    /// until the first write (the reads after it see it). Meant for a request that does not
    /// wait for other requests' changes (not a long poll).
    ///
    /// Outside a scope, `write_tx` returns only once the write is on disk, and a read waits
    /// for the disk if it saw a commit that is not yet. Implementations without such a thing
    /// just run `f` (the default).
    fn request_scope(&self, snapshot: bool, f: &mut dyn FnMut()) -> Ticket {
        let _ = snapshot;
        f();
        Ticket::default()
    }

    /// Whether everything `ticket` names is on disk (`Done`, with the outcome: an error when
    /// a write it names was not stored), or what to wait on first.
    fn settle(&self, ticket: Ticket) -> Settle {
        let _ = ticket;
        Settle::Done(Ok(()))
    }
}

/// What one request's answer depends on in a store with deferred durability
/// ([`Store::request_scope`]): the group commits it wrote into, and the newest commit its reads
/// may have seen. The default ticket depends on nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    /// The newest commit the request's reads may have seen.
    pub(crate) seen: u64,
    /// The first and last group commits the request wrote into (0: none).
    pub(crate) first_write: u64,
    pub(crate) last_write: u64,
}

impl Ticket {
    /// Whether the request wrote anything.
    pub fn wrote(&self) -> bool {
        self.last_write != 0
    }

    /// The commit this ticket waits for.
    pub(crate) fn upto(&self) -> u64 {
        self.seen.max(self.last_write)
    }
}

/// The answer of [`Store::settle`].
pub enum Settle {
    /// Everything the ticket names is settled: `Ok` on disk, or the error of a write it names.
    Done(Result<(), StoreError>),
    /// Not yet: wait until the receiver's value (the newest settled commit) reaches `upto`,
    /// then ask again.
    Wait {
        settled: tokio::sync::watch::Receiver<u64>,
        upto: u64,
    },
}

/// Waits, without blocking the thread, until everything `ticket` names is on disk; the error
/// of a write it names otherwise.
pub async fn settled(store: &dyn Store, ticket: Ticket) -> Result<(), StoreError> {
    loop {
        match store.settle(ticket) {
            Settle::Done(r) => return r,
            Settle::Wait { mut settled, upto } => {
                if settled.wait_for(|d| *d >= upto).await.is_err() {
                    return Err(StoreError::Commit("the store was closed".into()));
                }
            }
        }
    }
}

/// Typed transactions over any [`Store`], with the caller's own error type.
pub trait StoreExt {
    fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&dyn Tx) -> Result<T, E>)
    -> Result<T, E>;
    fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E>;
}

fn run<T, E: From<StoreError>>(
    f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    tx_fn: impl FnOnce(&mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError>,
) -> Result<T, E> {
    let mut f = Some(f);
    let mut outcome: Option<Result<T, E>> = None;
    let result = tx_fn(&mut |tx| {
        let Some(f) = f.take() else {
            return Err(StoreError::Aborted);
        };
        let r = f(tx);
        let failed = r.is_err();
        outcome = Some(r);
        if failed {
            Err(StoreError::Aborted)
        } else {
            Ok(())
        }
    });
    match (result, outcome) {
        (Ok(()), Some(r)) => r,
        (Err(StoreError::Aborted), Some(r @ Err(_))) => r,
        (Err(e), _) => Err(e.into()),
        (Ok(()), None) => Err(StoreError::Aborted.into()),
    }
}

impl<S: Store + ?Sized> StoreExt for S {
    fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        run(f, |g| self.read_tx(g))
    }
    fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        run(f, |g| self.write_tx(g))
    }
}

/// The store's own records, beside the domain's tables: what the store says about itself.
pub const META_TABLE: &str = "berth_meta";
/// The key in [`META_TABLE`] of the root key's check value.
const ROOT_KEY_CHECK: &str = "root_key_check";

/// The check value of the root key this store's data is sealed under, if one is recorded
/// (a store written by an older berth has none).
pub fn root_key_check(store: &dyn Store) -> Result<Option<Vec<u8>>, StoreError> {
    store.read(|tx| tx.get(META_TABLE, ROOT_KEY_CHECK))
}

/// Records `check` as the root key's check value unless one is recorded already: returns
/// `None` when `check` is now the one, or the check value recorded before (then nothing is
/// written), atomically, so of two processes recording at once one wins and the other learns
/// the winner's.
pub fn record_root_key_check(
    store: &dyn Store,
    check: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    store.write(|tx| match tx.get(META_TABLE, ROOT_KEY_CHECK)? {
        Some(existing) => Ok(Some(existing)),
        None => tx.put(META_TABLE, ROOT_KEY_CHECK, check).map(|()| None),
    })
}

/// Reads and decodes a JSON record.
pub fn get_json<T: DeserializeOwned>(
    tx: &dyn Tx,
    table: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match tx.get(table, key)? {
        None => Ok(None),
        Some(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Decode {
                    table: table.into(),
                    key: key.into(),
                    source,
                })
        }
    }
}

/// Encodes and writes a JSON record.
pub fn put_json<T: Serialize>(
    tx: &dyn Tx,
    table: &str,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(StoreError::Encode)?;
    tx.put(table, key, &bytes)
}

/// Decodes every JSON record of a scan.
pub fn scan_json<T: DeserializeOwned>(
    tx: &dyn Tx,
    table: &str,
    prefix: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    tx.scan(table, prefix)?
        .into_iter()
        .map(|(k, v)| match serde_json::from_slice(&v) {
            Ok(t) => Ok((k, t)),
            Err(source) => Err(StoreError::Decode {
                table: table.into(),
                key: k,
                source,
            }),
        })
        .collect()
}
