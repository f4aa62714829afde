//! HMAC-SHA256: berth's one message-authentication primitive.
//!
//! The root key's purpose-bound derivations, STS session tokens and the SigV4 signing-key
//! chain and signatures all use it. It works on the stack: no call allocates.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256's block size: HMAC keys are hashed down to or zero-padded up to this length.
const BLOCK: usize = 64;

/// Length of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// HMAC-SHA256 of `data` under `key` (any length, as RFC 2104 allows).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    hmac_sha256_joined_key(&[key], data)
}

/// HMAC-SHA256 of `data` under the key made of `key_parts` joined end to end, without
/// building the joined key (SigV4's first key is `"AWS4"` followed by the secret).
pub fn hmac_sha256_joined_key(key_parts: &[&[u8]], data: &[u8]) -> [u8; TAG_LEN] {
    // HMAC first turns any key into one block: keys longer than a block are hashed, shorter
    // ones are padded with zeros. Doing that here lets the fixed-size (infallible) constructor
    // be used, with the key assembled in place.
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    let len = key_parts
        .iter()
        .fold(0usize, |n, part| n.saturating_add(part.len()));
    if len > BLOCK {
        let mut hash = Sha256::new();
        for part in key_parts {
            hash.update(part);
        }
        block[..TAG_LEN].copy_from_slice(&hash.finalize());
    } else {
        let mut at = 0;
        for part in key_parts {
            let end = at + part.len();
            block[at..end].copy_from_slice(part);
            at = end;
        }
    }
    let mut mac = HmacSha256::new(&block);
    block.as_mut_slice().zeroize();
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // RFC 4231 test cases 1, 2 and 6 (the last has a key longer than a block).
    #[test]
    fn matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_key_of_exactly_one_block_is_used_as_is() {
        // A 64-byte key is used as is; one byte more gets hashed first.
        let key = [0x5a; 64];
        let longer = [0x5a; 65];
        assert_ne!(hmac_sha256(&key, b"x"), hmac_sha256(&longer, b"x"));
        assert_eq!(
            hmac_sha256(&longer, b"x"),
            hmac_sha256(&Sha256::digest(longer), b"x")
        );
        // The one-block key itself is not hashed first.
        assert_ne!(
            hmac_sha256(&key, b"x"),
            hmac_sha256(&Sha256::digest(key), b"x")
        );
        // HMAC-SHA256 of "x" under 64 bytes of 0x5a, computed independently.
        assert_eq!(
            hex(&hmac_sha256(&key, b"x")),
            "e553639f908d1998ec8866141860cd3cf2a90cd9d095a98bd4358fb148de1d54"
        );
    }

    #[test]
    fn a_joined_key_equals_the_concatenated_key() {
        let bytes: Vec<u8> = (0..=200u8).collect();
        for total in [0, 1, 4, 63, 64, 65, 131, 200] {
            let key = &bytes[..total];
            let whole = hmac_sha256(key, b"data");
            for split in [0, total / 3, total / 2, total] {
                let (a, b) = key.split_at(split);
                assert_eq!(hmac_sha256_joined_key(&[a, b], b"data"), whole);
                assert_eq!(hmac_sha256_joined_key(&[a, &[], b], b"data"), whole);
            }
        }
        assert_eq!(
            hmac_sha256_joined_key(&[], b"data"),
            hmac_sha256(b"", b"data")
        );
    }
}
