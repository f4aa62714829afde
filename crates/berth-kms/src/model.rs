//! What KMS stores: keys and aliases.

use serde::{Deserialize, Serialize};

/// A key's lifecycle state, as `KeyMetadata.KeyState` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

/// Who manages a key: the customer, or AWS (the service default keys such as
/// `alias/aws/secretsmanager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyManager {
    Customer,
    Aws,
}

impl KeyManager {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyManager::Customer => "CUSTOMER",
            KeyManager::Aws => "AWS",
        }
    }
}

/// A tag on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A KMS key. Its material is stored only sealed under berth's root key, bound to the key ARN.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    pub key_id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub created: u64,
    pub description: String,
    pub state: KeyState,
    /// When a key pending deletion is deleted.
    pub deletion_date: Option<u64>,
    pub pending_window_days: Option<u32>,
    pub manager: KeyManager,
    /// The key policy document, verbatim.
    pub policy: String,
    pub tags: Vec<Tag>,
    /// base64 of the sealed 256-bit key material.
    pub(crate) sealed_material: String,
}

/// An IAM condition key and its values.
pub type ConditionKey = (String, Vec<String>);

impl Key {
    pub fn enabled(&self) -> bool {
        self.state == KeyState::Enabled
    }

    /// The condition keys a request on this key is evaluated with (the one list the wire layer
    /// and `berth doctor` both use): `kms:CallerAccount`, the key's origin, spec and usage,
    /// `aws:ResourceTag/*`, and for a cryptographic call `kms:EncryptionContext:*` and
    /// `kms:EncryptionContextKeys`. Service keys such as `kms:ViaService` are the caller's to add.
    pub fn condition_keys(
        &self,
        caller_account: &str,
        context: Option<&crate::EncryptionContext>,
    ) -> Vec<ConditionKey> {
        let one = |k: &str, v: &str| (k.to_string(), vec![v.to_string()]);
        let mut keys = vec![
            one("kms:CallerAccount", caller_account),
            one("kms:KeyOrigin", "AWS_KMS"),
            one("kms:KeySpec", "SYMMETRIC_DEFAULT"),
            one("kms:KeyUsage", "ENCRYPT_DECRYPT"),
        ];
        for t in &self.tags {
            keys.push(one(&format!("aws:ResourceTag/{}", t.key), &t.value));
        }
        if let Some(c) = context {
            for (k, v) in c {
                keys.push(one(&format!("kms:EncryptionContext:{k}"), v));
            }
            if !c.is_empty() {
                keys.push((
                    "kms:EncryptionContextKeys".to_string(),
                    c.keys().cloned().collect(),
                ));
            }
        }
        keys
    }

    /// Refuses a key that cannot encrypt or decrypt now, with AWS's error.
    pub fn check_usable(&self) -> Result<(), crate::KmsError> {
        match self.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(crate::KmsError::Disabled(self.arn.clone())),
            KeyState::PendingDeletion => Err(crate::KmsError::InvalidState(format!(
                "{} is pending deletion.",
                self.arn
            ))),
        }
    }
}

/// An alias: a name (`alias/...`) that points at a key of the same account and region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub arn: String,
    pub target_key_id: String,
    pub created: u64,
    pub updated: u64,
}
