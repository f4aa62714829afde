//! Asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
//! GenerateDataKeyPair(WithoutPlaintext), and the algorithm lists of a key's metadata.

/// The algorithm lists KeyMetadata carries for a key spec and usage.
#[derive(Debug, Clone, Default)]
pub struct Algorithms {
    pub encryption: Option<Vec<&'static str>>,
    pub signing: Option<Vec<&'static str>>,
    pub mac: Option<Vec<&'static str>>,
}

pub(crate) fn algorithms(spec: &str, usage: &str) -> Algorithms {
    let list = |v: &[&'static str]| Some(v.to_vec());
    match (spec, usage) {
        ("SYMMETRIC_DEFAULT", _) => Algorithms {
            encryption: list(&["SYMMETRIC_DEFAULT"]),
            ..Algorithms::default()
        },
        _ => Algorithms::default(),
    }
}
