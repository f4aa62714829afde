//! The web console's sessions, kept in the store: every server on a shared database (replicas
//! behind a load balancer) sees the same sessions, so a session outlives the server that
//! signed it in, and signing out through any server ends it on all of them.
//!
//! A session id is 256 bits from the operating system's generator; it goes to the browser and
//! never to the store. A session's record is stored under an HMAC-SHA256 of its id (with a key
//! derived from the root key), so the store's keys do not open a session. What a session holds
//! — the access key id or the password login it signed in with, its region, its CSRF token
//! and a one-shot message for the next page — is sealed with the root key, bound to that
//! record's key; only the expiry is in the clear, beside an index by expiry
//! ([`EXPIRY_TABLE`]) that sign-in sweeps. No secret key is held: every request looks the key
//! or the login up again (`Control::active_key_principal`, `Control::password_session_principal`).

use std::fmt::Write as _;

use base64::Engine as _;
use berth_store::{StoreError, StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::iam::PasswordLogin;
use crate::{Control, Error};

/// The sessions, by the HMAC of their id.
pub const SESSIONS_TABLE: &str = "console_sessions";
/// The sessions by expiry: `{expires:020}/{record key}`, empty values.
pub const EXPIRY_TABLE: &str = "console_session_expiry";
/// How long a session lasts after sign-in, in seconds.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;
/// Most live sessions kept at once (across every server on the store); sign-in is refused
/// past it once the expired ones are removed.
pub const MAX_SESSIONS: usize = 10_000;
/// Expired sessions removed per scan of the expiry index.
const SWEEP_BATCH: usize = 256;
/// The longest one-shot message a session keeps (longer ones are cut at a character
/// boundary).
const MAX_FLASH_BYTES: usize = 4096;

/// A live session, as a page sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The access key signed in with (empty for a password session); its principal is looked
    /// up on every request, so a deleted or deactivated key ends the session.
    pub access_key_id: String,
    pub region: String,
    /// The synchronizer token every state-changing form must carry.
    pub csrf: String,
    /// Seconds since the Unix epoch when the session ends.
    pub expires: u64,
    /// A one-shot message for the next page (taken when the session is read).
    pub flash: Option<String>,
    /// Set for a session opened with an IAM user's password: the user is looked up on every
    /// request, and the session ends with its login profile.
    pub login: Option<PasswordLogin>,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SessionFailure {
    #[error("too many console sessions: try again later")]
    Full,
    #[error("console sessions could not be stored: {0}")]
    Internal(Error),
}

impl From<StoreError> for SessionFailure {
    fn from(e: StoreError) -> SessionFailure {
        SessionFailure::Internal(Error::from(e))
    }
}

/// The stored record: the expiry in the clear, the rest sealed.
#[derive(Serialize, Deserialize)]
struct Record {
    expires: u64,
    /// base64 of the root key's seal of a [`Sealed`], bound to the record's key.
    sealed: String,
}

/// What a record seals.
#[derive(Serialize, Deserialize)]
struct Sealed {
    access_key_id: String,
    region: String,
    csrf: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<StoredLogin>,
}

#[derive(Serialize, Deserialize)]
struct StoredLogin {
    account: String,
    user_id: String,
    profile_created_at: u64,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// 256 random bits from the operating system's generator, hex-encoded.
pub fn token() -> String {
    let mut buf = [0u8; 32];
    berth_core::ids::random_bytes(&mut buf);
    hex(&buf)
}

fn expiry_key(expires: u64, key: &str) -> String {
    format!("{expires:020}/{key}")
}

fn context(key: &str) -> Vec<u8> {
    format!("berth console session {key}").into_bytes()
}

fn cut(mut message: String) -> String {
    if message.len() > MAX_FLASH_BYTES {
        let mut end = MAX_FLASH_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

impl Control {
    /// The store's key of session `id`: an HMAC of the id under a key derived from the root
    /// key, hex-encoded.
    fn session_key(&self, id: &str) -> String {
        let k = self.root_key.derive(b"berth console session id");
        hex(&berth_core::mac::hmac_sha256(k.as_ref(), id.as_bytes()))
    }

    /// Seals `s` and stores it as the record of session `key`, expiring at `expires` (the
    /// one writer of a session record: at sign-in and when its one-shot message is left or
    /// taken).
    fn put_session(
        &self,
        tx: &dyn Tx,
        key: &str,
        expires: u64,
        s: &Sealed,
    ) -> Result<(), StoreError> {
        let plain = Zeroizing::new(serde_json::to_vec(s).map_err(StoreError::Encode)?);
        let sealed = base64::engine::general_purpose::STANDARD
            .encode(self.root_key.seal(&context(key), &plain));
        put_json(tx, SESSIONS_TABLE, key, &Record { expires, sealed })
    }

    /// The sealed part of a record; `None` when it does not open (another root key, a record
    /// moved to another key): such a session is not honoured.
    fn open_session(&self, key: &str, r: &Record) -> Option<Sealed> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&r.sealed)
            .ok()?;
        let plain = self.root_key.open(&context(key), &bytes).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// Opens a session for a principal signed in with `access_key_id` (empty with `login`, a
    /// password sign-in) in `region`; returns its id, for the browser's cookie only. Expired
    /// sessions are removed first.
    pub fn create_console_session(
        &self,
        access_key_id: &str,
        login: Option<PasswordLogin>,
        region: &str,
    ) -> Result<String, SessionFailure> {
        let now = berth_core::time::epoch_secs(self.now());
        let id = token();
        let key = self.session_key(&id);
        let expires = now + SESSION_TTL_SECS;
        let session = Sealed {
            access_key_id: access_key_id.to_string(),
            region: region.to_string(),
            csrf: token(),
            flash: None,
            login: login.map(|l| StoredLogin {
                account: l.account,
                user_id: l.user_id,
                profile_created_at: l.profile_created_at,
            }),
        };
        self.store.write(|tx| {
            sweep(tx, now)?;
            let live = tx
                .scan_range(EXPIRY_TABLE, "", None, false, MAX_SESSIONS)?
                .len();
            if live >= MAX_SESSIONS {
                return Err(SessionFailure::Full);
            }
            self.put_session(tx, &key, expires, &session)?;
            tx.put(EXPIRY_TABLE, &expiry_key(expires, &key), b"")?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The live session with this id, with its one-shot message taken; `None` for an unknown
    /// id, and for an expired one (which is removed).
    pub fn console_session(&self, id: &str) -> Result<Option<ConsoleSession>, Error> {
        let now = berth_core::time::epoch_secs(self.now());
        let key = self.session_key(id);
        let record: Option<Record> = self
            .store
            .read(|tx| get_json::<Record>(tx, SESSIONS_TABLE, &key))?;
        let Some(record) = record else {
            return Ok(None);
        };
        if record.expires <= now {
            self.store.write(|tx| remove(tx, &key))?;
            return Ok(None);
        }
        let Some(mut sealed) = self.open_session(&key, &record) else {
            return Ok(None);
        };
        let flash = sealed.flash.take();
        if flash.is_some() {
            self.store.write(|tx| -> Result<(), StoreError> {
                // Only if the session is still there (a sign-out meanwhile stays one).
                if tx.get(SESSIONS_TABLE, &key)?.is_some() {
                    self.put_session(tx, &key, record.expires, &sealed)?;
                }
                Ok(())
            })?;
        }
        Ok(Some(ConsoleSession {
            access_key_id: sealed.access_key_id,
            region: sealed.region,
            csrf: sealed.csrf,
            expires: record.expires,
            flash,
            login: sealed.login.map(|l| PasswordLogin {
                account: l.account,
                user_id: l.user_id,
                profile_created_at: l.profile_created_at,
            }),
        }))
    }

    /// Leaves `message` for the session's next page (nothing when the session is gone).
    pub fn flash_console_session(&self, id: &str, message: String) -> Result<(), Error> {
        let key = self.session_key(id);
        let message = cut(message);
        self.store.write(|tx| -> Result<(), Error> {
            let Some(record) = get_json::<Record>(tx, SESSIONS_TABLE, &key)? else {
                return Ok(());
            };
            let Some(mut sealed) = self.open_session(&key, &record) else {
                return Ok(());
            };
            sealed.flash = Some(message);
            self.put_session(tx, &key, record.expires, &sealed)?;
            Ok(())
        })
    }

    /// Ends the session (sign-out, a new sign-in, its key or login gone), on every server.
    pub fn end_console_session(&self, id: &str) -> Result<(), Error> {
        let key = self.session_key(id);
        self.store.write(|tx| remove(tx, &key))?;
        Ok(())
    }

    /// How many sessions the store holds (expired ones not yet removed included).
    pub fn console_session_count(&self) -> Result<usize, Error> {
        Ok(self
            .store
            .read(|tx| tx.scan(SESSIONS_TABLE, ""))
            .map(|rows| rows.len())?)
    }
}

/// Deletes the session stored under `key` and its expiry entry.
fn remove(tx: &dyn Tx, key: &str) -> Result<(), StoreError> {
    if let Some(r) = get_json::<Record>(tx, SESSIONS_TABLE, key)? {
        tx.delete(EXPIRY_TABLE, &expiry_key(r.expires, key))?;
        tx.delete(SESSIONS_TABLE, key)?;
    }
    Ok(())
}

/// Removes every session whose expiry is at or before `now`, oldest first.
fn sweep(tx: &dyn Tx, now: u64) -> Result<(), StoreError> {
    loop {
        let batch = tx.scan_range(EXPIRY_TABLE, "", None, false, SWEEP_BATCH)?;
        let mut removed = 0;
        for (ek, _) in &batch {
            let Some((expires, key)) = ek.split_once('/') else {
                tx.delete(EXPIRY_TABLE, ek)?;
                removed += 1;
                continue;
            };
            if expires.parse::<u64>().is_ok_and(|e| e > now) {
                return Ok(());
            }
            tx.delete(SESSIONS_TABLE, key)?;
            tx.delete(EXPIRY_TABLE, ek)?;
            removed += 1;
        }
        if batch.len() < SWEEP_BATCH || removed == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::testing::control;
    use berth_core::RootKey;

    #[test]
    fn session_lifecycle() {
        let c = control();
        let id = c
            .create_console_session("AKIAEXAMPLE", None, "us-east-1")
            .unwrap();
        assert_eq!(id.len(), 64);
        let s = c.console_session(&id).unwrap().unwrap();
        assert_eq!(s.access_key_id, "AKIAEXAMPLE");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.csrf.len(), 64);
        // Another id, or the stored key, finds nothing.
        assert!(c.console_session(&token()).unwrap().is_none());
        assert!(c.console_session(&c.session_key(&id)).unwrap().is_none());
        // Two sessions get different CSRF tokens.
        let id2 = c.create_console_session("", None, "eu-west-1").unwrap();
        let s2 = c.console_session(&id2).unwrap().unwrap();
        assert_ne!(s.csrf, s2.csrf);
        // Flash messages are shown once.
        c.flash_console_session(&id, "created".into()).unwrap();
        let shown = c.console_session(&id).unwrap().unwrap();
        assert_eq!(shown.flash.as_deref(), Some("created"));
        assert_eq!(shown.csrf, s.csrf);
        assert_eq!(c.console_session(&id).unwrap().unwrap().flash, None);
        // Sign-out deletes, on the store.
        c.end_console_session(&id2).unwrap();
        assert!(c.console_session(&id2).unwrap().is_none());
        assert_eq!(c.console_session_count().unwrap(), 1);
    }

    #[test]
    fn nothing_of_the_id_or_the_csrf_token_reaches_the_store_in_the_clear() {
        let c = control();
        let id = c
            .create_console_session("AKIASTOREDEXAMPLE", None, "us-east-1")
            .unwrap();
        let csrf = c.console_session(&id).unwrap().unwrap().csrf;
        let rows: Vec<(String, Vec<u8>)> = c
            .store
            .read(|tx| {
                let mut all = tx.scan(SESSIONS_TABLE, "")?;
                all.extend(tx.scan(EXPIRY_TABLE, "")?);
                Ok::<_, StoreError>(all)
            })
            .unwrap();
        assert_eq!(rows.len(), 2);
        for (k, v) in rows {
            let text = format!("{k} {}", String::from_utf8_lossy(&v));
            for secret in [&id, &csrf, &"AKIASTOREDEXAMPLE".to_string()] {
                assert!(!text.contains(secret.as_str()), "{text}");
            }
        }
        // A store opened with another root key does not honour the session.
        let other = Control::new(c.store.clone(), RootKey::generate(), 0);
        assert!(other.console_session(&id).unwrap().is_none());
    }

    #[test]
    fn expired_sessions_end_and_sign_in_removes_them() {
        let c = control();
        let old = c
            .create_console_session("AKIAOLD", None, "us-east-1")
            .unwrap();
        let later = Control::new(
            c.store.clone(),
            RootKey::from_base64(&c.root_key.to_base64()).unwrap(),
            SESSION_TTL_SECS as i64,
        );
        // Expired: not honoured, and removed when read.
        assert!(later.console_session(&old).unwrap().is_none());
        assert_eq!(c.console_session_count().unwrap(), 0);
        // Sign-in sweeps the expired ones it finds.
        let a = c
            .create_console_session("AKIAA", None, "us-east-1")
            .unwrap();
        let _b = c
            .create_console_session("AKIAB", None, "us-east-1")
            .unwrap();
        assert_eq!(c.console_session_count().unwrap(), 2);
        let fresh = later
            .create_console_session("AKIAC", None, "us-east-1")
            .unwrap();
        assert_eq!(later.console_session_count().unwrap(), 1);
        assert!(later.console_session(&a).unwrap().is_none());
        assert!(later.console_session(&fresh).unwrap().is_some());
        let expiry = c.store.read(|tx| tx.scan(EXPIRY_TABLE, "")).unwrap();
        assert_eq!(expiry.len(), 1);
    }

    #[test]
    fn password_sessions_keep_their_login() {
        let c = control();
        let login = PasswordLogin {
            account: "123456789012".into(),
            user_id: "AIDAEXAMPLE".into(),
            profile_created_at: 42,
        };
        let id = c
            .create_console_session("", Some(login.clone()), "us-east-1")
            .unwrap();
        let s = c.console_session(&id).unwrap().unwrap();
        assert_eq!(s.login, Some(login));
        assert_eq!(s.access_key_id, "");
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let m = cut("é".repeat(MAX_FLASH_BYTES));
        assert!(m.len() <= MAX_FLASH_BYTES);
        assert!(m.chars().all(|ch| ch == 'é'));
    }
}
