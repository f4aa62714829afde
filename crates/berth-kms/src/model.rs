//! What KMS stores: keys and aliases.

use serde::{Deserialize, Serialize};

/// A key's lifecycle state, as `KeyMetadata.KeyState` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    /// A key of imported material (`Origin: EXTERNAL`) that has none now.
    PendingImport,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
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
    /// base64 of the sealed key material: 256 bits for a symmetric key, the PKCS #8 private
    /// key of an asymmetric key, the HMAC key of an HMAC key.
    pub(crate) sealed_material: String,
    /// `KeySpec`; `SYMMETRIC_DEFAULT` for records made before key specs existed.
    #[serde(default = "symmetric_default")]
    pub spec: String,
    /// `KeyUsage`.
    #[serde(default = "encrypt_decrypt")]
    pub usage: String,
    /// The id of the current key material (64 hex digits); empty for records made before
    /// rotation existed.
    #[serde(default)]
    pub material_id: String,
    /// Earlier key material of a rotated key, newest last: ciphertexts made under it still
    /// decrypt.
    #[serde(default)]
    pub(crate) older_materials: Vec<OlderMaterial>,
    /// The key's rotations, oldest first.
    #[serde(default)]
    pub rotations: Vec<Rotation>,
    /// Automatic rotation: the period in days when enabled.
    #[serde(default)]
    pub rotation_period_days: Option<u32>,
    /// When automatic rotation is next due.
    #[serde(default)]
    pub next_rotation: Option<u64>,
    /// `Origin`: `AWS_KMS`, or `EXTERNAL` for a key of imported material.
    #[serde(default = "aws_kms")]
    pub origin: String,
    /// When the imported material expires (`ExpirationModel` `KEY_MATERIAL_EXPIRES`).
    #[serde(default)]
    pub valid_to: Option<u64>,
    /// `ExpirationModel` of the imported material, while the key has some.
    #[serde(default)]
    pub expiration_model: Option<String>,
    /// A digest of the first material imported into the key, bound to the key ARN: a
    /// re-import must bring the same material.
    #[serde(default)]
    pub(crate) import_digest: Option<String>,
    /// Whether this is a multi-Region key (`mrk-` id); its primary and replicas are in
    /// [`crate::MULTI_REGION`].
    #[serde(default)]
    pub multi_region: bool,
}

fn aws_kms() -> String {
    "AWS_KMS".into()
}

fn symmetric_default() -> String {
    "SYMMETRIC_DEFAULT".into()
}

fn encrypt_decrypt() -> String {
    "ENCRYPT_DECRYPT".into()
}

/// Key material a rotation replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OlderMaterial {
    pub id: String,
    pub sealed: String,
}

/// One rotation of a key's material, as ListKeyRotations answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The id of the material the rotation made current.
    pub material_id: String,
    pub date: u64,
    /// `AUTOMATIC` or `ON_DEMAND`.
    pub kind: String,
}

/// An IAM condition key and its values.
pub type ConditionKey = (String, Vec<String>);

impl Key {
    pub fn enabled(&self) -> bool {
        self.state == KeyState::Enabled
    }

    /// Whether the key's material was imported (`Origin: EXTERNAL`).
    pub fn is_external(&self) -> bool {
        self.origin == "EXTERNAL"
    }

    /// Whether this is a symmetric encryption key (`SYMMETRIC_DEFAULT`).
    pub fn is_symmetric(&self) -> bool {
        self.spec == "SYMMETRIC_DEFAULT"
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
            one("kms:KeyOrigin", &self.origin),
            one(
                "kms:MultiRegion",
                if self.multi_region { "true" } else { "false" },
            ),
            one("kms:KeySpec", &self.spec),
            one("kms:KeyUsage", &self.usage),
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
            KeyState::PendingImport => Err(crate::KmsError::InvalidState(format!(
                "{} is pending import.",
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
