//! Asymmetric and HMAC key material: generation, public keys, signatures, RSA-OAEP and MACs,
//! on the RustCrypto crates (`rsa`, `p256`, `p384`, `p521`, `k256` over `ecdsa`, `hmac`).
//!
//! An asymmetric key's material is its private key as PKCS #8 DER; an HMAC key's is the raw
//! key. Signatures are those AWS KMS makes: ECDSA as DER, RSASSA-PSS with a salt as long as
//! the digest, RSASSA-PKCS1-v1_5; RSAES-OAEP with MGF1 over the same hash and no label.

use hmac::{Hmac, KeyInit, Mac};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::KmsError;

/// The key specs berth makes, as the model's `KeySpec` names them.
pub const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
];

/// The largest RAW message Sign and Verify take, and the largest GenerateMac message.
pub const MAX_MESSAGE: usize = 4096;

/// The key usages a key spec allows, the first being CreateKey's default.
pub fn usages(spec: &str) -> &'static [&'static str] {
    match spec {
        "SYMMETRIC_DEFAULT" => &["ENCRYPT_DECRYPT"],
        "RSA_2048" | "RSA_3072" | "RSA_4096" => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" => &["SIGN_VERIFY", "KEY_AGREEMENT"],
        "ECC_SECG_P256K1" => &["SIGN_VERIFY"],
        "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512" => &["GENERATE_VERIFY_MAC"],
        "ML_KEM_512" | "ML_KEM_768" | "ML_KEM_1024" => &["ENCAPSULATE_DECAPSULATE"],
        _ => &[],
    }
}

/// The encryption algorithms of a key.
pub fn encryption_algorithms(spec: &str, usage: &str) -> &'static [&'static str] {
    match (spec, usage) {
        ("SYMMETRIC_DEFAULT", _) => &["SYMMETRIC_DEFAULT"],
        ("RSA_2048" | "RSA_3072" | "RSA_4096", "ENCRYPT_DECRYPT") => {
            &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        }
        _ => &[],
    }
}

/// The signing algorithms of a key.
pub fn signing_algorithms(spec: &str, usage: &str) -> &'static [&'static str] {
    match (spec, usage) {
        ("RSA_2048" | "RSA_3072" | "RSA_4096", "SIGN_VERIFY") => &[
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
        ],
        ("ECC_NIST_P256" | "ECC_SECG_P256K1", "SIGN_VERIFY") => &["ECDSA_SHA_256"],
        ("ECC_NIST_P384", "SIGN_VERIFY") => &["ECDSA_SHA_384"],
        ("ECC_NIST_P521", "SIGN_VERIFY") => &["ECDSA_SHA_512"],
        _ => &[],
    }
}

/// The encapsulation algorithms of a key.
pub fn encapsulation_algorithms(spec: &str) -> &'static [&'static str] {
    match spec {
        "ML_KEM_512" | "ML_KEM_768" | "ML_KEM_1024" => &["ML_KEM"],
        _ => &[],
    }
}

/// The key agreement algorithms of a key.
pub fn key_agreement_algorithms(spec: &str, usage: &str) -> &'static [&'static str] {
    match (spec, usage) {
        ("ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521", "KEY_AGREEMENT") => &["ECDH"],
        _ => &[],
    }
}

/// The MAC algorithm of an HMAC key.
pub fn mac_algorithms(spec: &str) -> &'static [&'static str] {
    match spec {
        "HMAC_224" => &["HMAC_SHA_224"],
        "HMAC_256" => &["HMAC_SHA_256"],
        "HMAC_384" => &["HMAC_SHA_384"],
        "HMAC_512" => &["HMAC_SHA_512"],
        _ => &[],
    }
}

fn internal(what: &str) -> KmsError {
    KmsError::Unsupported(format!("key material does not work: {what}"))
}

fn random_scalar_key<F: Fn(&[u8]) -> bool>(
    len: usize,
    top_mask: u8,
    valid: F,
) -> Zeroizing<Vec<u8>> {
    loop {
        let mut b = Zeroizing::new(vec![0u8; len]);
        berth_core::ids::random_bytes(&mut b);
        if let Some(first) = b.first_mut() {
            *first &= top_mask;
        }
        if valid(&b) {
            return b;
        }
    }
}

macro_rules! ecc {
    ($curve:ident) => {
        mod $curve {
            use super::*;
            use ::$curve::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
            use ::$curve::ecdsa::{DerSignature, SigningKey, VerifyingKey};

            pub fn generate(len: usize, mask: u8) -> Result<Zeroizing<Vec<u8>>, KmsError> {
                let raw = random_scalar_key(len, mask, |b| SigningKey::from_slice(b).is_ok());
                let key = SigningKey::from_slice(&raw).map_err(|_| internal("ecc"))?;
                let doc = key.to_pkcs8_der().map_err(|_| internal("ecc pkcs8"))?;
                Ok(Zeroizing::new(doc.as_bytes().to_vec()))
            }

            fn key(der: &[u8]) -> Result<SigningKey, KmsError> {
                SigningKey::from_pkcs8_der(der).map_err(|_| internal("ecc pkcs8"))
            }

            pub fn public(der: &[u8]) -> Result<Vec<u8>, KmsError> {
                let k = key(der)?;
                let vk: &VerifyingKey = k.verifying_key();
                vk.to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .map_err(|_| internal("ecc spki"))
            }

            pub fn sign(der: &[u8], digest: &[u8]) -> Result<Vec<u8>, KmsError> {
                let sig: DerSignature = key(der)?
                    .sign_prehash(digest)
                    .map_err(|_| internal("ecdsa sign"))?;
                Ok(sig.as_bytes().to_vec())
            }

            pub fn verify(der: &[u8], digest: &[u8], sig: &[u8]) -> Result<bool, KmsError> {
                let Ok(sig) = DerSignature::try_from(sig) else {
                    return Ok(false);
                };
                Ok(key(der)?
                    .verifying_key()
                    .verify_prehash(digest, &sig)
                    .is_ok())
            }
        }
    };
}

ecc!(p256);
ecc!(p384);
ecc!(p521);
ecc!(k256);

macro_rules! ecdh {
    ($name:ident, $curve:ident) => {
        mod $name {
            use super::*;
            use ::$curve::pkcs8::DecodePublicKey;

            /// The ECDH shared secret (the x-coordinate) of the key `der` and the peer's
            /// public key (DER SubjectPublicKeyInfo); `None` when the peer's key is not a
            /// public key of this curve.
            pub fn derive(der: &[u8], peer: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, KmsError> {
                let secret =
                    ::$curve::SecretKey::from_pkcs8_der(der).map_err(|_| internal("ecc pkcs8"))?;
                let Ok(public) = ::$curve::PublicKey::from_public_key_der(peer) else {
                    return Ok(None);
                };
                let shared =
                    ::$curve::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
                Ok(Some(Zeroizing::new(shared.raw_secret_bytes().to_vec())))
            }
        }
    };
}

ecdh!(p256_ecdh, p256);
ecdh!(p384_ecdh, p384);
ecdh!(p521_ecdh, p521);

macro_rules! kem {
    ($name:ident, $set:ident) => {
        /// ML-KEM (FIPS 203) on a key's 64-byte seed, with the `ml-kem` crate.
        mod $name {
            use ml_kem::kem::{Decapsulate, Encapsulate};
            use ml_kem::pkcs8::EncodePublicKey;
            use ml_kem::{Seed, $set};

            use super::*;

            type Dk = ml_kem::DecapsulationKey<$set>;

            fn key(seed: &[u8]) -> Result<Dk, KmsError> {
                let seed = Seed::try_from(seed).map_err(|_| internal("ml-kem seed"))?;
                Ok(Dk::from_seed(seed))
            }

            pub fn public(seed: &[u8]) -> Result<Vec<u8>, KmsError> {
                key(seed)?
                    .encapsulation_key()
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .map_err(|_| internal("ml-kem spki"))
            }

            pub fn encapsulate(seed: &[u8]) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KmsError> {
                let (ct, shared) = key(seed)?.encapsulation_key().encapsulate();
                Ok((ct.to_vec(), Zeroizing::new(shared.to_vec())))
            }

            pub fn decapsulate(seed: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
                let shared = key(seed)?
                    .decapsulate_slice(ct)
                    .map_err(|_| KmsError::InvalidCiphertext)?;
                Ok(Zeroizing::new(shared.to_vec()))
            }
        }
    };
}

kem!(kem512, MlKem512);
kem!(kem768, MlKem768);
kem!(kem1024, MlKem1024);

/// ML-KEM encapsulation under a key of `spec`: the ciphertext and the shared secret.
pub fn encapsulate(spec: &str, seed: &[u8]) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KmsError> {
    match spec {
        "ML_KEM_512" => kem512::encapsulate(seed),
        "ML_KEM_768" => kem768::encapsulate(seed),
        _ => kem1024::encapsulate(seed),
    }
}

/// ML-KEM decapsulation; a ciphertext of the wrong length is `InvalidCiphertext` (one of the
/// right length that was not made for the key yields ML-KEM's implicit rejection secret).
pub fn decapsulate(spec: &str, seed: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    match spec {
        "ML_KEM_512" => kem512::decapsulate(seed, ct),
        "ML_KEM_768" => kem768::decapsulate(seed, ct),
        _ => kem1024::decapsulate(seed, ct),
    }
}

/// ECDH between a KEY_AGREEMENT key of `spec` and a peer's public key (DER
/// SubjectPublicKeyInfo); `None` when the peer's key is not a public key of the key's curve.
pub fn derive_shared_secret(
    spec: &str,
    der: &[u8],
    peer: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, KmsError> {
    match spec {
        "ECC_NIST_P256" => p256_ecdh::derive(der, peer),
        "ECC_NIST_P384" => p384_ecdh::derive(der, peer),
        "ECC_NIST_P521" => p521_ecdh::derive(der, peer),
        _ => Ok(None),
    }
}

/// New key material for `spec`.
pub fn generate(spec: &str) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let rsa = |bits: usize| -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
            .map_err(|_| internal("rsa generate"))?;
        let doc = key.to_pkcs8_der().map_err(|_| internal("rsa pkcs8"))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    };
    let hmac = |n: usize| {
        let mut b = Zeroizing::new(vec![0u8; n]);
        berth_core::ids::random_bytes(&mut b);
        Ok(b)
    };
    match spec {
        "SYMMETRIC_DEFAULT" => hmac(32),
        "RSA_2048" => rsa(2048),
        "RSA_3072" => rsa(3072),
        "RSA_4096" => rsa(4096),
        "ECC_NIST_P256" => p256::generate(32, 0xff),
        "ECC_NIST_P384" => p384::generate(48, 0xff),
        "ECC_NIST_P521" => p521::generate(66, 0x01),
        "ECC_SECG_P256K1" => k256::generate(32, 0xff),
        "HMAC_224" => hmac(28),
        "HMAC_256" => hmac(32),
        "HMAC_384" => hmac(48),
        "HMAC_512" => hmac(64),
        "ML_KEM_512" | "ML_KEM_768" | "ML_KEM_1024" => hmac(64),
        other => Err(KmsError::Unsupported(format!(
            "KeySpec {other} is not supported"
        ))),
    }
}

pub(crate) fn rsa_key(der: &[u8]) -> Result<rsa::PrivateKey, KmsError> {
    rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| internal("rsa pkcs8"))
}

/// The DER `SubjectPublicKeyInfo` of an asymmetric key.
pub fn public_key(spec: &str, der: &[u8]) -> Result<Vec<u8>, KmsError> {
    match spec {
        "RSA_2048" | "RSA_3072" | "RSA_4096" => rsa_key(der)?
            .to_public_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|_| internal("rsa spki")),
        "ECC_NIST_P256" => p256::public(der),
        "ECC_NIST_P384" => p384::public(der),
        "ECC_NIST_P521" => p521::public(der),
        "ECC_SECG_P256K1" => k256::public(der),
        "ML_KEM_512" => kem512::public(der),
        "ML_KEM_768" => kem768::public(der),
        "ML_KEM_1024" => kem1024::public(der),
        _ => Err(internal("no public key")),
    }
}

/// The hash a signing algorithm uses: its name's last part.
pub fn digest_len(algorithm: &str) -> usize {
    if algorithm.ends_with("SHA_384") {
        48
    } else if algorithm.ends_with("SHA_512") {
        64
    } else {
        32
    }
}

/// The digest of `message` under the algorithm's hash.
pub fn digest(algorithm: &str, message: &[u8]) -> Vec<u8> {
    match digest_len(algorithm) {
        48 => Sha384::digest(message).to_vec(),
        64 => Sha512::digest(message).to_vec(),
        _ => Sha256::digest(message).to_vec(),
    }
}

/// Signs a digest with a key of `spec` (the algorithm already checked against the key).
pub fn sign(spec: &str, der: &[u8], algorithm: &str, digest: &[u8]) -> Result<Vec<u8>, KmsError> {
    match spec {
        "ECC_NIST_P256" => p256::sign(der, digest),
        "ECC_NIST_P384" => p384::sign(der, digest),
        "ECC_NIST_P521" => p521::sign(der, digest),
        "ECC_SECG_P256K1" => k256::sign(der, digest),
        _ => rsa_sign(&rsa_key(der)?, algorithm, digest),
    }
}

/// Signs a digest with a parsed RSA key.
pub fn rsa_sign(k: &rsa::PrivateKey, algorithm: &str, digest: &[u8]) -> Result<Vec<u8>, KmsError> {
    let rsa_err = |_| internal("rsa sign");
    match algorithm {
        "RSASSA_PSS_SHA_256" => k.pss_sign_prehash::<Sha256>(digest).map_err(rsa_err),
        "RSASSA_PSS_SHA_384" => k.pss_sign_prehash::<Sha384>(digest).map_err(rsa_err),
        "RSASSA_PSS_SHA_512" => k.pss_sign_prehash::<Sha512>(digest).map_err(rsa_err),
        "RSASSA_PKCS1_V1_5_SHA_256" => k.pkcs1v15_sign_prehash::<Sha256>(digest).map_err(rsa_err),
        "RSASSA_PKCS1_V1_5_SHA_384" => k.pkcs1v15_sign_prehash::<Sha384>(digest).map_err(rsa_err),
        _ => k.pkcs1v15_sign_prehash::<Sha512>(digest).map_err(rsa_err),
    }
}

/// Whether `signature` is a signature of `digest` by the key.
pub fn verify(
    spec: &str,
    der: &[u8],
    algorithm: &str,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, KmsError> {
    match spec {
        "ECC_NIST_P256" => p256::verify(der, digest, signature),
        "ECC_NIST_P384" => p384::verify(der, digest, signature),
        "ECC_NIST_P521" => p521::verify(der, digest, signature),
        "ECC_SECG_P256K1" => k256::verify(der, digest, signature),
        _ => Ok(rsa_verify(&rsa_key(der)?, algorithm, digest, signature)),
    }
}

/// Whether `signature` is a signature of `digest` by a parsed RSA key.
pub fn rsa_verify(k: &rsa::PrivateKey, algorithm: &str, digest: &[u8], signature: &[u8]) -> bool {
    let k = k.to_public_key();
    match algorithm {
        "RSASSA_PSS_SHA_256" => k.pss_verify_prehash::<Sha256>(digest, signature),
        "RSASSA_PSS_SHA_384" => k.pss_verify_prehash::<Sha384>(digest, signature),
        "RSASSA_PSS_SHA_512" => k.pss_verify_prehash::<Sha512>(digest, signature),
        "RSASSA_PKCS1_V1_5_SHA_256" => k.pkcs1v15_verify_prehash::<Sha256>(digest, signature),
        "RSASSA_PKCS1_V1_5_SHA_384" => k.pkcs1v15_verify_prehash::<Sha384>(digest, signature),
        _ => k.pkcs1v15_verify_prehash::<Sha512>(digest, signature),
    }
    .is_ok()
}

/// The largest plaintext RSAES-OAEP takes under a key of `spec`: the modulus length less
/// twice the hash length less 2.
pub fn oaep_max(spec: &str, algorithm: &str) -> usize {
    let modulus = match spec {
        "RSA_3072" => 384,
        "RSA_4096" => 512,
        _ => 256,
    };
    let hash = if algorithm == "RSAES_OAEP_SHA_1" {
        20
    } else {
        32
    };
    modulus - 2 * hash - 2
}

/// RSAES-OAEP encryption under the key's public half.
pub fn rsa_encrypt(
    k: &rsa::PrivateKey,
    algorithm: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let k = k.to_public_key();
    let out = if algorithm == "RSAES_OAEP_SHA_1" {
        k.oaep_encrypt::<Sha1>(plaintext)
    } else {
        k.oaep_encrypt::<Sha256>(plaintext)
    };
    out.map_err(|_| internal("rsa encrypt"))
}

/// RSAES-OAEP decryption; a ciphertext that does not open is `InvalidCiphertext`.
pub fn rsa_decrypt(
    k: &rsa::PrivateKey,
    algorithm: &str,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let out = if algorithm == "RSAES_OAEP_SHA_1" {
        k.oaep_decrypt::<Sha1>(ciphertext)
    } else {
        k.oaep_decrypt::<Sha256>(ciphertext)
    };
    out.map(Zeroizing::new)
        .map_err(|_| KmsError::InvalidCiphertext)
}

/// The HMAC of `message` under an HMAC key of `spec`.
pub fn mac(spec: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, KmsError> {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Result<Vec<u8>, KmsError> {
        let mut m = <M as KeyInit>::new_from_slice(key).map_err(|_| internal("hmac key"))?;
        m.update(message);
        Ok(m.finalize().into_bytes().to_vec())
    }
    match spec {
        "HMAC_224" => run::<Hmac<Sha224>>(key, message),
        "HMAC_256" => run::<Hmac<Sha256>>(key, message),
        "HMAC_384" => run::<Hmac<Sha384>>(key, message),
        _ => run::<Hmac<Sha512>>(key, message),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ecc_sign_verify_every_curve() {
        for (spec, alg) in [
            ("ECC_NIST_P256", "ECDSA_SHA_256"),
            ("ECC_NIST_P384", "ECDSA_SHA_384"),
            ("ECC_NIST_P521", "ECDSA_SHA_512"),
            ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
        ] {
            let k = generate(spec).unwrap();
            let d = digest(alg, b"hello");
            let sig = sign(spec, &k, alg, &d).unwrap();
            assert!(verify(spec, &k, alg, &d, &sig).unwrap(), "{spec}");
            assert!(!verify(spec, &k, alg, &digest(alg, b"other"), &sig).unwrap());
            assert!(!verify(spec, &k, alg, &d, b"junk").unwrap());
            assert!(!public_key(spec, &k).unwrap().is_empty());
        }
    }

    #[test]
    fn ml_kem_round_trips_and_ecdh_agrees() {
        for spec in ["ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] {
            let seed = generate(spec).unwrap();
            let (ct, secret) = encapsulate(spec, &seed).unwrap();
            assert_eq!(decapsulate(spec, &seed, &ct).unwrap(), secret);
            assert!(decapsulate(spec, &seed, &ct[1..]).is_err());
            assert!(!public_key(spec, &seed).unwrap().is_empty());
        }
        for spec in ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"] {
            let (a, b) = (generate(spec).unwrap(), generate(spec).unwrap());
            let ab = derive_shared_secret(spec, &a, &public_key(spec, &b).unwrap()).unwrap();
            let ba = derive_shared_secret(spec, &b, &public_key(spec, &a).unwrap()).unwrap();
            assert!(ab.is_some() && ab == ba, "{spec}");
            let other = generate("ECC_SECG_P256K1").unwrap();
            let k1 = public_key("ECC_SECG_P256K1", &other).unwrap();
            assert!(derive_shared_secret(spec, &a, &k1).unwrap().is_none());
        }
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        let m = mac("HMAC_256", b"Jefe", b"what do ya want for nothing?").unwrap();
        let hex: String = m.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
