//! String to sign, signing key and signature.

use berth_core::mac::{hmac_sha256, hmac_sha256_joined_key};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::{ALGORITHM, CredentialScope, SCOPE_TERMINATOR};

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    push_hex(&mut out, &Sha256::digest(data));
    out
}

/// Appends `bytes` as lower-case hex.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// A 32-byte value (a digest, an HMAC) as lower-case hex, without allocating.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Compares two signatures (hex strings) in constant time for strings of equal length; strings
/// of different lengths are unequal. Case matters: signatures are lower-case hex.
pub(crate) fn signatures_equal(computed: &[u8], provided: &str) -> Choice {
    computed.ct_eq(provided.as_bytes())
}

/// The string to sign: the algorithm, the request's timestamp (`YYYYMMDDTHHMMSSZ`), the
/// credential scope and the hex SHA-256 of the canonical request, joined with `\n`.
pub fn string_to_sign(amz_date: &str, scope: &CredentialScope, canonical_request: &str) -> String {
    let mut out = String::with_capacity(
        ALGORITHM.len()
            + amz_date.len()
            + scope.date.len()
            + scope.region.len()
            + scope.service.len()
            + SCOPE_TERMINATOR.len()
            + 64
            + 6,
    );
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(amz_date);
    out.push('\n');
    // `scope`'s Display form, `date/region/service/aws4_request`.
    out.push_str(&scope.date);
    out.push('/');
    out.push_str(&scope.region);
    out.push('/');
    out.push_str(&scope.service);
    out.push('/');
    out.push_str(SCOPE_TERMINATOR);
    out.push('\n');
    push_hex(&mut out, &Sha256::digest(canonical_request.as_bytes()));
    out
}

/// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request")`.
pub fn signing_key(secret: &str, scope: &CredentialScope) -> [u8; 32] {
    // The first key, "AWS4" + secret, is fed in two parts rather than built.
    let k_date = hmac_sha256_joined_key(&[b"AWS4", secret.as_bytes()], scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, SCOPE_TERMINATOR.as_bytes())
}

/// The signature: lower-case hex HMAC-SHA256 of the string to sign under the signing key.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms_agree() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37));
        assert_eq!(hex32(&bytes).as_slice(), hex::encode(bytes).as_bytes());
        let mut s = String::new();
        push_hex(&mut s, &bytes);
        assert_eq!(s, hex::encode(bytes));
        assert_eq!(sha256_hex(b"abc"), hex::encode(Sha256::digest(b"abc")));
        let scope = CredentialScope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        assert_eq!(
            string_to_sign("20150830T123600Z", &scope, "creq"),
            format!(
                "{ALGORITHM}\n20150830T123600Z\n{scope}\n{}",
                hex::encode(Sha256::digest(b"creq"))
            )
        );
    }

    #[test]
    fn signature_comparison() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert!(bool::from(signatures_equal(sig.as_bytes(), sig)));
        assert!(!bool::from(signatures_equal(
            sig.as_bytes(),
            &sig.to_uppercase()
        )));
        assert!(!bool::from(signatures_equal(sig.as_bytes(), &sig[..63])));
        assert!(!bool::from(signatures_equal(sig.as_bytes(), "")));
        assert!(!bool::from(signatures_equal(
            sig.as_bytes(),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30"
        )));
    }

    // The example from AWS's documentation of the signing key derivation.
    #[test]
    fn signing_key_example() {
        let scope = CredentialScope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        assert_eq!(
            hex::encode(signing_key(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                &scope
            )),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }
}
