//! The root key and sealing of data at rest.
//!
//! Everything berth must keep secret on disk (secret access keys, later KMS key material) is
//! sealed with AES-256-GCM under the [`RootKey`], with associated data that names what the
//! sealed bytes belong to, so a sealed value copied onto another record does not open.
//! The root key itself never enters the database: the binary keeps it in a file of its own
//! (mode 0600) or takes it from the environment.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
/// Version byte in front of every sealed value, so the format can change later.
const FORMAT_V1: u8 = 1;

/// Why sealed data did not open, or a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("root key must be 32 bytes of base64")]
    BadKey,
    #[error("sealed data is truncated or of an unknown format")]
    BadFormat,
    #[error("sealed data does not open under this root key and context")]
    Open,
}

/// A 256-bit key that seals data at rest.
#[derive(Clone)]
pub struct RootKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(..)")
    }
}

impl RootKey {
    /// A fresh random key.
    pub fn generate() -> RootKey {
        let mut k = Zeroizing::new([0u8; 32]);
        crate::ids::random_bytes(k.as_mut());
        RootKey(k)
    }

    /// Reads a key from its base64 text form (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<RootKey, SealError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| SealError::BadKey)?,
        );
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SealError::BadKey)?;
        Ok(RootKey(Zeroizing::new(arr)))
    }

    /// The base64 text form, for the key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_ref()))
    }

    fn cipher(&self) -> Aes256Gcm {
        let key: &Key<Aes256Gcm> = (&*self.0).into();
        Aes256Gcm::new(key)
    }

    /// A 256-bit key derived from the root key for one purpose (HMAC-SHA256 of `label`), so
    /// a secret that must be recomputable (a session token) never needs storing.
    pub fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, KeyInit, Mac};
        let mut out = Zeroizing::new([0u8; 32]);
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        if let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) {
            mac.update(label);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// Seals `plaintext`, binding `context` (what the value belongs to) as associated data.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::ids::random_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            // AES-GCM encryption fails only for inputs beyond 64 GiB, which berth never seals.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`RootKey::seal`] sealed under the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != FORMAT_V1 {
            return Err(SealError::BadFormat);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::BadFormat)?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_context_binding() {
        let k = RootKey::generate();
        let sealed = k.seal(b"access-key:AKIA1", b"very secret");
        assert!(!sealed.windows(11).any(|w| w == b"very secret"));
        assert_eq!(
            k.open(b"access-key:AKIA1", &sealed).map(|v| v.to_vec()),
            Ok(b"very secret".to_vec())
        );
        assert_eq!(
            k.open(b"access-key:AKIA2", &sealed).map(|_| ()),
            Err(SealError::Open)
        );
        let other = RootKey::generate();
        assert_eq!(
            other.open(b"access-key:AKIA1", &sealed).map(|_| ()),
            Err(SealError::Open)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            k.open(b"access-key:AKIA1", &tampered).map(|_| ()),
            Err(SealError::Open)
        );
        assert_eq!(
            k.open(b"x", &sealed[..5]).map(|_| ()),
            Err(SealError::BadFormat)
        );
    }

    #[test]
    fn derived_keys_are_stable_and_separated() {
        let k = RootKey::generate();
        assert_eq!(*k.derive(b"a"), *k.derive(b"a"));
        assert_ne!(*k.derive(b"a"), *k.derive(b"b"));
        assert_ne!(*k.derive(b"a"), *RootKey::generate().derive(b"a"));
    }

    #[test]
    fn base64_form_round_trips() {
        let k = RootKey::generate();
        let again = RootKey::from_base64(&k.to_base64()).unwrap_or_else(|e| panic!("{e}"));
        let sealed = k.seal(b"c", b"v");
        assert!(again.open(b"c", &sealed).is_ok());
        assert_eq!(
            RootKey::from_base64("c2hvcnQ=").map(|_| ()),
            Err(SealError::BadKey)
        );
        assert_eq!(
            RootKey::from_base64("!!").map(|_| ()),
            Err(SealError::BadKey)
        );
    }
}
