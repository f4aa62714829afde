//! The issuers' signing keys: OIDC discovery (`<issuer>/.well-known/openid-configuration`,
//! then its `jwks_uri`) over HTTPS, trusting the machine's store plus the certificates of the
//! server's CA file (`--ca-file` / `AWS_CA_BUNDLE`, read when the first key set is fetched),
//! and a bounded cache; one [`Jwks`] per [`crate::Control`].
//!
//! A key set is kept for [`FRESH`]; a token naming a key the kept set lacks fetches the set
//! again (at most once per [`REFETCH_AFTER`] per issuer), as an issuer rotating its keys
//! needs. At most [`MAX_ISSUERS`] sets are kept (the oldest is dropped first); a document is
//! read up to [`MAX_DOCUMENT`] bytes.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// How long a fetched key set is used without asking again.
pub const FRESH: Duration = Duration::from_secs(300);
/// The shortest time between two fetches of one issuer's keys.
pub const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// The most issuers whose keys are kept.
pub const MAX_ISSUERS: usize = 64;
/// The largest discovery document or key set read.
pub const MAX_DOCUMENT: u64 = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why an issuer's keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not reached: resolving, connecting, TLS, a timeout.
    Unreachable(String),
    /// Reached, but its answer holds no key set (a status other than 200, not JSON, no
    /// `jwks_uri`).
    NoKeys(String),
}

struct Entry {
    issuer: String,
    jwks: String,
    fetched: Instant,
}

/// The issuers' key sets as one server fetches and keeps them.
#[derive(Default)]
pub struct Jwks {
    /// Certificates trusted besides the machine's (PEM).
    ca_file: Option<PathBuf>,
    agent: OnceLock<Result<ureq::Agent, String>>,
    cache: Mutex<Vec<Entry>>,
}

impl Jwks {
    /// Fetching over HTTPS trusting the machine's store plus the certificates of `ca_file`.
    pub fn new(ca_file: Option<PathBuf>) -> Jwks {
        Jwks {
            ca_file,
            ..Jwks::default()
        }
    }

    fn agent(&self) -> &Result<ureq::Agent, String> {
        self.agent.get_or_init(|| {
            let certs: Vec<Certificate<'static>> =
                berth_tls::trusted_roots(self.ca_file.as_deref())
                    .map_err(|e| e.to_string())?
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
            let tls = TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(berth_tls::provider())
                .root_certs(RootCerts::new_with_certs(&certs))
                .build();
            Ok(ureq::Agent::config_builder()
                .tls_config(tls)
                .proxy(None)
                .https_only(true)
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent("berth-sts")
                .accept("application/json")
                .timeout_connect(Some(TIMEOUT))
                .timeout_per_read(Some(TIMEOUT))
                .timeout_per_write(Some(TIMEOUT))
                .build()
                .into())
        })
    }

    fn get(&self, url: &str) -> Result<String, FetchError> {
        let agent = self
            .agent()
            .as_ref()
            .map_err(|e| FetchError::Unreachable(e.clone()))?;
        let mut response = agent
            .get(url)
            .call()
            .map_err(|e| FetchError::Unreachable(format!("{url}: {e}")))?;
        if response.status().as_u16() != 200 {
            return Err(FetchError::NoKeys(format!(
                "{url} answered {}",
                response.status().as_u16()
            )));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT)
            .read_to_string()
            .map_err(|e| FetchError::Unreachable(format!("{url}: {e}")))
    }

    /// Discovery, then the key set, of `issuer` (`https://…`).
    fn fetch(&self, issuer: &str) -> Result<String, FetchError> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc: serde_json::Value = serde_json::from_str(&self.get(&discovery)?)
            .map_err(|_| FetchError::NoKeys(format!("{discovery} is not JSON")))?;
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .filter(|u| u.starts_with("https://"))
            .ok_or_else(|| FetchError::NoKeys(format!("{discovery} names no https jwks_uri")))?;
        self.get(jwks_uri)
    }

    /// The key set of `issuer`, from the cache while fresh and holding the token's key.
    pub fn keys_for(&self, issuer: &str, key_id: Option<&str>) -> Result<String, FetchError> {
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = cache.iter().find(|e| e.issuer == issuer) {
                let age = now.duration_since(e.fetched);
                let usable = age < FRESH && berth_iam::web_identity::has_key(&e.jwks, key_id);
                if usable || age < REFETCH_AFTER {
                    return Ok(e.jwks.clone());
                }
            }
        }
        let jwks = self.fetch(issuer)?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|e| e.issuer != issuer);
        if cache.len() >= MAX_ISSUERS {
            cache.sort_by_key(|e| e.fetched);
            let excess = cache.len() + 1 - MAX_ISSUERS;
            cache.drain(..excess);
        }
        cache.push(Entry {
            issuer: issuer.to_string(),
            jwks: jwks.clone(),
            fetched: now,
        });
        Ok(jwks)
    }
}
