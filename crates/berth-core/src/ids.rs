//! Identifiers in the shapes AWS uses.

/// Upper-case letters and digits 2–7, the alphabet of AWS access key ids and unique ids.
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The alphabet of secret access keys (base64 without padding, as AWS's look).
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Fills `buf` from the operating system's generator.
///
/// # Panics
/// Only when the operating system has no random source at all, which berth cannot run without.
pub fn random_bytes(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random generator failed");
}

/// `len` characters drawn uniformly from `alphabet` (whose length divides 256).
fn random_string(alphabet: &[u8], len: usize) -> String {
    debug_assert!(256 % alphabet.len() == 0);
    let mut bytes = vec![0u8; len];
    random_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// An AWS-style identifier: `prefix` + 16 characters (`AKIA…`, `ASIA…`, `AIDA…`, `AROA…`).
pub fn aws_id(prefix: &str) -> String {
    format!("{prefix}{}", random_string(ID_ALPHABET, 16))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> String {
    random_string(SECRET_ALPHABET, 40)
}

/// A request id in AWS's UUID form.
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An AWS account id is exactly twelve decimal digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region name as AWS forms them: `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1]
            .parse::<u8>()
            .is_ok_and(|n| n > 0 && !parts[parts.len() - 1].starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let id = aws_id("AKIA");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA"));
        assert!(id[4..].bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert_ne!(aws_id("AKIA"), aws_id("AKIA"));
        assert_eq!(secret_access_key().len(), 40);
        let rid = request_id();
        assert_eq!(rid.len(), 36);
        assert_eq!(&rid[14..15], "4");
    }

    #[test]
    fn account_and_region_validation() {
        assert!(is_account_id("000000000000"));
        assert!(!is_account_id("00000000000"));
        assert!(!is_account_id("00000000000a"));
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-10",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-east-1",
            "us-east-01",
            "us--1",
            "us-east-x",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
