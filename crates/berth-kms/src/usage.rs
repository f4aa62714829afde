//! Keys of every spec: CreateKey's validation of KeySpec and KeyUsage, and the operations on
//! asymmetric and HMAC keys (Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, RSA
//! Encrypt/Decrypt) with AWS's validation and words.

use berth_store::{StoreExt, put_json};
use zeroize::Zeroizing;

use crate::asym::{self, MAX_MESSAGE};
use crate::{
    KEYS, Key, KeyManager, Kms, KmsError, NewKey, check_tags, merge_tags, validate_policy,
};

/// `InvalidKeyUsageException` for `operation` on a key of another usage, in AWS's words.
pub fn wrong_usage(key: &Key, operation: &str) -> KmsError {
    KmsError::InvalidKeyUsage(format!(
        "{} key usage is {} which is not valid for {operation}.",
        key.arn, key.usage
    ))
}

/// Refuses `operation` unless the key's usage is `usage`.
pub fn require_usage(key: &Key, usage: &str, operation: &str) -> Result<(), KmsError> {
    if key.usage == usage {
        Ok(())
    } else {
        Err(wrong_usage(key, operation))
    }
}

/// `InvalidKeyUsageException` for an algorithm the key does not have: AWS's text for MAC
/// algorithms, used for signing and encryption algorithms too (their own texts are not known
/// to berth).
pub fn incompatible(algorithm: &str, key: &Key) -> KmsError {
    KmsError::InvalidKeyUsage(format!(
        "Algorithm {algorithm} is incompatible with key spec {}.",
        key.spec
    ))
}

fn enum_error(value: &str, member: &str, set: &[&str]) -> KmsError {
    KmsError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        set.join(", ")
    ))
}

/// The `SigningAlgorithmSpec` values of the model that berth knows.
pub const SIGNING_ALGORITHMS: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
];

/// The `MacAlgorithmSpec` values.
pub const MAC_ALGORITHMS: &[&str] = &[
    "HMAC_SHA_224",
    "HMAC_SHA_256",
    "HMAC_SHA_384",
    "HMAC_SHA_512",
];

/// Checks CreateKey's KeySpec and KeyUsage: the spec must be one berth makes, the usage one
/// the spec allows. Answers the pair to make.
pub fn key_spec_and_usage(
    spec: Option<&str>,
    usage: Option<&str>,
) -> Result<(String, String), KmsError> {
    let spec = spec.unwrap_or("SYMMETRIC_DEFAULT");
    if !asym::KEY_SPECS.contains(&spec) {
        return Err(enum_error(spec, "keySpec", asym::KEY_SPECS));
    }
    let allowed = asym::usages(spec);
    let usage = match usage {
        None => allowed.first().copied().unwrap_or("ENCRYPT_DECRYPT"),
        Some(u) => {
            const USAGES: &[&str] = &[
                "SIGN_VERIFY",
                "ENCRYPT_DECRYPT",
                "GENERATE_VERIFY_MAC",
                "KEY_AGREEMENT",
                "ENCAPSULATE_DECAPSULATE",
            ];
            if !USAGES.contains(&u) {
                return Err(enum_error(u, "keyUsage", USAGES));
            }
            if !allowed.contains(&u) {
                // AWS's text for this pair is not known to berth.
                return Err(KmsError::Validation(format!(
                    "KeyUsage {u} is not compatible with KeySpec {spec}"
                )));
            }
            u
        }
    };
    Ok((spec.to_string(), usage.to_string()))
}

/// What Sign and Verify are given.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'m> {
    pub message: &'m [u8],
    /// `RAW` or `DIGEST`.
    pub message_type: &'m str,
    pub algorithm: &'m str,
}

impl Signed<'_> {
    /// The digest to sign: RAW messages (at most 4096 bytes) are hashed; a DIGEST must be as
    /// long as the algorithm's hash.
    fn digest(&self, key: &Key) -> Result<Vec<u8>, KmsError> {
        if !SIGNING_ALGORITHMS.contains(&self.algorithm) {
            return Err(enum_error(
                self.algorithm,
                "signingAlgorithm",
                SIGNING_ALGORITHMS,
            ));
        }
        if !asym::signing_algorithms(&key.spec, &key.usage).contains(&self.algorithm) {
            return Err(incompatible(self.algorithm, key));
        }
        match self.message_type {
            "RAW" => {
                if self.message.len() > MAX_MESSAGE {
                    return Err(KmsError::Validation(format!(
                        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to {MAX_MESSAGE}"
                    )));
                }
                Ok(asym::digest(self.algorithm, self.message))
            }
            "DIGEST" => {
                if self.message.len() != asym::digest_len(self.algorithm) {
                    // AWS's text as berth knows it; not confirmed.
                    return Err(KmsError::Validation(format!(
                        "Digest is invalid length for algorithm {}.",
                        self.algorithm
                    )));
                }
                Ok(self.message.to_vec())
            }
            other => Err(enum_error(other, "messageType", &["RAW", "DIGEST"])),
        }
    }
}

impl Kms<'_> {
    /// CreateKey for any key spec: `spec` and `usage` come from [`key_spec_and_usage`].
    pub fn create_key_of(
        &self,
        account: &str,
        region: &str,
        now: u64,
        input: NewKey,
        (spec, usage): (&str, &str),
    ) -> Result<Key, KmsError> {
        let policy = match input.policy {
            Some(p) => {
                validate_policy(&p)?;
                p
            }
            None => crate::default_key_policy(account),
        };
        check_tags(&input.tags)?;
        let mut tags = Vec::new();
        merge_tags(&mut tags, &input.tags)?;
        let material = if input.external {
            Zeroizing::new(Vec::new())
        } else {
            asym::generate(spec)?
        };
        let mut key = self.key_record_with(
            input.key_id,
            account,
            region,
            now,
            KeyManager::Customer,
            input.description,
            policy,
            tags,
            (spec, usage),
            &material,
        );
        if input.external {
            key.origin = "EXTERNAL".into();
            key.state = crate::KeyState::PendingImport;
            key.sealed_material.clear();
            key.material_id.clear();
        }
        key.multi_region = input.multi_region;
        self.store.write(|tx| -> Result<(), KmsError> {
            put_json(
                tx,
                KEYS,
                &format!("{account}/{region}/{}", key.key_id),
                &key,
            )?;
            if key.multi_region {
                crate::multi::record_primary(tx, &key)?;
            }
            Ok(())
        })?;
        Ok(key)
    }

    /// Sign: a signature by an enabled SIGN_VERIFY key.
    pub fn sign(&self, key: &Key, what: Signed<'_>) -> Result<Vec<u8>, KmsError> {
        require_usage(key, "SIGN_VERIFY", "Sign")?;
        let digest = what.digest(key)?;
        key.check_usable()?;
        if key.spec.starts_with("RSA_") {
            return asym::rsa_sign(self.rsa_private(key)?.as_ref(), what.algorithm, &digest);
        }
        asym::sign(&key.spec, &self.material(key)?, what.algorithm, &digest)
    }

    /// Verify: `KMSInvalidSignatureException` when the signature does not verify.
    pub fn verify(&self, key: &Key, what: Signed<'_>, signature: &[u8]) -> Result<(), KmsError> {
        require_usage(key, "SIGN_VERIFY", "Verify")?;
        let digest = what.digest(key)?;
        key.check_usable()?;
        let verified = if key.spec.starts_with("RSA_") {
            asym::rsa_verify(
                self.rsa_private(key)?.as_ref(),
                what.algorithm,
                &digest,
                signature,
            )
        } else {
            asym::verify(
                &key.spec,
                &self.material(key)?,
                what.algorithm,
                &digest,
                signature,
            )?
        };
        if verified {
            Ok(())
        } else {
            Err(KmsError::InvalidSignature)
        }
    }

    /// GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key.
    pub fn public_key(&self, key: &Key) -> Result<Vec<u8>, KmsError> {
        if key.is_symmetric() || key.usage == "GENERATE_VERIFY_MAC" {
            return Err(wrong_usage(key, "GetPublicKey"));
        }
        key.check_usable()?;
        asym::public_key(&key.spec, &self.material(key)?)
    }

    /// Encapsulate: a fresh shared secret and its ML-KEM ciphertext under an enabled
    /// ENCAPSULATE_DECAPSULATE key.
    pub fn encapsulate(&self, key: &Key) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KmsError> {
        require_usage(key, "ENCAPSULATE_DECAPSULATE", "Encapsulate")?;
        key.check_usable()?;
        asym::encapsulate(&key.spec, &self.material(key)?)
    }

    /// Decapsulate: the shared secret of an ML-KEM ciphertext made for the key.
    pub fn decapsulate(
        &self,
        key: &Key,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        require_usage(key, "ENCAPSULATE_DECAPSULATE", "Decapsulate")?;
        key.check_usable()?;
        asym::decapsulate(&key.spec, &self.material(key)?, ciphertext)
    }

    /// DeriveSharedSecret: ECDH between an enabled KEY_AGREEMENT key and the peer's public
    /// key (DER SubjectPublicKeyInfo of a key on the same curve).
    pub fn derive_shared_secret(
        &self,
        key: &Key,
        peer_public_key: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        require_usage(key, "KEY_AGREEMENT", "DeriveSharedSecret")?;
        key.check_usable()?;
        asym::derive_shared_secret(&key.spec, &self.material(key)?, peer_public_key)?.ok_or_else(
            || {
                // AWS's text for a public key that is not of the key's curve is not known to
                // berth.
                KmsError::Validation(format!(
                    "the public key is not a DER-encoded SubjectPublicKeyInfo of a key of spec {}",
                    key.spec
                ))
            },
        )
    }

    fn check_mac(
        &self,
        key: &Key,
        operation: &str,
        algorithm: &str,
        message: &[u8],
    ) -> Result<(), KmsError> {
        if !MAC_ALGORITHMS.contains(&algorithm) {
            return Err(enum_error(algorithm, "macAlgorithm", MAC_ALGORITHMS));
        }
        if message.len() > MAX_MESSAGE {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to {MAX_MESSAGE}"
            )));
        }
        require_usage(key, "GENERATE_VERIFY_MAC", operation)?;
        if !asym::mac_algorithms(&key.spec).contains(&algorithm) {
            return Err(incompatible(algorithm, key));
        }
        key.check_usable()
    }

    /// GenerateMac.
    pub fn generate_mac(
        &self,
        key: &Key,
        algorithm: &str,
        message: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.check_mac(key, "GenerateMac", algorithm, message)?;
        asym::mac(&key.spec, &self.material(key)?, message)
    }

    /// VerifyMac: `KMSInvalidMacException` when the MAC does not match.
    pub fn verify_mac(
        &self,
        key: &Key,
        algorithm: &str,
        message: &[u8],
        mac: &[u8],
    ) -> Result<(), KmsError> {
        use subtle::ConstantTimeEq;
        self.check_mac(key, "VerifyMac", algorithm, message)?;
        let expected = asym::mac(&key.spec, &self.material(key)?, message)?;
        if bool::from(expected.ct_eq(mac)) {
            Ok(())
        } else {
            Err(KmsError::InvalidMac)
        }
    }

    /// Encrypt with an RSA ENCRYPT_DECRYPT key: RSAES-OAEP, the plaintext within the
    /// algorithm's bound.
    pub fn rsa_encrypt(
        &self,
        key: &Key,
        algorithm: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.check_rsa(key, "Encrypt", algorithm)?;
        let max = asym::oaep_max(&key.spec, algorithm);
        if plaintext.len() > max {
            return Err(KmsError::Validation(format!(
                "Algorithm {algorithm} and key spec {} cannot encrypt data larger than {max} bytes.",
                key.spec
            )));
        }
        key.check_usable()?;
        asym::rsa_encrypt(self.rsa_private(key)?.as_ref(), algorithm, plaintext)
    }

    /// Decrypt with an RSA ENCRYPT_DECRYPT key.
    pub fn rsa_decrypt(
        &self,
        key: &Key,
        algorithm: &str,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        self.check_rsa(key, "Decrypt", algorithm)?;
        key.check_usable()?;
        asym::rsa_decrypt(self.rsa_private(key)?.as_ref(), algorithm, ciphertext)
    }

    fn check_rsa(&self, key: &Key, operation: &str, algorithm: &str) -> Result<(), KmsError> {
        require_usage(key, "ENCRYPT_DECRYPT", operation)?;
        if !asym::encryption_algorithms(&key.spec, &key.usage).contains(&algorithm) {
            return Err(incompatible(algorithm, key));
        }
        Ok(())
    }
}
