//! Sealing: AES-256-GCM with associated data, and the root key that seals data at rest.
//!
//! [`seal`] and [`open`] are berth's one authenticated-encryption primitive: a 32-byte key,
//! associated data that names what the sealed bytes belong to (so a sealed value copied onto
//! another record does not open), a random 96-bit nonce, and the layout
//! `nonce (12) | ciphertext | tag (16)`. The root key, KMS ciphertext blobs and key material,
//! and secret values are all sealed with it; each adds its own header in front.
//!
//! Everything berth must keep secret on disk (secret access keys, KMS key material) is sealed
//! under the [`RootKey`]. The root key itself never enters the database: the binary keeps it in
//! a file of its own (mode 0600) or takes it from the environment.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use zeroize::Zeroizing;

/// Length of a sealing key (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of the random nonce at the front of a sealed value.
pub const NONCE_LEN: usize = 12;
/// Length of the authentication tag at the end of a sealed value.
pub const TAG_LEN: usize = 16;
/// Version byte in front of every value sealed under the root key, so the format can change.
const ROOT_FORMAT_V1: u8 = 1;
/// What a root key's check value binds as associated data.
const CHECK_CONTEXT: &[u8] = b"berth:root-key-check";
/// The known plaintext a root key's check value seals.
const CHECK_PLAINTEXT: &[u8] = b"berth root key check v1";

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = key.into();
    Aes256Gcm::new(key)
}

/// Seals `plaintext` under `key` with AES-256-GCM, binding `aad` as associated data, and
/// appends `nonce (12, random) | ciphertext | tag (16)` to `out` (which may already hold a
/// caller's header).
///
/// AES-GCM refuses only plaintexts beyond 64 GiB, far above anything berth seals (a KMS
/// plaintext is at most 4 KiB, a secret value 64 KiB); such a value would come out as the
/// nonce alone, which never opens.
pub fn seal_into(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
    let mut nonce = [0u8; NONCE_LEN];
    crate::ids::random_bytes(&mut nonce);
    let ct = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    out.reserve(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
}

/// Seals `plaintext` under `key`, binding `aad`: `nonce (12) | ciphertext | tag (16)`.
/// See [`seal_into`].
pub fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    seal_into(key, aad, plaintext, &mut out);
    out
}

/// Opens what [`seal`] sealed under the same `key` and `aad`. `sealed` starts at the nonce.
pub fn open(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::BadFormat);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::BadFormat)?;
    cipher(key)
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| SealError::Open)
}

/// Why sealed data did not open, or a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("root key must be 32 bytes of base64")]
    BadKey,
    #[error("sealed data is truncated or of an unknown format")]
    BadFormat,
    #[error("sealed data does not open under this key and context")]
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

    /// A 256-bit key derived from the root key for one purpose (HMAC-SHA256 of `label`), so
    /// a secret that must be recomputable (a session token) never needs storing.
    pub fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(crate::mac::hmac_sha256(self.0.as_ref(), label))
    }

    /// Seals `plaintext`, binding `context` (what the value belongs to) as associated data:
    /// `0x01 | nonce (12) | ciphertext | tag (16)`.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(ROOT_FORMAT_V1);
        seal_into(&self.0, context, plaintext, &mut out);
        out
    }

    /// Opens what [`RootKey::seal`] sealed under the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        match sealed.split_first() {
            Some((&ROOT_FORMAT_V1, rest)) => open(&self.0, context, rest),
            _ => Err(SealError::BadFormat),
        }
    }

    /// A check value of this key: a known plaintext sealed under it (never the key, nor
    /// anything derived from it without the seal), kept beside the data the key seals so that
    /// a different key is recognised before it is used ([`RootKey::matches_check`]).
    pub fn check_value(&self) -> Vec<u8> {
        self.seal(CHECK_CONTEXT, CHECK_PLAINTEXT)
    }

    /// Whether `check` is a check value of this key ([`RootKey::check_value`]).
    pub fn matches_check(&self, check: &[u8]) -> bool {
        self.open(CHECK_CONTEXT, check)
            .is_ok_and(|plain| plain.as_slice() == CHECK_PLAINTEXT)
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

    /// A value sealed under the root key `[0x11; 32]` by an earlier build: the layout
    /// `0x01 | nonce | ciphertext | tag` is what data directories hold, so it must keep opening.
    const ROOT_VECTOR: &str = "0197e312f43f7a46744844a04db5f1152377b0bb04d6640a5639b83435f5dafd5eaf6d61fe8e90a93f7e1aaef7e224c94eaa443ed8c396c62158fa93931b4bf305741f9a34";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn root_key_opens_a_stored_value() {
        let k = RootKey(Zeroizing::new([0x11; 32]));
        let sealed = unhex(ROOT_VECTOR);
        let secret = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_vec();
        assert_eq!(
            k.open(b"berth:access-key:AKIAEXAMPLE", &sealed)
                .map(|v| v.to_vec()),
            Ok(secret.clone())
        );
        // The root key's format is the primitive's layout behind one version byte.
        assert_eq!(
            open(&[0x11; 32], b"berth:access-key:AKIAEXAMPLE", &sealed[1..]).map(|v| v.to_vec()),
            Ok(secret)
        );
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert_eq!(
            k.open(b"berth:access-key:AKIAEXAMPLE", &v2).map(|_| ()),
            Err(SealError::BadFormat)
        );
        assert_eq!(k.open(b"c", &[]).map(|_| ()), Err(SealError::BadFormat));
    }

    #[test]
    fn primitive_layout_and_binding() {
        let key = [3u8; KEY_LEN];
        let sealed = seal(&key, b"aad", b"plain");
        assert_eq!(sealed.len(), NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(
            open(&key, b"aad", &sealed).map(|v| v.to_vec()),
            Ok(b"plain".to_vec())
        );
        assert_eq!(
            open(&key, b"aae", &sealed).map(|_| ()),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&[4u8; KEY_LEN], b"aad", &sealed).map(|_| ()),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&key, b"aad", &sealed[..NONCE_LEN + TAG_LEN - 1]).map(|_| ()),
            Err(SealError::BadFormat)
        );
        // An empty plaintext seals to the shortest valid value, nonce and tag alone, which opens.
        let empty = seal(&key, b"aad", b"");
        assert_eq!(empty.len(), NONCE_LEN + TAG_LEN);
        assert_eq!(
            open(&key, b"aad", &empty).map(|v| v.to_vec()),
            Ok(Vec::new())
        );
        // Two seals of the same plaintext differ: the nonce is fresh each time.
        assert_ne!(seal(&key, b"aad", b"plain"), sealed);
        // seal_into appends after a caller's header.
        let mut out = b"hdr".to_vec();
        seal_into(&key, b"aad", b"plain", &mut out);
        assert_eq!(&out[..3], b"hdr");
        assert_eq!(
            open(&key, b"aad", &out[3..]).map(|v| v.to_vec()),
            Ok(b"plain".to_vec())
        );
    }

    #[test]
    fn a_check_value_matches_its_key_only() {
        let k = RootKey::generate();
        let check = k.check_value();
        assert!(k.matches_check(&check));
        assert!(
            RootKey::from_base64(&k.to_base64()).is_ok_and(|again| again.matches_check(&check))
        );
        assert!(!RootKey::generate().matches_check(&check));
        // The check value holds neither the key nor its base64 form.
        assert!(!check.windows(32).any(|w| w == k.0.as_ref()));
        assert!(!check.windows(44).any(|w| w == k.to_base64().as_bytes()));
        // A value sealed under the key for another purpose is no check value.
        assert!(!k.matches_check(&k.seal(b"berth:access-key:AKIA1", CHECK_PLAINTEXT)));
        assert!(!k.matches_check(&k.seal(CHECK_CONTEXT, b"something else")));
        let mut tampered = check.clone();
        tampered[1] ^= 1;
        assert!(!k.matches_check(&tampered));
        assert!(!k.matches_check(&[]));
        // Fresh nonce each time, and each one matches.
        let again = k.check_value();
        assert_ne!(again, check);
        assert!(k.matches_check(&again));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let k = RootKey(Zeroizing::new([0x11; 32]));
        assert_eq!(format!("{k:?}"), "RootKey(..)");
        assert_eq!(format!("{:?}", Some(&k)), "Some(RootKey(..))");
    }

    #[test]
    fn derived_keys_are_stable_and_separated() {
        let k = RootKey::generate();
        assert_eq!(*k.derive(b"a"), *k.derive(b"a"));
        assert_ne!(*k.derive(b"a"), *k.derive(b"b"));
        assert_ne!(*k.derive(b"a"), *RootKey::generate().derive(b"a"));
    }

    #[test]
    fn derived_key_vector() {
        // HMAC-SHA256(root key 00 01 .. 1f, "label"), computed independently.
        let k = RootKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .unwrap_or_else(|e| panic!("{e}"));
        let derived: String = k
            .derive(b"label")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            derived,
            "163f81d115e39b6a9db6dd218bc05d177e58072ba01fb918d19e2b8968bef55d"
        );
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
