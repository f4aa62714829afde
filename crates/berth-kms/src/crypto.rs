//! The ciphertext blob: berth-core's AES-256-GCM primitive ([`berth_core::seal`]) under a
//! key's material, naming the key, bound to the encryption context as associated data.
//!
//! Layout: `0x01 | len(arn) as u16 BE | arn | nonce (12) | ciphertext + tag`, the primitive's
//! output behind a header. The associated
//! data is the format byte, the key ARN and the canonical encryption context (pairs sorted by
//! key, each part length-prefixed), so a blob opens only under the same key and exactly the
//! same context.

use std::collections::BTreeMap;

use berth_core::SealError;
use berth_core::seal::{self, KEY_LEN, NONCE_LEN, TAG_LEN};
use zeroize::Zeroizing;

use crate::KmsError;

const FORMAT_V1: u8 = 1;

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

fn key(material: &[u8]) -> Result<&[u8; KEY_LEN], KmsError> {
    material
        .try_into()
        .map_err(|_| KmsError::Seal(SealError::BadFormat))
}

/// Encrypts `plaintext` under `material` (32 bytes) for the key `arn`.
pub(crate) fn seal_blob(
    material: &[u8],
    arn: &str,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let key = key(material)?;
    let arn_len = u16::try_from(arn.len()).map_err(|_| KmsError::InvalidCiphertext)?;
    let mut out = Vec::with_capacity(3 + arn.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(&arn_len.to_be_bytes());
    out.extend_from_slice(arn.as_bytes());
    seal::seal_into(key, &aad(arn, context), plaintext, &mut out);
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
    let key = key(material)?;
    let arn = blob_key_arn(blob)?;
    seal::open(key, &aad(arn, context), &blob[3 + arn.len()..])
        .map_err(|_| KmsError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;

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
        assert!(open_blob(&[7u8; 31], &blob, &ctx).is_err());
    }

    /// A blob sealed by an earlier build under material `[7; 32]`: blobs handed out to clients
    /// must keep opening.
    const BLOB_VECTOR: &str = "AQBLYXJuOmF3czprbXM6dXMtZWFzdC0xOjAwMDAwMDAwMDAwMDprZXkvMTIzNGFiY2QtMTJhYi0zNGNkLTU2ZWYtMTIzNDU2Nzg5MGFirmH/so4bA3c1kRmLBK23K3j20C+gATZU8OqON9wtH7pJ7O0pzA==";
    const VECTOR_ARN: &str =
        "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn a_stored_blob_opens() {
        let blob = base64::engine::general_purpose::STANDARD
            .decode(BLOB_VECTOR)
            .unwrap();
        let mut ctx = EncryptionContext::new();
        ctx.insert("purpose".into(), "test".into());
        assert_eq!(blob_key_arn(&blob).unwrap(), VECTOR_ARN);
        assert_eq!(
            open_blob(&[7u8; 32], &blob, &ctx).unwrap().as_slice(),
            b"hello kms"
        );
        assert!(open_blob(&[7u8; 32], &blob, &EncryptionContext::new()).is_err());
    }

    #[test]
    fn blobs_are_the_core_primitive_behind_a_header() {
        let m = [5u8; 32];
        let mut ctx = EncryptionContext::new();
        ctx.insert("k".into(), "v".into());
        let blob = seal_blob(&m, VECTOR_ARN, &ctx, b"data").unwrap();
        let body = &blob[3 + VECTOR_ARN.len()..];
        assert_eq!(body.len(), NONCE_LEN + 4 + TAG_LEN);
        assert_eq!(
            seal::open(&m, &aad(VECTOR_ARN, &ctx), body)
                .unwrap()
                .as_slice(),
            b"data"
        );
    }
}
