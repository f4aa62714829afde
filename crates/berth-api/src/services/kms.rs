//! AWS Key Management Service (JSON 1.1, target prefix `TrentService`).
//!
//! Every handler resolves the key first (a key that does not exist is `NotFoundException`),
//! then authorises the action against the key's policy as the caller
//! ([`Mode::ResourcePolicyRequired`]: the key policy must allow, directly or by delegating to
//! the account's IAM policies), then acts through `berth_kms`.

use std::collections::BTreeMap;

use base64::Engine;
use berth_kms::{EncryptionContext, Key, Kms, KmsError, NewKey, Tag};
use serde_json::{Map, Value, json};

use crate::error::WireError;
use crate::services::Ctx;
use berth_control::authz::{self, Check, Mode};

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Reading JSON 1.1 inputs, shared by the KMS and Secrets Manager handlers.
pub(crate) mod input {
    use super::*;

    fn member(field: &str) -> String {
        let mut c = field.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    }

    fn wrong_type(field: &str, want: &str) -> WireError {
        WireError::client("SerializationException", format!("{field} must be {want}"))
    }

    fn get<'v>(input: &'v Value, field: &str) -> Option<&'v Value> {
        input.get(field).filter(|v| !v.is_null())
    }

    pub fn opt_str<'v>(input: &'v Value, field: &str) -> Result<Option<&'v str>, WireError> {
        match get(input, field) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a string")),
        }
    }

    /// AWS's framework text for a missing required member.
    pub fn missing(field: &str) -> WireError {
        WireError::client(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                member(field)
            ),
        )
    }

    pub fn req_str<'v>(input: &'v Value, field: &str) -> Result<&'v str, WireError> {
        opt_str(input, field)?.ok_or_else(|| missing(field))
    }

    pub fn opt_i64(input: &Value, field: &str) -> Result<Option<i64>, WireError> {
        match get(input, field) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "an integer")),
        }
    }

    pub fn opt_bool(input: &Value, field: &str) -> Result<Option<bool>, WireError> {
        match get(input, field) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a boolean")),
        }
    }

    pub fn opt_blob(input: &Value, field: &str) -> Result<Option<Vec<u8>>, WireError> {
        match opt_str(input, field)? {
            None => Ok(None),
            Some(s) => B64
                .decode(s)
                .map(Some)
                .map_err(|_| wrong_type(field, "base64-encoded binary data")),
        }
    }

    pub fn opt_string_map(
        input: &Value,
        field: &str,
    ) -> Result<BTreeMap<String, String>, WireError> {
        let mut out = BTreeMap::new();
        if let Some(v) = get(input, field) {
            let obj = v
                .as_object()
                .ok_or_else(|| wrong_type(field, "a map of strings"))?;
            for (k, v) in obj {
                let v = v
                    .as_str()
                    .ok_or_else(|| wrong_type(field, "a map of strings"))?;
                out.insert(k.clone(), v.to_string());
            }
        }
        Ok(out)
    }

    pub fn opt_list<'v>(
        input: &'v Value,
        field: &str,
    ) -> Result<Option<&'v Vec<Value>>, WireError> {
        match get(input, field) {
            None => Ok(None),
            Some(v) => v
                .as_array()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a list")),
        }
    }

    pub fn opt_str_list(input: &Value, field: &str) -> Result<Option<Vec<String>>, WireError> {
        match opt_list(input, field)? {
            None => Ok(None),
            Some(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| wrong_type(field, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }

    /// A list of `{key_field, value_field}` objects.
    pub fn opt_pairs(
        input: &Value,
        field: &str,
        key_field: &str,
        value_field: &str,
    ) -> Result<Vec<(String, String)>, WireError> {
        let mut out = Vec::new();
        for item in opt_list(input, field)?.into_iter().flatten() {
            let k = opt_str(item, key_field)?.ok_or_else(|| missing(key_field))?;
            let v = opt_str(item, value_field)?.unwrap_or("");
            out.push((k.to_string(), v.to_string()));
        }
        Ok(out)
    }
}

use input::*;

fn kms<'c>(ctx: &'c Ctx<'_>) -> Kms<'c> {
    Kms::new(ctx.control.store.as_ref(), &ctx.control.root_key)
}

/// Runs one operation; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, input: Value) -> Option<Result<Value, WireError>> {
    let handler: fn(&Ctx<'_>, &Value) -> Result<Value, WireError> = match operation {
        "CreateKey" => create_key,
        "DescribeKey" => describe_key,
        "ListKeys" => list_keys,
        "EnableKey" => enable_key,
        "DisableKey" => disable_key,
        "ScheduleKeyDeletion" => schedule_key_deletion,
        "CancelKeyDeletion" => cancel_key_deletion,
        "CreateAlias" => create_alias,
        "DeleteAlias" => delete_alias,
        "ListAliases" => list_aliases,
        "GetKeyPolicy" => get_key_policy,
        "PutKeyPolicy" => put_key_policy,
        "Encrypt" => encrypt,
        "Decrypt" => decrypt,
        "GenerateDataKey" => generate_data_key,
        "GenerateDataKeyWithoutPlaintext" => generate_data_key_without_plaintext,
        "ReEncrypt" => re_encrypt,
        "TagResource" => tag_resource,
        _ => return None,
    };
    Some(handler(ctx, &input))
}

/// Authorises `action` on `key` for the caller against the key policy, with KMS's condition
/// keys (`kms:CallerAccount`, and `kms:EncryptionContext:*` for cryptographic calls).
pub(crate) fn authorize_key(
    ctx: &Ctx<'_>,
    action: &str,
    key: &Key,
    context: Option<&EncryptionContext>,
    extra: &[(&str, String)],
) -> Result<(), WireError> {
    let mut check = Check::new(action, &key.arn)
        .owned_by(&key.account)
        .with_resource_policy(Some(&key.policy), Mode::ResourcePolicyRequired)
        .with_contexts(key.condition_keys(ctx.account(), context));
    for (k, v) in extra {
        check = check.with_context(k, v.clone());
    }
    authz::authorize(ctx, &check).map_err(WireError::from)
}

fn resolve(ctx: &Ctx<'_>, key_id: &str) -> Result<Key, WireError> {
    Ok(kms(ctx).resolve(ctx.account(), &ctx.caller.region, key_id, ctx.now_secs())?)
}

/// Resolves `KeyId` and authorises `action` on it.
fn key_for(ctx: &Ctx<'_>, input: &Value, action: &str) -> Result<Key, WireError> {
    let key = resolve(ctx, req_str(input, "KeyId")?)?;
    authorize_key(ctx, action, &key, None, &[])?;
    Ok(key)
}

pub(crate) fn key_metadata(k: &Key) -> Value {
    let mut m = Map::new();
    m.insert("AWSAccountId".into(), k.account.clone().into());
    m.insert("KeyId".into(), k.key_id.clone().into());
    m.insert("Arn".into(), k.arn.clone().into());
    m.insert("CreationDate".into(), k.created.into());
    m.insert("Enabled".into(), k.enabled().into());
    m.insert("Description".into(), k.description.clone().into());
    m.insert("KeyUsage".into(), "ENCRYPT_DECRYPT".into());
    m.insert("KeyState".into(), k.state.as_str().into());
    if let Some(d) = k.deletion_date {
        m.insert("DeletionDate".into(), d.into());
    }
    if let Some(w) = k.pending_window_days {
        m.insert("PendingDeletionWindowInDays".into(), w.into());
    }
    m.insert("Origin".into(), "AWS_KMS".into());
    m.insert("KeyManager".into(), k.manager.as_str().into());
    m.insert("CustomerMasterKeySpec".into(), "SYMMETRIC_DEFAULT".into());
    m.insert("KeySpec".into(), "SYMMETRIC_DEFAULT".into());
    m.insert("EncryptionAlgorithms".into(), json!(["SYMMETRIC_DEFAULT"]));
    m.insert("MultiRegion".into(), false.into());
    Value::Object(m)
}

fn tags_of(input: &Value) -> Result<Vec<Tag>, WireError> {
    Ok(opt_pairs(input, "Tags", "TagKey", "TagValue")?
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect())
}

fn unsupported(what: &str, value: &str) -> WireError {
    KmsError::Unsupported(format!(
        "berth supports only symmetric encryption keys: {what} {value} is not available"
    ))
    .into()
}

/// AWS's policy lockout safety check: a key policy must let the caller change it later.
fn lockout_check(ctx: &Ctx<'_>, key_arn: &str, policy: &str) -> Result<(), WireError> {
    let check = Check::new("kms:PutKeyPolicy", key_arn)
        .owned_by(ctx.account())
        .with_resource_policy(Some(policy), Mode::ResourcePolicyRequired)
        .with_context("kms:CallerAccount", ctx.account());
    authz::authorize(ctx, &check)
        .map_err(WireError::from)
        .map_err(|e| {
            if e.code == "AccessDeniedException" {
                KmsError::MalformedPolicy(
                    "The new key policy will not allow you to update the key policy in the future."
                        .into(),
                )
                .into()
            } else {
                e
            }
        })
}

fn create_key(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    for (field, allowed) in [
        ("KeySpec", "SYMMETRIC_DEFAULT"),
        ("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        ("KeyUsage", "ENCRYPT_DECRYPT"),
        ("Origin", "AWS_KMS"),
    ] {
        if let Some(v) = opt_str(input, field)?
            && v != allowed
        {
            return Err(unsupported(field, v));
        }
    }
    if opt_bool(input, "MultiRegion")? == Some(true) {
        return Err(unsupported("MultiRegion", "true"));
    }
    if opt_str(input, "CustomKeyStoreId")?.is_some() {
        return Err(unsupported("CustomKeyStoreId", "(custom key stores)"));
    }
    ctx.authorize("kms:CreateKey", "*")?;
    let policy = opt_str(input, "Policy")?;
    let key_id = berth_kms::new_key_id();
    if let Some(p) = policy {
        berth_kms::validate_policy(p)?;
        if opt_bool(input, "BypassPolicyLockoutSafetyCheck")? != Some(true) {
            let arn = berth_kms::key_arn_of(&ctx.caller.region, ctx.account(), &key_id);
            lockout_check(ctx, &arn, p)?;
        }
    }
    let new = NewKey {
        key_id: Some(key_id),
        description: opt_str(input, "Description")?.unwrap_or("").to_string(),
        policy: policy.map(str::to_string),
        tags: tags_of(input)?,
    };
    let key = kms(ctx).create_key(ctx.account(), &ctx.caller.region, ctx.now_secs(), new)?;
    Ok(json!({ "KeyMetadata": key_metadata(&key) }))
}

fn describe_key(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let key = key_for(ctx, input, "kms:DescribeKey")?;
    Ok(json!({ "KeyMetadata": key_metadata(&key) }))
}

/// `Limit`: 1 to `max`, `default` when absent.
fn limit_of(input: &Value, default: usize, max: i64) -> Result<usize, WireError> {
    match opt_i64(input, "Limit")? {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {max}")
            }
        ))
        .into()),
    }
}

fn list_keys(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    ctx.authorize("kms:ListKeys", "*")?;
    let limit = limit_of(input, 100, 1000)?;
    let page = kms(ctx).list_keys(
        ctx.account(),
        &ctx.caller.region,
        limit,
        opt_str(input, "Marker")?,
        ctx.now_secs(),
    )?;
    let keys: Vec<Value> = page
        .items
        .iter()
        .map(|k| json!({"KeyId": k.key_id, "KeyArn": k.arn}))
        .collect();
    let mut out = json!({"Keys": keys, "Truncated": page.next_marker.is_some()});
    if let Some(m) = page.next_marker {
        out["NextMarker"] = m.into();
    }
    Ok(out)
}

fn enable_key(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let key = key_for(ctx, input, "kms:EnableKey")?;
    kms(ctx).enable_key(&key, ctx.now_secs())?;
    Ok(json!({}))
}

fn disable_key(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let key = key_for(ctx, input, "kms:DisableKey")?;
    kms(ctx).disable_key(&key, ctx.now_secs())?;
    Ok(json!({}))
}

fn schedule_key_deletion(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let days = opt_i64(input, "PendingWindowInDays")?.unwrap_or(30);
    let key = resolve(ctx, req_str(input, "KeyId")?)?;
    authorize_key(
        ctx,
        "kms:ScheduleKeyDeletion",
        &key,
        None,
        &[(
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            days.to_string(),
        )],
    )?;
    let key = kms(ctx).schedule_deletion(&key, days, ctx.now_secs())?;
    Ok(json!({
        "KeyId": key.arn,
        "DeletionDate": key.deletion_date,
        "KeyState": key.state.as_str(),
        "PendingWindowInDays": key.pending_window_days,
    }))
}

fn cancel_key_deletion(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let key = key_for(ctx, input, "kms:CancelKeyDeletion")?;
    let key = kms(ctx).cancel_deletion(&key, ctx.now_secs())?;
    Ok(json!({ "KeyId": key.arn }))
}

fn create_alias(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let name = req_str(input, "AliasName")?;
    let target = req_str(input, "TargetKeyId")?;
    berth_kms::validate_alias_name(name)?;
    if target.starts_with("alias/") || target.contains(":alias/") {
        // AWS's text for an alias given as the target is not known to berth.
        return Err(KmsError::Validation(
            "TargetKeyId must be a key id or key ARN, not an alias".into(),
        )
        .into());
    }
    let key = resolve(ctx, target)?;
    if key.account != ctx.account() {
        return Err(KmsError::NotFound(format!("Key '{}' does not exist", key.arn)).into());
    }
    authorize_key(ctx, "kms:CreateAlias", &key, None, &[])?;
    kms(ctx).create_alias(name, &key, ctx.now_secs())?;
    Ok(json!({}))
}

fn delete_alias(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let name = req_str(input, "AliasName")?;
    if !name.starts_with("alias/") {
        berth_kms::validate_alias_name(name)?;
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::ReservedAlias.into());
    }
    let k = kms(ctx);
    let (_, key) = k.alias(ctx.account(), &ctx.caller.region, name, ctx.now_secs())?;
    authorize_key(ctx, "kms:DeleteAlias", &key, None, &[])?;
    k.delete_alias(ctx.account(), &ctx.caller.region, name)?;
    Ok(json!({}))
}

fn list_aliases(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let key = match opt_str(input, "KeyId")? {
        Some(id) => Some(resolve(ctx, id)?),
        None => None,
    };
    ctx.authorize("kms:ListAliases", "*")?;
    let limit = limit_of(input, 50, 100)?;
    let page = kms(ctx).list_aliases(
        ctx.account(),
        &ctx.caller.region,
        key.as_ref(),
        limit,
        opt_str(input, "Marker")?,
        ctx.now_secs(),
    )?;
    let aliases: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            json!({
                "AliasName": a.name,
                "AliasArn": a.arn,
                "TargetKeyId": a.target_key_id,
                "CreationDate": a.created,
                "LastUpdatedDate": a.updated,
            })
        })
        .collect();
    let mut out = json!({"Aliases": aliases, "Truncated": page.next_marker.is_some()});
    if let Some(m) = page.next_marker {
        out["NextMarker"] = m.into();
    }
    Ok(out)
}

fn policy_name(input: &Value) -> Result<String, WireError> {
    let name = opt_str(input, "PolicyName")?.unwrap_or("default");
    if name != "default" {
        // KMS keys have one policy, `default`; AWS's text for another name is not known to berth.
        return Err(KmsError::NotFound(format!("policy {name} does not exist")).into());
    }
    Ok(name.to_string())
}

fn get_key_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let name = policy_name(input)?;
    let key = key_for(ctx, input, "kms:GetKeyPolicy")?;
    Ok(json!({ "Policy": key.policy, "PolicyName": name }))
}

fn put_key_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    policy_name(input)?;
    let policy = req_str(input, "Policy")?;
    let key = key_for(ctx, input, "kms:PutKeyPolicy")?;
    berth_kms::validate_policy(policy)?;
    if opt_bool(input, "BypassPolicyLockoutSafetyCheck")? != Some(true) {
        lockout_check(ctx, &key.arn, policy)?;
    }
    kms(ctx).put_policy(&key, policy, ctx.now_secs())?;
    Ok(json!({}))
}

fn tag_resource(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let tags = tags_of(input)?;
    let key = key_for(ctx, input, "kms:TagResource")?;
    kms(ctx).tag_key(&key, &tags, ctx.now_secs())?;
    Ok(json!({}))
}

/// DryRun: everything is checked, nothing is done.
fn dry_run(input: &Value, keys: &[&Key]) -> Result<(), WireError> {
    if opt_bool(input, "DryRun")? == Some(true) {
        for k in keys {
            k.check_usable()?;
        }
        return Err(WireError::client(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun option is set.",
        ));
    }
    Ok(())
}

fn check_algorithm(input: &Value, field: &str) -> Result<(), WireError> {
    match opt_str(input, field)? {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(other) => Err(WireError::client(
            "InvalidKeyUsageException",
            format!("berth keys support only SYMMETRIC_DEFAULT, not {other}"),
        )),
    }
}

fn encrypt(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    check_algorithm(input, "EncryptionAlgorithm")?;
    let plaintext = opt_blob(input, "Plaintext")?.ok_or_else(|| missing("Plaintext"))?;
    let context = opt_string_map(input, "EncryptionContext")?;
    let key = resolve(ctx, req_str(input, "KeyId")?)?;
    authorize_key(ctx, "kms:Encrypt", &key, Some(&context), &[])?;
    if plaintext.is_empty() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        )
        .into());
    }
    dry_run(input, &[&key])?;
    let blob = kms(ctx).encrypt(&key, &plaintext, &context)?;
    Ok(json!({
        "CiphertextBlob": B64.encode(blob),
        "KeyId": key.arn,
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }))
}

/// The key a blob was made under, checked against an optional KeyId the caller named.
fn blob_key(ctx: &Ctx<'_>, blob: &[u8], key_id: Option<&str>) -> Result<Key, WireError> {
    let owner = kms(ctx).key_of_blob(&ctx.caller.region, blob, ctx.now_secs())?;
    if let Some(id) = key_id {
        let named = resolve(ctx, id)?;
        if named.arn != owner.arn {
            return Err(KmsError::IncorrectKey.into());
        }
    }
    Ok(owner)
}

fn decrypt(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    check_algorithm(input, "EncryptionAlgorithm")?;
    let blob = opt_blob(input, "CiphertextBlob")?.ok_or_else(|| missing("CiphertextBlob"))?;
    let context = opt_string_map(input, "EncryptionContext")?;
    let key = blob_key(ctx, &blob, opt_str(input, "KeyId")?)?;
    authorize_key(ctx, "kms:Decrypt", &key, Some(&context), &[])?;
    dry_run(input, &[&key])?;
    let plain = kms(ctx).decrypt(&key, &blob, &context)?;
    Ok(json!({
        "KeyId": key.arn,
        "Plaintext": B64.encode(plain.as_slice()),
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }))
}

fn data_key_size(input: &Value) -> Result<usize, WireError> {
    let spec = opt_str(input, "KeySpec")?;
    let n = opt_i64(input, "NumberOfBytes")?;
    match (spec, n) {
        (Some("AES_256"), None) => Ok(32),
        (Some("AES_128"), None) => Ok(16),
        (Some(other), None) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))
        .into()),
        (None, Some(n)) if (1..=1024).contains(&n) => Ok(n as usize),
        (None, Some(n)) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {}",
            if n < 1 { "greater than or equal to 1" } else { "less than or equal to 1024" }
        ))
        .into()),
        _ => Err(KmsError::Validation("Please specify either number of bytes or key spec.".into()).into()),
    }
}

/// A data key: its key, its plaintext, its ciphertext blob.
type DataKey = (Key, zeroize::Zeroizing<Vec<u8>>, Vec<u8>);

fn make_data_key(ctx: &Ctx<'_>, input: &Value, action: &str) -> Result<DataKey, WireError> {
    let n = data_key_size(input)?;
    let context = opt_string_map(input, "EncryptionContext")?;
    let key = resolve(ctx, req_str(input, "KeyId")?)?;
    authorize_key(ctx, action, &key, Some(&context), &[])?;
    dry_run(input, &[&key])?;
    let (plain, blob) = kms(ctx).generate_data_key(&key, n, &context)?;
    Ok((key, plain, blob))
}

fn generate_data_key(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let (key, plain, blob) = make_data_key(ctx, input, "kms:GenerateDataKey")?;
    Ok(json!({
        "CiphertextBlob": B64.encode(blob),
        "Plaintext": B64.encode(plain.as_slice()),
        "KeyId": key.arn,
    }))
}

fn generate_data_key_without_plaintext(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let (key, _plain, blob) = make_data_key(ctx, input, "kms:GenerateDataKeyWithoutPlaintext")?;
    Ok(json!({
        "CiphertextBlob": B64.encode(blob),
        "KeyId": key.arn,
    }))
}

fn re_encrypt(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    check_algorithm(input, "SourceEncryptionAlgorithm")?;
    check_algorithm(input, "DestinationEncryptionAlgorithm")?;
    let blob = opt_blob(input, "CiphertextBlob")?.ok_or_else(|| missing("CiphertextBlob"))?;
    let source_context = opt_string_map(input, "SourceEncryptionContext")?;
    let dest_context = opt_string_map(input, "DestinationEncryptionContext")?;
    let dest_id = req_str(input, "DestinationKeyId")?;
    let source = blob_key(ctx, &blob, opt_str(input, "SourceKeyId")?)?;
    authorize_key(
        ctx,
        "kms:ReEncryptFrom",
        &source,
        Some(&source_context),
        &[],
    )?;
    let dest = resolve(ctx, dest_id)?;
    authorize_key(ctx, "kms:ReEncryptTo", &dest, Some(&dest_context), &[])?;
    dry_run(input, &[&source, &dest])?;
    let k = kms(ctx);
    let plain = k.decrypt(&source, &blob, &source_context)?;
    let out = k.encrypt(&dest, &plain, &dest_context)?;
    Ok(json!({
        "CiphertextBlob": B64.encode(out),
        "SourceKeyId": source.arn,
        "KeyId": dest.arn,
        "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }))
}
