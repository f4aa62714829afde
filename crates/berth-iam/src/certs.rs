//! A user's SSH public keys and X.509 signing certificates, the account's server certificates
//! (their private keys sealed under the root key, never returned), and service-specific
//! credentials (their passwords shown once, kept as Argon2id hashes).

use base64::Engine;
use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use der::{Decode, Encode};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::cred_error::CredError;
use crate::entity::{self, ListOptions, Page, Tag, paginate};
use crate::keys::KeyStatus;
use crate::login::PasswordHash;
use crate::policies;
use crate::{Iam, IamError, User};

const SSH_KEYS: &str = "iam_ssh_public_keys";
const SIGNING_CERTS: &str = "iam_signing_certificates";
pub(crate) const SERVER_CERTS: &str = "iam_server_certificates";
const SERVICE_CREDS: &str = "iam_service_specific_credentials";

/// IAM's quotas for these credentials.
pub const SSH_KEYS_PER_USER: usize = 5;
pub const SIGNING_CERTIFICATES_PER_USER: usize = 2;
pub const SERVICE_CREDENTIALS_PER_USER_PER_SERVICE: usize = 2;
/// The shortest RSA modulus an SSH key may have.
const MIN_SSH_RSA_BITS: usize = 2048;

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// The services that take service-specific credentials, as AWS lists them.
pub const CREDENTIAL_SERVICES: [&str; 2] = ["codecommit.amazonaws.com", "cassandra.amazonaws.com"];

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn user_prefix(account: &str, user: &User) -> String {
    format!("{account}/{}/", user.id)
}

// ---------------------------------------------------------------------------------------------
// SSH public keys.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSshKey {
    id: String,
    /// The key as uploaded.
    body: String,
    /// base64 of the key in SSH's wire form (`string "ssh-rsa", mpint e, mpint n`).
    blob: String,
    fingerprint: String,
    status: KeyStatus,
    uploaded_at: u64,
}

/// An SSH public key as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    pub user_name: String,
    pub ssh_public_key_id: String,
    pub fingerprint: String,
    pub ssh_public_key_body: String,
    pub status: KeyStatus,
    pub upload_date: u64,
}

/// The encodings GetSSHPublicKey returns a key in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshEncoding {
    Ssh,
    Pem,
}

fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An SSH `mpint` of a positive big-endian number.
fn ssh_mpint(out: &mut Vec<u8>, bytes: &[u8]) {
    let trimmed: &[u8] = {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        &bytes[start..]
    };
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v = Vec::with_capacity(trimmed.len() + 1);
        v.push(0);
        v.extend_from_slice(trimmed);
        ssh_string(out, &v);
    } else {
        ssh_string(out, trimmed);
    }
}

/// Reads one SSH `string` from `data` at `*at`.
fn read_ssh_string<'a>(data: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(data.get(*at..*at + 4)?.try_into().ok()?) as usize;
    let s = data.get(*at + 4..*at + 4 + len)?;
    *at += 4 + len;
    Some(s)
}

/// The RSA modulus and exponent of an uploaded key: `ssh-rsa BASE64 [comment]`, or a PEM
/// `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS #1).
fn parse_ssh_key(body: &str) -> Result<(Vec<u8>, Vec<u8>), CredError> {
    let text = body.trim();
    if text.starts_with("-----BEGIN") {
        let (label, der) =
            der::pem::decode_vec(text.as_bytes()).map_err(|_| CredError::InvalidPublicKey)?;
        let pkcs1 = match label {
            "PUBLIC KEY" => {
                let spki = spki::SubjectPublicKeyInfoRef::from_der(&der)
                    .map_err(|_| CredError::InvalidPublicKey)?;
                if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
                    return Err(CredError::UnrecognizedPublicKeyEncoding);
                }
                spki.subject_public_key
                    .as_bytes()
                    .ok_or(CredError::InvalidPublicKey)?
                    .to_vec()
            }
            "RSA PUBLIC KEY" => der,
            _ => return Err(CredError::UnrecognizedPublicKeyEncoding),
        };
        let key =
            pkcs1::RsaPublicKeyRef::from_der(&pkcs1).map_err(|_| CredError::InvalidPublicKey)?;
        return Ok((
            key.public_exponent.as_bytes().to_vec(),
            key.modulus.as_bytes().to_vec(),
        ));
    }
    let mut parts = text.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return Err(CredError::UnrecognizedPublicKeyEncoding);
    };
    if kind != "ssh-rsa" {
        return Err(CredError::UnrecognizedPublicKeyEncoding);
    }
    let blob = b64()
        .decode(data)
        .map_err(|_| CredError::InvalidPublicKey)?;
    let mut at = 0;
    let name = read_ssh_string(&blob, &mut at).ok_or(CredError::InvalidPublicKey)?;
    let e = read_ssh_string(&blob, &mut at).ok_or(CredError::InvalidPublicKey)?;
    let n = read_ssh_string(&blob, &mut at).ok_or(CredError::InvalidPublicKey)?;
    if name != b"ssh-rsa" || at != blob.len() {
        return Err(CredError::InvalidPublicKey);
    }
    Ok((e.to_vec(), n.to_vec()))
}

/// The key's SSH wire form and its fingerprint as AWS shows it: the MD5 of the wire form, in
/// hex pairs joined by colons (`ssh-keygen -l -E md5`).
fn ssh_blob_and_fingerprint(e: &[u8], n: &[u8]) -> Result<(Vec<u8>, String), CredError> {
    let bits = {
        let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
        let n = &n[start..];
        n.first()
            .map(|b| (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize))
            .unwrap_or(0)
    };
    if bits < MIN_SSH_RSA_BITS {
        return Err(CredError::InvalidPublicKey);
    }
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-rsa");
    ssh_mpint(&mut blob, e);
    ssh_mpint(&mut blob, n);
    let digest = Md5::digest(&blob);
    let fp = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok((blob, fp))
}

/// The key of an SSH wire blob as a PEM `PUBLIC KEY`.
fn blob_to_pem(blob: &[u8]) -> Option<String> {
    let mut at = 0;
    read_ssh_string(blob, &mut at)?;
    let e = read_ssh_string(blob, &mut at)?;
    let n = read_ssh_string(blob, &mut at)?;
    let key = pkcs1::RsaPublicKeyRef {
        modulus: der::asn1::UintRef::new(n).ok()?,
        public_exponent: der::asn1::UintRef::new(e).ok()?,
    };
    let pkcs1_der = key.to_der().ok()?;
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION.parse().ok()?,
            parameters: Some(der::asn1::Null.into()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&pkcs1_der).ok()?,
    };
    let der = spki.to_der().ok()?;
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &der).ok()
}

impl StoredSshKey {
    fn view(&self, user: &User, encoding: Option<SshEncoding>) -> SshPublicKey {
        let blob = b64().decode(&self.blob).unwrap_or_default();
        let body = match encoding {
            None => self.body.clone(),
            Some(SshEncoding::Ssh) => format!("ssh-rsa {}", self.blob),
            Some(SshEncoding::Pem) => blob_to_pem(&blob).unwrap_or_default(),
        };
        SshPublicKey {
            user_name: user.name.clone(),
            ssh_public_key_id: self.id.clone(),
            fingerprint: self.fingerprint.clone(),
            ssh_public_key_body: body,
            status: self.status,
            upload_date: self.uploaded_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signing and server certificates.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSigningCert {
    id: String,
    body: String,
    /// hex SHA-256 of the certificate's DER, to refuse the same certificate twice.
    der_sha256: String,
    status: KeyStatus,
    uploaded_at: u64,
}

/// A signing certificate as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCertificate {
    pub user_name: String,
    pub certificate_id: String,
    pub certificate_body: String,
    pub status: KeyStatus,
    pub upload_date: u64,
}

/// A parsed PEM certificate: its DER, its public key (SubjectPublicKeyInfo DER) and its
/// `notAfter`.
struct ParsedCert {
    der: Vec<u8>,
    spki: Vec<u8>,
    not_after: u64,
}

fn parse_cert(body: &str) -> Result<ParsedCert, CredError> {
    let (label, der) = der::pem::decode_vec(body.trim().as_bytes())
        .map_err(|_| CredError::MalformedCertificate)?;
    if label != "CERTIFICATE" {
        return Err(CredError::MalformedCertificate);
    }
    let cert =
        x509_cert::Certificate::from_der(&der).map_err(|_| CredError::MalformedCertificate)?;
    let tbs = cert.tbs_certificate();
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|_| CredError::MalformedCertificate)?;
    let not_after = tbs.validity().not_after.to_unix_duration().as_secs();
    Ok(ParsedCert {
        der,
        spki,
        not_after,
    })
}

/// The public key (as the certificate's SubjectPublicKeyInfo would hold it: the algorithm's
/// OID and the key bytes) of a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC1 (EC).
fn private_key_public_part(pem: &str) -> Result<(String, Vec<u8>), CredError> {
    let (label, der) =
        der::pem::decode_vec(pem.trim().as_bytes()).map_err(|_| CredError::MalformedPrivateKey)?;
    let der = zeroize::Zeroizing::new(der);
    let rsa = |pkcs1: &[u8]| -> Result<(String, Vec<u8>), CredError> {
        let k =
            pkcs1::RsaPrivateKeyRef::from_der(pkcs1).map_err(|_| CredError::MalformedPrivateKey)?;
        let public = pkcs1::RsaPublicKeyRef {
            modulus: k.modulus,
            public_exponent: k.public_exponent,
        };
        let bytes = public
            .to_der()
            .map_err(|_| CredError::MalformedPrivateKey)?;
        Ok((RSA_ENCRYPTION.to_string(), bytes))
    };
    let ec = |sec1: &[u8]| -> Result<(String, Vec<u8>), CredError> {
        let k = sec1::EcPrivateKey::from_der(sec1).map_err(|_| CredError::MalformedPrivateKey)?;
        let public = k.public_key.ok_or(CredError::KeyPairMismatch)?;
        Ok((EC_PUBLIC_KEY.to_string(), public.to_vec()))
    };
    match label {
        "RSA PRIVATE KEY" => rsa(&der),
        "EC PRIVATE KEY" => ec(&der),
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfoRef::from_der(&der)
                .map_err(|_| CredError::MalformedPrivateKey)?;
            let key = info.private_key.as_bytes();
            match info.algorithm.oid.to_string().as_str() {
                RSA_ENCRYPTION => rsa(key),
                EC_PUBLIC_KEY => ec(key),
                _ => Err(CredError::MalformedPrivateKey),
            }
        }
        _ => Err(CredError::MalformedPrivateKey),
    }
}

/// Whether the private key is the certificate's.
fn check_key_pair(cert: &ParsedCert, private_key: &str) -> Result<(), CredError> {
    let (oid, public) = private_key_public_part(private_key)?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&cert.spki)
        .map_err(|_| CredError::MalformedCertificate)?;
    let matches = spki.algorithm.oid.to_string() == oid
        && spki.subject_public_key.as_bytes() == Some(public.as_slice());
    if matches {
        Ok(())
    } else {
        Err(CredError::KeyPairMismatch)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredServerCert {
    account: String,
    name: String,
    path: String,
    id: String,
    body: String,
    chain: Option<String>,
    /// base64 of the private key sealed under the root key (the certificate's id as context).
    sealed_private_key: String,
    uploaded_at: u64,
    expiration: u64,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// A server certificate as the API shows it (never its private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    pub path: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub upload_date: u64,
    pub expiration: u64,
    pub body: String,
    pub chain: Option<String>,
    pub tags: Vec<Tag>,
}

/// What a new server certificate is made of.
pub struct NewServerCertificate<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub body: &'a str,
    pub private_key: &'a str,
    pub chain: Option<&'a str>,
    pub tags: Vec<Tag>,
}

impl StoredServerCert {
    fn view(&self) -> ServerCertificate {
        ServerCertificate {
            path: self.path.clone(),
            name: self.name.clone(),
            id: self.id.clone(),
            arn: entity::iam_arn(&self.account, "server-certificate", &self.path, &self.name),
            upload_date: self.uploaded_at,
            expiration: self.expiration,
            body: self.body.clone(),
            chain: self.chain.clone(),
            tags: self.tags.clone(),
        }
    }
}

fn load_server_cert(tx: &dyn Tx, account: &str, name: &str) -> Result<StoredServerCert, IamError> {
    get_json(tx, SERVER_CERTS, &entity::key(account, name))?
        .ok_or_else(|| CredError::NoSuchServerCertificate(name.to_string()).into())
}

// ---------------------------------------------------------------------------------------------
// Service-specific credentials.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredServiceCred {
    id: String,
    service_name: String,
    service_user_name: String,
    password: PasswordHash,
    status: KeyStatus,
    created_at: u64,
    expires_at: Option<u64>,
}

/// A service-specific credential as the API shows it; `service_password` only when it was just
/// made or reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpecificCredential {
    pub user_name: String,
    pub service_name: String,
    pub service_user_name: String,
    pub service_password: Option<zeroize::Zeroizing<String>>,
    pub id: String,
    pub status: KeyStatus,
    pub create_date: u64,
    pub expiration_date: Option<u64>,
}

impl StoredServiceCred {
    fn view(&self, user: &User, password: Option<String>) -> ServiceSpecificCredential {
        ServiceSpecificCredential {
            user_name: user.name.clone(),
            service_name: self.service_name.clone(),
            service_user_name: self.service_user_name.clone(),
            service_password: password.map(zeroize::Zeroizing::new),
            id: self.id.clone(),
            status: self.status,
            create_date: self.created_at,
            expiration_date: self.expires_at,
        }
    }
}

/// A service password: 44 characters of letters, digits and `+/=` (the shape of AWS's).
fn service_password() -> String {
    let mut bytes = [0u8; 33];
    berth_core::ids::random_bytes(&mut bytes);
    b64().encode(bytes)
}

/// The user's signing certificates, oldest first: whether each is active, when it was uploaded
/// (for the credential report).
pub(crate) fn signing_certificates_of(
    tx: &dyn Tx,
    account: &str,
    user: &User,
) -> Result<Vec<(bool, u64)>, IamError> {
    let mut v: Vec<(bool, u64)> =
        scan_json::<StoredSigningCert>(tx, SIGNING_CERTS, &user_prefix(account, user))?
            .into_iter()
            .map(|(_, c)| (c.status == KeyStatus::Active, c.uploaded_at))
            .collect();
    v.sort_by_key(|c| c.1);
    Ok(v)
}

/// Refuses to delete a user that still has SSH keys, signing certificates or service-specific
/// credentials.
pub(crate) fn check_none_left(tx: &dyn Tx, account: &str, user: &User) -> Result<(), IamError> {
    let prefix = user_prefix(account, user);
    let any = |table: &str| -> Result<bool, IamError> {
        Ok(!scan_json::<serde_json::Value>(tx, table, &prefix)?.is_empty())
    };
    if any(SIGNING_CERTS)? {
        return Err(CredError::SigningCertificatesLeft.into());
    }
    if any(SSH_KEYS)? {
        return Err(CredError::SshKeysLeft.into());
    }
    if any(SERVICE_CREDS)? {
        return Err(CredError::ServiceCredentialsLeft.into());
    }
    Ok(())
}

fn new_id(prefix: &str) -> String {
    entity::unique_id(prefix)
}

impl Iam<'_> {
    // --- SSH public keys ---

    pub fn upload_ssh_public_key(
        &self,
        account: &str,
        user_name: &str,
        body: &str,
        now: u64,
    ) -> Result<SshPublicKey, IamError> {
        let (e, n) = parse_ssh_key(body)?;
        let (blob, fingerprint) = ssh_blob_and_fingerprint(&e, &n)?;
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let prefix = user_prefix(account, &user);
            let existing = scan_json::<StoredSshKey>(tx, SSH_KEYS, &prefix)?;
            if existing.iter().any(|(_, k)| k.fingerprint == fingerprint) {
                return Err(CredError::DuplicateSshPublicKey.into());
            }
            if existing.len() >= SSH_KEYS_PER_USER {
                return Err(CredError::SshKeyQuota.into());
            }
            let k = StoredSshKey {
                id: new_id("APKA"),
                body: body.to_string(),
                blob: b64().encode(&blob),
                fingerprint: fingerprint.clone(),
                status: KeyStatus::Active,
                uploaded_at: now,
            };
            put_json(tx, SSH_KEYS, &format!("{prefix}{}", k.id), &k)?;
            Ok(k.view(&user, None))
        })
    }

    fn ssh_key(
        tx: &dyn Tx,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(User, StoredSshKey), IamError> {
        let user: User = policies::load(tx, account, user_name)?;
        let k = get_json(
            tx,
            SSH_KEYS,
            &format!("{}{id}", user_prefix(account, &user)),
        )?
        .ok_or_else(|| CredError::NoSuchSshPublicKey(id.to_string()))?;
        Ok((user, k))
    }

    pub fn get_ssh_public_key(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
        encoding: SshEncoding,
    ) -> Result<SshPublicKey, IamError> {
        self.store.read(|tx| {
            let (user, k) = Self::ssh_key(tx, account, user_name, id)?;
            Ok(k.view(&user, Some(encoding)))
        })
    }

    pub fn list_ssh_public_keys(
        &self,
        account: &str,
        user_name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<SshPublicKey>, IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let items = scan_json::<StoredSshKey>(tx, SSH_KEYS, &user_prefix(account, &user))?
                .into_iter()
                .map(|(_, k)| (k.id.clone(), k.view(&user, None)))
                .collect();
            Ok(paginate(items, opts))
        })
    }

    pub fn update_ssh_public_key(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (user, mut k) = Self::ssh_key(tx, account, user_name, id)?;
            k.status = status;
            put_json(
                tx,
                SSH_KEYS,
                &format!("{}{id}", user_prefix(account, &user)),
                &k,
            )?;
            Ok(())
        })
    }

    pub fn delete_ssh_public_key(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (user, _) = Self::ssh_key(tx, account, user_name, id)?;
            tx.delete(SSH_KEYS, &format!("{}{id}", user_prefix(account, &user)))?;
            Ok(())
        })
    }

    // --- signing certificates ---

    pub fn upload_signing_certificate(
        &self,
        account: &str,
        user_name: &str,
        body: &str,
        now: u64,
    ) -> Result<SigningCertificate, IamError> {
        let cert = parse_cert(body)?;
        let digest = hex::encode(Sha256::digest(&cert.der));
        if cert.not_after <= now {
            return Err(CredError::MalformedCertificate.into());
        }
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            // A certificate is one user's in the whole account.
            let all = scan_json::<StoredSigningCert>(tx, SIGNING_CERTS, &format!("{account}/"))?;
            if all.iter().any(|(_, c)| c.der_sha256 == digest) {
                return Err(CredError::DuplicateCertificate.into());
            }
            let prefix = user_prefix(account, &user);
            if all.iter().filter(|(k, _)| k.starts_with(&prefix)).count()
                >= SIGNING_CERTIFICATES_PER_USER
            {
                return Err(CredError::SigningCertificateQuota.into());
            }
            let id = {
                // 32 characters, as AWS's certificate ids have.
                let mut id = berth_core::ids::aws_id("");
                id.push_str(&berth_core::ids::aws_id(""));
                id
            };
            let c = StoredSigningCert {
                id: id.clone(),
                body: body.to_string(),
                der_sha256: digest.clone(),
                status: KeyStatus::Active,
                uploaded_at: now,
            };
            put_json(tx, SIGNING_CERTS, &format!("{prefix}{id}"), &c)?;
            Ok(SigningCertificate {
                user_name: user.name,
                certificate_id: id,
                certificate_body: c.body,
                status: c.status,
                upload_date: now,
            })
        })
    }

    pub fn list_signing_certificates(
        &self,
        account: &str,
        user_name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<SigningCertificate>, IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let items =
                scan_json::<StoredSigningCert>(tx, SIGNING_CERTS, &user_prefix(account, &user))?
                    .into_iter()
                    .map(|(_, c)| {
                        (
                            c.id.clone(),
                            SigningCertificate {
                                user_name: user.name.clone(),
                                certificate_id: c.id,
                                certificate_body: c.body,
                                status: c.status,
                                upload_date: c.uploaded_at,
                            },
                        )
                    })
                    .collect();
            Ok(paginate(items, opts))
        })
    }

    fn signing_cert(
        tx: &dyn Tx,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(String, StoredSigningCert), IamError> {
        let user: User = policies::load(tx, account, user_name)?;
        let key = format!("{}{id}", user_prefix(account, &user));
        let c = get_json(tx, SIGNING_CERTS, &key)?
            .ok_or_else(|| CredError::NoSuchCertificate(id.to_string()))?;
        Ok((key, c))
    }

    pub fn update_signing_certificate(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (key, mut c) = Self::signing_cert(tx, account, user_name, id)?;
            c.status = status;
            put_json(tx, SIGNING_CERTS, &key, &c)?;
            Ok(())
        })
    }

    pub fn delete_signing_certificate(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (key, _) = Self::signing_cert(tx, account, user_name, id)?;
            tx.delete(SIGNING_CERTS, &key)?;
            Ok(())
        })
    }

    // --- server certificates ---

    pub fn upload_server_certificate(
        &self,
        account: &str,
        new: NewServerCertificate<'_>,
        now: u64,
    ) -> Result<ServerCertificate, IamError> {
        let path = new.path.unwrap_or("/");
        entity::check_entity_path(path)?;
        entity::check_distinct_tags(&new.tags)?;
        let cert = parse_cert(new.body)?;
        if let Some(chain) = new.chain {
            // Every certificate of the chain must parse.
            for block in chain.split_inclusive("-----END CERTIFICATE-----") {
                if block.trim().is_empty() {
                    continue;
                }
                parse_cert(block)?;
            }
        }
        check_key_pair(&cert, new.private_key)?;
        let id = new_id("ASCA");
        let sealed = self.root_key.seal(
            format!("berth:server-certificate:{account}:{id}").as_bytes(),
            new.private_key.trim().as_bytes(),
        );
        let stored = StoredServerCert {
            account: account.to_string(),
            name: new.name.to_string(),
            path: path.to_string(),
            id,
            body: new.body.trim().to_string(),
            chain: new.chain.map(|c| c.trim().to_string()),
            sealed_private_key: b64().encode(sealed),
            uploaded_at: now,
            expiration: cert.not_after,
            tags: new.tags,
        };
        self.store.write(|tx| {
            let key = entity::key(account, new.name);
            if get_json::<StoredServerCert>(tx, SERVER_CERTS, &key)?.is_some() {
                return Err(CredError::ServerCertificateExists(new.name.to_string()).into());
            }
            put_json(tx, SERVER_CERTS, &key, &stored)?;
            Ok(stored.view())
        })
    }

    pub fn get_server_certificate(
        &self,
        account: &str,
        name: &str,
    ) -> Result<ServerCertificate, IamError> {
        self.store
            .read(|tx| Ok(load_server_cert(tx, account, name)?.view()))
    }

    /// The server certificate if it exists (for the resource ARN of a call).
    pub fn find_server_certificate(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<ServerCertificate>, IamError> {
        self.store.read(|tx| {
            Ok(
                get_json::<StoredServerCert>(tx, SERVER_CERTS, &entity::key(account, name))?
                    .map(|c| c.view()),
            )
        })
    }

    pub fn list_server_certificates(
        &self,
        account: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<ServerCertificate>, IamError> {
        self.store.read(|tx| {
            let items =
                scan_json::<StoredServerCert>(tx, SERVER_CERTS, &entity::account_prefix(account))?
                    .into_iter()
                    .filter(|(_, c)| entity::under(&c.path, path_prefix))
                    .map(|(_, c)| (c.name.to_ascii_lowercase(), c.view()))
                    .collect();
            Ok(paginate(items, opts))
        })
    }

    pub fn update_server_certificate(
        &self,
        account: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        if let Some(p) = new_path {
            entity::check_entity_path(p)?;
        }
        self.store.write(|tx| {
            let mut c = load_server_cert(tx, account, name)?;
            if let Some(n) = new_name
                && !n.eq_ignore_ascii_case(&c.name)
                && get_json::<StoredServerCert>(tx, SERVER_CERTS, &entity::key(account, n))?
                    .is_some()
            {
                return Err(CredError::ServerCertificateExists(n.to_string()).into());
            }
            tx.delete(SERVER_CERTS, &entity::key(account, &c.name))?;
            if let Some(n) = new_name {
                c.name = n.to_string();
            }
            if let Some(p) = new_path {
                c.path = p.to_string();
            }
            put_json(tx, SERVER_CERTS, &entity::key(account, &c.name), &c)?;
            Ok(())
        })
    }

    pub fn delete_server_certificate(&self, account: &str, name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let c = load_server_cert(tx, account, name)?;
            tx.delete(SERVER_CERTS, &entity::key(account, &c.name))?;
            Ok(())
        })
    }

    pub fn tag_server_certificate(
        &self,
        account: &str,
        name: &str,
        tags: Vec<Tag>,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut c = load_server_cert(tx, account, name)?;
            entity::merge_tags(&mut c.tags, tags)?;
            put_json(tx, SERVER_CERTS, &entity::key(account, &c.name), &c)?;
            Ok(())
        })
    }

    pub fn untag_server_certificate(
        &self,
        account: &str,
        name: &str,
        keys: &[String],
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut c = load_server_cert(tx, account, name)?;
            entity::remove_tags(&mut c.tags, keys);
            put_json(tx, SERVER_CERTS, &entity::key(account, &c.name), &c)?;
            Ok(())
        })
    }

    // --- service-specific credentials ---

    pub fn create_service_specific_credential(
        &self,
        account: &str,
        user_name: &str,
        service_name: &str,
        age_days: Option<u32>,
        now: u64,
    ) -> Result<ServiceSpecificCredential, IamError> {
        if !CREDENTIAL_SERVICES.contains(&service_name) {
            return Err(CredError::ServiceNotSupported(service_name.to_string()).into());
        }
        let password = service_password();
        let hash = PasswordHash::new(&password);
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let prefix = user_prefix(account, &user);
            let held = scan_json::<StoredServiceCred>(tx, SERVICE_CREDS, &prefix)?
                .into_iter()
                .filter(|(_, c)| c.service_name == service_name)
                .count();
            if held >= SERVICE_CREDENTIALS_PER_USER_PER_SERVICE {
                return Err(CredError::ServiceCredentialQuota.into());
            }
            let c = StoredServiceCred {
                id: new_id("ACCA"),
                service_name: service_name.to_string(),
                service_user_name: format!("{}-at-{account}", user.name),
                password: hash,
                status: KeyStatus::Active,
                created_at: now,
                expires_at: age_days.map(|d| now + u64::from(d) * 86_400),
            };
            put_json(tx, SERVICE_CREDS, &format!("{prefix}{}", c.id), &c)?;
            Ok(c.view(&user, Some(password.clone())))
        })
    }

    /// The credentials of a user (`None`: of every user of the account), of one service or all.
    pub fn list_service_specific_credentials(
        &self,
        account: &str,
        user_name: Option<&str>,
        service_name: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<ServiceSpecificCredential>, IamError> {
        self.store.read(|tx| {
            let users: Vec<User> = match user_name {
                Some(n) => vec![policies::load(tx, account, n)?],
                None => scan_json::<User>(tx, entity::USERS, &entity::account_prefix(account))?
                    .into_iter()
                    .map(|(_, u)| u)
                    .collect(),
            };
            let mut items = Vec::new();
            for user in &users {
                for (_, c) in
                    scan_json::<StoredServiceCred>(tx, SERVICE_CREDS, &user_prefix(account, user))?
                {
                    if service_name.is_some_and(|s| s != c.service_name) {
                        continue;
                    }
                    items.push((c.id.clone(), c.view(user, None)));
                }
            }
            Ok(paginate(items, opts))
        })
    }

    fn service_cred(
        tx: &dyn Tx,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(User, String, StoredServiceCred), IamError> {
        let user: User = policies::load(tx, account, user_name)?;
        let key = format!("{}{id}", user_prefix(account, &user));
        let c = get_json(tx, SERVICE_CREDS, &key)?
            .ok_or_else(|| CredError::NoSuchServiceCredential(id.to_string()))?;
        Ok((user, key, c))
    }

    pub fn update_service_specific_credential(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (_, key, mut c) = Self::service_cred(tx, account, user_name, id)?;
            c.status = status;
            put_json(tx, SERVICE_CREDS, &key, &c)?;
            Ok(())
        })
    }

    /// A new password for the credential, shown once.
    pub fn reset_service_specific_credential(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<ServiceSpecificCredential, IamError> {
        let password = service_password();
        let hash = PasswordHash::new(&password);
        self.store.write(|tx| {
            let (user, key, mut c) = Self::service_cred(tx, account, user_name, id)?;
            c.password = hash;
            put_json(tx, SERVICE_CREDS, &key, &c)?;
            Ok(c.view(&user, Some(password.clone())))
        })
    }

    pub fn delete_service_specific_credential(
        &self,
        account: &str,
        user_name: &str,
        id: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (_, key, _) = Self::service_cred(tx, account, user_name, id)?;
            tx.delete(SERVICE_CREDS, &key)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewUser;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    /// `ssh-keygen -t rsa -b 2048`; its `ssh-keygen -l -E md5` fingerprint; the same key as
    /// `ssh-keygen -e -m PKCS8` gives it.
    const SSH_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDQR5EAkIcBqe0P9ABojLSI4mOA/+tYXv6lwwX6MEBeP24C5tsJI6eCvwvzFu2wV9PhJmamDSDP8utK58+njlzf8+5tSRgEZbBvOQWFCbdrkwCepsrJYZ7rmyTbuMGq/gl9b0ahpB8stYwZ1O3Ai2y/oFIeOVnDUCDa7QCP38K7V9ZtYMLvxS+Mi3ne74HALXIUsCMaC9zcv5kUTNMcLYQyMvygdfiGgqX2YU53rx9d/dSkRu5sNGIwrdbGv8kf/OxMu0+odouZZUT231WJK6W7VTSn1+6gRhlaC0c59LqlXEPPu0SWlT9Bl1FW/vD+KQwb32zT270/Y0RiH5Aq97PF test";
    const FINGERPRINT: &str = "2b:a2:5f:d2:c4:62:75:fc:fb:6f:3d:0a:fb:19:21:0a";
    const PEM_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0EeRAJCHAantD/QAaIy0\niOJjgP/rWF7+pcMF+jBAXj9uAubbCSOngr8L8xbtsFfT4SZmpg0gz/LrSufPp45c\n3/PubUkYBGWwbzkFhQm3a5MAnqbKyWGe65sk27jBqv4JfW9GoaQfLLWMGdTtwIts\nv6BSHjlZw1Ag2u0Aj9/Cu1fWbWDC78UvjIt53u+BwC1yFLAjGgvc3L+ZFEzTHC2E\nMjL8oHX4hoKl9mFOd68fXf3UpEbubDRiMK3Wxr/JH/zsTLtPqHaLmWVE9t9ViSul\nu1U0p9fuoEYZWgtHOfS6pVxDz7tElpU/QZdRVv7w/ikMG99s09u9P2NEYh+QKvez\nxQIDAQAB\n-----END PUBLIC KEY-----";

    #[test]
    fn fingerprints_as_ssh_keygen_computes_them() {
        let (e, n) = parse_ssh_key(SSH_KEY).unwrap();
        let (blob, fp) = ssh_blob_and_fingerprint(&e, &n).unwrap();
        assert_eq!(fp, FINGERPRINT);
        assert_eq!(fp.len(), 47);
        // The same key in PEM: the same fingerprint, and back to the same PEM.
        let (e2, n2) = parse_ssh_key(PEM_KEY).unwrap();
        assert_eq!(ssh_blob_and_fingerprint(&e2, &n2).unwrap().1, FINGERPRINT);
        assert_eq!(blob_to_pem(&blob).unwrap().trim(), PEM_KEY.trim());
        assert!(matches!(
            parse_ssh_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA x"),
            Err(CredError::UnrecognizedPublicKeyEncoding)
        ));
        assert!(matches!(
            parse_ssh_key("ssh-rsa !!!"),
            Err(CredError::InvalidPublicKey)
        ));
    }

    #[test]
    fn ssh_keys_per_user() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("ann"), 1).unwrap();
        let k = iam.upload_ssh_public_key(A, "ann", SSH_KEY, 2).unwrap();
        assert!(k.ssh_public_key_id.starts_with("APKA") && k.ssh_public_key_id.len() == 21);
        assert!(matches!(
            iam.upload_ssh_public_key(A, "ann", PEM_KEY, 3),
            Err(IamError::Cred(CredError::DuplicateSshPublicKey))
        ));
        let pem = iam
            .get_ssh_public_key(A, "ann", &k.ssh_public_key_id, SshEncoding::Pem)
            .unwrap();
        assert!(
            pem.ssh_public_key_body
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(matches!(
            iam.delete_user(A, "ann"),
            Err(IamError::Cred(CredError::SshKeysLeft))
        ));
        iam.delete_ssh_public_key(A, "ann", &k.ssh_public_key_id)
            .unwrap();
        let c = iam
            .create_service_specific_credential(A, "ann", "codecommit.amazonaws.com", None, 4)
            .unwrap();
        assert_eq!(c.service_user_name, format!("ann-at-{A}"));
        assert!(c.service_password.is_some());
        let raw = store
            .read(|tx| Ok::<_, IamError>(scan_json::<serde_json::Value>(tx, SERVICE_CREDS, "")?))
            .unwrap();
        let pw = c.service_password.unwrap();
        assert!(!serde_json::to_string(&raw).unwrap().contains(pw.as_str()));
        assert!(matches!(
            iam.create_service_specific_credential(A, "ann", "s3.amazonaws.com", None, 4),
            Err(IamError::Cred(CredError::ServiceNotSupported(_)))
        ));
        iam.delete_service_specific_credential(A, "ann", &c.id)
            .unwrap();
        iam.delete_user(A, "ann").unwrap();
    }
}
