//! berth's TLS, written once: the listener's certificate (read from PEM files, swapped on
//! [`ServerCert::reload`] without touching the listener), and the one place that builds the
//! rustls `ClientConfig` every client of berth's API uses (`berth agent`, berth's own Fargate
//! capacity, the task endpoint's API proxy) and the doctor's registry check trusts.
//!
//! Everything runs on rustls with the `ring` provider. A client trusts the machine's store
//! (read by rustls-native-certs; `SSL_CERT_FILE` / `SSL_CERT_DIR` name another) plus the
//! certificates of a CA file (`--ca-file`, else `AWS_CA_BUNDLE`, as the binary reads them).
//! A process that serves TLS and calls its own listener (the Fargate capacity, `berth up`'s
//! agent) trusts exactly the certificate its listener serves at the moment of the handshake
//! ([`ServerCert::self_client_config`]), whatever names the certificate holds.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

pub use rustls;

/// A PEM file larger than this is not a certificate chain, key or CA bundle berth reads.
pub const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)")]
    NoKey { path: PathBuf },
    #[error("{path} is not valid PEM: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("the private key in {key} cannot be used: {detail}")]
    Key { key: PathBuf, detail: String },
    #[error("the private key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("a certificate in {path} cannot be trusted: {detail}")]
    Root { path: PathBuf, detail: String },
    #[error(
        "no trusted certificates: none on this machine (install ca-certificates or set SSL_CERT_FILE) and no CA file given (--ca-file or AWS_CA_BUNDLE)"
    )]
    NoRoots,
    #[error("{0:?} is not a host name or IP address TLS can check")]
    Name(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The crypto provider every TLS configuration of berth uses.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Reads a PEM file, bounded by [`MAX_PEM_BYTES`].
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Every certificate of a PEM file, in order; at least one.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Pem {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    })
}

/// SHA-256 of a certificate's DER, lowercase hex (`openssl x509 -fingerprint -sha256`
/// without the colons).
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    hex::encode(Sha256::digest(cert.as_ref()))
}

/// The listener's certificate chain and key, read from two PEM files and swapped whole by
/// [`ServerCert::reload`]; handshakes already under way keep the one they started with.
pub struct ServerCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCert")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The chain (leaf first) and its key, checked to belong together.
fn certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = read_certificates(cert_path)?;
    let key = read_key(key_path)?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        },
        e => TlsError::Key {
            key: key_path.to_path_buf(),
            detail: e.to_string(),
        },
    })
}

impl ServerCert {
    /// Reads the chain (leaf first, then intermediates) and its private key.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerCert>, TlsError> {
        let key = certified_key(cert_path, key_path)?;
        Ok(Arc::new(ServerCert {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads both files again; the new pair serves the next handshake. On any failure the
    /// pair in use stays and the error says why. Returns the new leaf's fingerprint.
    pub fn reload(&self) -> Result<String, TlsError> {
        let key = Arc::new(certified_key(&self.cert_path, &self.key_path)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = key;
        Ok(self.fingerprint())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fingerprint of the leaf certificate served now.
    pub fn fingerprint(&self) -> String {
        self.current()
            .cert
            .first()
            .map(fingerprint)
            .unwrap_or_default()
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The listener's configuration: TLS 1.2 and 1.3, HTTP/1.1, the certificate of the moment.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A client configuration for this process's calls to its own listener: it trusts exactly
    /// the leaf certificate the listener serves at the time of each handshake.
    pub fn self_client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, TlsError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(OwnCertificate {
                cert: self.clone(),
                algorithms: provider().signature_verification_algorithms,
            }))
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Trusts the one certificate this process's listener serves (the connection is to itself).
#[derive(Debug)]
struct OwnCertificate {
    cert: Arc<ServerCert>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for OwnCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let own = self.cert.current();
        if own.cert.first().is_some_and(|c| c == end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The machine's trusted certificates that rustls can use, read once (one it cannot use is
/// skipped, as a browser would).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut usable = RootCertStore::empty();
        rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .filter(|cert| usable.add(cert.clone()).is_ok())
            .collect()
    })
}

/// What a client trusts: the machine's store plus every certificate of `ca_file`. A CA file
/// that cannot be read, holds no certificate, or holds one rustls cannot use is an error;
/// so is trusting nothing at all.
pub fn trusted_roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut roots = system_roots().to_vec();
    if let Some(path) = ca_file {
        let mut check = RootCertStore::empty();
        for cert in read_certificates(path)? {
            check.add(cert.clone()).map_err(|e| TlsError::Root {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            roots.push(cert);
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    Ok(roots)
}

/// The one client configuration for https: [`trusted_roots`] on `ring`, TLS 1.2 and 1.3.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in trusted_roots(ca_file)? {
        // Checked as it was read.
        let _ = store.add(cert);
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a client checks the server's certificate against: the host of `host[:port]`
/// (an IP address, bracketed or not, or a DNS name).
pub fn server_name(authority: &str) -> Result<ServerName<'static>, TlsError> {
    let host = match authority.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!h.contains(':') || h.ends_with(']')) =>
        {
            h
        }
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|_| TlsError::Name(authority.to_string()))
}

#[cfg(test)]
mod tests;
