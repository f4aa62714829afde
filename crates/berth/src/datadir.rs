//! The data directory: the database, the root key file, the generated credentials file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use berth_core::RootKey;
use berth_store::SqliteStore;

pub struct DataDir {
    path: PathBuf,
}

const ROOT_KEY_FILE: &str = "root.key";
const DB_FILE: &str = "berth.db";
const CREDENTIALS_FILE: &str = "credentials";
const LOCK_FILE: &str = "server.lock";

fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("berth"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set: pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/berth"))
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

impl DataDir {
    pub fn open(path: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let path = match path {
            Some(p) => p,
            None => default_dir()?,
        };
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", path.display()))?;
        Ok(DataDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
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

    /// The root key: `BERTH_ROOT_KEY` (base64 of 32 bytes) when set, else `root.key` in the data
    /// directory, created with mode 0600 on first use.
    pub fn root_key(&self) -> anyhow::Result<RootKey> {
        if let Ok(text) = std::env::var("BERTH_ROOT_KEY") {
            return RootKey::from_base64(&text).context("BERTH_ROOT_KEY");
        }
        let file = self.path.join(ROOT_KEY_FILE);
        let fresh = RootKey::generate();
        match create_private(&file, fresh.to_base64().as_bytes()) {
            Ok(()) => return Ok(fresh),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("writing {}", file.display())),
        }
        let meta = fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!("{} is readable by others: chmod 600 it", file.display());
        }
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?,
        );
        RootKey::from_base64(&text).with_context(|| format!("reading {}", file.display()))
    }

    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let db = self.path.join(DB_FILE);
        SqliteStore::open(&db).with_context(|| format!("opening {}", db.display()))
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.path.join(CREDENTIALS_FILE)
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
