//! The ciphertext blob: AES-256-GCM under a key's material, naming the key, bound to the
//! encryption context as associated data.
//!
//! Layout: `0x01 | len(arn) as u16 BE | arn | nonce (12) | ciphertext + tag`. The associated
//! data is the format byte, the key ARN and the canonical encryption context (pairs sorted by
//! key, each part length-prefixed), so a blob opens only under the same key and exactly the
//! same context.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key as AesKey, Nonce};
use zeroize::Zeroizing;

use crate::KmsError;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// An encryption context: string pairs, compared exactly.
pub type EncryptionContext = BTreeMap<String, String>;

fn aad(arn: &str, context: &EncryptionContext) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    let mut part = |b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    };
    part(arn.as_bytes());
    for (k, v) in context {
        part(k.as_bytes());
        part(v.as_bytes());
    }
    out
}

fn cipher(material: &[u8]) -> Result<Aes256Gcm, KmsError> {
    let key: &AesKey<Aes256Gcm> = material
        .try_into()
        .map_err(|_| KmsError::Seal(berth_core::SealError::BadFormat))?;
    Ok(Aes256Gcm::new(key))
}

/// Encrypts `plaintext` under `material` (32 bytes) for the key `arn`.
pub(crate) fn seal_blob(
    material: &[u8],
    arn: &str,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let mut nonce = [0u8; NONCE_LEN];
    berth_core::ids::random_bytes(&mut nonce);
    let ct = cipher(material)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad(arn, context),
            },
        )
        // AES-GCM refuses only inputs beyond 64 GiB; KMS plaintexts are at most 4 KiB.
        .map_err(|_| KmsError::InvalidCiphertext)?;
    let arn_len = u16::try_from(arn.len()).map_err(|_| KmsError::InvalidCiphertext)?;
    let mut out = Vec::with_capacity(3 + arn.len() + NONCE_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&arn_len.to_be_bytes());
    out.extend_from_slice(arn.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The key ARN a blob names, or `InvalidCiphertext` when it is not a berth ciphertext blob.
pub fn blob_key_arn(blob: &[u8]) -> Result<&str, KmsError> {
    if blob.len() < 3 || blob[0] != FORMAT_V1 {
        return Err(KmsError::InvalidCiphertext);
    }
    let len = u16::from_be_bytes([blob[1], blob[2]]) as usize;
    if blob.len() < 3 + len + NONCE_LEN + TAG_LEN {
        return Err(KmsError::InvalidCiphertext);
    }
    std::str::from_utf8(&blob[3..3 + len]).map_err(|_| KmsError::InvalidCiphertext)
}

/// Opens a blob sealed by [`seal_blob`] under the same material, key and context.
pub(crate) fn open_blob(
    material: &[u8],
    blob: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let arn = blob_key_arn(blob)?;
    let rest = &blob[3 + arn.len()..];
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KmsError::InvalidCiphertext)?;
    cipher(material)?
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ct,
                aad: &aad(arn, context),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KmsError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let m = [7u8; 32];
        let arn = "arn:aws:kms:us-east-1:000000000000:key/k1";
        let mut ctx = EncryptionContext::new();
        ctx.insert("a".into(), "b".into());
        let blob = seal_blob(&m, arn, &ctx, b"hello").unwrap();
        assert_eq!(blob_key_arn(&blob).unwrap(), arn);
        assert_eq!(open_blob(&m, &blob, &ctx).unwrap().as_slice(), b"hello");
        assert!(open_blob(&m, &blob, &EncryptionContext::new()).is_err());
        let mut other = ctx.clone();
        other.insert("a".into(), "c".into());
        assert!(open_blob(&m, &blob, &other).is_err());
        assert!(open_blob(&[8u8; 32], &blob, &ctx).is_err());
        // Context parts are length-prefixed: {"ab": ""} is not {"a": "b"}.
        let mut shifted = EncryptionContext::new();
        shifted.insert("ab".into(), "".into());
        assert!(open_blob(&m, &blob, &shifted).is_err());
        assert!(blob_key_arn(b"\x01\x00").is_err());
        assert!(blob_key_arn(b"garbage that is long enough to be parsed maybe").is_err());
    }
}
