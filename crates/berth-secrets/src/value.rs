//! Secret values in memory, and their encryption under a data key with berth-core's
//! AES-256-GCM primitive ([`berth_core::seal`]): the stored ciphertext is the primitive's
//! output as it is, `nonce (12) | ciphertext | tag (16)`.

use base64::Engine;
use berth_core::seal::{self, KEY_LEN};
use zeroize::Zeroizing;

use crate::SecretsError;
use crate::model::{SealedValue, ValueKind};

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

fn key(data_key: &[u8]) -> Result<&[u8; KEY_LEN], SecretsError> {
    data_key.try_into().map_err(|_| SecretsError::Corrupt)
}

/// Encrypts `value` under a 32-byte data key, bound to the secret ARN and version id.
pub fn seal_value(
    data_key: &[u8],
    encrypted_data_key: &[u8],
    arn: &str,
    version_id: &str,
    value: &SecretValue,
) -> Result<SealedValue, SecretsError> {
    let sealed = seal::seal(
        key(data_key)?,
        &aad(arn, version_id, value.kind()),
        value.bytes(),
    );
    Ok(SealedValue {
        encrypted_data_key: B64.encode(encrypted_data_key),
        kind: value.kind(),
        ciphertext: B64.encode(sealed),
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
        let plain = seal::open(key(data_key)?, &aad(arn, version_id, self.kind), &raw)
            .map_err(|_| SecretsError::Corrupt)?;
        Ok(match self.kind {
            ValueKind::Binary => SecretValue::Binary(plain),
            ValueKind::String => SecretValue::String(Zeroizing::new(
                String::from_utf8(plain.to_vec()).map_err(|_| SecretsError::Corrupt)?,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";

    /// A value sealed by an earlier build under the data key `[9; 32]`: stored versions must
    /// keep opening.
    #[test]
    fn a_stored_value_opens() {
        let stored = SealedValue {
            encrypted_data_key: "YmxvYg==".into(),
            kind: ValueKind::String,
            ciphertext: "I37jgchc7Lfom+LU7LsXPjDXII2TQRC81Bv6WVabbcLpy2FA6UMJCw==".into(),
        };
        assert_eq!(stored.data_key_blob().unwrap(), b"blob");
        let value = stored.open(&[9u8; 32], ARN, "v1").unwrap();
        assert_eq!(
            value,
            SecretValue::String(Zeroizing::new("s3cr3t-value".into()))
        );
        assert!(stored.open(&[9u8; 32], ARN, "v2").is_err());
        assert!(stored.open(&[9u8; 31], ARN, "v1").is_err());
    }

    #[test]
    fn the_ciphertext_is_the_core_primitive_output() {
        let key = [4u8; 32];
        let value = SecretValue::Binary(Zeroizing::new(vec![1, 2, 3]));
        let sealed = seal_value(&key, b"blob", ARN, "v1", &value).unwrap();
        let raw = B64.decode(&sealed.ciphertext).unwrap();
        assert_eq!(raw.len(), seal::NONCE_LEN + 3 + seal::TAG_LEN);
        let plain = seal::open(&key, &aad(ARN, "v1", ValueKind::Binary), &raw).unwrap();
        assert_eq!(plain.as_slice(), [1, 2, 3]);
        assert!(seal_value(&key[..16], b"blob", ARN, "v1", &value).is_err());
        let short = SealedValue {
            ciphertext: B64.encode([0u8; 5]),
            ..sealed
        };
        assert!(short.open(&key, ARN, "v1").is_err());
    }
}
