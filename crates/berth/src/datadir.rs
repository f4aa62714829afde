//! The data directory: the database, the root key file, the generated credentials file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use berth_core::RootKey;
use berth_store::{PostgresStore, SqliteStore, Store, StoreError};

pub struct DataDir {
    path: PathBuf,
    /// The PostgreSQL database holding the state instead of the directory's `berth.db`
    /// (`--database-url`); the root key stays in the directory (or `BERTH_ROOT_KEY`).
    database_url: Option<String>,
}

/// The store a data directory's state is in: its own SQLite file, or a PostgreSQL database.
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Db {
    pub fn as_store(&self) -> &dyn Store {
        match self {
            Db::Sqlite(s) => s,
            Db::Postgres(s) => s,
        }
    }

    pub fn into_store(self) -> std::sync::Arc<dyn Store> {
        match self {
            Db::Sqlite(s) => std::sync::Arc::new(s),
            Db::Postgres(s) => std::sync::Arc::new(s),
        }
    }

    fn holds_data(&self) -> Result<bool, StoreError> {
        match self {
            Db::Sqlite(s) => s.holds_data(),
            Db::Postgres(s) => s.holds_data(),
        }
    }
}

/// How many connections a server keeps open to a PostgreSQL database at most
/// (`BERTH_DATABASE_POOL_SIZE`, default [`berth_store::postgres::DEFAULT_POOL_SIZE`]).
fn pool_size() -> anyhow::Result<usize> {
    match std::env::var("BERTH_DATABASE_POOL_SIZE") {
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("BERTH_DATABASE_POOL_SIZE must be a positive number, not {v:?}"),
        },
        Err(_) => Ok(berth_store::postgres::DEFAULT_POOL_SIZE),
    }
}

/// Connects to the PostgreSQL database `url` names (migrating its schema).
pub fn connect_postgres(url: &str) -> anyhow::Result<PostgresStore> {
    PostgresStore::connect(url, pool_size()?)
        .with_context(|| format!("opening the PostgreSQL database {}", redact(url)))
}

/// `url` without its password, to show.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(the database URL)".to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

const ROOT_KEY_FILE: &str = "root.key";
const DB_FILE: &str = "berth.db";
const CREDENTIALS_FILE: &str = "credentials";
/// The server's replica id when --replica-id names none (made on first start).
const REPLICA_ID_FILE: &str = "replica-id";
const LOCK_FILE: &str = "server.lock";

fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("berth"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set: pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/berth"))
}

/// Whether `dir` is a data directory berth used: its `berth.db`, or, when `database` (the
/// state may be in a PostgreSQL database), its `root.key`.
fn holds_state(dir: &Path, database: bool) -> bool {
    dir.join(DB_FILE).is_file() || (database && dir.join(ROOT_KEY_FILE).is_file())
}

/// Writes `contents` to a new file of mode 0600; fails if it exists.
fn create_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Where the root key came from, to name it when it does not fit the data.
enum KeySource {
    Environment,
    File(PathBuf),
}

/// The refusal of a root key that does not open the data in `db`.
fn mismatch(source: &KeySource, db: &str, key_file: &Path) -> anyhow::Error {
    match source {
        KeySource::Environment => anyhow::anyhow!(
            "the root key in BERTH_ROOT_KEY does not open the data in {}: it is not the key this \
             data directory was sealed with; set BERTH_ROOT_KEY to that key, or unset it to use {}",
            db,
            key_file.display()
        ),
        KeySource::File(file) => anyhow::anyhow!(
            "the root key in {} does not open the data in {}: it is not the key this data \
             directory was sealed with; put that key back in {} or give it as BERTH_ROOT_KEY",
            file.display(),
            db,
            file.display()
        ),
    }
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The data directories of the berth servers running on this machine that this user may see:
/// the directories of the `server.lock` files their processes hold open (each server holds its
/// directory's lock while it runs).
fn servers_data_dirs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if target.file_name().is_some_and(|n| n == LOCK_FILE)
                && let Some(dir) = target.parent()
                && holds_state(dir, true)
                && !out.iter().any(|d| d == dir)
            {
                out.push(dir.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

impl DataDir {
    pub fn open(path: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let path = match path {
            Some(p) => p,
            None => default_dir()?,
        };
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", path.display()))?;
        Ok(DataDir {
            path,
            database_url: None,
        })
    }

    /// An existing data directory for a command that only uses one (`berth doctor`,
    /// `berth account create`): nothing is created. When `path` (or the default) holds no
    /// berth data, the error names the directory looked in, how to point at another one
    /// (`command` with `--data-dir DIR`), and the data directories berth servers on this
    /// machine hold (their `server.lock`) and `./.berth-data` (the quickstart's) when they
    /// hold data.
    pub fn open_existing(path: Option<PathBuf>, command: &[String]) -> anyhow::Result<DataDir> {
        DataDir::open_existing_with(path, command, false)
    }

    /// [`DataDir::open_existing`]; with `database` (the state is in a PostgreSQL database) a
    /// directory with a `root.key` and no `berth.db` is one too.
    pub fn open_existing_with(
        path: Option<PathBuf>,
        command: &[String],
        database: bool,
    ) -> anyhow::Result<DataDir> {
        let given = path.is_some();
        let path = match path {
            Some(p) => p,
            None => default_dir()?,
        };
        if holds_state(&path, database) {
            return Ok(DataDir {
                path,
                database_url: None,
            });
        }
        let mut candidates = servers_data_dirs();
        if let Ok(cwd) = std::env::current_dir() {
            let quickstart = cwd.join(".berth-data");
            if holds_state(&quickstart, database) && !candidates.contains(&quickstart) {
                candidates.push(quickstart);
            }
        }
        candidates.retain(|c| c != &path);
        let how = if given {
            "the data directory given (--data-dir or BERTH_DATA_DIR)"
        } else {
            "the default data directory"
        };
        let mut msg = format!(
            "no berth data in {} ({how}; it has no {DB_FILE}, and nothing was created there): \
             give the directory `berth up` or `berth server` uses with --data-dir DIR or \
             BERTH_DATA_DIR=DIR",
            path.display()
        );
        for c in &candidates {
            let mut argv: Vec<String> = Vec::new();
            let mut skip = false;
            for a in command {
                if skip {
                    skip = false;
                    continue;
                }
                if a == "--data-dir" {
                    skip = true;
                    continue;
                }
                if a.starts_with("--data-dir=") {
                    continue;
                }
                argv.push(shell_word(a));
            }
            argv.push("--data-dir".to_string());
            argv.push(shell_word(&c.display().to_string()));
            msg.push_str(&format!(
                "\nberth data is in {}:\n    {}",
                c.display(),
                argv.join(" ")
            ));
        }
        bail!(msg)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the state in the PostgreSQL database `url` names instead of `berth.db`.
    pub fn with_database(mut self, url: Option<String>) -> DataDir {
        self.database_url = url.filter(|u| !u.is_empty());
        self
    }

    /// Where the state is, to name it in messages.
    fn db_name(&self) -> String {
        match &self.database_url {
            Some(url) => format!("the PostgreSQL database {}", redact(url)),
            None => self.path.join(DB_FILE).display().to_string(),
        }
    }

    /// Takes the data directory for one server (`server.lock`, an exclusive lock held while the
    /// returned file is open, released by the kernel when the process ends however it ends):
    /// a second server on the same directory would not see the first one's writes in time (its
    /// agents' long polls wake on their own server's writes only). `berth account create` and
    /// `berth doctor` do not take it.
    pub fn lock_for_server(&self) -> anyhow::Result<fs::File> {
        let path = self.path.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => bail!(
                "{} is in use by another berth server (it holds {})",
                self.path.display(),
                path.display()
            ),
            Err(fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// The database and the root key its data is sealed under, checked against each other
    /// before anything uses them: the root key is `BERTH_ROOT_KEY` (base64 of 32 bytes) when
    /// set, else `root.key` in the data directory.
    ///
    /// The database records a check value of its root key ([`RootKey::check_value`]). A key
    /// that does not match it is refused with an error naming where the key came from, and
    /// nothing is written. A new key (`root.key`, mode 0600) is made only for an empty
    /// database; a missing `root.key` beside a database that holds data is refused. A database
    /// written before check values existed gets one from the key that opens its data (tried on
    /// a stored access key's secret; recorded as it is when nothing sealed is stored).
    pub fn open_sealed(&self) -> anyhow::Result<(Db, RootKey)> {
        let env = std::env::var("BERTH_ROOT_KEY").ok();
        self.open_sealed_with(env.as_deref())
    }

    fn open_sealed_with(&self, env_key: Option<&str>) -> anyhow::Result<(Db, RootKey)> {
        let db = self.db_name();
        let opened = match &self.database_url {
            Some(url) => Db::Postgres(connect_postgres(url)?),
            None => Db::Sqlite(self.store()?),
        };
        let store = opened.as_store();
        let recorded =
            berth_store::root_key_check(store).with_context(|| format!("reading {db}"))?;
        let holds_data = opened
            .holds_data()
            .with_context(|| format!("reading {db}"))?;
        let empty = recorded.is_none() && !holds_data;
        let (key, source) = self.root_key(env_key, empty)?;
        let refuse = || mismatch(&source, &db, &self.path.join(ROOT_KEY_FILE));
        match recorded {
            Some(check) if key.matches_check(&check) => {}
            Some(_) => return Err(refuse()),
            None => {
                if holds_data {
                    let opens = berth_iam::Iam::new(store, &key)
                        .root_key_opens_stored_keys()
                        .with_context(|| format!("reading {db}"))?;
                    if opens == Some(false) {
                        return Err(refuse());
                    }
                }
                let raced = berth_store::record_root_key_check(store, &key.check_value())
                    .with_context(|| format!("writing {db}"))?;
                match raced {
                    // Another process recorded its key's check value first.
                    Some(check) if !key.matches_check(&check) => return Err(refuse()),
                    Some(_) => {}
                    None if holds_data => tracing::info!(
                        db = %db,
                        "recorded the root key's check value"
                    ),
                    None => {}
                }
            }
        }
        Ok((opened, key))
    }

    /// The root key and where it came from: `env_key` (`BERTH_ROOT_KEY`) when given, else
    /// `root.key`, which is created (mode 0600) only when `may_create` (an empty database).
    fn root_key(
        &self,
        env_key: Option<&str>,
        may_create: bool,
    ) -> anyhow::Result<(RootKey, KeySource)> {
        if let Some(text) = env_key {
            let key = RootKey::from_base64(text).context("BERTH_ROOT_KEY")?;
            return Ok((key, KeySource::Environment));
        }
        let file = self.path.join(ROOT_KEY_FILE);
        if may_create {
            let fresh = RootKey::generate();
            match create_private(&file, fresh.to_base64().as_bytes()) {
                Ok(()) => return Ok((fresh, KeySource::File(file))),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("writing {}", file.display())),
            }
        }
        let meta = match fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "{} is missing, but {} holds data sealed under a root key: put that key back in \
                 {} or give it as BERTH_ROOT_KEY (berth makes a new root key only for an empty \
                 data directory)",
                file.display(),
                self.db_name(),
                file.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            bail!("{} is readable by others: chmod 600 it", file.display());
        }
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?,
        );
        let key =
            RootKey::from_base64(&text).with_context(|| format!("reading {}", file.display()))?;
        Ok((key, KeySource::File(file)))
    }

    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let db = self.path.join(DB_FILE);
        SqliteStore::open(&db).with_context(|| format!("opening {}", db.display()))
    }

    /// The database file (`berth.db`).
    pub fn db_path(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.path.join(CREDENTIALS_FILE)
    }

    /// The server's replica id kept in the data directory (`replica-id`): made (random) on the
    /// first start, so that a restarted server keeps its leases. Called with the server lock
    /// held.
    pub fn replica_id(&self) -> anyhow::Result<String> {
        let path = self.path.join(REPLICA_ID_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim();
                if !berth_control::ecs::valid_replica_id(id) {
                    bail!(
                        "{} does not hold a replica id (1 to 64 letters, digits, '.', '_' or '-'): remove it to have a new one made",
                        path.display()
                    );
                }
                Ok(id.to_string())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let id = berth_control::ecs::random_replica_id();
                create_private(&path, format!("{id}\n").as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok(id)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the generated root credentials in the AWS shared-credentials format, profile
    /// `berth`, mode 0600.
    pub fn write_credentials(&self, access_key_id: &str, secret: &str) -> anyhow::Result<()> {
        let path = self.credentials_path();
        let text = zeroize::Zeroizing::new(format!(
            "[berth]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
        ));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", path.display())),
        }
        create_private(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use berth_store::StoreExt;

    fn dir() -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(Some(tmp.path().join("data"))).unwrap();
        (tmp, dir)
    }

    /// A data directory with an account in it (an access key sealed under its root key).
    fn with_data(dir: &DataDir, env_key: Option<&str>) -> RootKey {
        let (db, key) = dir.open_sealed_with(env_key).unwrap();
        let store = db.as_store();
        berth_iam::Iam::new(store, &key)
            .create_account("000000000000", 1)
            .unwrap();
        key
    }

    #[test]
    fn the_replica_id_is_made_once_and_kept() {
        let (_tmp, dir) = dir();
        let id = dir.replica_id().unwrap();
        assert!(id.starts_with("replica-") && id.len() == 24, "{id}");
        assert_eq!(dir.replica_id().unwrap(), id);
        fs::write(dir.path().join(REPLICA_ID_FILE), "not an id!\n").unwrap();
        let e = format!("{:#}", dir.replica_id().unwrap_err());
        assert!(e.contains("does not hold a replica id"), "{e}");
    }

    fn refusal(dir: &DataDir, env_key: Option<&str>) -> String {
        match dir.open_sealed_with(env_key) {
            Ok(_) => panic!("a key that does not fit was taken"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Every record the tests' data directories hold, read through a store of its own.
    fn rows(dir: &DataDir) -> Vec<(String, String, Vec<u8>)> {
        let db = dir.path.join(DB_FILE);
        let store = SqliteStore::open(&db).unwrap();
        let mut out = Vec::new();
        for table in ["accounts", "access_keys", berth_store::META_TABLE] {
            let scan = store
                .read(|tx| tx.scan(table, ""))
                .unwrap_or_else(|e| panic!("{e}"));
            out.extend(scan.into_iter().map(|(k, v)| (table.to_string(), k, v)));
        }
        out
    }

    #[test]
    fn a_directory_without_data_is_named_and_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nowhere");
        let argv = ["berth", "doctor", "--data-dir", "x", "--file", "it's.json"].map(String::from);
        let e = match DataDir::open_existing(Some(missing.clone()), &argv) {
            Ok(_) => panic!("opened a directory without data"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            e.contains(&format!("no berth data in {}", missing.display())),
            "{e}"
        );
        assert!(e.contains("--data-dir DIR or BERTH_DATA_DIR=DIR"), "{e}");
        assert!(!missing.exists(), "the directory was created");
        // With data it opens.
        let (_t, dir) = dir();
        dir.open_sealed_with(None).unwrap();
        assert!(DataDir::open_existing(Some(dir.path().to_path_buf()), &argv).is_ok());
        assert_eq!(shell_word("it's.json"), "'it'\\''s.json'");
    }

    #[test]
    fn a_shown_database_url_has_no_password() {
        assert_eq!(
            redact("postgres://berth:s3cr@t@db.example:5432/berth?sslmode=require"),
            "postgres://berth@db.example:5432/berth?sslmode=require"
        );
        assert_eq!(
            redact("postgres://berth@127.0.0.1/berth"),
            "postgres://berth@127.0.0.1/berth"
        );
        assert_eq!(redact("postgres://h:5432"), "postgres://h:5432");
        assert_eq!(redact("host=h password=x"), "(the database URL)");
    }

    #[test]
    fn an_empty_directory_gets_a_key_and_its_check_value() {
        let (_tmp, dir) = dir();
        let (db, key) = dir.open_sealed_with(None).unwrap();
        let store = db.as_store();
        let file = dir.path().join(ROOT_KEY_FILE);
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let check = berth_store::root_key_check(store).unwrap().unwrap();
        assert!(key.matches_check(&check));
        drop(db);
        // The same key next time.
        let (_, again) = dir.open_sealed_with(None).unwrap();
        assert_eq!(*again.to_base64(), *key.to_base64());
    }

    #[test]
    fn a_deleted_key_file_is_not_replaced() {
        let (_tmp, dir) = dir();
        with_data(&dir, None);
        let file = dir.path().join(ROOT_KEY_FILE);
        fs::remove_file(&file).unwrap();
        let before = rows(&dir);
        let e = refusal(&dir, None);
        assert!(e.contains(&format!("{} is missing", file.display())), "{e}");
        assert!(!file.exists(), "a new root key was written");
        assert_eq!(rows(&dir), before);
    }

    #[test]
    fn another_key_in_the_file_is_refused() {
        let (_tmp, dir) = dir();
        let right = with_data(&dir, None);
        let file = dir.path().join(ROOT_KEY_FILE);
        fs::remove_file(&file).unwrap();
        create_private(&file, RootKey::generate().to_base64().as_bytes()).unwrap();
        let before = rows(&dir);
        let e = refusal(&dir, None);
        assert!(
            e.contains(&format!("the root key in {} does not open", file.display())),
            "{e}"
        );
        assert_eq!(rows(&dir), before);
        // The right key still opens it, from the environment too.
        assert!(dir.open_sealed_with(Some(&right.to_base64())).is_ok());
    }

    #[test]
    fn another_key_in_the_environment_is_refused() {
        let (_tmp, dir) = dir();
        let right = RootKey::generate();
        with_data(&dir, Some(&right.to_base64()));
        // The environment's key never went to root.key.
        assert!(!dir.path().join(ROOT_KEY_FILE).exists());
        let before = rows(&dir);
        let other = RootKey::generate();
        let e = refusal(&dir, Some(&other.to_base64()));
        assert!(
            e.contains("the root key in BERTH_ROOT_KEY does not open"),
            "{e}"
        );
        assert_eq!(rows(&dir), before);
        // Without the variable, root.key is missing beside the data: refused, not made.
        let e = refusal(&dir, None);
        assert!(e.contains("root.key is missing"), "{e}");
        assert!(!dir.path().join(ROOT_KEY_FILE).exists());
        assert!(dir.open_sealed_with(Some(&right.to_base64())).is_ok());
    }

    /// Drops the check value, as a database written before check values existed has none.
    fn forget_check(dir: &DataDir) {
        let store = dir.store().unwrap();
        store
            .write(|tx| tx.delete(berth_store::META_TABLE, "root_key_check"))
            .unwrap();
    }

    #[test]
    fn an_older_directory_gets_its_check_value_from_the_key_that_opens_it() {
        let (_tmp, dir) = dir();
        let right = with_data(&dir, None);
        forget_check(&dir);
        // Another key does not open its access key: refused, no check value recorded.
        let other = RootKey::generate();
        let e = refusal(&dir, Some(&other.to_base64()));
        assert!(e.contains("BERTH_ROOT_KEY does not open"), "{e}");
        assert_eq!(
            berth_store::root_key_check(&dir.store().unwrap()).unwrap(),
            None
        );
        // The right one does, and its check value is recorded.
        let (db, _) = dir.open_sealed_with(None).unwrap();
        let store = db.as_store();
        let check = berth_store::root_key_check(store).unwrap().unwrap();
        assert!(right.matches_check(&check));
    }

    #[test]
    fn an_older_directory_without_sealed_data_takes_its_key() {
        let (_tmp, dir) = dir();
        let (db, key) = dir.open_sealed_with(None).unwrap();
        db.as_store()
            .write(|tx| tx.put("ecs_clusters", "c", b"{}"))
            .unwrap();
        drop(db);
        forget_check(&dir);
        let (db, again) = dir.open_sealed_with(None).unwrap();
        let store = db.as_store();
        assert_eq!(*again.to_base64(), *key.to_base64());
        assert!(key.matches_check(&berth_store::root_key_check(store).unwrap().unwrap()));
    }
}
