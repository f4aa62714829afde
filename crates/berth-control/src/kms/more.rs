//! The rest of the symmetric API: UpdateAlias, UpdateKeyDescription, ListKeyPolicies,
//! ListResourceTags, UntagResource, GenerateRandom, key rotation, and the custom key store
//! operations (berth has no custom key stores: they answer as AWS does for a store that does
//! not exist).

use berth_kms::KmsError;
use serde::{Deserialize, Serialize};

use super::{Blob, Empty, authorize_key, key_for, kms, limit_of, required, resolve};
use crate::{Ctx, Error};

fn validation(m: String) -> Error {
    KmsError::Validation(m).into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAliasInput {
    pub alias_name: Option<String>,
    pub target_key_id: Option<String>,
}

/// UpdateAlias: `kms:UpdateAlias` on the alias's current key and on the new one.
pub fn update_alias(ctx: &Ctx<'_>, input: UpdateAliasInput) -> Result<Empty, Error> {
    let name = required(input.alias_name.as_deref(), "aliasName")?;
    let target = required(input.target_key_id.as_deref(), "targetKeyId")?;
    berth_kms::validate_alias_name(name)?;
    let k = kms(ctx);
    let (_, current) = k.alias(ctx.account(), &ctx.caller.region, name, ctx.now_secs())?;
    let key = resolve(ctx, target)?;
    if key.account != ctx.account() {
        return Err(KmsError::NotFound(format!("Key '{}' does not exist", key.arn)).into());
    }
    authorize_key(ctx, "kms:UpdateAlias", &current, None, &[])?;
    authorize_key(ctx, "kms:UpdateAlias", &key, None, &[])?;
    k.update_alias(name, &key, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionInput {
    pub key_id: Option<String>,
    pub description: Option<String>,
}

/// The model's `DescriptionType`: at most 8192 characters.
fn check_description(d: &str) -> Result<(), Error> {
    if d.chars().count() > 8192 {
        return Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192".into(),
        ));
    }
    Ok(())
}

pub fn update_key_description(
    ctx: &Ctx<'_>,
    input: UpdateKeyDescriptionInput,
) -> Result<Empty, Error> {
    let description = required(input.description.as_deref(), "description")?;
    check_description(description)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:UpdateKeyDescription")?;
    kms(ctx).set_description(&key, description, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesInput {
    pub key_id: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesOutput {
    pub policy_names: Vec<&'static str>,
    pub truncated: bool,
}

/// ListKeyPolicies: a key has one policy, `default`.
pub fn list_key_policies(
    ctx: &Ctx<'_>,
    input: ListKeyPoliciesInput,
) -> Result<ListKeyPoliciesOutput, Error> {
    limit_of(input.limit, 100, 1000)?;
    key_for(ctx, input.key_id.as_deref(), "kms:ListKeyPolicies")?;
    Ok(ListKeyPoliciesOutput {
        policy_names: vec!["default"],
        truncated: false,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsInput {
    pub key_id: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOutput {
    pub tag_key: String,
    pub tag_value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsOutput {
    pub tags: Vec<TagOutput>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// ListResourceTags: the key's tags in key order, `Limit` (1–50) per page.
pub fn list_resource_tags(
    ctx: &Ctx<'_>,
    input: ListResourceTagsInput,
) -> Result<ListResourceTagsOutput, Error> {
    let limit = limit_of(input.limit, 50, 50)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:ListResourceTags")?;
    let mut tags = key.tags;
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let start = match input.marker.as_deref() {
        None => 0,
        Some(m) => tags
            .iter()
            .position(|t| t.key.as_str() >= m)
            .ok_or_else(|| Error::from(KmsError::InvalidMarker("Invalid marker".into())))?,
    };
    let rest: Vec<_> = tags.into_iter().skip(start).collect();
    let next_marker = rest.get(limit).map(|t| t.key.clone());
    Ok(ListResourceTagsOutput {
        tags: rest
            .into_iter()
            .take(limit)
            .map(|t| TagOutput {
                tag_key: t.key,
                tag_value: t.value,
            })
            .collect(),
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub key_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

pub fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<Empty, Error> {
    let keys = required(input.tag_keys, "tagKeys")?;
    for (i, k) in keys.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(validation(format!(
                "1 validation error detected: Value '{k}' at 'tagKeys.{}.member' failed to satisfy constraint: Member must have length {}",
                i + 1,
                if k.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 128"
                }
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::Tag("Tags beginning with aws: are reserved".into()).into());
        }
    }
    let key = key_for(ctx, input.key_id.as_deref(), "kms:UntagResource")?;
    kms(ctx).untag_key(&key, &keys, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomInput {
    pub number_of_bytes: Option<i64>,
    pub custom_key_store_id: Option<String>,
    pub recipient: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomOutput {
    pub plaintext: Blob,
}

/// GenerateRandom: 1–1024 random bytes.
pub fn generate_random(
    ctx: &Ctx<'_>,
    input: GenerateRandomInput,
) -> Result<GenerateRandomOutput, Error> {
    let n = match input.number_of_bytes {
        Some(n) if (1..=1024).contains(&n) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {}",
                if n < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 1024"
                }
            )));
        }
        // AWS's text when NumberOfBytes is absent is not known to berth.
        None => {
            return Err(validation(
                "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null".into(),
            ));
        }
    };
    if input.recipient.is_some() {
        return Err(KmsError::Unsupported(
            "berth does not support Nitro Enclaves attestation (Recipient)".into(),
        )
        .into());
    }
    ctx.authorize("kms:GenerateRandom", "*")?;
    if let Some(id) = &input.custom_key_store_id {
        return Err(custom_key_store_not_found(id));
    }
    let mut bytes = vec![0u8; n];
    berth_core::ids::random_bytes(&mut bytes);
    Ok(GenerateRandomOutput {
        plaintext: Blob::new(bytes),
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationInput {
    pub key_id: Option<String>,
    pub rotation_period_in_days: Option<i64>,
}

pub fn enable_key_rotation(ctx: &Ctx<'_>, input: EnableKeyRotationInput) -> Result<Empty, Error> {
    berth_kms::check_rotation_days(input.rotation_period_in_days)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:EnableKeyRotation")?;
    kms(ctx).enable_rotation(&key, input.rotation_period_in_days, ctx.now_secs())?;
    Ok(Empty {})
}

pub fn disable_key_rotation(ctx: &Ctx<'_>, input: super::KeyIdInput) -> Result<Empty, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:DisableKeyRotation")?;
    kms(ctx).disable_rotation(&key, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusOutput {
    pub key_rotation_enabled: bool,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<u64>,
}

pub fn get_key_rotation_status(
    ctx: &Ctx<'_>,
    input: super::KeyIdInput,
) -> Result<GetKeyRotationStatusOutput, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:GetKeyRotationStatus")?;
    Ok(GetKeyRotationStatusOutput {
        key_rotation_enabled: key.rotation_period_days.is_some(),
        key_id: key.arn,
        rotation_period_in_days: key.rotation_period_days,
        next_rotation_date: key.next_rotation,
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateKeyOnDemandOutput {
    pub key_id: String,
}

/// RotateKeyOnDemand: berth rotates at once (AWS starts the rotation and finishes it shortly).
pub fn rotate_key_on_demand(
    ctx: &Ctx<'_>,
    input: super::KeyIdInput,
) -> Result<RotateKeyOnDemandOutput, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:RotateKeyOnDemand")?;
    let key = kms(ctx).rotate(&key, "ON_DEMAND", ctx.now_secs())?;
    Ok(RotateKeyOnDemandOutput { key_id: key.arn })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsInput {
    pub key_id: Option<String>,
    pub include_key_material: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    pub key_id: String,
    pub key_material_id: String,
    pub rotation_date: u64,
    pub rotation_type: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsOutput {
    pub rotations: Vec<RotationsListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

pub fn list_key_rotations(
    ctx: &Ctx<'_>,
    input: ListKeyRotationsInput,
) -> Result<ListKeyRotationsOutput, Error> {
    if let Some(v) = &input.include_key_material
        && v != "ALL_KEY_MATERIAL"
        && v != "ROTATIONS_ONLY"
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{v}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
        )));
    }
    let limit = limit_of(input.limit, 100, 1000)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:ListKeyRotations")?;
    if !key.is_symmetric() {
        // AWS's text is not known to berth.
        return Err(KmsError::Unsupported(format!(
            "{} key rotation is not supported for key spec {}",
            key.arn, key.spec
        ))
        .into());
    }
    let start = match input.marker.as_deref() {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| Error::from(KmsError::InvalidMarker("Invalid marker".into())))?,
    };
    let all: Vec<_> = key.rotations.iter().skip(start).collect();
    let truncated = all.len() > limit;
    Ok(ListKeyRotationsOutput {
        rotations: all
            .into_iter()
            .take(limit)
            .map(|r| RotationsListEntry {
                key_id: key.arn.clone(),
                key_material_id: r.material_id.clone(),
                rotation_date: r.date,
                rotation_type: r.kind.clone(),
            })
            .collect(),
        truncated,
        next_marker: truncated.then(|| (start + limit).to_string()),
    })
}

// --- custom key stores --------------------------------------------------------------------

/// `CustomKeyStoreNotFoundException` for a store id. AWS's text is not known to berth.
pub(crate) fn custom_key_store_not_found(id: &str) -> Error {
    KmsError::CustomKeyStoreNotFound(format!("Custom key store {id} does not exist")).into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomKeyStoresInput {
    pub custom_key_store_id: Option<String>,
    pub custom_key_store_name: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomKeyStoresOutput {
    pub custom_key_stores: Vec<serde_json::Value>,
    pub truncated: bool,
}

pub fn describe_custom_key_stores(
    ctx: &Ctx<'_>,
    input: DescribeCustomKeyStoresInput,
) -> Result<DescribeCustomKeyStoresOutput, Error> {
    limit_of(input.limit, 1000, 1000)?;
    ctx.authorize("kms:DescribeCustomKeyStores", "*")?;
    if let Some(id) = input
        .custom_key_store_id
        .as_deref()
        .or(input.custom_key_store_name.as_deref())
    {
        return Err(custom_key_store_not_found(id));
    }
    Ok(DescribeCustomKeyStoresOutput {
        custom_key_stores: Vec::new(),
        truncated: false,
    })
}

/// The input of Connect/Disconnect/Delete/UpdateCustomKeyStore: a store id and, for
/// UpdateCustomKeyStore, settings berth never reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomKeyStoreIdInput {
    pub custom_key_store_id: Option<String>,
}

fn no_such_store(ctx: &Ctx<'_>, action: &str, input: CustomKeyStoreIdInput) -> Error {
    let id = match required(input.custom_key_store_id, "customKeyStoreId") {
        Ok(id) => id,
        Err(e) => return e,
    };
    if let Err(e) = ctx.authorize(action, "*") {
        return e;
    }
    custom_key_store_not_found(&id)
}

pub fn connect_custom_key_store(
    ctx: &Ctx<'_>,
    input: CustomKeyStoreIdInput,
) -> Result<Empty, Error> {
    Err(no_such_store(ctx, "kms:ConnectCustomKeyStore", input))
}

pub fn disconnect_custom_key_store(
    ctx: &Ctx<'_>,
    input: CustomKeyStoreIdInput,
) -> Result<Empty, Error> {
    Err(no_such_store(ctx, "kms:DisconnectCustomKeyStore", input))
}

pub fn delete_custom_key_store(
    ctx: &Ctx<'_>,
    input: CustomKeyStoreIdInput,
) -> Result<Empty, Error> {
    Err(no_such_store(ctx, "kms:DeleteCustomKeyStore", input))
}

pub fn update_custom_key_store(
    ctx: &Ctx<'_>,
    input: CustomKeyStoreIdInput,
) -> Result<Empty, Error> {
    Err(no_such_store(ctx, "kms:UpdateCustomKeyStore", input))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCustomKeyStoreInput {
    pub custom_key_store_name: Option<String>,
    pub cloud_hsm_cluster_id: Option<String>,
    pub custom_key_store_type: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCustomKeyStoreOutput {
    pub custom_key_store_id: String,
}

/// CreateCustomKeyStore: berth has no CloudHSM clusters and reaches no external key store
/// proxy, so a store cannot be made. A CloudHSM store names a cluster that does not exist
/// (`CloudHsmClusterNotFoundException`); an external key store is refused as unsupported.
pub fn create_custom_key_store(
    ctx: &Ctx<'_>,
    input: CreateCustomKeyStoreInput,
) -> Result<CreateCustomKeyStoreOutput, Error> {
    required(input.custom_key_store_name.as_deref(), "customKeyStoreName")?;
    ctx.authorize("kms:CreateCustomKeyStore", "*")?;
    match input.custom_key_store_type.as_deref() {
        None | Some("AWS_CLOUDHSM") => {
            let id = input.cloud_hsm_cluster_id.unwrap_or_default();
            // AWS's text is not known to berth.
            Err(
                KmsError::CloudHsmClusterNotFound(format!("CloudHSM cluster {id} does not exist"))
                    .into(),
            )
        }
        Some(other) => Err(KmsError::Unsupported(format!(
            "berth does not support custom key stores of type {other}"
        ))
        .into()),
    }
}
