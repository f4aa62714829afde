//! Imported key material (GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial), multi-Region keys (ReplicateKey, UpdatePrimaryRegion, the
//! `MultiRegionConfiguration` of a key's metadata), key agreement (DeriveSharedSecret),
//! ML-KEM (Encapsulate, Decapsulate) and GetKeyLastUsage.

use berth_kms::{Key, KmsError, NewKey};
use serde::{Deserialize, Serialize};

use super::{
    Blob, KeyMetadata, TagInput, TagOutput, authorize_key, check_grant_tokens, dry_run, key_for,
    kms, lockout_check, required, resolve, tags_of,
};
use crate::authz::{self, Check};
use crate::{Ctx, Error};

/// A multi-Region key of the set, as `MultiRegionConfiguration` names it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: String,
}

/// `KeyMetadata.MultiRegionConfiguration`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: &'static str,
    pub primary_key: MultiRegionKey,
    pub replica_keys: Vec<MultiRegionKey>,
}

/// A key's metadata, with its multi-Region configuration when it is a multi-Region key.
pub(crate) fn metadata(ctx: &Ctx<'_>, key: Key) -> Result<KeyMetadata, Error> {
    let set = kms(ctx).multi_region_set(&key, ctx.now_secs())?;
    let (account, key_id, region) = (key.account.clone(), key.key_id.clone(), key.region.clone());
    let mut m = KeyMetadata::from(key);
    if let Some(set) = set {
        let of = |r: &str| MultiRegionKey {
            arn: berth_kms::key_arn_of(r, &account, &key_id),
            region: r.to_string(),
        };
        m.multi_region_configuration = Some(MultiRegionConfiguration {
            multi_region_key_type: if set.primary == region {
                "PRIMARY"
            } else {
                "REPLICA"
            },
            primary_key: of(&set.primary),
            replica_keys: set.replicas.iter().map(|r| of(r)).collect(),
        });
    }
    Ok(m)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportInput {
    pub key_id: Option<String>,
    pub wrapping_algorithm: Option<String>,
    pub wrapping_key_spec: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportOutput {
    pub key_id: String,
    pub import_token: Blob,
    pub public_key: Blob,
    pub parameters_valid_to: u64,
}

pub fn get_parameters_for_import(
    ctx: &Ctx<'_>,
    input: GetParametersForImportInput,
) -> Result<GetParametersForImportOutput, Error> {
    let algorithm = required(input.wrapping_algorithm, "wrappingAlgorithm")?;
    let spec = required(input.wrapping_key_spec, "wrappingKeySpec")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(
        ctx,
        "kms:GetParametersForImport",
        &key,
        None,
        &[
            ("kms:WrappingAlgorithm", algorithm.clone()),
            ("kms:WrappingKeySpec", spec.clone()),
        ],
    )?;
    let p = kms(ctx).parameters_for_import(&key, &algorithm, &spec, ctx.now_secs())?;
    Ok(GetParametersForImportOutput {
        key_id: key.arn,
        import_token: Blob::new(p.token),
        public_key: Blob::new(p.public_key),
        parameters_valid_to: p.valid_to,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialInput {
    pub key_id: Option<String>,
    pub import_token: Option<Blob>,
    pub encrypted_key_material: Option<Blob>,
    /// A timestamp: seconds since the epoch.
    pub valid_to: Option<f64>,
    pub expiration_model: Option<String>,
    pub import_type: Option<String>,
    pub key_material_description: Option<String>,
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialOutput {
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

fn blob_member(b: Option<Blob>, member: &str) -> Result<Blob, Error> {
    let b = required(b, member)?;
    let len = b.as_slice().len();
    if len == 0 || len > 6144 {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length {}",
            if len == 0 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 6144"
            }
        ))
        .into());
    }
    Ok(b)
}

pub fn import_key_material(
    ctx: &Ctx<'_>,
    input: ImportKeyMaterialInput,
) -> Result<ImportKeyMaterialOutput, Error> {
    let token = blob_member(input.import_token, "importToken")?;
    let encrypted = blob_member(input.encrypted_key_material, "encryptedKeyMaterial")?;
    if let Some(d) = &input.key_material_description
        && (d.chars().count() > 256
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || ":/_.-".contains(c)))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{d}' at 'keyMaterialDescription' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$"
        ))
        .into());
    }
    if let Some(id) = &input.key_material_id
        && (id.len() != 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{id}' at 'keyMaterialId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-f0-9]+$"
        ))
        .into());
    }
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    let model = input
        .expiration_model
        .clone()
        .unwrap_or_else(|| "KEY_MATERIAL_EXPIRES".into());
    authorize_key(
        ctx,
        "kms:ImportKeyMaterial",
        &key,
        None,
        &[("kms:ExpirationModel", model)],
    )?;
    let options = berth_kms::Imported {
        valid_to: input.valid_to.map(|t| t.max(0.0) as u64),
        expiration_model: input.expiration_model,
        import_type: input.import_type,
    };
    let key = kms(ctx).import_material(
        &key,
        token.as_slice(),
        encrypted.as_slice(),
        &options,
        ctx.now_secs(),
    )?;
    Ok(ImportKeyMaterialOutput {
        key_id: key.arn,
        key_material_id: (!key.material_id.is_empty()).then_some(key.material_id),
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialInput {
    pub key_id: Option<String>,
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialOutput {
    pub key_id: String,
    pub key_material_id: String,
}

pub fn delete_imported_key_material(
    ctx: &Ctx<'_>,
    input: DeleteImportedKeyMaterialInput,
) -> Result<DeleteImportedKeyMaterialOutput, Error> {
    let key = key_for(
        ctx,
        input.key_id.as_deref(),
        "kms:DeleteImportedKeyMaterial",
    )?;
    if let Some(id) = &input.key_material_id
        && *id != key.material_id
    {
        // berth keeps one import of material per key; AWS's text is not known to berth.
        return Err(KmsError::NotFound(format!(
            "key material {id} is not the current key material of {}",
            key.arn
        ))
        .into());
    }
    let (key, deleted) = kms(ctx).delete_imported_material(&key, ctx.now_secs())?;
    Ok(DeleteImportedKeyMaterialOutput {
        key_id: key.arn,
        key_material_id: deleted,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyInput {
    pub key_id: Option<String>,
    pub replica_region: Option<String>,
    pub policy: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub description: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyOutput {
    pub replica_key_metadata: KeyMetadata,
    pub replica_policy: String,
    pub replica_tags: Vec<TagOutput>,
}

/// A `RegionType` member: the model's pattern, and a region berth answers to.
fn region_member(ctx: &Ctx<'_>, region: &str, member: &str) -> Result<(), Error> {
    if !berth_core::ids::is_region(region) || region.len() > 32 {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{region}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){{2,3}}\\d+$"
        ))
        .into());
    }
    if !ctx.control.regions.contains(region) {
        // berth's words: AWS's text for a region it does not offer is not known to berth.
        return Err(
            KmsError::Unsupported(format!("berth does not answer to region {region}")).into(),
        );
    }
    Ok(())
}

pub fn replicate_key(ctx: &Ctx<'_>, input: ReplicateKeyInput) -> Result<ReplicateKeyOutput, Error> {
    let region = required(input.replica_region, "replicaRegion")?;
    region_member(ctx, &region, "replicaRegion")?;
    if let Some(p) = &input.policy {
        berth_kms::check_policy_member(p)?;
    }
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(
        ctx,
        "kms:ReplicateKey",
        &key,
        None,
        &[("kms:ReplicaRegion", region.clone())],
    )?;
    // The replica is made in its region: the caller needs kms:CreateKey there.
    authz::authorize(
        ctx,
        &Check::new("kms:CreateKey", "*")
            .with_context("kms:MultiRegion", "true")
            .with_context("kms:MultiRegionKeyType", "REPLICA")
            .with_context("aws:RequestedRegion", region.as_str()),
    )?;
    let tags = tags_of(input.tags)?;
    if !tags.is_empty() {
        authz::authorize(ctx, &Check::new("kms:TagResource", "*"))?;
    }
    if region == key.region {
        // AWS's text is not known to berth.
        return Err(KmsError::Validation(format!(
            "a replica of {} cannot be in its own region {region}",
            key.arn
        ))
        .into());
    }
    let replica_arn = berth_kms::key_arn_of(&region, &key.account, &key.key_id);
    if let Some(p) = &input.policy {
        berth_kms::validate_policy(p)?;
        if input.bypass_policy_lockout_safety_check != Some(true) {
            lockout_check(ctx, &replica_arn, p)?;
        }
    }
    let new = NewKey {
        key_id: Some(key.key_id.clone()),
        description: input.description.unwrap_or_default(),
        policy: input.policy,
        tags,
        external: key.is_external(),
        multi_region: true,
    };
    let replica = kms(ctx).replicate(&key, &region, new, ctx.now_secs())?;
    let policy = replica.policy.clone();
    let replica_tags = replica
        .tags
        .iter()
        .map(|t| TagOutput {
            tag_key: t.key.clone(),
            tag_value: t.value.clone(),
        })
        .collect();
    Ok(ReplicateKeyOutput {
        replica_key_metadata: metadata(ctx, replica)?,
        replica_policy: policy,
        replica_tags,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePrimaryRegionInput {
    pub key_id: Option<String>,
    pub primary_region: Option<String>,
}

pub fn update_primary_region(
    ctx: &Ctx<'_>,
    input: UpdatePrimaryRegionInput,
) -> Result<super::Empty, Error> {
    let region = required(input.primary_region, "primaryRegion")?;
    region_member(ctx, &region, "primaryRegion")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    let pr = [("kms:PrimaryRegion", region.clone())];
    authorize_key(ctx, "kms:UpdatePrimaryRegion", &key, None, &pr)?;
    let k = kms(ctx);
    // The replica that becomes primary must allow it too.
    if region != key.region
        && let Ok(replica) = k.resolve(
            &key.account,
            &region,
            &berth_kms::key_arn_of(&region, &key.account, &key.key_id),
            ctx.now_secs(),
        )
    {
        authorize_key(ctx, "kms:UpdatePrimaryRegion", &replica, None, &pr)?;
    }
    if key.state == berth_kms::KeyState::Disabled {
        return Err(KmsError::Disabled(key.arn).into());
    }
    k.update_primary(&key, &region, ctx.now_secs())?;
    Ok(super::Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecipientInfoInput {
    pub key_encryption_algorithm: Option<String>,
    pub attestation_document: Option<Blob>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretInput {
    pub key_id: Option<String>,
    pub key_agreement_algorithm: Option<String>,
    pub public_key: Option<Blob>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
    pub recipient: Option<RecipientInfoInput>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretOutput {
    pub key_id: String,
    pub shared_secret: Blob,
    pub key_agreement_algorithm: String,
    pub key_origin: String,
}

pub fn derive_shared_secret(
    ctx: &Ctx<'_>,
    input: DeriveSharedSecretInput,
) -> Result<DeriveSharedSecretOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let algorithm = required(input.key_agreement_algorithm, "keyAgreementAlgorithm")?;
    let public = required(input.public_key, "publicKey")?;
    if algorithm != "ECDH" {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{algorithm}' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"
        ))
        .into());
    }
    let len = public.as_slice().len();
    if len == 0 || len > 8192 {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value at 'publicKey' failed to satisfy constraint: Member must have length {}",
            if len == 0 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 8192"
            }
        ))
        .into());
    }
    if input.recipient.is_some() {
        // Nitro Enclaves attestation: there is no enclave to attest here.
        return Err(KmsError::Unsupported(
            "berth does not support Recipient (Nitro Enclaves attestation)".into(),
        )
        .into());
    }
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(
        ctx,
        "kms:DeriveSharedSecret",
        &key,
        None,
        &[("kms:KeyAgreementAlgorithm", algorithm.clone())],
    )?;
    berth_kms::require_usage(&key, "KEY_AGREEMENT", "DeriveSharedSecret")?;
    dry_run(input.dry_run, &[&key])?;
    let secret = kms(ctx).derive_shared_secret(&key, public.as_slice())?;
    super::used(ctx, &key.arn, "DeriveSharedSecret");
    Ok(DeriveSharedSecretOutput {
        key_id: key.arn,
        shared_secret: Blob(secret),
        key_agreement_algorithm: algorithm,
        key_origin: key.origin,
    })
}

/// `EncapsulationAlgorithm`: the model's one value.
fn check_encapsulation(algorithm: Option<String>) -> Result<String, Error> {
    let a = required(algorithm, "encapsulationAlgorithm")?;
    if a != "ML_KEM" {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{a}' at 'encapsulationAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ML_KEM]"
        ))
        .into());
    }
    Ok(a)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncapsulateInput {
    pub key_id: Option<String>,
    pub encapsulation_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncapsulateOutput {
    pub key_id: String,
    pub shared_secret: Blob,
    pub shared_secret_ciphertext_blob: Blob,
    pub encapsulation_algorithm: String,
}

/// Encapsulate: a fresh shared secret and its ciphertext under an ML-KEM key
/// (`ENCAPSULATE_DECAPSULATE`); a key of another usage is `InvalidKeyUsageException`.
pub fn encapsulate(ctx: &Ctx<'_>, input: EncapsulateInput) -> Result<EncapsulateOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let algorithm = check_encapsulation(input.encapsulation_algorithm)?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:Encapsulate", &key, None, &[])?;
    berth_kms::require_usage(&key, "ENCAPSULATE_DECAPSULATE", "Encapsulate")?;
    dry_run(input.dry_run, &[&key])?;
    let (ciphertext, secret) = kms(ctx).encapsulate(&key)?;
    super::used(ctx, &key.arn, "Encapsulate");
    Ok(EncapsulateOutput {
        key_id: key.arn,
        shared_secret: Blob(secret),
        shared_secret_ciphertext_blob: Blob::new(ciphertext),
        encapsulation_algorithm: algorithm,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecapsulateInput {
    pub key_id: Option<String>,
    pub shared_secret_ciphertext_blob: Option<Blob>,
    pub encapsulation_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecapsulateOutput {
    pub key_id: String,
    pub shared_secret: Blob,
    pub encapsulation_algorithm: String,
}

/// Decapsulate: the shared secret of an ML-KEM ciphertext; one of the wrong length for the
/// key's parameter set is `InvalidCiphertextException`.
pub fn decapsulate(ctx: &Ctx<'_>, input: DecapsulateInput) -> Result<DecapsulateOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let ciphertext = blob_member(
        input.shared_secret_ciphertext_blob,
        "sharedSecretCiphertextBlob",
    )?;
    let algorithm = check_encapsulation(input.encapsulation_algorithm)?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:Decapsulate", &key, None, &[])?;
    berth_kms::require_usage(&key, "ENCAPSULATE_DECAPSULATE", "Decapsulate")?;
    dry_run(input.dry_run, &[&key])?;
    let secret = kms(ctx).decapsulate(&key, ciphertext.as_slice())?;
    super::used(ctx, &key.arn, "Decapsulate");
    Ok(DecapsulateOutput {
        key_id: key.arn,
        shared_secret: Blob(secret),
        encapsulation_algorithm: algorithm,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyLastUsageInput {
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyLastUsageOutput {
    pub key_id: String,
    pub key_last_usage: KeyLastUsageData,
    pub tracking_start_date: u64,
    pub key_creation_date: u64,
}

/// The model's `KeyLastUsageData`: empty when no use is recorded. berth has no CloudTrail, so
/// `CloudTrailEventId` is never present.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyLastUsageData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_request_id: Option<String>,
}

/// GetKeyLastUsage: the key's last successful cryptographic use as berth recorded it (the
/// operation, when, and the request's id; at most one record per key per minute from each
/// server process, so it may be up to a minute older than the last use). `TrackingStartDate` is
/// when the store recorded its first use of any key, or the key's creation if later; before any
/// use was recorded it is now (a key made earlier may have been used before, as AWS says of
/// such an answer).
pub fn get_key_last_usage(
    ctx: &Ctx<'_>,
    input: GetKeyLastUsageInput,
) -> Result<GetKeyLastUsageOutput, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:GetKeyLastUsage")?;
    let (last, since) = kms(ctx).last_use(&key.arn)?;
    let tracking_start_date = since.unwrap_or_else(|| ctx.now_secs()).max(key.created);
    let key_last_usage = last
        .map(|l| KeyLastUsageData {
            operation: Some(l.operation),
            timestamp: Some(l.timestamp),
            kms_request_id: Some(l.request_id),
        })
        .unwrap_or_default();
    Ok(GetKeyLastUsageOutput {
        key_id: key.arn,
        key_last_usage,
        tracking_start_date,
        key_creation_date: key.created,
    })
}
