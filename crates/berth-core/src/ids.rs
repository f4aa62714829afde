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

/// A request id in AWS's UUID form (version 4, random).
///
/// Drawn from [`id_bytes`], not from the operating system's generator: a request id is made for
/// every call, and the system call cost more than the rest of making it.
pub fn request_id() -> String {
    let mut b = id_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// `b` as a UUID's text: lower-case hex, grouped 8-4-4-4-12.
fn uuid_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    out
}

thread_local! {
    /// This thread's seed for [`id_bytes`]: 256 bits from the operating system, drawn on first use.
    static ID_SEED: [u8; 32] = {
        let mut seed = [0u8; 32];
        random_bytes(&mut seed);
        seed
    };
    /// How many ids this thread has drawn.
    static ID_COUNTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// 128 bits for an identifier that must be unique and unguessable but is not a secret
/// (request ids, UUID-shaped resource ids): the first half of SHA-256 over this thread's
/// random seed and a counter that never repeats for the seed. Without the seed the output
/// cannot be told from random; for secrets use [`random_bytes`].
fn id_bytes() -> [u8; 16] {
    use sha2::Digest;
    let n = ID_COUNTER.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    let digest = ID_SEED.with(|seed| {
        let mut h = sha2::Sha256::new();
        h.update(seed);
        h.update(n.to_le_bytes());
        h.finalize()
    });
    let mut out = [0u8; 16];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// An AWS account id is exactly twelve decimal digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// AWS's regions in the commercial partition (`aws`): the regions berth answers to without
/// configuration. Taken from botocore 1.43.11's `data/endpoints.json` (partition `aws`).
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The regions a server answers to: [`AWS_REGIONS`] and the operator's extra ones
/// (`BERTH_EXTRA_REGIONS`). A credential scoped to any other region is refused, so a mistyped
/// or made-up region never becomes a new, empty namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    extra: Vec<String>,
}

/// An extra region that does not have a region's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a region name (for example eu-west-1): {0:?}")]
pub struct InvalidRegion(pub String);

impl Regions {
    /// AWS's regions and the ones in `list`: names separated by commas, blanks around them and
    /// empty entries ignored. Each must have a region's shape ([`is_region`]).
    pub fn with_extra(list: &str) -> Result<Regions, InvalidRegion> {
        let mut extra = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !is_region(name) {
                return Err(InvalidRegion(name.to_string()));
            }
            if !AWS_REGIONS.contains(&name) && !extra.iter().any(|e| e == name) {
                extra.push(name.to_string());
            }
        }
        Ok(Regions { extra })
    }

    /// Whether the server answers to `region`.
    pub fn contains(&self, region: &str) -> bool {
        AWS_REGIONS.contains(&region) || self.extra.iter().any(|e| e == region)
    }

    /// The configured extra regions, in the order given.
    pub fn extra(&self) -> &[String] {
        &self.extra
    }
}

/// Whether `s` has the shape of a region name as AWS forms them: `us-east-1`, `eu-central-2`,
/// `us-gov-west-1`. Says nothing about whether the region exists; see [`Regions`].
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
        assert!(matches!(&rid[19..20], "8" | "9" | "a" | "b"));
        for (i, c) in rid.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{rid}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{rid}");
            }
        }
    }

    #[test]
    fn uuid_text_is_grouped_hex() {
        let b: [u8; 16] = std::array::from_fn(|i| (i as u8) * 17);
        let old: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let old = format!(
            "{}-{}-{}-{}-{}",
            &old[0..8],
            &old[8..12],
            &old[12..16],
            &old[16..20],
            &old[20..32]
        );
        assert_eq!(uuid_text(&b), old);
        assert_eq!(uuid_text(&b), "00112233-4455-6677-8899-aabbccddeeff");
    }

    #[test]
    fn request_ids_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(request_id()));
        }
        // Other threads have seeds of their own.
        let others: Vec<String> = (0..4)
            .map(|_| std::thread::spawn(request_id))
            .filter_map(|h| h.join().ok())
            .collect();
        assert_eq!(others.len(), 4);
        for id in others {
            assert!(seen.insert(id));
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn known_regions() {
        assert!(AWS_REGIONS.iter().all(|r| is_region(r)));
        let aws = Regions::default();
        assert!(aws.contains("us-east-1"));
        assert!(aws.contains("eu-west-3"));
        assert!(!aws.contains("xx-fake-9"));
        assert!(!aws.contains(""));
        let more = Regions::with_extra(" xx-fake-9, ,eu-west-1,xx-fake-9,lab-local-1 ").unwrap();
        assert!(more.contains("xx-fake-9"));
        assert!(more.contains("lab-local-1"));
        assert!(more.contains("us-west-2"));
        assert!(!more.contains("xx-fake-8"));
        assert_eq!(more.extra(), ["xx-fake-9", "lab-local-1"]);
        assert_eq!(Regions::with_extra("").unwrap(), Regions::default());
        assert_eq!(
            Regions::with_extra("eu-west-1,Bad_Region"),
            Err(InvalidRegion("Bad_Region".into()))
        );
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
