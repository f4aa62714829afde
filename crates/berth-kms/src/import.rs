//! Imported key material (`Origin: EXTERNAL`): wrapping keys and import tokens
//! (GetParametersForImport), unwrapping and importing (ImportKeyMaterial), expiry of the
//! material at `ValidTo`, and DeleteImportedKeyMaterial.
//!
//! An import token is berth's own: the wrapping key's private half, the wrapping algorithm and
//! the token's expiry, sealed under berth's root key bound to the key ARN, so a token opens only
//! for the key it was made for. A key's imported material is sealed like any other; a digest
//! of it bound to the key ARN stays after the material is deleted or expires, so a re-import
//! must bring the same material.

use aes_kw::KwpAes256;
use aes_kw::cipher::KeyInit;
use base64::Engine;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{B64, Key, KeyState, Kms, KmsError, material_context};

/// The model's `AlgorithmSpec` (wrapping algorithms).
pub const WRAPPING_ALGORITHMS: &[&str] = &[
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
];

/// The model's `WrappingKeySpec`.
pub const WRAPPING_KEY_SPECS: &[&str] = &["RSA_2048", "RSA_3072", "RSA_4096", "SM2"];

/// How long an import token and its wrapping key are good for: 24 hours.
pub const IMPORT_TOKEN_SECS: u64 = 24 * 60 * 60;
/// The latest `ValidTo`: 365 days from the request.
pub const MAX_VALID_TO_DAYS: u64 = 365;

/// What GetParametersForImport answers.
#[derive(Debug, Clone)]
pub struct ImportParameters {
    pub token: Vec<u8>,
    /// The wrapping key's DER `SubjectPublicKeyInfo`.
    pub public_key: Vec<u8>,
    pub valid_to: u64,
}

/// ImportKeyMaterial's options.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub valid_to: Option<u64>,
    pub expiration_model: Option<String>,
    pub import_type: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// The wrapping algorithm.
    a: String,
    /// The wrapping key, PKCS #8 DER in base64.
    w: String,
    /// When the token expires.
    e: u64,
}

fn token_context(arn: &str) -> Vec<u8> {
    format!("kms-import-token:{arn}").into_bytes()
}

/// The digest that names imported material of the key `arn` (64 hex digits): the material's
/// id, and what a re-import is compared with.
fn material_digest(arn: &str, material: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"kms-imported-material\0");
    h.update(arn.as_bytes());
    h.update([0]);
    h.update(material);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A key whose imported material expired at `ValidTo` has none: it is `PendingImport` (or
/// still `PendingDeletion`).
pub(crate) fn expire(mut key: Key, now: u64) -> Key {
    if key.is_external()
        && key.valid_to.is_some_and(|t| now >= t)
        && !key.sealed_material.is_empty()
    {
        drop_material(&mut key);
    }
    key
}

fn drop_material(k: &mut Key) {
    k.sealed_material.clear();
    k.material_id.clear();
    k.valid_to = None;
    k.expiration_model = None;
    if k.state != KeyState::PendingDeletion {
        k.state = KeyState::PendingImport;
    }
}

/// `UnsupportedOperationException` for an import operation on a key of AWS's own material.
fn not_external(k: &Key) -> KmsError {
    KmsError::Unsupported(format!(
        "{} origin is {} which is not valid for this operation.",
        k.arn, k.origin
    ))
}

fn enum_error(value: &str, member: &str, set: &[&str]) -> KmsError {
    KmsError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        set.join(", ")
    ))
}

fn internal(what: &str) -> KmsError {
    KmsError::Unsupported(format!("key material does not work: {what}"))
}

/// Unwraps `encrypted` with the wrapping key `der` by `algorithm`: RSAES-OAEP of the material,
/// or (`RSA_AES_KEY_WRAP_*`) RSAES-OAEP of an AES-256 key followed by the material wrapped
/// under it with AES key wrap with padding (RFC 5649). Anything that does not open is
/// `InvalidCiphertextException`.
fn unwrap(der: &[u8], algorithm: &str, encrypted: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| internal("wrapping key"))?;
    let sha1 = algorithm.ends_with("SHA_1");
    let oaep = |c: &[u8]| {
        if sha1 {
            key.oaep_decrypt::<Sha1>(c)
        } else {
            key.oaep_decrypt::<Sha256>(c)
        }
        .map(Zeroizing::new)
        .map_err(|_| KmsError::InvalidCiphertext)
    };
    if !algorithm.starts_with("RSA_AES_KEY_WRAP") {
        return oaep(encrypted);
    }
    let modulus = rsa::traits::PublicKeyParts::size(&key);
    if encrypted.len() <= modulus {
        return Err(KmsError::InvalidCiphertext);
    }
    let (head, wrapped) = encrypted.split_at(modulus);
    let aes_key = oaep(head)?;
    let kw = KwpAes256::new_from_slice(&aes_key).map_err(|_| KmsError::InvalidCiphertext)?;
    let mut out = Zeroizing::new(vec![0u8; wrapped.len()]);
    let n = kw
        .unwrap_key(wrapped, &mut out)
        .map_err(|_| KmsError::InvalidCiphertext)?
        .len();
    out.truncate(n);
    Ok(out)
}

impl Kms<'_> {
    /// GetParametersForImport: a fresh RSA wrapping key of `spec` and an import token for
    /// `key`, both good for 24 hours.
    pub fn parameters_for_import(
        &self,
        key: &Key,
        algorithm: &str,
        spec: &str,
        now: u64,
    ) -> Result<ImportParameters, KmsError> {
        if !WRAPPING_ALGORITHMS.contains(&algorithm) {
            return Err(enum_error(
                algorithm,
                "wrappingAlgorithm",
                WRAPPING_ALGORITHMS,
            ));
        }
        if !WRAPPING_KEY_SPECS.contains(&spec) {
            return Err(enum_error(spec, "wrappingKeySpec", WRAPPING_KEY_SPECS));
        }
        if !key.is_external() {
            return Err(not_external(key));
        }
        if key.state == KeyState::PendingDeletion {
            return Err(Kms::pending(key));
        }
        // SM2 wrapping is offered only in AWS's China Regions; RSAES_PKCS1_V1_5 is a
        // wrapping algorithm AWS no longer accepts for new imports. AWS's texts for these
        // refusals are not known to berth.
        if spec == "SM2" || algorithm == "SM2PKE" {
            return Err(KmsError::Unsupported(format!(
                "berth does not support the wrapping key spec {spec} with {algorithm}"
            )));
        }
        if algorithm == "RSAES_PKCS1_V1_5" {
            return Err(KmsError::Unsupported(
                "the wrapping algorithm RSAES_PKCS1_V1_5 is not supported".into(),
            ));
        }
        let bits = match spec {
            "RSA_3072" => 3072,
            "RSA_4096" => 4096,
            _ => 2048,
        };
        let wrapping = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
            .map_err(|_| internal("rsa generate"))?;
        let der = wrapping.to_pkcs8_der().map_err(|_| internal("rsa pkcs8"))?;
        let public_key = wrapping
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| internal("rsa spki"))?
            .as_bytes()
            .to_vec();
        let valid_to = now + IMPORT_TOKEN_SECS;
        let token = Zeroizing::new(
            serde_json::to_vec(&Token {
                a: algorithm.to_string(),
                w: B64.encode(der.as_bytes()),
                e: valid_to,
            })
            .map_err(|_| internal("import token"))?,
        );
        Ok(ImportParameters {
            token: self.root.seal(&token_context(&key.arn), &token),
            public_key,
            valid_to,
        })
    }

    /// ImportKeyMaterial: unwraps the material with the token's wrapping key and makes it the
    /// key's; the key becomes `Enabled`.
    pub fn import_material(
        &self,
        key: &Key,
        token: &[u8],
        encrypted: &[u8],
        options: &Imported,
        now: u64,
    ) -> Result<Key, KmsError> {
        const MODELS: &[&str] = &["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"];
        const TYPES: &[&str] = &["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"];
        if let Some(m) = &options.expiration_model
            && !MODELS.contains(&m.as_str())
        {
            return Err(enum_error(m, "expirationModel", MODELS));
        }
        if let Some(t) = &options.import_type
            && !TYPES.contains(&t.as_str())
        {
            return Err(enum_error(t, "importType", TYPES));
        }
        if !key.is_external() {
            return Err(not_external(key));
        }
        // AWS documents KEY_MATERIAL_EXPIRES as the default model; the texts of these
        // refusals are berth's (AWS's are not known to berth).
        let model = options
            .expiration_model
            .as_deref()
            .unwrap_or("KEY_MATERIAL_EXPIRES");
        let valid_to = match (model, options.valid_to) {
            ("KEY_MATERIAL_EXPIRES", None) => {
                return Err(KmsError::Validation(
                    "validTo is required when the expiration model is KEY_MATERIAL_EXPIRES".into(),
                ));
            }
            ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => {
                return Err(KmsError::Validation(
                    "validTo must be omitted when the expiration model is KEY_MATERIAL_DOES_NOT_EXPIRE"
                        .into(),
                ));
            }
            (_, Some(t)) if t <= now => {
                return Err(KmsError::Validation(
                    "validTo must be a date and time in the future".into(),
                ));
            }
            (_, Some(t)) if t > berth_core::time::add_days(now, MAX_VALID_TO_DAYS) => {
                return Err(KmsError::Validation(
                    "validTo must be at most 365 days from now".into(),
                ));
            }
            (_, t) => t,
        };
        let opened = self
            .root
            .open(&token_context(&key.arn), token)
            .map_err(|_| KmsError::InvalidImportToken)?;
        let token: Token =
            serde_json::from_slice(&opened).map_err(|_| KmsError::InvalidImportToken)?;
        let der = Zeroizing::new(
            B64.decode(&token.w)
                .map_err(|_| KmsError::InvalidImportToken)?,
        );
        if now >= token.e {
            return Err(KmsError::ExpiredImportToken);
        }
        let material = unwrap(&der, &token.a, encrypted)?;
        if key.is_symmetric() && material.len() != 32 {
            return Err(KmsError::IncorrectKeyMaterial(
                "the key material of a SYMMETRIC_DEFAULT key must be 256 bits".into(),
            ));
        }
        let digest = material_digest(&key.arn, &material);
        let sealed = B64.encode(self.root.seal(&material_context(&key.arn), &material));
        let model = model.to_string();
        let new_material = options.import_type.as_deref() == Some("NEW_KEY_MATERIAL");
        self.update_key(key, now, |k| {
            match k.state {
                KeyState::PendingDeletion => return Err(Kms::pending(k)),
                KeyState::PendingImport => {}
                _ => {
                    // AWS's text is not known to berth.
                    return Err(KmsError::InvalidState(format!(
                        "{} already has key material; delete it before importing again",
                        k.arn
                    )));
                }
            }
            match &k.import_digest {
                Some(d) if *d != digest => {
                    return Err(KmsError::IncorrectKeyMaterial(
                        "the key material is not the key material previously imported into this key"
                            .into(),
                    ));
                }
                Some(_) if new_material => {
                    return Err(KmsError::Unsupported(
                        "berth does not support new key material for a key that had key material"
                            .into(),
                    ));
                }
                _ => {}
            }
            k.import_digest = Some(digest.clone());
            k.material_id = digest;
            k.sealed_material = sealed;
            k.valid_to = valid_to;
            k.expiration_model = Some(model);
            k.state = KeyState::Enabled;
            Ok(())
        })
    }

    /// DeleteImportedKeyMaterial: the key keeps its digest (a re-import must bring the same
    /// material) and is `PendingImport` (or still `PendingDeletion`). Answers the key and the
    /// id of the material deleted (empty when it had none).
    pub fn delete_imported_material(&self, key: &Key, now: u64) -> Result<(Key, String), KmsError> {
        if !key.is_external() {
            return Err(not_external(key));
        }
        let mut deleted = String::new();
        let key = self.update_key(key, now, |k| {
            deleted = std::mem::take(&mut k.material_id);
            drop_material(k);
            Ok(())
        })?;
        Ok((key, deleted))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rsa::pkcs8::DecodePublicKey;

    fn wrap_kwp(aes_key: &[u8], material: &[u8]) -> Vec<u8> {
        let kw = KwpAes256::new_from_slice(aes_key).unwrap();
        let mut buf = vec![0u8; material.len() + 16];
        let n = kw.wrap_key(material, &mut buf).unwrap().len();
        buf.truncate(n);
        buf
    }

    #[test]
    fn every_wrapping_algorithm_unwraps() {
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let der = private.to_pkcs8_der().unwrap();
        let spki = private.to_public_key().to_public_key_der().unwrap();
        let public = rsa::PublicKey::from_public_key_der(spki.as_bytes()).unwrap();
        let material = [9u8; 32];
        let oaep1 = public.oaep_encrypt::<Sha1>(&material).unwrap();
        let oaep256 = public.oaep_encrypt::<Sha256>(&material).unwrap();
        assert_eq!(
            unwrap(der.as_bytes(), "RSAES_OAEP_SHA_1", &oaep1)
                .unwrap()
                .as_slice(),
            material
        );
        assert_eq!(
            unwrap(der.as_bytes(), "RSAES_OAEP_SHA_256", &oaep256)
                .unwrap()
                .as_slice(),
            material
        );
        assert!(unwrap(der.as_bytes(), "RSAES_OAEP_SHA_256", &oaep1).is_err());
        let aes = [3u8; 32];
        let mut both = public.oaep_encrypt::<Sha256>(&aes).unwrap();
        both.extend(wrap_kwp(&aes, &material));
        assert_eq!(
            unwrap(der.as_bytes(), "RSA_AES_KEY_WRAP_SHA_256", &both)
                .unwrap()
                .as_slice(),
            material
        );
        assert!(unwrap(der.as_bytes(), "RSA_AES_KEY_WRAP_SHA_1", &both).is_err());
        assert!(unwrap(der.as_bytes(), "RSA_AES_KEY_WRAP_SHA_256", &both[..256]).is_err());
    }

    #[test]
    fn material_digests_are_bound_to_the_key() {
        let a = material_digest("arn:a", &[1; 32]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, material_digest("arn:b", &[1; 32]));
        assert_ne!(a, material_digest("arn:a", &[2; 32]));
    }
}
