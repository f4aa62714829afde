//! AWS Secrets Manager (JSON 1.1, target prefix `secretsmanager`).
//!
//! Each handler finds the secret, authorises the action as the caller (identity policies plus
//! the secret's resource policy), and acts through `berth_secrets`. A secret's value is
//! envelope-encrypted: on write, KMS GenerateDataKey under the secret's key; on read, KMS
//! Decrypt — both authorised **as the caller** against the key policy, with
//! `kms:ViaService = secretsmanager.<region>.amazonaws.com`, `kms:CallerAccount` and the
//! encryption context `{"SecretARN", "SecretVersionId"}`.

use base64::Engine;
use berth_kms::{EncryptionContext, Key, Kms, KmsError};
use berth_secrets::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, ListQuery, NewSecret, NewVersion, Secret, SecretValue,
    Secrets, SecretsError, Tag, Version,
};
use serde_json::{Map, Value, json};

use crate::error::WireError;
use crate::services::Ctx;
use crate::services::kms::{B64, authorize_key, input::*};
use berth_control::authz::{self, Check, Mode};

/// AWS's text when KMS refuses Secrets Manager's call on the caller's behalf.
const KMS_DENIED: &str = "Access to KMS is not allowed";
/// AWS's text when the key cannot decrypt (disabled, pending deletion).
const DECRYPTION_FAILURE: &str =
    "Secrets Manager can't decrypt the protected secret text using the provided KMS key.";
/// AWS's text when the key cannot encrypt.
const ENCRYPTION_FAILURE: &str = "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state.";

/// Runs one operation; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, input: Value) -> Option<Result<Value, WireError>> {
    let handler: fn(&Ctx<'_>, &Value) -> Result<Value, WireError> = match operation {
        "CreateSecret" => create_secret,
        "GetSecretValue" => get_secret_value,
        "BatchGetSecretValue" => batch_get_secret_value,
        "PutSecretValue" => put_secret_value,
        "UpdateSecret" => update_secret,
        "UpdateSecretVersionStage" => update_secret_version_stage,
        "DescribeSecret" => describe_secret,
        "ListSecrets" => list_secrets,
        "ListSecretVersionIds" => list_secret_version_ids,
        "DeleteSecret" => delete_secret,
        "RestoreSecret" => restore_secret,
        "PutResourcePolicy" => put_resource_policy,
        "GetResourcePolicy" => get_resource_policy,
        "DeleteResourcePolicy" => delete_resource_policy,
        "ValidateResourcePolicy" => validate_resource_policy,
        "TagResource" => tag_resource,
        "UntagResource" => untag_resource,
        _ => return None,
    };
    Some(handler(ctx, &input))
}

fn secrets<'c>(ctx: &'c Ctx<'_>) -> Secrets<'c> {
    Secrets::new(ctx.control.store.as_ref())
}

fn kms<'c>(ctx: &'c Ctx<'_>) -> Kms<'c> {
    Kms::new(ctx.control.store.as_ref(), &ctx.control.root_key)
}

/// AWS's IAM denial for Secrets Manager names the SecretId as the caller gave it.
fn name_given_id(mut e: WireError, arn: &str, given: &str) -> WireError {
    if e.code == "AccessDeniedException"
        && let Some(m) = &e.message
    {
        e.message = Some(m.replace(
            &format!("on resource: {arn} "),
            &format!("on resource: {given} "),
        ));
    }
    e
}

fn authorize_secret(
    ctx: &Ctx<'_>,
    action: &str,
    secret: &Secret,
    given: &str,
) -> Result<(), WireError> {
    let check = Check::new(action, &secret.arn)
        .owned_by(&secret.account)
        .with_resource_policy(secret.resource_policy.as_deref(), Mode::Standard)
        .with_contexts(secret.condition_keys());
    authz::authorize(ctx, &check)
        .map_err(WireError::from)
        .map_err(|e| name_given_id(e, &secret.arn, given))
}

/// Finds the secret `SecretId` names and authorises `action` on it. When there is no such
/// secret, a caller who may not act on one by that id learns nothing: AccessDenied, not
/// ResourceNotFound.
fn find(ctx: &Ctx<'_>, secret_id: &str, action: &str) -> Result<Secret, WireError> {
    match secrets(ctx).resolve(ctx.account(), &ctx.caller.region, secret_id, ctx.now_secs()) {
        Ok(s) => {
            authorize_secret(ctx, action, &s, secret_id)?;
            Ok(s)
        }
        Err(SecretsError::NotFound) => {
            let (resource, account) = match berth_core::Arn::parse(secret_id) {
                Ok(arn) => (secret_id.to_string(), arn.account),
                Err(_) => (
                    format!(
                        "arn:aws:secretsmanager:{}:{}:secret:{secret_id}",
                        ctx.caller.region,
                        ctx.account()
                    ),
                    ctx.account().to_string(),
                ),
            };
            let check = Check::new(action, &resource).owned_by(&account);
            authz::authorize(ctx, &check)
                .map_err(WireError::from)
                .map_err(|e| name_given_id(e, &resource, secret_id))?;
            Err(SecretsError::NotFound.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn secret_id(input: &Value) -> Result<&str, WireError> {
    req_str(input, "SecretId")
}

fn encryption_context(secret: &str, version_id: &str) -> EncryptionContext {
    let mut c = EncryptionContext::new();
    c.insert("SecretARN".into(), secret.to_string());
    c.insert("SecretVersionId".into(), version_id.to_string());
    c
}

/// Authorises Secrets Manager's call to KMS on the caller's behalf.
fn authorize_via(
    ctx: &Ctx<'_>,
    action: &str,
    key: &Key,
    context: &EncryptionContext,
) -> Result<(), WireError> {
    let via = format!("secretsmanager.{}.amazonaws.com", ctx.caller.region);
    authorize_key(ctx, action, key, Some(context), &[("kms:ViaService", via)]).map_err(|e| {
        if e.code == "AccessDeniedException" {
            WireError::client("AccessDeniedException", KMS_DENIED)
        } else {
            e
        }
    })
}

/// The key that encrypts new versions of a secret of `owner`: the one named, or the AWS
/// managed key `aws/secretsmanager` of the owner's account and region.
fn write_key(ctx: &Ctx<'_>, owner: &str, kms_key_id: Option<&str>) -> Result<Key, WireError> {
    let k = kms(ctx);
    let region = &ctx.caller.region;
    let now = ctx.now_secs();
    let found = match kms_key_id {
        None => k.secrets_manager_key(owner, region, now),
        Some(id) => k.resolve(owner, region, id, now),
    };
    found.map_err(|e| match e {
        // Secrets Manager passes KMS's reason on (observed: `... invalid KMS key: Invalid arn
        // us-west-2`); that the code is InvalidParameterException is berth's best knowledge.
        KmsError::NotFound(m) | KmsError::InvalidArn(m) => WireError::client(
            "InvalidParameterException",
            format!("The operation failed because of an invalid KMS key: {m}"),
        ),
        other => WireError::from(other),
    })
}

/// Encrypts `value` as version `version_id` of the secret `arn` (owned by `owner`).
fn seal(
    ctx: &Ctx<'_>,
    owner: &str,
    arn: &str,
    kms_key_id: Option<&str>,
    version_id: &str,
    value: &SecretValue,
) -> Result<NewVersion, WireError> {
    let key = write_key(ctx, owner, kms_key_id)?;
    let context = encryption_context(arn, version_id);
    // AWS documents both permissions for writing a secret under a key.
    authorize_via(ctx, "kms:GenerateDataKey", &key, &context)?;
    authorize_via(ctx, "kms:Decrypt", &key, &context)?;
    let (data_key, blob) = kms(ctx)
        .generate_data_key(&key, 32, &context)
        .map_err(|e| match e {
            KmsError::Disabled(_) | KmsError::InvalidState(_) => {
                WireError::client("EncryptionFailure", ENCRYPTION_FAILURE)
            }
            other => WireError::from(other),
        })?;
    let sealed = berth_secrets::seal_value(&data_key, &blob, arn, version_id, value)?;
    Ok(NewVersion {
        id: version_id.to_string(),
        kms_key_arn: key.arn,
        sealed,
    })
}

/// Decrypts one version's value as the caller.
fn open(ctx: &Ctx<'_>, secret: &Secret, version: &Version) -> Result<SecretValue, WireError> {
    let sm = secrets(ctx);
    let sealed = sm.sealed_value(secret, &version.id)?;
    let blob = sealed.data_key_blob()?;
    let failure = || WireError::client("DecryptionFailure", DECRYPTION_FAILURE);
    let key = kms(ctx)
        .key_of_blob(&secret.region, &blob, ctx.now_secs())
        .map_err(|e| match e {
            KmsError::Seal(_) | KmsError::Store(_) => WireError::from(e),
            _ => failure(),
        })?;
    let context = encryption_context(&secret.arn, &version.id);
    authorize_via(ctx, "kms:Decrypt", &key, &context)?;
    let data_key = kms(ctx)
        .decrypt(&key, &blob, &context)
        .map_err(|e| match e {
            KmsError::Seal(_) | KmsError::Store(_) => WireError::from(e),
            _ => failure(),
        })?;
    Ok(sealed.open(&data_key, &secret.arn, &version.id)?)
}

fn value_input(input: &Value) -> Result<Option<SecretValue>, WireError> {
    let string = opt_str(input, "SecretString")?.map(str::to_string);
    let binary = opt_blob(input, "SecretBinary")?;
    Ok(SecretValue::from_input(string, binary)?)
}

/// The version id for a write: the ClientRequestToken, or a fresh one.
fn token(input: &Value) -> Result<String, WireError> {
    match opt_str(input, "ClientRequestToken")? {
        Some(t) => {
            berth_secrets::validate_version_id("clientRequestToken", t)?;
            Ok(t.to_string())
        }
        None => Ok(berth_core::ids::request_id()),
    }
}

fn tags_of(input: &Value) -> Result<Vec<Tag>, WireError> {
    let tags: Vec<Tag> = opt_pairs(input, "Tags", "Key", "Value")?
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect();
    berth_secrets::validate_tags(&tags)?;
    Ok(tags)
}

fn tags_json(tags: &[Tag]) -> Value {
    tags.iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect()
}

/// An idempotent retry: the version exists; it is the same request when its value is the same.
fn same_version(
    ctx: &Ctx<'_>,
    secret: &Secret,
    version: &Version,
    value: Option<&SecretValue>,
) -> Result<(), WireError> {
    if let Some(v) = value
        && &open(ctx, secret, version)? != v
    {
        return Err(SecretsError::VersionExists.into());
    }
    Ok(())
}

fn create_secret(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let name = req_str(input, "Name")?;
    berth_secrets::validate_name(name)?;
    let description = opt_str(input, "Description")?;
    if let Some(d) = description {
        berth_secrets::validate_description(d)?;
    }
    let value = value_input(input)?;
    let version_id = token(input)?;
    let tags = tags_of(input)?;
    if opt_list(input, "AddReplicaRegions")?.is_some_and(|l| !l.is_empty()) {
        // Replication to other regions is not part of berth.
        return Err(WireError::client(
            "InvalidRequestException",
            "berth does not replicate secrets to other regions",
        ));
    }
    let kms_key_id = opt_str(input, "KmsKeyId")?
        .filter(|k| !k.is_empty() && *k != berth_kms::SECRETS_MANAGER_ALIAS);
    let account = ctx.account().to_string();
    let region = ctx.caller.region.clone();
    let now = ctx.now_secs();
    let sm = secrets(ctx);
    if let Some(existing) = sm.by_name(&account, &region, name, now)? {
        authorize_secret(ctx, "secretsmanager:CreateSecret", &existing, name)?;
        if existing.is_deleted() {
            return Err(SecretsError::NameScheduledForDeletion.into());
        }
        // A retry of the same CreateSecret (same token, same value) answers as the first did.
        if let Some(v) = existing.version(&version_id) {
            same_version(ctx, &existing, v, value.as_ref())?;
            return Ok(json!({"ARN": existing.arn, "Name": existing.name, "VersionId": v.id}));
        }
        return Err(SecretsError::Exists(name.to_string()).into());
    }
    let arn = berth_secrets::new_arn(&account, &region, name);
    let check = Check::new("secretsmanager:CreateSecret", &arn).owned_by(&account);
    authz::authorize(ctx, &check)
        .map_err(WireError::from)
        .map_err(|e| name_given_id(e, &arn, name))?;
    if !tags.is_empty() {
        // Tagging at creation needs TagResource as well.
        let check = Check::new("secretsmanager:TagResource", &arn).owned_by(&account);
        authz::authorize(ctx, &check)
            .map_err(WireError::from)
            .map_err(|e| name_given_id(e, &arn, name))?;
    }
    let version = match &value {
        Some(v) => Some(seal(ctx, &account, &arn, kms_key_id, &version_id, v)?),
        None => None,
    };
    let has_version = version.is_some();
    let secret = sm.create(
        NewSecret {
            arn,
            name: name.to_string(),
            account,
            region,
            description: description.map(str::to_string),
            kms_key_id: kms_key_id.map(str::to_string),
            tags,
        },
        version,
        now,
    )?;
    let mut out = json!({"ARN": secret.arn, "Name": secret.name});
    if has_version {
        out["VersionId"] = version_id.into();
    }
    Ok(out)
}

/// GetSecretValue's answer for one secret. Its members are declared in the order of their
/// names, the order a `Value` object writes them in, so that writing it directly gives the
/// same bytes as writing it through a `Value` (a test holds that).
#[derive(serde::Serialize)]
struct SecretValueOutput<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    #[serde(rename = "CreatedDate")]
    created_date: u64,
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "SecretBinary", skip_serializing_if = "Option::is_none")]
    secret_binary: Option<String>,
    #[serde(rename = "SecretString", skip_serializing_if = "Option::is_none")]
    secret_string: Option<&'a str>,
    #[serde(rename = "VersionId")]
    version_id: &'a str,
    #[serde(rename = "VersionStages")]
    version_stages: &'a [String],
}

impl<'a> SecretValueOutput<'a> {
    fn new(secret: &'a Secret, version: &'a Version, value: &'a SecretValue) -> Self {
        let (secret_string, secret_binary) = match value {
            SecretValue::String(s) => (Some(s.as_str()), None),
            SecretValue::Binary(b) => (None, Some(B64.encode(b.as_slice()))),
        };
        SecretValueOutput {
            arn: &secret.arn,
            created_date: version.created,
            name: &secret.name,
            secret_binary,
            secret_string,
            version_id: &version.id,
            version_stages: &version.stages,
        }
    }
}

/// GetSecretValue's answer for one secret (the version by id, by label, or AWSCURRENT), handed
/// to `answer` to be written.
fn read_value_with<T>(
    ctx: &Ctx<'_>,
    secret: &Secret,
    version_id: Option<&str>,
    stage: Option<&str>,
    answer: impl FnOnce(&SecretValueOutput<'_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    secret.check_not_deleted()?;
    let version = secret.select_version(version_id, stage)?;
    let value = open(ctx, secret, version)?;
    secrets(ctx).touch(secret, &version.id, ctx.now_secs())?;
    answer(&SecretValueOutput::new(secret, version, &value))
}

/// [`read_value_with`] as a `Value`.
fn read_value(
    ctx: &Ctx<'_>,
    secret: &Secret,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<Value, WireError> {
    read_value_with(ctx, secret, version_id, stage, |out| {
        serde_json::to_value(out).map_err(|e| WireError::internal(&e))
    })
}

/// GetSecretValue, answered with its JSON written directly (the API's path).
pub(crate) fn get_secret_value_json(ctx: &Ctx<'_>, input: &Value) -> Result<Vec<u8>, WireError> {
    get_secret_value_as(ctx, input, |out| crate::services::json_bytes(out))
}

fn get_secret_value(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    get_secret_value_as(ctx, input, |out| {
        serde_json::to_value(out).map_err(|e| WireError::internal(&e))
    })
}

fn get_secret_value_as<T>(
    ctx: &Ctx<'_>,
    input: &Value,
    answer: impl FnOnce(&SecretValueOutput<'_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    let id = secret_id(input)?;
    let version_id = opt_str(input, "VersionId")?;
    if let Some(v) = version_id {
        berth_secrets::validate_version_id("versionId", v)?;
    }
    let stage = opt_str(input, "VersionStage")?;
    let secret = find(ctx, id, "secretsmanager:GetSecretValue")?;
    read_value_with(ctx, &secret, version_id, stage, answer)
}

fn batch_get_secret_value(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    ctx.authorize("secretsmanager:BatchGetSecretValue", "*")?;
    let ids = opt_str_list(input, "SecretIdList")?;
    let has_filters = opt_list(input, "Filters")?.is_some_and(|f| !f.is_empty());
    let ids: Vec<String> = match (ids, has_filters) {
        (Some(_), true) | (None, false) => {
            // AWS's text for this case is not known to berth.
            return Err(WireError::client(
                "InvalidParameterException",
                "either SecretIdList or Filters must be given, not both",
            ));
        }
        (Some(ids), false) => {
            if ids.len() > 20 {
                return Err(WireError::client(
                    "ValidationException",
                    "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20",
                ));
            }
            ids
        }
        (None, true) => {
            ctx.authorize("secretsmanager:ListSecrets", "*")?;
            let query = ListQuery {
                filters: filters_of(input)?,
                ..ListQuery::default()
            };
            let max = page_max(input, 20)?;
            let cursor = page_cursor(input)?;
            let (page, next) = secrets(ctx).page(
                ctx.account(),
                &ctx.caller.region,
                &query,
                cursor.as_deref(),
                max,
                ctx.now_secs(),
            )?;
            let ids: Vec<String> = page.into_iter().map(|s| s.arn).collect();
            let (values, errors) = batch_values(ctx, &ids);
            let mut out = json!({"SecretValues": values, "Errors": errors});
            if let Some(c) = next {
                out["NextToken"] = cursor_token(&c).into();
            }
            return Ok(out);
        }
    };
    let (start, max) = page_args(input, 20)?;
    let end = (start + max).min(ids.len());
    let (values, errors) = batch_values(ctx, &ids[start.min(end)..end]);
    let mut out = json!({"SecretValues": values, "Errors": errors});
    if end < ids.len() {
        out["NextToken"] = next_token(end).into();
    }
    Ok(out)
}

fn batch_values(ctx: &Ctx<'_>, ids: &[String]) -> (Vec<Value>, Vec<Value>) {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let one = find(ctx, id, "secretsmanager:GetSecretValue")
            .and_then(|s| read_value(ctx, &s, None, None));
        match one {
            Ok(v) => values.push(v),
            Err(e) => errors.push(json!({
                "SecretId": id,
                "ErrorCode": e.code,
                "Message": e.message.unwrap_or_default(),
            })),
        }
    }
    (values, errors)
}

fn put_secret_value(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let value = value_input(input)?;
    let version_id = token(input)?;
    let stages =
        opt_str_list(input, "VersionStages")?.unwrap_or_else(|| vec![AWSCURRENT.to_string()]);
    let secret = find(ctx, id, "secretsmanager:PutSecretValue")?;
    secret.check_not_deleted()?;
    let Some(value) = value else {
        // AWS's text for a PutSecretValue without a value is not known to berth.
        return Err(WireError::client(
            "InvalidRequestException",
            "You must provide either SecretString or SecretBinary.",
        ));
    };
    if let Some(existing) = secret.version(&version_id) {
        same_version(ctx, &secret, existing, Some(&value))?;
        return Ok(json!({
            "ARN": secret.arn, "Name": secret.name, "VersionId": existing.id,
            "VersionStages": existing.stages,
        }));
    }
    let version = seal(
        ctx,
        &secret.account,
        &secret.arn,
        secret.kms_key_id.as_deref(),
        &version_id,
        &value,
    )?;
    let updated = secrets(ctx).add_version(&secret, version, &stages, ctx.now_secs())?;
    let stages = updated
        .version(&version_id)
        .map(|v| v.stages.clone())
        .unwrap_or_default();
    Ok(json!({
        "ARN": updated.arn, "Name": updated.name, "VersionId": version_id,
        "VersionStages": stages,
    }))
}

fn update_secret(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let description = opt_str(input, "Description")?;
    if let Some(d) = description {
        berth_secrets::validate_description(d)?;
    }
    let value = value_input(input)?;
    let version_id = token(input)?;
    let kms_key_id = opt_str(input, "KmsKeyId")?.map(|k| {
        if k.is_empty() || k == berth_kms::SECRETS_MANAGER_ALIAS {
            None
        } else {
            Some(k.to_string())
        }
    });
    let secret = find(ctx, id, "secretsmanager:UpdateSecret")?;
    secret.check_not_deleted()?;
    if let (Some(v), Some(existing)) = (&value, secret.version(&version_id)) {
        same_version(ctx, &secret, existing, Some(v))?;
        return Ok(json!({"ARN": secret.arn, "Name": secret.name, "VersionId": existing.id}));
    }
    if let Some(Some(k)) = &kms_key_id {
        // A new key must be usable before it is recorded.
        write_key(ctx, &secret.account, Some(k))?;
    }
    let effective_key = match &kms_key_id {
        Some(k) => k.clone(),
        None => secret.kms_key_id.clone(),
    };
    // A new key re-encrypts the labelled versions, as far as the caller may decrypt them and
    // use the new key; the others stay under their old key (as AWS documents).
    let mut reencrypted = Vec::new();
    if kms_key_id.is_some() && effective_key != secret.kms_key_id {
        for v in secret.versions.iter().filter(|v| {
            v.stages
                .iter()
                .any(|s| [AWSCURRENT, AWSPREVIOUS, AWSPENDING].contains(&s.as_str()))
        }) {
            let Ok(plain) = open(ctx, &secret, v) else {
                continue;
            };
            if let Ok(nv) = seal(
                ctx,
                &secret.account,
                &secret.arn,
                effective_key.as_deref(),
                &v.id,
                &plain,
            ) {
                reencrypted.push(nv);
            }
        }
    }
    let version = match &value {
        Some(v) => Some(seal(
            ctx,
            &secret.account,
            &secret.arn,
            effective_key.as_deref(),
            &version_id,
            v,
        )?),
        None => None,
    };
    let has_version = version.is_some();
    let updated = secrets(ctx).update_secret(
        &secret,
        description.map(str::to_string),
        kms_key_id,
        reencrypted,
        version,
        ctx.now_secs(),
    )?;
    let mut out = json!({"ARN": updated.arn, "Name": updated.name});
    if has_version {
        out["VersionId"] = version_id.into();
    }
    Ok(out)
}

fn update_secret_version_stage(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let stage = req_str(input, "VersionStage")?;
    let remove_from = opt_str(input, "RemoveFromVersionId")?;
    let move_to = opt_str(input, "MoveToVersionId")?;
    if let Some(v) = remove_from {
        berth_secrets::validate_version_id("removeFromVersionId", v)?;
    }
    if let Some(v) = move_to {
        berth_secrets::validate_version_id("moveToVersionId", v)?;
    }
    let secret = find(ctx, id, "secretsmanager:UpdateSecretVersionStage")?;
    let updated =
        secrets(ctx).update_stage(&secret, stage, remove_from, move_to, ctx.now_secs())?;
    Ok(json!({"ARN": updated.arn, "Name": updated.name}))
}

/// DescribeSecret's fields (ListSecrets names the version map differently).
fn describe_json(s: &Secret, versions_field: &str) -> Value {
    let mut m = Map::new();
    m.insert("ARN".into(), s.arn.clone().into());
    m.insert("Name".into(), s.name.clone().into());
    if let Some(d) = &s.description {
        m.insert("Description".into(), d.clone().into());
    }
    // Omitted for the AWS managed key, as AWS does.
    if let Some(k) = &s.kms_key_id {
        m.insert("KmsKeyId".into(), k.clone().into());
    }
    m.insert("LastChangedDate".into(), s.last_changed.into());
    if let Some(a) = s.last_accessed {
        m.insert("LastAccessedDate".into(), a.into());
    }
    if let Some(d) = s.deleted_date {
        m.insert("DeletedDate".into(), d.into());
    }
    if !s.tags.is_empty() {
        m.insert("Tags".into(), tags_json(&s.tags));
    }
    let map: Map<String, Value> = s
        .versions_to_stages()
        .into_iter()
        .map(|(id, stages)| (id.to_string(), json!(stages)))
        .collect();
    m.insert(versions_field.into(), Value::Object(map));
    m.insert("CreatedDate".into(), s.created.into());
    Value::Object(m)
}

fn describe_secret(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let secret = find(ctx, secret_id(input)?, "secretsmanager:DescribeSecret")?;
    Ok(describe_json(&secret, "VersionIdsToStages"))
}

fn filters_of(input: &Value) -> Result<Vec<(String, Vec<String>)>, WireError> {
    let mut out = Vec::new();
    for f in opt_list(input, "Filters")?.into_iter().flatten() {
        let key = req_str(f, "Key")?.to_string();
        let values = opt_str_list(f, "Values")?.unwrap_or_default();
        out.push((key, values));
    }
    Ok(out)
}

fn next_token(offset: usize) -> String {
    B64.encode(format!("berth-page:{offset}"))
}

/// (offset, page size) from NextToken and MaxResults, for lists paged by position.
fn page_args(input: &Value, max_default: usize) -> Result<(usize, usize), WireError> {
    let max = page_max(input, max_default)?;
    let start = match opt_str(input, "NextToken")? {
        None => 0,
        Some(t) => token_text(t)
            .and_then(|s| s.strip_prefix("berth-page:").and_then(|n| n.parse().ok()))
            .ok_or_else(invalid_token)?,
    };
    Ok((start, max))
}

fn invalid_token() -> WireError {
    WireError::from(SecretsError::InvalidNextToken(
        "The NextToken value is invalid.".into(),
    ))
}

fn token_text(t: &str) -> Option<String> {
    B64.decode(t).ok().and_then(|b| String::from_utf8(b).ok())
}

/// A keyed cursor (the last key of the previous page) as a NextToken.
fn cursor_token(cursor: &str) -> String {
    B64.encode(format!("berth-cursor:{cursor}"))
}

/// The cursor a NextToken of [`cursor_token`] carries.
fn page_cursor(input: &Value) -> Result<Option<String>, WireError> {
    match opt_str(input, "NextToken")? {
        None => Ok(None),
        Some(t) => token_text(t)
            .and_then(|s| s.strip_prefix("berth-cursor:").map(str::to_string))
            .filter(|c| c.is_ascii() && !c.chars().any(|ch| ch.is_ascii_control()))
            .map(Some)
            .ok_or_else(invalid_token),
    }
}

/// MaxResults: 1–100, `max_default` when absent.
fn page_max(input: &Value, max_default: usize) -> Result<usize, WireError> {
    match opt_i64(input, "MaxResults")? {
        None => Ok(max_default),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(WireError::client(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value {}",
                if n < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 100"
                }
            ),
        )),
    }
}

fn list_secrets(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let descending = match opt_str(input, "SortOrder")? {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(WireError::client(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"
                ),
            ));
        }
    };
    let query = ListQuery {
        include_planned_deletion: opt_bool(input, "IncludePlannedDeletion")?.unwrap_or(false),
        filters: filters_of(input)?,
        sort_by: opt_str(input, "SortBy")?.map(str::to_string),
        descending,
    };
    let max = page_max(input, 100)?;
    let cursor = page_cursor(input)?;
    ctx.authorize("secretsmanager:ListSecrets", "*")?;
    let (page, next) = secrets(ctx).page(
        ctx.account(),
        &ctx.caller.region,
        &query,
        cursor.as_deref(),
        max,
        ctx.now_secs(),
    )?;
    let list: Vec<Value> = page
        .iter()
        .map(|s| describe_json(s, "SecretVersionsToStages"))
        .collect();
    let mut out = json!({ "SecretList": list });
    if let Some(c) = next {
        out["NextToken"] = cursor_token(&c).into();
    }
    Ok(out)
}

fn list_secret_version_ids(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let secret = find(
        ctx,
        secret_id(input)?,
        "secretsmanager:ListSecretVersionIds",
    )?;
    let include_deprecated = opt_bool(input, "IncludeDeprecated")?.unwrap_or(false);
    let (start, max) = page_args(input, 100)?;
    let versions: Vec<&Version> = secret
        .versions
        .iter()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .collect();
    let end = (start + max).min(versions.len());
    let list: Vec<Value> = versions
        .iter()
        .take(end)
        .skip(start)
        .map(|v| {
            let mut m = json!({
                "VersionId": v.id,
                "VersionStages": v.stages,
                "CreatedDate": v.created,
                "KmsKeyIds": [v.kms_key_arn],
            });
            if let Some(a) = v.last_accessed {
                m["LastAccessedDate"] = a.into();
            }
            m
        })
        .collect();
    let mut out = json!({"Versions": list, "ARN": secret.arn, "Name": secret.name});
    if end < versions.len() {
        out["NextToken"] = next_token(end).into();
    }
    Ok(out)
}

fn delete_secret(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let window = opt_i64(input, "RecoveryWindowInDays")?;
    let force = opt_bool(input, "ForceDeleteWithoutRecovery")?.unwrap_or(false);
    let secret = find(ctx, id, "secretsmanager:DeleteSecret")?;
    let deleted = secrets(ctx).delete(&secret, window, force, ctx.now_secs())?;
    Ok(json!({
        "ARN": deleted.arn, "Name": deleted.name, "DeletionDate": deleted.deletion_date,
    }))
}

fn restore_secret(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let secret = find(ctx, secret_id(input)?, "secretsmanager:RestoreSecret")?;
    let restored = secrets(ctx).restore(&secret, ctx.now_secs())?;
    Ok(json!({"ARN": restored.arn, "Name": restored.name}))
}

fn put_resource_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let policy = req_str(input, "ResourcePolicy")?;
    berth_secrets::validate_policy(policy)?;
    // BlockPublicPolicy is accepted; berth does not judge whether a policy is public.
    opt_bool(input, "BlockPublicPolicy")?;
    let secret = find(ctx, id, "secretsmanager:PutResourcePolicy")?;
    let updated = secrets(ctx).set_policy(&secret, Some(policy), ctx.now_secs())?;
    Ok(json!({"ARN": updated.arn, "Name": updated.name}))
}

fn get_resource_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let secret = find(ctx, secret_id(input)?, "secretsmanager:GetResourcePolicy")?;
    let mut out = json!({"ARN": secret.arn, "Name": secret.name});
    if let Some(p) = &secret.resource_policy {
        out["ResourcePolicy"] = p.clone().into();
    }
    Ok(out)
}

fn delete_resource_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let secret = find(
        ctx,
        secret_id(input)?,
        "secretsmanager:DeleteResourcePolicy",
    )?;
    let updated = secrets(ctx).set_policy(&secret, None, ctx.now_secs())?;
    Ok(json!({"ARN": updated.arn, "Name": updated.name}))
}

fn validate_resource_policy(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let policy = req_str(input, "ResourcePolicy")?;
    match opt_str(input, "SecretId")? {
        Some(id) => {
            find(ctx, id, "secretsmanager:ValidateResourcePolicy")?;
        }
        None => ctx.authorize("secretsmanager:ValidateResourcePolicy", "*")?,
    }
    berth_secrets::validate_policy(policy)?;
    Ok(json!({"PolicyValidationPassed": true, "ValidationErrors": []}))
}

fn tag_resource(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    if opt_list(input, "Tags")?.is_none() {
        return Err(missing("Tags"));
    }
    let tags = tags_of(input)?;
    let secret = find(ctx, id, "secretsmanager:TagResource")?;
    secrets(ctx).tag(&secret, &tags, ctx.now_secs())?;
    Ok(json!({}))
}

fn untag_resource(ctx: &Ctx<'_>, input: &Value) -> Result<Value, WireError> {
    let id = secret_id(input)?;
    let keys = opt_str_list(input, "TagKeys")?.ok_or_else(|| missing("TagKeys"))?;
    let secret = find(ctx, id, "secretsmanager:UntagResource")?;
    secrets(ctx).untag(&secret, &keys, ctx.now_secs())?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writing GetSecretValue's answer directly gives the bytes the `Value` it was built as
    /// before gives.
    #[test]
    fn secret_value_output_is_written_as_its_value_would_be() {
        let stages = vec!["AWSCURRENT".to_string(), "AWSPREVIOUS".to_string()];
        for (string, binary) in [
            (Some("{\"password\":\"p\u{e9}\\\"\"}"), None),
            (None, Some(B64.encode([0u8, 1, 2, 255]))),
        ] {
            let out = SecretValueOutput {
                arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
                created_date: 1_795_914_900,
                name: "db",
                secret_binary: binary.clone(),
                secret_string: string,
                version_id: "v1",
                version_stages: &stages,
            };
            let mut before = Map::new();
            before.insert("ARN".into(), out.arn.into());
            before.insert("Name".into(), out.name.into());
            before.insert("VersionId".into(), out.version_id.into());
            if let Some(s) = string {
                before.insert("SecretString".into(), s.into());
            }
            if let Some(b) = &binary {
                before.insert("SecretBinary".into(), b.clone().into());
            }
            before.insert("VersionStages".into(), json!(stages));
            before.insert("CreatedDate".into(), out.created_date.into());
            let before = Value::Object(before);
            assert_eq!(serde_json::to_value(&out).ok(), Some(before.clone()));
            assert_eq!(
                crate::services::json_bytes(&out).ok(),
                Some(before.to_string().into_bytes())
            );
        }
    }

    #[test]
    fn denial_names_the_secret_id_as_given() {
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
        let e = WireError::client(
            "AccessDeniedException",
            format!(
                "User: u is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} because no identity-based policy allows the secretsmanager:GetSecretValue action"
            ),
        );
        let e = name_given_id(e, arn, "db");
        assert_eq!(
            e.message.as_deref(),
            Some(
                "User: u is not authorized to perform: secretsmanager:GetSecretValue on resource: db because no identity-based policy allows the secretsmanager:GetSecretValue action"
            )
        );
        let other = name_given_id(
            WireError::client("X", format!("on resource: {arn} x")),
            arn,
            "db",
        );
        assert!(other.message.is_some_and(|m| m.contains(arn)));
    }

    #[test]
    fn page_tokens_round_trip() {
        let token = next_token(40);
        let input = json!({"NextToken": token, "MaxResults": 5});
        assert_eq!(page_args(&input, 100).ok(), Some((40, 5)));
        assert!(page_args(&json!({"NextToken": "nope"}), 100).is_err());
        assert!(page_args(&json!({"MaxResults": 0}), 100).is_err());
        assert!(page_args(&json!({"MaxResults": 101}), 100).is_err());
    }
}
