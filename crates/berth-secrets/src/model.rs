//! What Secrets Manager stores.

use serde::{Deserialize, Serialize};

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";

/// A tag on a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A version's metadata. Its value is stored apart, encrypted (see [`SealedValue`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub id: String,
    pub created: u64,
    /// Staging labels; a version without any is deprecated.
    pub stages: Vec<String>,
    /// The KMS key whose data key encrypts this version's value.
    pub kms_key_arn: String,
    pub last_accessed: Option<u64>,
}

/// A secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    /// The KmsKeyId as the caller gave it; `None` is the AWS managed key
    /// `aws/secretsmanager`.
    pub kms_key_id: Option<String>,
    pub created: u64,
    pub last_changed: u64,
    pub last_accessed: Option<u64>,
    /// When DeleteSecret was called, while the secret waits for deletion.
    pub deleted_date: Option<u64>,
    /// When a secret waiting for deletion is deleted.
    pub deletion_date: Option<u64>,
    pub tags: Vec<Tag>,
    pub resource_policy: Option<String>,
    /// In creation order.
    pub versions: Vec<Version>,
    /// Whether the timestamps above are in milliseconds (every secret written by this
    /// version of berth; older records held seconds and are converted on load).
    #[serde(default)]
    pub timestamps_ms: bool,
    /// The rotation configuration RotateSecret stored, if any.
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// When a rotation last completed.
    #[serde(default)]
    pub last_rotated: Option<u64>,
    /// On a replica: the region of its primary secret. A replica is read-only.
    #[serde(default)]
    pub primary_region: Option<String>,
    /// On a primary: the regions it replicates to.
    #[serde(default)]
    pub replicas: Vec<Replica>,
    /// Whether the secret ever had tags (AWS then answers `Tags: []` once they are gone).
    #[serde(default)]
    pub ever_tagged: bool,
}

/// A secret's rotation configuration (RotateSecret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub enabled: bool,
    pub lambda_arn: Option<String>,
    pub rules: RotationRules,
    /// Milliseconds since the epoch.
    pub next: Option<u64>,
}

/// When a secret rotates: every `automatically_after_days`, or on `schedule_expression`
/// (`rate(…)` or `cron(…)`), within a window of `duration` (`Nh`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRules {
    pub automatically_after_days: Option<u64>,
    pub schedule_expression: Option<String>,
    pub duration: Option<String>,
}

/// One region a primary secret replicates to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub region: String,
    /// The KmsKeyId as the caller gave it; `None` is the replica region's AWS managed key.
    pub kms_key_id: Option<String>,
    /// `InSync`, `Failed`, `InProgress`, as AWS reports them.
    pub status: String,
    pub message: Option<String>,
}

impl Secret {
    /// The condition keys a request on this secret is evaluated with (the one list the wire
    /// layer and `berth doctor` both use): `secretsmanager:SecretId`, and each tag as
    /// `aws:ResourceTag/*` and `secretsmanager:ResourceTag/*`.
    pub fn condition_keys(&self) -> Vec<(String, Vec<String>)> {
        let mut keys = vec![(
            "secretsmanager:SecretId".to_string(),
            vec![self.arn.clone()],
        )];
        for t in &self.tags {
            keys.push((format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]));
            keys.push((
                format!("secretsmanager:ResourceTag/{}", t.key),
                vec![t.value.clone()],
            ));
        }
        keys
    }

    pub fn version(&self, id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_with_stage(&self, stage: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    /// Converts a record written with timestamps in seconds to milliseconds.
    pub fn to_millis(mut self) -> Secret {
        if !self.timestamps_ms {
            let ms = |t: u64| t.saturating_mul(1000);
            self.created = ms(self.created);
            self.last_changed = ms(self.last_changed);
            self.last_accessed = self.last_accessed.map(ms);
            self.deleted_date = self.deleted_date.map(ms);
            self.deletion_date = self.deletion_date.map(ms);
            for v in &mut self.versions {
                v.created = ms(v.created);
                v.last_accessed = v.last_accessed.map(ms);
            }
            self.timestamps_ms = true;
        }
        self
    }

    /// Whether this secret is a replica of a secret in another region.
    pub fn is_replica(&self) -> bool {
        self.primary_region.is_some()
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_date.is_some()
    }

    /// Refuses an operation on a secret waiting for deletion.
    pub fn check_not_deleted(&self) -> Result<(), crate::SecretsError> {
        if self.is_deleted() {
            Err(crate::SecretsError::MarkedForDeletion)
        } else {
            Ok(())
        }
    }

    /// The version GetSecretValue reads: by id, by staging label, or AWSCURRENT.
    pub fn select_version(
        &self,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<&Version, crate::SecretsError> {
        match (version_id, stage) {
            (Some(id), stage) => {
                let v = self
                    .version(id)
                    .ok_or_else(|| crate::SecretsError::NoVersion(id.to_string()))?;
                if let Some(stage) = stage
                    && !v.stages.iter().any(|s| s == stage)
                {
                    return Err(crate::SecretsError::InvalidRequest(
                        "You provided a VersionStage that is not associated to the provided VersionId.".into(),
                    ));
                }
                Ok(v)
            }
            (None, stage) => {
                let stage = stage.unwrap_or(AWSCURRENT);
                self.version_with_stage(stage)
                    .ok_or_else(|| crate::SecretsError::NoVersionForStage(stage.to_string()))
            }
        }
    }

    /// VersionIdsToStages: the versions that carry a label.
    pub fn versions_to_stages(&self) -> Vec<(&str, &[String])> {
        self.versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.as_str(), v.stages.as_slice()))
            .collect()
    }
}

/// Whether a value was given as a string or as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    String,
    Binary,
}

/// A version's value at rest: encrypted under a data key, which is itself stored only as the
/// KMS ciphertext blob that GenerateDataKey returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedValue {
    /// base64 of the KMS ciphertext blob of the data key.
    pub encrypted_data_key: String,
    pub kind: ValueKind,
    /// base64 of nonce and AES-256-GCM ciphertext.
    pub ciphertext: String,
}
