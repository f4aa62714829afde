//! The shared store: one PostgreSQL database that several berth servers may use at once.
//!
//! One table, `kv (tbl, k, v bytea)`, keys compared byte by byte (`COLLATE "C"`), so scans come
//! back in the same order as from SQLite. Schema changes are the numbered files under
//! `migrations/postgres/`, applied at start under a session advisory lock and counted in the
//! `schema_version` table.
//!
//! **Isolation.** A read transaction is `REPEATABLE READ READ ONLY`: one snapshot for all of
//! its statements. A write transaction is `READ COMMITTED` and takes one transaction-scoped
//! advisory lock ([`WRITE_LOCK`]) before anything else, so the writes of every replica on the
//! database run one at a time, each seeing every commit before it (a read-modify-write of a
//! revision number, a unique name or a placement cannot interleave with another). Writers
//! never wait for readers, readers never wait at all. Because writers are serialised, no
//! serialisation failure or deadlock arises between berth's own transactions.
//!
//! **Retries.** A write whose transaction fails before its closure ran — the connection was
//! gone (the server restarted, the connection was idle too long), or the lock's wait ended in a
//! serialisation failure or a deadlock (only a foreign session holding locks can cause those)
//! — is retried on a fresh connection, up to [`ATTEMPTS`] times. Once the closure ran it is not
//! run again: the closures the domain gives [`crate::StoreExt::write`] are `FnOnce`, and a
//! failure after it (a conflict with a foreign session) is the write's error, nothing of it
//! stored.
//!
//! **Durability.** `write_tx` returns only after `COMMIT` returned (PostgreSQL's own
//! `synchronous_commit`); nothing is acknowledged before its transaction commits. A committed
//! write that changed anything also sends `NOTIFY berth_changes` (delivered at commit), which
//! [`PostgresStore::listen_changes`] turns into a call on every replica.
//!
//! **Threads.** The client is the synchronous `postgres` crate, which blocks its thread for
//! every statement. Called on a worker of a multi-threaded tokio runtime, a transaction runs in
//! [`tokio::task::block_in_place`], so the worker's other tasks move to another thread
//! meanwhile; on any other thread it just runs.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::{Client, Config, NoTls, Socket, Statement};

use crate::{Store, StoreError, Tx};

/// The schema migrations, applied in order; `schema_version` records the newest applied.
/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres/0001_kv.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock every write transaction takes first (`pg_advisory_xact_lock`): writes
/// through every replica on the database run one at a time. The value is arbitrary ("berthwrt"
/// in ASCII), fixed for good: replicas of different versions must agree on it.
pub const WRITE_LOCK: i64 = 0x6265_7274_6877_7274;
/// The session advisory lock held while the schema is migrated ("berthmig").
const MIGRATE_LOCK: i64 = 0x6265_7274_686d_6967;
/// The channel of the change notifications.
pub const CHANNEL: &str = "berth_changes";
/// How many times a write is attempted when it fails before its closure ran.
pub const ATTEMPTS: usize = 5;
/// The default bound on connections one store opens.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How long a transaction waits for a free connection before it fails.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);
/// The connect timeout when the URL gives none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection's TLS is asked for, in libpq's words (`sslmode`): `disable` (plain),
/// `allow` and `prefer` (TLS when the server offers it), `require`, `verify-ca` and
/// `verify-full` (TLS or no connection). Under every mode that uses TLS berth verifies the
/// server's certificate chain; all but `verify-ca` also verify that it names the host (libpq's
/// `require` verifies nothing unless a root certificate file is present: berth's is stricter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS settings of a database URL, taken out of it before the driver parses the rest:
/// `sslmode`, `sslrootcert` (a PEM file of the CAs to trust instead of the machine's, or
/// `system`), `sslcert` and `sslkey` (a client certificate chain and its private key, PEM).
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    mode: Option<SslMode>,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

impl TlsParams {
    /// Splits `url` (a `postgres://` URL or libpq's `key=value` form) into what the driver
    /// parses (with `sslmode` as the driver names it) and the TLS settings.
    fn take(url: &str) -> Result<(String, TlsParams), StoreError> {
        let mut params = TlsParams::default();
        let mut take = |k: &str, v: String| -> Result<bool, StoreError> {
            match k {
                "sslmode" => {
                    params.mode = Some(match v.as_str() {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(StoreError::Connect(format!(
                                "the database URL's sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                            )));
                        }
                    })
                }
                "sslrootcert" => params.root_cert = Some(v),
                "sslcert" => params.cert = Some(v),
                "sslkey" => params.key = Some(v),
                _ => return Ok(false),
            }
            Ok(true)
        };
        let rest = if let Some((base, query)) = url.split_once('?').filter(|_| url.contains("://"))
        {
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .map_err(|_| {
                        StoreError::Connect(format!(
                            "the database URL's {k} is not UTF-8 once decoded"
                        ))
                    })?
                    .into_owned();
                if !take(k, v)? {
                    kept.push(pair.to_string());
                }
            }
            let mode = params_mode(params.mode);
            kept.extend(mode.map(|m| format!("sslmode={m}")));
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        } else if url.contains("://") {
            url.to_string()
        } else {
            let mut kept = Vec::new();
            for (k, v, raw) in key_values(url) {
                if !take(k, v)? {
                    kept.push(raw.to_string());
                }
            }
            kept.extend(params_mode(params.mode).map(|m| format!("sslmode={m}")));
            kept.join(" ")
        };
        if params.cert.is_some() != params.key.is_some() {
            return Err(StoreError::Connect(
                "the database URL names one of sslcert and sslkey: give both (a client certificate and its private key)".into(),
            ));
        }
        Ok((rest, params))
    }
}

/// The pairs of libpq's `key=value` connection string: each key, its value (unquoted, with
/// `\'` and `\\` unescaped) and its text as written. Text that is not a pair is kept as
/// written, under an empty key, for the driver to refuse.
fn key_values(text: &str) -> Vec<(&str, String, &str)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_key = rest[key_end..].trim_start();
        let Some(after_eq) = after_key.strip_prefix('=') else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(("", String::new(), &rest[..end]));
            rest = rest[end..].trim_start();
            continue;
        };
        let value_text = after_eq.trim_start();
        let mut value = String::new();
        let mut consumed = value_text.len();
        if let Some(quoted) = value_text.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        consumed = 1 + i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
        } else {
            consumed = value_text
                .find(char::is_whitespace)
                .unwrap_or(value_text.len());
            value.push_str(&value_text[..consumed]);
        }
        let end = rest.len() - value_text.len() + consumed;
        out.push((key, value, &rest[..end]));
        rest = rest[end..].trim_start();
    }
    out
}

/// The driver's `sslmode` for libpq's: the driver knows disable, prefer and require.
fn params_mode(mode: Option<SslMode>) -> Option<&'static str> {
    mode.map(|m| match m {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
    })
}

/// Verifies the server's certificate chain like `inner`, but not the name it is for
/// (`sslmode=verify-ca`).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The certificates of a PEM file, for the setting `what` names.
fn pem_certs(
    what: &str,
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| StoreError::Connect(format!("{what} {shown}: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Connect(format!("{what} {shown}: {e}")))?;
    if certs.is_empty() {
        return Err(StoreError::Connect(format!(
            "{what} {shown}: no certificate in the file"
        )));
    }
    Ok(certs)
}

/// The TLS used for the database's connections: none for `sslmode=disable`, otherwise rustls
/// (on `ring`) verifying the server's certificate against `sslrootcert`'s CAs when the URL
/// names a file, else the machine's trusted roots plus those of the PEM file
/// `BERTH_DATABASE_CA_FILE` names; with the client certificate of `sslcert`/`sslkey`.
#[derive(Clone)]
enum Tls {
    None,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    fn for_config(
        config: &Config,
        params: &TlsParams,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Tls, StoreError> {
        if config.get_ssl_mode() == postgres::config::SslMode::Disable {
            return Ok(Tls::None);
        }
        let mut roots = rustls::RootCertStore::empty();
        let native = || {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                // A certificate rustls cannot use is skipped, as a browser would.
                let _ = roots.add(cert);
            }
            roots
        };
        match params.root_cert.as_deref() {
            Some("system") => roots = native(),
            Some(file) => {
                for cert in pem_certs("sslrootcert", std::path::Path::new(file))? {
                    roots
                        .add(cert)
                        .map_err(|e| StoreError::Connect(format!("sslrootcert {file}: {e}")))?;
                }
            }
            None => {
                roots = native();
                if let Some(path) = ca_file {
                    for cert in pem_certs("BERTH_DATABASE_CA_FILE", path)? {
                        roots.add(cert).map_err(|e| {
                            StoreError::Connect(format!(
                                "BERTH_DATABASE_CA_FILE {}: {e}",
                                path.display()
                            ))
                        })?;
                    }
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Connect(format!("TLS: {e}")))?;
        let builder = if params.mode == Some(SslMode::VerifyCa) {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| StoreError::Connect(format!("TLS: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { inner }))
        } else {
            builder.with_root_certificates(roots)
        };
        let tls = match (&params.cert, &params.key) {
            (Some(cert), Some(key)) => {
                use rustls::pki_types::PrivateKeyDer;
                use rustls::pki_types::pem::PemObject;
                let chain = pem_certs("sslcert", std::path::Path::new(cert))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| StoreError::Connect(format!("sslkey {key}: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| StoreError::Connect(format!("sslcert/sslkey: {e}")))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(
            tls,
        )))
    }

    fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match self {
            Tls::None => config.connect(NoTls),
            Tls::Rustls(t) => config.connect(t.clone()),
        }
    }
}

// The connector must satisfy what `Config::connect` asks of it.
fn _assert_tls<T>()
where
    T: MakeTlsConnect<Socket> + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
}
const _: fn() = _assert_tls::<tokio_postgres_rustls::MakeRustlsConnect>;

/// One pooled connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct Pool {
    idle: Vec<Conn>,
    /// Connections open, idle or checked out.
    open: usize,
}

struct Inner {
    config: Config,
    tls: Tls,
    max: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// A [`Store`] in a PostgreSQL database, shared by every berth server pointed at it (see the
/// module's documentation for the isolation, retry and notification rules).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("max", &self.inner.max)
            .finish_non_exhaustive()
    }
}

fn lock_any<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f`, which blocks on the network, where blocking is allowed: see the module's
/// documentation ("Threads").
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Whether `e` means the connection is unusable (and a fresh one may succeed).
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.code() == Some(&SqlState::ADMIN_SHUTDOWN)
        || e.code() == Some(&SqlState::CRASH_SHUTDOWN)
        || e.code() == Some(&SqlState::CANNOT_CONNECT_NOW)
        || (e.as_db_error().is_none() && e.code().is_none() && is_io(e))
}

fn is_io(e: &postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Whether `e` is a conflict that the same transaction run again may not meet.
fn conflict(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/db?sslmode=…`),
    /// migrates its schema (refusing a database whose schema is newer than this build knows)
    /// and keeps at most `pool_size` connections open.
    pub fn connect(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        let ca = std::env::var_os("BERTH_DATABASE_CA_FILE").map(std::path::PathBuf::from);
        PostgresStore::connect_with_ca(url, pool_size, ca.as_deref())
    }

    /// [`PostgresStore::connect`], trusting the CA certificates of the PEM file `ca_file` too
    /// (what `BERTH_DATABASE_CA_FILE` names).
    pub fn connect_with_ca(
        url: &str,
        pool_size: usize,
        ca_file: Option<&std::path::Path>,
    ) -> Result<PostgresStore, StoreError> {
        let (url, params) = TlsParams::take(url)?;
        let mut config = Config::from_str(&url)
            .map_err(|e| StoreError::Connect(format!("the database URL does not parse: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("berth");
        }
        let tls = Tls::for_config(&config, &params, ca_file)?;
        let store = PostgresStore {
            inner: Arc::new(Inner {
                config,
                tls,
                max: pool_size.max(1),
                pool: Mutex::new(Pool {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
            }),
        };
        blocking(|| store.migrate())?;
        Ok(store)
    }

    fn new_client(&self) -> Result<Client, StoreError> {
        self.inner
            .tls
            .connect(&self.inner.config)
            .map_err(StoreError::Postgres)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.new_client()?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])?;
        let r = migrate(&mut client);
        // Closing the session would release the lock too.
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]);
        r
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with_client(current_version)
    }

    /// Whether the database holds any record besides the store's own
    /// ([`crate::META_TABLE`]): `false` for a new database.
    pub fn holds_data(&self) -> Result<bool, StoreError> {
        self.with_client(|c| {
            let row = c.query_one(
                "SELECT EXISTS (SELECT 1 FROM kv WHERE tbl <> $1)",
                &[&crate::META_TABLE],
            )?;
            Ok(row.get(0))
        })
    }

    /// Whether the database holds no record at all (not even the store's own).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.with_client(|c| {
            let row = c.query_one("SELECT NOT EXISTS (SELECT 1 FROM kv)", &[])?;
            Ok(row.get(0))
        })
    }

    /// Every table name in the database, in order (for copying a store whole).
    pub fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.with_client(|c| {
            Ok(c.query("SELECT DISTINCT tbl FROM kv ORDER BY tbl", &[])?
                .into_iter()
                .map(|r| r.get::<_, String>(0))
                .collect())
        })
    }

    /// Runs `f` on a leased connection, outside any transaction of ours.
    fn with_client<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        blocking(|| {
            let mut lease = self.checkout()?;
            let r = f(&mut lease.conn_mut().client);
            let usable = match &r {
                Err(StoreError::Postgres(e)) => !connection_lost(e),
                _ => true,
            };
            lease.done(usable);
            r
        })
    }

    /// Takes a connection: an idle one, a new one while fewer than the bound are open, or
    /// (all taken) the first one returned within [`CHECKOUT_WAIT`].
    fn checkout(&self) -> Result<Lease<'_>, StoreError> {
        let deadline = Instant::now() + CHECKOUT_WAIT;
        let mut pool = lock_any(&self.inner.pool);
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(Lease {
                    store: self,
                    conn: Some(conn),
                });
            }
            if pool.open < self.inner.max {
                pool.open += 1;
                drop(pool);
                return match self.new_client() {
                    Ok(client) => Ok(Lease {
                        store: self,
                        conn: Some(Conn {
                            client,
                            statements: HashMap::new(),
                        }),
                    }),
                    Err(e) => {
                        lock_any(&self.inner.pool).open -= 1;
                        self.inner.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Connect(format!(
                    "no database connection was free within {} s ({} open)",
                    CHECKOUT_WAIT.as_secs(),
                    pool.open
                )));
            }
            pool = self
                .inner
                .returned
                .wait_timeout(pool, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Runs `f` in one transaction on a leased connection: `begin` opens it; `after` runs
    /// before `COMMIT` when `f` succeeded. Returns whether `f` ran, with the outcome.
    fn run(
        &self,
        begin: &'static str,
        write: bool,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> (bool, Result<(), StoreError>) {
        let mut lease = match self.checkout() {
            Ok(l) => l,
            Err(e) => return (false, Err(e)),
        };
        let conn = lease.conn_mut();
        if let Err(e) = conn.client.batch_execute(begin) {
            lease.done(false);
            return (false, Err(e.into()));
        }
        if write {
            let locked = conn
                .statement("SELECT pg_advisory_xact_lock($1)")
                .and_then(|s| conn.client.execute(&s, &[&WRITE_LOCK]));
            if let Err(e) = locked {
                let usable = !connection_lost(&e) && conn.client.batch_execute("ROLLBACK").is_ok();
                lease.done(usable);
                return (false, Err(e.into()));
            }
        }
        let tx = PgTx {
            conn: RefCell::new(conn),
            wrote: Cell::new(false),
            failed: Cell::new(false),
        };
        // A panic in `f` drops the lease without `done`: the connection, mid-transaction, is
        // closed (the server rolls it back), never reused.
        let r = f(&tx);
        let wrote = tx.wrote.get();
        let conn = tx.conn.into_inner();
        let end = match &r {
            Ok(()) if wrote => conn.client.batch_execute("NOTIFY berth_changes; COMMIT"),
            Ok(()) => conn.client.batch_execute("COMMIT"),
            Err(_) => conn.client.batch_execute("ROLLBACK"),
        };
        match (r, end) {
            (Ok(()), Ok(())) => {
                lease.done(true);
                (true, Ok(()))
            }
            (Ok(()), Err(e)) => {
                let usable = !connection_lost(&e);
                lease.done(usable);
                (true, Err(e.into()))
            }
            (Err(e), end) => {
                lease.done(end.is_ok());
                (true, Err(e))
            }
        }
    }

    /// Starts a thread that listens for the change notifications of every replica's commits
    /// (`LISTEN berth_changes` on a connection of its own, reconnecting when it is lost) and
    /// calls `on_change` for each, and once after every (re)connection, since changes may
    /// have been missed meanwhile. Stops when the returned handle is dropped (within a
    /// second).
    pub fn listen_changes(
        &self,
        on_change: impl Fn() + Send + 'static,
    ) -> Result<Listener, StoreError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let inner = self.inner.clone();
        std::thread::Builder::new()
            .name("berth-pg-listen".into())
            .spawn(move || listen(&inner, &stopping, &on_change))
            .map_err(|e| StoreError::Connect(format!("starting the listener: {e}")))?;
        Ok(Listener { stop })
    }
}

/// Stops its [`PostgresStore::listen_changes`] thread when dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn listen(inner: &Inner, stop: &AtomicBool, on_change: &dyn Fn()) {
    let mut backoff = Duration::from_millis(100);
    while !stop.load(Ordering::SeqCst) {
        let client = inner
            .tls
            .connect(&inner.config)
            .and_then(|mut c| c.batch_execute("LISTEN berth_changes").map(|()| c));
        let mut client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the change listener cannot reach the database; retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        on_change();
        while !stop.load(Ordering::SeqCst) {
            let first = client
                .notifications()
                .timeout_iter(Duration::from_secs(1))
                .next();
            match first {
                Ok(Some(_)) => {
                    // Many commits at once make one call: drain what has arrived.
                    let mut pending = client.notifications();
                    let mut it = pending.iter();
                    while let Ok(Some(_)) = it.next() {}
                    on_change();
                }
                Ok(None) if !client.is_closed() => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener lost its connection");
                    break;
                }
            }
        }
    }
}

/// A leased connection: back to the pool on `done(true)`, closed on `done(false)` or when
/// dropped without `done` (a panic mid-transaction).
struct Lease<'s> {
    store: &'s PostgresStore,
    conn: Option<Conn>,
}

impl Lease<'_> {
    fn conn_mut(&mut self) -> &mut Conn {
        #[allow(clippy::expect_used)]
        self.conn
            .as_mut()
            .expect("a lease holds its connection until done")
    }

    fn done(mut self, usable: bool) {
        let conn = self.conn.take();
        let mut pool = lock_any(&self.store.inner.pool);
        match conn {
            Some(c) if usable && !c.client.is_closed() => pool.idle.push(c),
            other => {
                pool.open -= 1;
                drop(pool);
                drop(other);
                self.store.inner.returned.notify_one();
                return;
            }
        }
        drop(pool);
        self.store.inner.returned.notify_one();
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn);
            lock_any(&self.store.inner.pool).open -= 1;
            self.store.inner.returned.notify_one();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A client owns a small tokio runtime, which must not be dropped on an async worker:
        // the idle connections are closed on a thread of their own.
        let idle = std::mem::take(&mut lock_any(&self.pool).idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

fn current_version(client: &mut Client) -> Result<i64, StoreError> {
    let row = client.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?;
    Ok(row.get(0))
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    bigint PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let current = current_version(client)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&((i + 1) as i64)],
        )?;
        tx.commit()?;
    }
    Ok(())
}

struct PgTx<'c> {
    conn: RefCell<&'c mut Conn>,
    wrote: Cell<bool>,
    /// A statement failed: PostgreSQL has aborted the transaction.
    failed: Cell<bool>,
}

const GET: &str = "SELECT v FROM kv WHERE tbl = $1 AND k = $2";
const PUT: &str = "INSERT INTO kv (tbl, k, v) VALUES ($1, $2, $3) \
                   ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v";
const DELETE: &str = "DELETE FROM kv WHERE tbl = $1 AND k = $2";
const SCAN: &str = "SELECT k, v FROM kv WHERE tbl = $1 AND k >= $2 AND k < $3 ORDER BY k";
const ASC_FROM: &str =
    "SELECT k, v FROM kv WHERE tbl = $1 AND k >= $2 AND k < $3 ORDER BY k ASC LIMIT $4";
const ASC_AFTER: &str =
    "SELECT k, v FROM kv WHERE tbl = $1 AND k > $2 AND k < $3 ORDER BY k ASC LIMIT $4";
const DESC: &str =
    "SELECT k, v FROM kv WHERE tbl = $1 AND k >= $2 AND k < $3 ORDER BY k DESC LIMIT $4";
/// The smallest string greater than every string that starts with `prefix` (keys are ASCII).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{7f}")
}

fn keep_prefixed(rows: Vec<postgres::Row>, prefix: &str) -> Vec<(String, Vec<u8>)> {
    rows.into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)))
        .filter(|(k, _)| k.starts_with(prefix))
        .collect()
}

impl PgTx<'_> {
    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let mut conn = self.conn.borrow_mut();
        let r = conn
            .statement(sql)
            .and_then(|stmt| conn.client.query(&stmt, params));
        self.failed.set(self.failed.get() || r.is_err());
        Ok(r?)
    }

    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn.borrow_mut();
        let r = conn
            .statement(sql)
            .and_then(|stmt| conn.client.execute(&stmt, params));
        self.failed.set(self.failed.get() || r.is_err());
        Ok(r?)
    }
}

impl Tx for PgTx<'_> {
    fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .query(GET, &[&table, &key])?
            .into_iter()
            .next()
            .map(|r| r.get::<_, Vec<u8>>(0)))
    }

    fn put(&self, table: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.execute(PUT, &[&table, &key, &value])?;
        self.wrote.set(true);
        Ok(())
    }

    fn delete(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let n = self.execute(DELETE, &[&table, &key])?;
        if n > 0 {
            self.wrote.set(true);
        }
        Ok(n > 0)
    }

    fn scan(&self, table: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let end = prefix_end(prefix);
        Ok(keep_prefixed(
            self.query(SCAN, &[&table, &prefix, &end])?,
            prefix,
        ))
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The bounds: [prefix, end) narrowed by the cursor, which is exclusive.
        let rows = match (after, descending) {
            (Some(a), false) if a >= prefix => {
                self.query(ASC_AFTER, &[&table, &a, &end, &limit])?
            }
            (Some(a), true) if a < end.as_str() => {
                self.query(DESC, &[&table, &prefix, &a, &limit])?
            }
            (_, false) => self.query(ASC_FROM, &[&table, &prefix, &end, &limit])?,
            (_, true) => self.query(DESC, &[&table, &prefix, &end, &limit])?,
        };
        Ok(keep_prefixed(rows, prefix))
    }
}

thread_local! {
    /// The read snapshot of the request this thread runs ([`Store::request_scope`] with
    /// `snapshot`), on one store.
    static SNAPSHOT: RefCell<Option<Snapshot>> = const { RefCell::new(None) };
}

/// A request's shared read transaction: opened by its first read, ended by its first write or
/// the end of the request.
struct Snapshot {
    /// The store it belongs to (the address of its shared state).
    store: usize,
    /// Reads still share the snapshot (no write yet, no failure).
    active: bool,
    /// The connection with the open `REPEATABLE READ` transaction, once a read opened it;
    /// `None` while a read runs on it (a read nested in that one opens its own).
    conn: Option<Conn>,
    /// Whether the transaction was opened (and its connection is out of the pool).
    opened: bool,
}

impl PostgresStore {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Puts a connection taken out of the pool back (or closes it when it is not `usable`).
    fn give_back(&self, conn: Conn, usable: bool) {
        Lease {
            store: self,
            conn: Some(conn),
        }
        .done(usable);
    }

    /// Ends this thread's snapshot on this store, if one is open: its transaction committed
    /// (it only read) and its connection returned. Reads after it run on their own.
    fn end_snapshot(&self) {
        let taken = SNAPSHOT.with(|s| {
            let mut s = s.borrow_mut();
            match s.as_mut() {
                Some(snap) if snap.store == self.id() => {
                    snap.active = false;
                    let opened = std::mem::replace(&mut snap.opened, false);
                    (opened, snap.conn.take())
                }
                _ => (false, None),
            }
        });
        if let (true, Some(mut conn)) = taken {
            let usable = conn.client.batch_execute("COMMIT").is_ok();
            self.give_back(conn, usable);
        }
    }

    /// Runs `f` in this thread's snapshot when one is active on this store: `None` otherwise
    /// (or when the snapshot's connection is in use by the read around this one).
    fn in_snapshot(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Option<Result<(), StoreError>> {
        let mine = SNAPSHOT.with(|s| {
            let mut s = s.borrow_mut();
            match s.as_mut() {
                Some(snap) if snap.store == self.id() && snap.active => {
                    if snap.opened {
                        snap.conn.take().map(Some)
                    } else {
                        // Not opened yet: this read opens it.
                        snap.opened = true;
                        Some(None)
                    }
                }
                _ => None,
            }
        })?;
        let mut conn = match mine {
            Some(conn) => conn,
            None => {
                let opened = self.checkout().and_then(|mut lease| {
                    lease
                        .conn_mut()
                        .client
                        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
                    Ok(lease.conn.take())
                });
                match opened {
                    Ok(Some(conn)) => conn,
                    _ => {
                        // No snapshot then: this read and the next run on their own.
                        SNAPSHOT.with(|s| {
                            if let Some(snap) = s.borrow_mut().as_mut() {
                                snap.active = false;
                                snap.opened = false;
                            }
                        });
                        return None;
                    }
                }
            }
        };
        let tx = PgTx {
            conn: RefCell::new(&mut conn),
            wrote: Cell::new(false),
            failed: Cell::new(false),
        };
        let r = f(&tx);
        let failed = tx.failed.get();
        if failed {
            // A failed statement aborts the transaction: the snapshot ends here.
            let usable = conn.client.batch_execute("ROLLBACK").is_ok();
            SNAPSHOT.with(|s| {
                if let Some(snap) = s.borrow_mut().as_mut() {
                    snap.active = false;
                    snap.opened = false;
                }
            });
            self.give_back(conn, usable);
        } else {
            SNAPSHOT.with(|s| {
                if let Some(snap) = s.borrow_mut().as_mut() {
                    snap.conn = Some(conn);
                }
            });
        }
        Some(r)
    }
}

/// Ends the request's snapshot however the request ends (a panic included).
struct SnapshotGuard<'s>(&'s PostgresStore);

impl Drop for SnapshotGuard<'_> {
    fn drop(&mut self) {
        self.0.end_snapshot();
        SNAPSHOT.with(|s| s.borrow_mut().take());
    }
}

impl Store for PostgresStore {
    /// With `snapshot`, the request's reads share one `REPEATABLE READ` transaction on one
    /// connection (one snapshot, one `BEGIN` and one `COMMIT` instead of one each) until its
    /// first write; the reads after the write run on their own and see it. Writes are durable
    /// when `write_tx` returns: the ticket names nothing to wait for.
    fn request_scope(&self, snapshot: bool, f: &mut dyn FnMut()) -> crate::Ticket {
        let nested = SNAPSHOT.with(|s| s.borrow().is_some());
        if nested {
            f();
            return crate::Ticket::default();
        }
        blocking(|| {
            SNAPSHOT.with(|s| {
                *s.borrow_mut() = Some(Snapshot {
                    store: self.id(),
                    active: snapshot,
                    conn: None,
                    opened: false,
                })
            });
            let _guard = SnapshotGuard(self);
            f();
        });
        crate::Ticket::default()
    }

    fn read_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        blocking(|| {
            if let Some(r) = self.in_snapshot(f) {
                return r;
            }
            let mut last = None;
            for _ in 0..ATTEMPTS {
                match self.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, f) {
                    (false, Err(e)) if retryable(&e) => last = Some(e),
                    (_, r) => return r,
                }
            }
            Err(last.unwrap_or(StoreError::Aborted))
        })
    }

    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        blocking(|| {
            // The request's reads after this write see it.
            self.end_snapshot();
            let mut last = None;
            for attempt in 0..ATTEMPTS {
                match self.run("BEGIN ISOLATION LEVEL READ COMMITTED", true, f) {
                    (false, Err(e)) if retryable(&e) => {
                        tracing::debug!(error = %e, attempt, "retrying a write that did not start");
                        last = Some(e);
                        std::thread::sleep(Duration::from_millis(10 << attempt));
                    }
                    (_, r) => return r,
                }
            }
            Err(last.unwrap_or(StoreError::Aborted))
        })
    }
}

/// Whether a transaction that failed before its closure ran is worth trying again.
fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => connection_lost(e) || conflict(e),
        _ => false,
    }
}

/// What [`copy_into_empty`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub tables: usize,
    pub records: usize,
}

/// How many records [`copy_into_empty`] reads from the source at a time.
const COPY_PAGE: usize = 500;

/// Copies every table and key of `source` into `target`, which must hold no record, in one
/// write transaction of `target`: all of it is there, or nothing. The records are copied as
/// they are (sealed values stay sealed under the same root key). The source must not change
/// meanwhile (`berth migrate` holds its data directory's server lock).
pub fn copy_into_empty(
    source: &crate::SqliteStore,
    target: &PostgresStore,
) -> Result<Copied, StoreError> {
    use crate::StoreExt;
    if !target.is_empty()? {
        return Err(StoreError::NotEmpty);
    }
    let tables = source.tables()?;
    let mut records = 0;
    target.write_tx(&mut |tx| {
        records = 0;
        for table in &tables {
            let mut after: Option<String> = None;
            loop {
                let page =
                    source.read(|s| s.scan_range(table, "", after.as_deref(), false, COPY_PAGE))?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last.clone());
                for (k, v) in &page {
                    tx.put(table, k, v)?;
                    records += 1;
                }
            }
        }
        Ok(())
    })?;
    Ok(Copied {
        tables: tables.len(),
        records,
    })
}

/// The URL `url` with its database name replaced by `dbname` (URLs of the form
/// `postgres://[user[:password]@]host[:port][/db][?params]`).
pub fn with_dbname(url: &str, dbname: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(a, _)| a);
    let mut out = format!("{scheme}://{authority}/{dbname}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// The PostgreSQL half of the store's tests. They need a server: `BERTH_TEST_DATABASE_URL`
/// names a database whose user may create databases (each test makes its own and drops it).
/// They are ignored by default; `scripts/test` starts a throwaway cluster
/// (`scripts/lib/ensure-postgres`) and runs them with `--ignored`, where a missing or
/// unreachable URL fails them.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::{StoreExt, get_json, put_json};
    use std::sync::atomic::AtomicUsize;

    /// A database of its own for one test, dropped at the end.
    struct Fresh {
        admin_url: String,
        name: String,
        url: String,
    }

    impl Fresh {
        fn new() -> Fresh {
            let admin_url = std::env::var("BERTH_TEST_DATABASE_URL").expect(
                "BERTH_TEST_DATABASE_URL must name a PostgreSQL database for these tests \
                 (scripts/lib/ensure-postgres start DIR prints one)",
            );
            static N: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "berth_unit_{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            );
            let mut c = Client::connect(&admin_url, NoTls)
                .unwrap_or_else(|e| panic!("BERTH_TEST_DATABASE_URL is unreachable: {e}"));
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let url = with_dbname(&admin_url, &name).unwrap();
            Fresh {
                admin_url,
                name,
                url,
            }
        }

        fn store(&self) -> PostgresStore {
            PostgresStore::connect(&self.url, 4).unwrap()
        }

        fn client(&self) -> Client {
            Client::connect(&self.url, NoTls).unwrap()
        }
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if let Ok(mut c) = Client::connect(&self.admin_url, NoTls) {
                let _ = c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }

    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_suite() {
        let db = Fresh::new();
        let s = db.store();
        crate::suite::the_root_key_check_is_recorded_once(&s, &|| s.holds_data().unwrap());
        crate::suite::put_get_scan_delete(&s);
        crate::suite::scan_range_pages_both_ways(&s);
        crate::suite::keys_are_in_byte_order(&s);
        crate::suite::values_are_bytes(&s);
        let db = Fresh::new();
        crate::suite::failed_closure_rolls_back(&db.store());
        let db = Fresh::new();
        crate::suite::a_panic_inside_a_transaction_rolls_it_back(&db.store());
    }

    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_schema_is_migrated_once_and_a_newer_one_refused() {
        let db = Fresh::new();
        // Several replicas starting at once: the migration lock lets one migrate.
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url.clone();
                std::thread::spawn(move || PostgresStore::connect(&url, 1).map(|_| ()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let s = db.store();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let rows = db
            .client()
            .query("SELECT version FROM schema_version ORDER BY version", &[])
            .unwrap();
        let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
        db.client()
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(SCHEMA_VERSION + 5)],
            )
            .unwrap();
        match PostgresStore::connect(&db.url, 1) {
            Err(StoreError::SchemaTooNew { found, known }) => {
                assert_eq!((found, known), (SCHEMA_VERSION + 5, SCHEMA_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    /// Two replicas (two stores on one database), two threads each, read-increment-write of
    /// one key: every increment lands, and no two writes read the same value.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_writes_through_two_stores_are_serialised() {
        let db = Fresh::new();
        let stores = [db.store(), db.store()];
        const EACH: u32 = 40;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..4 {
            let s = stores[i % 2].clone();
            let seen = seen.clone();
            handles.push(std::thread::spawn(move || {
                for _ in 0..EACH {
                    let n = s
                        .write(|tx| -> Result<u32, StoreError> {
                            let n: u32 = get_json(tx, "t", "counter")?.unwrap_or(0);
                            // Give the other writers every chance to interleave.
                            std::thread::yield_now();
                            put_json(tx, "t", "counter", &(n + 1))?;
                            Ok(n + 1)
                        })
                        .unwrap();
                    lock_any(&seen).push(n);
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        let total: Option<u32> = stores[1].read(|tx| get_json(tx, "t", "counter")).unwrap();
        assert_eq!(total, Some(4 * EACH));
        let mut seen = lock_any(&seen).clone();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=4 * EACH).collect::<Vec<_>>(),
            "gap-free, no duplicates"
        );
    }

    /// A read transaction is one snapshot: a commit during it is not seen by it, and is seen
    /// by the next. A write inside a read transaction is refused.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_a_read_is_one_snapshot_and_read_only() {
        let db = Fresh::new();
        let (a, b) = (db.store(), db.store());
        a.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
        let (before, after): (Option<u32>, Option<u32>) = a
            .read(|tx| -> Result<_, StoreError> {
                let before = get_json(tx, "t", "k")?;
                b.write(|tx| put_json(tx, "t", "k", &2u32))?;
                Ok((before, get_json(tx, "t", "k")?))
            })
            .unwrap();
        assert_eq!((before, after), (Some(1), Some(1)));
        let now: Option<u32> = a.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(now, Some(2));
        assert!(a.read(|tx| tx.put("t", "k", b"3")).is_err());
        let still: Option<u32> = a.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(still, Some(2));
    }

    /// The server ends every connection (a restart, an idle timeout): the next transactions
    /// run on fresh connections, retried rather than failed.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_a_dropped_connection_is_replaced() {
        let db = Fresh::new();
        let s = PostgresStore::connect(&db.url, 2).unwrap();
        s.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
        let killed = db
            .client()
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        assert!(!killed.is_empty(), "the store's connection was open");
        s.write(|tx| put_json(tx, "t", "k", &2u32)).unwrap();
        let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(v, Some(2));
        assert!(lock_any(&s.inner.pool).open <= 2);
    }

    /// More concurrent transactions than connections: they wait for one, and all succeed.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_the_pool_is_bounded() {
        let db = Fresh::new();
        let s = PostgresStore::connect(&db.url, 2).unwrap();
        let handles: Vec<_> = (0..8u32)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for j in 0..5u32 {
                        s.write(|tx| put_json(tx, "t", &format!("k{i}-{j}"), &j))
                            .unwrap();
                        let _: Option<u32> = s
                            .read(|tx| get_json(tx, "t", &format!("k{i}-{j}")))
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let n = s.read(|tx| tx.scan("t", "k")).unwrap().len();
        assert_eq!(n, 40);
        let open = lock_any(&s.inner.pool).open;
        assert!((1..=2).contains(&open), "{open} connections open");
        let backends: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'berth'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(backends <= 2, "{backends} backends");
    }

    /// A commit through one store wakes the listener of another (another replica); a write
    /// that changes nothing does not notify.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_a_commit_notifies_every_listener() {
        let db = Fresh::new();
        let (a, b) = (db.store(), db.store());
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let _listener = b
            .listen_changes(move || {
                counted.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while calls.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "no wake-up within 10 s");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        // One call once it listens.
        wait_for(1);
        let base = calls.load(Ordering::SeqCst);
        a.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
        wait_for(base + 1);
    }

    /// `sslmode=require`: the connection is TLS, and the server's certificate is verified — a
    /// server whose CA is not trusted is refused. Needs the cluster of
    /// `scripts/lib/ensure-postgres`, which serves TLS with a certificate signed by the CA in
    /// `BERTH_TEST_DATABASE_CA`.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_tls_is_used_and_verified() {
        let ca = std::env::var("BERTH_TEST_DATABASE_CA")
            .expect("BERTH_TEST_DATABASE_CA must name the test cluster's CA certificate");
        let db = Fresh::new();
        let url = db.url.replace("sslmode=disable", "sslmode=require");
        assert!(url.contains("sslmode=require"), "{url}");
        let s = PostgresStore::connect_with_ca(&url, 2, Some(std::path::Path::new(&ca))).unwrap();
        s.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
        let on_tls: bool = s
            .with_client(|c| {
                Ok(c.query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )?
                .get(0))
            })
            .unwrap();
        assert!(on_tls, "the connection is not TLS");
        // Without the CA the server's certificate is not trusted: refused, not downgraded.
        match PostgresStore::connect_with_ca(&url, 2, None) {
            Err(e) => assert!(
                format!("{e}").contains("certificate") || format!("{e:?}").contains("Certificate"),
                "{e:?}"
            ),
            Ok(_) => panic!("an untrusted certificate was accepted"),
        }
    }

    /// Whether the store's connection is TLS, and the user it is signed in as.
    fn tls_and_user(s: &PostgresStore) -> (bool, String) {
        s.with_client(|c| {
            let row = c.query_one(
                "SELECT ssl, current_user::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )?;
            Ok((row.get(0), row.get(1)))
        })
        .unwrap()
    }

    /// The port of a test database's URL (`postgres://berth@127.0.0.1:PORT/…`).
    fn port_of(url: &str) -> &str {
        let after = url.split_once("127.0.0.1:").unwrap().1;
        after.split_once('/').unwrap().0
    }

    /// `sslmode=verify-full` and `verify-ca` with `sslrootcert`, as libpq names them:
    /// verify-full checks the certificate's chain and that it names the host, verify-ca only
    /// the chain; a file of other CAs, or none, is refused under both. Needs the cluster of
    /// `scripts/lib/ensure-postgres` (its certificate is for 127.0.0.1 only).
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_tls_verify_ca_and_verify_full_with_sslrootcert() {
        let ca = std::env::var("BERTH_TEST_DATABASE_CA")
            .expect("BERTH_TEST_DATABASE_CA must name the test cluster's CA certificate");
        let db = Fresh::new();
        let port = port_of(&db.url);
        let by_ip = |mode: &str, root: &str| {
            format!(
                "postgres://berth@127.0.0.1:{port}/{}?sslmode={mode}&sslrootcert={root}",
                db.name
            )
        };
        // By the name the certificate is for: both modes verify and connect on TLS.
        for mode in ["verify-full", "verify-ca"] {
            let s = PostgresStore::connect_with_ca(&by_ip(mode, &ca), 2, None).unwrap();
            s.write(|tx| put_json(tx, "t", mode, &1u32)).unwrap();
            assert!(tls_and_user(&s).0, "{mode}: the connection is not TLS");
        }
        // By a name the certificate is not for (the address given apart, as libpq's hostaddr):
        // verify-full refuses, verify-ca connects.
        let by_name = |mode: &str| {
            format!(
                "postgres://berth@localhost:{port}/{}?hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}",
                db.name
            )
        };
        match PostgresStore::connect_with_ca(&by_name("verify-full"), 2, None) {
            Err(e) => assert!(format!("{e:?}").contains("NotValidForName"), "{e:?}"),
            Ok(_) => panic!("verify-full accepted a certificate for another name"),
        }
        let s = PostgresStore::connect_with_ca(&by_name("verify-ca"), 2, None).unwrap();
        assert!(tls_and_user(&s).0);
        // sslrootcert replaces the trusted roots: the machine's own do not know the test CA,
        // and BERTH_DATABASE_CA_FILE's is not added to a file the URL names.
        for mode in ["verify-full", "verify-ca"] {
            match PostgresStore::connect_with_ca(&by_ip(mode, "system"), 2, None) {
                Err(e) => assert!(format!("{e:?}").contains("UnknownIssuer"), "{mode}: {e:?}"),
                Ok(_) => panic!("{mode}: an untrusted certificate was accepted"),
            }
        }
        let other = std::env::temp_dir().join(format!("berth-other-ca-{}.pem", std::process::id()));
        std::fs::write(&other, OTHER_CA).unwrap();
        let refused = PostgresStore::connect_with_ca(
            &by_ip("verify-ca", &other.display().to_string()),
            2,
            Some(std::path::Path::new(&ca)),
        );
        let _ = std::fs::remove_file(&other);
        match refused {
            Err(e) => assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}"),
            Ok(_) => panic!("a certificate of another CA was accepted"),
        }
    }

    /// Client certificates (`sslcert`/`sslkey`): the test cluster's user `berthcert` signs in
    /// only with the certificate its CA signed, on TLS; without it the server refuses.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_client_certificates_sign_in() {
        let ca = std::env::var("BERTH_TEST_DATABASE_CA")
            .expect("BERTH_TEST_DATABASE_CA must name the test cluster's CA certificate");
        let dir = std::path::Path::new(&ca).parent().unwrap();
        let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
        let db = Fresh::new();
        db.client()
            .batch_execute(&format!("ALTER DATABASE {} OWNER TO berthcert", db.name))
            .unwrap();
        let port = port_of(&db.url);
        let url = format!(
            "postgres://berthcert@127.0.0.1:{port}/{}?sslmode=verify-full&sslrootcert={ca}&sslcert={}&sslkey={}",
            db.name,
            cert.display(),
            key.display()
        );
        let s = PostgresStore::connect(&url, 2).unwrap();
        s.write(|tx| put_json(tx, "t", "k", &7u32)).unwrap();
        let got: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
        assert_eq!(got, Some(7));
        assert_eq!(tls_and_user(&s), (true, "berthcert".to_string()));
        // Without the certificate the server refuses the user.
        let without = format!(
            "postgres://berthcert@127.0.0.1:{port}/{}?sslmode=verify-full&sslrootcert={ca}",
            db.name
        );
        match PostgresStore::connect(&without, 2) {
            Err(e) => assert!(format!("{e:?}").contains("certificate"), "{e:?}"),
            Ok(_) => panic!("berthcert signed in without its certificate"),
        }
    }

    /// libpq's TLS settings are taken out of the URL (percent-decoded) and `sslmode` is
    /// given to the driver in its words; the rest of the URL is left as it was.
    #[test]
    fn tls_settings_are_taken_from_the_url() {
        let (rest, p) = TlsParams::take(
            "postgres://app:pw@db.abc123.us-east-1.rds.amazonaws.com:5432/berth?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Frds%2Fglobal-bundle.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://app:pw@db.abc123.us-east-1.rds.amazonaws.com:5432/berth?connect_timeout=5&sslmode=require"
        );
        assert_eq!(p.mode, Some(SslMode::VerifyFull));
        assert_eq!(
            p.root_cert.as_deref(),
            Some("/etc/ssl/rds/global-bundle.pem")
        );
        assert!(Config::from_str(&rest).is_ok());

        let (rest, p) = TlsParams::take(
            "postgresql://u@h/db?sslmode=verify-ca&sslcert=/c/client.crt&sslkey=/c/client.key",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://u@h/db?sslmode=require");
        assert_eq!(p.mode, Some(SslMode::VerifyCa));
        assert_eq!(p.cert.as_deref(), Some("/c/client.crt"));
        assert_eq!(p.key.as_deref(), Some("/c/client.key"));

        for (mode, driver) in [
            ("disable", "disable"),
            ("allow", "prefer"),
            ("prefer", "prefer"),
            ("require", "require"),
        ] {
            let (rest, _) = TlsParams::take(&format!("postgres://h/db?sslmode={mode}")).unwrap();
            assert_eq!(rest, format!("postgres://h/db?sslmode={driver}"));
        }
        // Nothing to take: the URL as it was.
        for url in ["postgres://h/db", "postgres://h/db?application_name=x"] {
            assert_eq!(
                TlsParams::take(url).unwrap(),
                (url.to_string(), TlsParams::default())
            );
        }
        // libpq's key=value form.
        let (rest, p) = TlsParams::take(
            "host=127.0.0.1 user=berth sslmode=verify-full sslrootcert=/ca.pem dbname=berth",
        )
        .unwrap();
        assert_eq!(
            rest,
            "host=127.0.0.1 user=berth dbname=berth sslmode=require"
        );
        assert_eq!(p.mode, Some(SslMode::VerifyFull));
        assert_eq!(p.root_cert.as_deref(), Some("/ca.pem"));
        // Quoted values are kept as written, or taken unquoted.
        let (rest, p) =
            TlsParams::take(r"host=h password='a b\'c' sslrootcert = '/my certs/ca.pem' dbname=x")
                .unwrap();
        assert_eq!(rest, r"host=h password='a b\'c' dbname=x");
        assert_eq!(p.root_cert.as_deref(), Some("/my certs/ca.pem"));
        let config = Config::from_str(&rest).unwrap();
        assert_eq!(config.get_password(), Some(&b"a b'c"[..]));
        // Refused: an sslmode libpq does not have, a certificate without its key.
        let e = TlsParams::take("postgres://h/db?sslmode=verify").unwrap_err();
        assert!(format!("{e}").contains("verify-ca"), "{e}");
        let e = TlsParams::take("postgres://h/db?sslcert=/c.crt").unwrap_err();
        assert!(format!("{e}").contains("sslkey"), "{e}");
    }

    /// A file that holds no certificate, or is missing, stops the connect with the setting's
    /// name and the path.
    #[test]
    fn bad_tls_files_are_named() {
        let missing =
            "postgres://127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem";
        match PostgresStore::connect(missing, 1) {
            Err(e) => {
                let text = format!("{e}");
                assert!(text.contains("sslrootcert /nonexistent/ca.pem"), "{text}");
            }
            Ok(_) => panic!("connected with a missing sslrootcert"),
        }
        let empty = std::env::temp_dir().join(format!("berth-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = format!(
            "postgres://127.0.0.1:1/db?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        );
        let r = PostgresStore::connect(&url, 1);
        let _ = std::fs::remove_file(&empty);
        match r {
            Err(e) => assert!(format!("{e}").contains("no certificate"), "{e}"),
            Ok(_) => panic!("connected with an empty sslrootcert"),
        }
    }

    /// A self-signed CA certificate that signed nothing of the test cluster's.
    const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBlDCCATmgAwIBAgIUXcCxKkH8dBi9NEiQyW4nsDt2W0gwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTYmVydGggdGVzdCBvdGhlciBDQTAgFw0yNjEyMDYxMDE0Mzda
GA8yMTI2MTExMjEwMTQzN1owHjEcMBoGA1UEAwwTYmVydGggdGVzdCBvdGhlciBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNzI4ejx764XCD79LJqqpL1V2BTj
LC6k63kAd5Tt0Ionpt9SdDPMQ12jI/5bL5hwkOSxEBLGN7HlysWw2EjJKIejUzBR
MB0GA1UdDgQWBBSoIj6PzqEfcHx+TWuy5q6z8AZlljAfBgNVHSMEGDAWgBSoIj6P
zqEfcHx+TWuy5q6z8AZlljAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA
MEYCIQDWWAsdABbybpKy7NqK00XMvEx925NGCfNVT/2jww1IcQIhAJmhGqKf4u1j
2KnrgPjLWL0I8VOm+OA0s6KDt0N7yaAK
-----END CERTIFICATE-----
";

    /// Called on a worker of a multi-threaded runtime (as the server answers JSON calls), a
    /// transaction blocks in place instead of panicking, and the runtime's other tasks go on.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_runs_on_an_async_worker() {
        let db = Fresh::new();
        let s = db.store();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let v = rt.block_on(async move {
            tokio::spawn(async move {
                s.write(|tx| put_json(tx, "t", "k", &7u32)).unwrap();
                let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
                // The last clone of the store may go here, on the worker.
                drop(s);
                v
            })
            .await
            .unwrap()
        });
        assert_eq!(v, Some(7));
    }

    /// A SQLite store copied whole: every table and key, byte for byte, more than one page;
    /// a second copy into the now populated database is refused and changes nothing.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_a_sqlite_store_is_copied_whole() {
        let dir = tempfile::tempdir().unwrap();
        let source = crate::SqliteStore::open(&dir.path().join("berth.db")).unwrap();
        crate::record_root_key_check(&source, b"check").unwrap();
        source
            .write(|tx| -> Result<(), StoreError> {
                for i in 0..(COPY_PAGE + 7) {
                    tx.put("secrets", &format!("s/{i:05}"), &[i as u8, 0, 255])?;
                }
                tx.put("taskdefs", "web:1", b"{}")?;
                tx.put("taskdefs", "web:2", b"")
            })
            .unwrap();
        let db = Fresh::new();
        let target = db.store();
        let copied = copy_into_empty(&source, &target).unwrap();
        assert_eq!(
            copied,
            Copied {
                tables: 3,
                records: COPY_PAGE + 7 + 2 + 1
            }
        );
        assert_eq!(target.tables().unwrap(), source.tables().unwrap());
        for table in source.tables().unwrap() {
            let want = source.read(|tx| tx.scan(&table, "")).unwrap();
            let got = target.read(|tx| tx.scan(&table, "")).unwrap();
            assert_eq!(got, want, "{table}");
        }
        assert_eq!(
            crate::root_key_check(&target).unwrap().as_deref(),
            Some(&b"check"[..])
        );
        assert!(matches!(
            copy_into_empty(&source, &target),
            Err(StoreError::NotEmpty)
        ));
        let n = target.read(|tx| tx.scan("secrets", "")).unwrap().len();
        assert_eq!(n, COPY_PAGE + 7);
    }

    /// Inside a request scope with `snapshot`, reads share one snapshot until the request's
    /// first write, then see that write; a failed statement ends the snapshot without failing
    /// the reads after it.
    #[test]
    #[ignore = "PostgreSQL: needs BERTH_TEST_DATABASE_URL (scripts/test runs it)"]
    fn pg_a_request_scope_reads_one_snapshot_until_its_write() {
        let db = Fresh::new();
        let (a, b) = (db.store(), db.store());
        a.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
        let mut seen = Vec::new();
        let ticket = a.request_scope(true, &mut || {
            let get = || -> Option<u32> { a.read(|tx| get_json(tx, "t", "k")).unwrap() };
            seen.push(get());
            b.write(|tx| put_json(tx, "t", "k", &2u32)).unwrap();
            seen.push(get());
            // A write in a read transaction fails (and aborts it); the next read still works.
            assert!(a.read(|tx| tx.put("t", "x", b"1")).is_err());
            seen.push(get());
            a.write(|tx| put_json(tx, "t", "k2", &3u32)).unwrap();
            seen.push(get());
        });
        assert_eq!(ticket, crate::Ticket::default());
        assert_eq!(seen, [Some(1), Some(1), Some(2), Some(2)]);
        // The snapshot's connection went back to the pool, its transaction ended.
        let idle_in_tx: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND state LIKE 'idle in transaction%'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(idle_in_tx, 0);
        let after: Option<u32> = a.read(|tx| get_json(tx, "t", "k2")).unwrap();
        assert_eq!(after, Some(3));
    }

    #[test]
    fn the_database_name_of_a_url_is_replaced() {
        assert_eq!(
            with_dbname("postgres://u:p@h:5432/berth?sslmode=disable", "x").as_deref(),
            Some("postgres://u:p@h:5432/x?sslmode=disable")
        );
        assert_eq!(
            with_dbname("postgresql://h", "x").as_deref(),
            Some("postgresql://h/x")
        );
        assert_eq!(with_dbname("host=h", "x"), None);
    }
}
