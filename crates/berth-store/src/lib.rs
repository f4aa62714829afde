//! berth-store: where berth's state lives.
//!
//! The domain crates see only the [`Store`] trait: ordered tables of keys to bytes, read and
//! written inside transactions that commit whole or not at all. [`SqliteStore`] is the embedded
//! default (one file, WAL journal, `synchronous=FULL`, so an acknowledged write survives a
//! `kill -9` or a power cut). Keys are ASCII strings; values are whatever the domain serialises
//! (JSON through [`get_json`]/[`put_json`]). Nothing in this crate knows what a secret or a task is.
//!
//! Invariant: a closure given to [`StoreExt::write`] that returns `Err` leaves no trace.

mod sqlite;

pub use sqlite::SqliteStore;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What can go wrong in the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
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
    /// The group commit this write was part of did not commit (the message says why); nothing
    /// of the write is stored.
    #[error("commit failed: {0}")]
    Commit(String),
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

/// A transactional key-value store. Implementations must make each `write` atomic and durable
/// before it returns `Ok`.
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
    /// Runs `f` with every read transaction this thread opens on this store inside it sharing
    /// one snapshot (one read transaction instead of one each). Meant for one read-only request:
    /// its reads then see one consistent state, taken when the first of them runs. A write by
    /// the thread on this store ends the scope (the reads after it run in their own
    /// transactions and see it). Implementations without such a thing just run `f` (the default).
    fn read_scope(&self, f: &mut dyn FnMut()) {
        f()
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
