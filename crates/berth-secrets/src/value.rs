//! Secret values in memory, and their encryption under a data key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key as AesKey, Nonce};
use base64::Engine;
use zeroize::Zeroizing;

use crate::SecretsError;
use crate::model::{SealedValue, ValueKind};

const NONCE_LEN: usize = 12;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Largest SecretString or SecretBinary.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// A secret value in the clear; wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretValue {
    String(Zeroizing<String>),
    Binary(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

impl SecretValue {
    pub fn kind(&self) -> ValueKind {
        match self {
            SecretValue::String(_) => ValueKind::String,
            SecretValue::Binary(_) => ValueKind::Binary,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            SecretValue::String(s) => s.as_bytes(),
            SecretValue::Binary(b) => b,
        }
    }

    /// Reads the SecretString / SecretBinary pair of a request. `None` when neither is given.
    pub fn from_input(
        string: Option<String>,
        binary: Option<Vec<u8>>,
    ) -> Result<Option<SecretValue>, SecretsError> {
        let string = string.map(Zeroizing::new);
        let binary = binary.map(Zeroizing::new);
        match (string, binary) {
            (Some(_), Some(_)) => Err(SecretsError::InvalidParameter(
                "You can't specify both a binary secret value and a string secret value in the same secret."
                    .into(),
            )),
            (Some(s), None) => {
                if s.is_empty() || s.len() > MAX_VALUE_BYTES {
                    return Err(length_error("secretString", s.len()));
                }
                Ok(Some(SecretValue::String(s)))
            }
            (None, Some(b)) => {
                if b.is_empty() || b.len() > MAX_VALUE_BYTES {
                    return Err(length_error("secretBinary", b.len()));
                }
                Ok(Some(SecretValue::Binary(b)))
            }
            (None, None) => Ok(None),
        }
    }
}

fn length_error(member: &str, len: usize) -> SecretsError {
    // The value is sensitive: AWS's validation message leaves it out.
    SecretsError::Validation(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length {}",
        if len == 0 {
            "greater than or equal to 1".to_string()
        } else {
            format!("less than or equal to {MAX_VALUE_BYTES}")
        }
    ))
}

fn aad(arn: &str, version_id: &str, kind: ValueKind) -> Vec<u8> {
    let kind = match kind {
        ValueKind::String => "string",
        ValueKind::Binary => "binary",
    };
    format!("secretsmanager-value\n{arn}\n{version_id}\n{kind}").into_bytes()
}

fn cipher(data_key: &[u8]) -> Result<Aes256Gcm, SecretsError> {
    let key: &AesKey<Aes256Gcm> = data_key.try_into().map_err(|_| SecretsError::Corrupt)?;
    Ok(Aes256Gcm::new(key))
}

/// Encrypts `value` under a 32-byte data key, bound to the secret ARN and version id.
pub fn seal_value(
    data_key: &[u8],
    encrypted_data_key: &[u8],
    arn: &str,
    version_id: &str,
    value: &SecretValue,
) -> Result<SealedValue, SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    berth_core::ids::random_bytes(&mut nonce);
    let ct = cipher(data_key)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: value.bytes(),
                aad: &aad(arn, version_id, value.kind()),
            },
        )
        .map_err(|_| SecretsError::Corrupt)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(SealedValue {
        encrypted_data_key: B64.encode(encrypted_data_key),
        kind: value.kind(),
        ciphertext: B64.encode(out),
    })
}

impl SealedValue {
    /// The KMS ciphertext blob of the data key.
    pub fn data_key_blob(&self) -> Result<Vec<u8>, SecretsError> {
        B64.decode(&self.encrypted_data_key)
            .map_err(|_| SecretsError::Corrupt)
    }

    /// Opens the value with the data key that [`SealedValue::data_key_blob`] decrypts to.
    pub fn open(
        &self,
        data_key: &[u8],
        arn: &str,
        version_id: &str,
    ) -> Result<SecretValue, SecretsError> {
        let raw = B64
            .decode(&self.ciphertext)
            .map_err(|_| SecretsError::Corrupt)?;
        if raw.len() < NONCE_LEN {
            return Err(SecretsError::Corrupt);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretsError::Corrupt)?;
        let plain = Zeroizing::new(
            cipher(data_key)?
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: ct,
                        aad: &aad(arn, version_id, self.kind),
                    },
                )
                .map_err(|_| SecretsError::Corrupt)?,
        );
        Ok(match self.kind {
            ValueKind::Binary => SecretValue::Binary(plain),
            ValueKind::String => SecretValue::String(Zeroizing::new(
                String::from_utf8(plain.to_vec()).map_err(|_| SecretsError::Corrupt)?,
            )),
        })
    }
}
