//! AWS Secrets Manager: one function per operation.
//!
//! Each use case finds the secret, authorises the action as the caller (identity policies plus
//! the secret's resource policy), and acts through `berth_secrets`. A secret's value is
//! envelope-encrypted: on write ([`seal`]), KMS GenerateDataKey under the secret's key; on read
//! ([`open`]), KMS Decrypt — both authorised **as the caller** against the key policy, with
//! `kms:ViaService = secretsmanager.<region>.amazonaws.com`, `kms:CallerAccount` and the
//! encryption context `{"SecretARN", "SecretVersionId"}`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use berth_kms::{EncryptionContext, Key, Kms, KmsError};
use berth_secrets::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, ListQuery, NewSecret, NewVersion, Secret, SecretValue,
    Secrets, SecretsError, Tag, Version,
};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::authz::{self, Check, Mode};
use crate::kms::{Blob, authorize_key, required};
use berth_core::RootKey;
use berth_store::Store;

use crate::{Ctx, Error};

mod password;
mod replication;
mod rotation;

pub use password::*;
pub use replication::*;
pub use rotation::*;

/// The time the request arrived, in milliseconds since the epoch (Secrets Manager's dates
/// carry milliseconds).
pub(crate) fn now_ms(ctx: &Ctx<'_>) -> u64 {
    u64::try_from(berth_core::time::epoch_nanos(ctx.now) / 1_000_000).unwrap_or(0)
}

/// A date as the wire gives it: seconds since the epoch, with milliseconds.
pub(crate) fn wire_date(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Refuses a write on a replica: a replica changes only through its primary.
pub(crate) fn not_replica(secret: &Secret) -> Result<(), Error> {
    match &secret.primary_region {
        // AWS's text for this refusal is not known to berth.
        Some(primary) => Err(Error::InvalidRequest(format!(
            "this secret is a replica of a secret in {primary}: change it there, or call StopReplicationToReplica first"
        ))),
        None => Ok(()),
    }
}

/// AWS's answer to a write without a ClientRequestToken (the SDKs and the CLI fill one in;
/// a raw request without it gets this).
const TOKEN_REQUIRED: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";

fn secrets<'c>(ctx: &'c Ctx<'_>) -> Secrets<'c> {
    Secrets::new(ctx.control.store.as_ref())
}

fn kms<'c>(ctx: &'c Ctx<'_>) -> Kms<'c> {
    Kms::new(ctx.control.store.as_ref(), &ctx.control.root_key)
}

/// AWS's IAM denial for Secrets Manager names the SecretId as the caller gave it.
fn name_given_id(e: Error, arn: &str, given: &str) -> Error {
    match e {
        Error::AccessDenied(m) => Error::AccessDenied(m.replace(
            &format!("on resource: {arn} "),
            &format!("on resource: {given} "),
        )),
        e => e,
    }
}

fn authorize_secret(
    ctx: &Ctx<'_>,
    action: &str,
    secret: &Secret,
    given: &str,
) -> Result<(), Error> {
    let check = Check::new(action, &secret.arn)
        .owned_by(&secret.account)
        .with_resource_policy(secret.resource_policy.as_deref(), Mode::Standard)
        .with_contexts(secret.condition_keys());
    authz::authorize(ctx, &check).map_err(|e| name_given_id(e, &secret.arn, given))
}

/// Finds the secret `SecretId` names and authorises `action` on it. When there is no such
/// secret, a caller who may not act on one by that id learns nothing: AccessDenied, not
/// ResourceNotFound.
fn find(ctx: &Ctx<'_>, secret_id: &str, action: &str) -> Result<Secret, Error> {
    match secrets(ctx).resolve(ctx.account(), &ctx.caller.region, secret_id, now_ms(ctx)) {
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
            authz::authorize(ctx, &check).map_err(|e| name_given_id(e, &resource, secret_id))?;
            Err(SecretsError::NotFound.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The KMS encryption context Secrets Manager binds to a version's data key.
pub fn encryption_context(secret: &str, version_id: &str) -> EncryptionContext {
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
) -> Result<(), Error> {
    let via = format!("secretsmanager.{}.amazonaws.com", key.region);
    authorize_key(ctx, action, key, Some(context), &[("kms:ViaService", via)]).map_err(
        |e| match e {
            Error::AccessDenied(_) => Error::KmsAccessDenied,
            e => e,
        },
    )
}

/// The key that encrypts new versions of a secret of `owner`: the one named, or the AWS
/// managed key `aws/secretsmanager` of the owner's account and region.
fn write_key(ctx: &Ctx<'_>, owner: &str, kms_key_id: Option<&str>) -> Result<Key, Error> {
    write_key_in(ctx, &ctx.caller.region, owner, kms_key_id)
}

/// [`write_key`] in `region` (a replica's).
fn write_key_in(
    ctx: &Ctx<'_>,
    region: &str,
    owner: &str,
    kms_key_id: Option<&str>,
) -> Result<Key, Error> {
    let k = kms(ctx);
    let now = ctx.now_secs();
    let found = match kms_key_id {
        None => k.secrets_manager_key(owner, region, now),
        Some(id) => k.resolve(owner, region, id, now),
    };
    found.map_err(|e| match e {
        // Secrets Manager passes KMS's reason on (observed: `... invalid KMS key: Invalid arn
        // us-west-2`); that the code is InvalidParameterException is berth's best knowledge.
        KmsError::NotFound(m) | KmsError::InvalidArn(m) => Error::InvalidParameter(format!(
            "The operation failed because of an invalid KMS key: {m}"
        )),
        other => other.into(),
    })
}

/// Encrypts `value` as version `version_id` of the secret `arn` (owned by `owner`), under the
/// key `kms_key_id` names (the AWS managed key when `None`), as the caller.
pub fn seal(
    ctx: &Ctx<'_>,
    owner: &str,
    arn: &str,
    kms_key_id: Option<&str>,
    version_id: &str,
    value: &SecretValue,
) -> Result<NewVersion, Error> {
    seal_in(
        ctx,
        &ctx.caller.region,
        owner,
        arn,
        kms_key_id,
        version_id,
        value,
    )
}

/// [`seal`] under a key of `region` (a replica's).
pub(crate) fn seal_in(
    ctx: &Ctx<'_>,
    region: &str,
    owner: &str,
    arn: &str,
    kms_key_id: Option<&str>,
    version_id: &str,
    value: &SecretValue,
) -> Result<NewVersion, Error> {
    let key = write_key_in(ctx, region, owner, kms_key_id)?;
    let context = encryption_context(arn, version_id);
    // AWS documents both permissions for writing a secret under a key.
    authorize_via(ctx, "kms:GenerateDataKey", &key, &context)?;
    authorize_via(ctx, "kms:Decrypt", &key, &context)?;
    let (data_key, blob) = kms(ctx)
        .generate_data_key(&key, 32, &context)
        .map_err(|e| match e {
            KmsError::Disabled(_) | KmsError::InvalidState(_) => Error::EncryptionFailure,
            other => other.into(),
        })?;
    crate::kms::used(ctx, &key.arn, "GenerateDataKey");
    let sealed = berth_secrets::seal_value(&data_key, &blob, arn, version_id, value)?;
    Ok(NewVersion {
        id: version_id.to_string(),
        kms_key_arn: key.arn,
        sealed,
    })
}

/// Decrypts one version's value as the caller.
pub fn open(ctx: &Ctx<'_>, secret: &Secret, version: &Version) -> Result<SecretValue, Error> {
    let control = ctx.control;
    let mut key_arn = None;
    let value = open_value(
        control.store.as_ref(),
        &control.root_key,
        secret,
        &version.id,
        ctx.now_secs(),
        |key, context| {
            key_arn = Some(key.arn.clone());
            authorize_via(ctx, "kms:Decrypt", key, context)
        },
    )?;
    if let Some(arn) = key_arn {
        crate::kms::used(ctx, &arn, "Decrypt");
    }
    Ok(value)
}

/// Opens the value of version `version_id`: finds the KMS key of its data key, asks
/// `authorize` (Secrets Manager's `kms:Decrypt` on the caller's behalf; `berth doctor`, which
/// reads the data directory as its owner, asks nothing), has KMS decrypt the data key under the
/// version's encryption context, and unseals the value with it. A key that cannot decrypt is
/// `DecryptionFailure`, as AWS says it.
pub fn open_value(
    store: &dyn Store,
    root_key: &RootKey,
    secret: &Secret,
    version_id: &str,
    now: u64,
    authorize: impl FnOnce(&Key, &EncryptionContext) -> Result<(), Error>,
) -> Result<SecretValue, Error> {
    let sealed = Secrets::new(store).sealed_value(secret, version_id)?;
    let blob = sealed.data_key_blob()?;
    let failure = |e: KmsError| match e {
        KmsError::Seal(_) | KmsError::Store(_) => Error::from(e),
        _ => Error::DecryptionFailure,
    };
    let kms = Kms::new(store, root_key);
    let key = kms
        .key_of_blob(&secret.region, &blob, now)
        .map_err(failure)?;
    let context = encryption_context(&secret.arn, version_id);
    authorize(&key, &context)?;
    let data_key = kms.decrypt(&key, &blob, &context).map_err(failure)?;
    Ok(sealed.open(&data_key, &secret.arn, version_id)?)
}

fn value_input(string: Option<String>, binary: Option<Blob>) -> Result<Option<SecretValue>, Error> {
    // The buffer moves into the value, which wipes it in turn.
    let binary = binary.map(|mut b| std::mem::take(&mut *b.0));
    Ok(SecretValue::from_input(string, binary)?)
}

/// The version id for a write that creates a version: the ClientRequestToken, which AWS
/// requires then.
fn token(client_request_token: Option<String>) -> Result<String, Error> {
    match client_request_token {
        Some(t) => {
            berth_secrets::validate_version_id("clientRequestToken", &t)?;
            Ok(t)
        }
        None => Err(Error::InvalidRequest(TOKEN_REQUIRED.into())),
    }
}

/// The version id for a write that creates a version only when it carries a value.
fn token_if(client_request_token: Option<String>, has_value: bool) -> Result<String, Error> {
    match (client_request_token, has_value) {
        (None, false) => Ok(String::new()),
        (t, _) => token(t),
    }
}

pub use crate::tags::{TagInput, TagOutput};

fn tags_of(tags: Option<Vec<TagInput>>) -> Result<Vec<Tag>, Error> {
    let tags = tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            Ok(Tag {
                key: required(t.key, "key")?,
                value: t.value.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<Tag>, Error>>()?;
    berth_secrets::validate_tags(&tags)?;
    Ok(tags)
}

/// A ListSecrets / BatchGetSecretValue filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

fn filters_of(filters: Option<Vec<Filter>>) -> Result<Vec<(String, Vec<String>)>, Error> {
    filters
        .unwrap_or_default()
        .into_iter()
        .map(|f| Ok((required(f.key, "key")?, f.values.unwrap_or_default())))
        .collect()
}

/// An idempotent retry: the version exists; it is the same request when its value is the same.
fn same_version(
    ctx: &Ctx<'_>,
    secret: &Secret,
    version: &Version,
    value: Option<&SecretValue>,
) -> Result<(), Error> {
    if let Some(v) = value
        && &open(ctx, secret, version)? != v
    {
        return Err(SecretsError::VersionExists.into());
    }
    Ok(())
}

/// The answer of the operations that name the secret they acted on.
#[derive(Debug, Clone, Serialize)]
pub struct SecretRefOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
}

impl From<Secret> for SecretRefOutput {
    fn from(s: Secret) -> SecretRefOutput {
        SecretRefOutput {
            arn: s.arn,
            name: s.name,
        }
    }
}

/// The answer of CreateSecret, UpdateSecret and RotateSecret: the secret, and the version
/// written if any.
#[derive(Debug, Clone, Serialize)]
pub struct SecretVersionRefOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// CreateSecret with AddReplicaRegions: how each replica fared.
    #[serde(rename = "ReplicationStatus", skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusOutput>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<Blob>,
    pub client_request_token: Option<String>,
    pub tags: Option<Vec<TagInput>>,
    pub add_replica_regions: Option<Vec<ReplicaRegionInput>>,
    pub kms_key_id: Option<String>,
}

pub type CreateSecretOutput = SecretVersionRefOutput;

pub fn create_secret(ctx: &Ctx<'_>, input: CreateSecretInput) -> Result<CreateSecretOutput, Error> {
    let name = required(input.name, "name")?;
    berth_secrets::validate_name(&name)?;
    if let Some(d) = &input.description {
        berth_secrets::validate_description(d)?;
    }
    let value = value_input(input.secret_string, input.secret_binary)?;
    let version_id = token_if(input.client_request_token, value.is_some())?;
    let tags = tags_of(input.tags)?;
    let replica_regions = replica_regions_of(ctx, input.add_replica_regions.unwrap_or_default())?;
    let kms_key_id = input
        .kms_key_id
        .filter(|k| !k.is_empty() && k != berth_kms::SECRETS_MANAGER_ALIAS);
    let account = ctx.account().to_string();
    let region = ctx.caller.region.clone();
    let now = now_ms(ctx);
    let sm = secrets(ctx);
    if let Some(existing) = sm.by_name(&account, &region, &name, now)? {
        authorize_secret(ctx, "secretsmanager:CreateSecret", &existing, &name)?;
        if existing.is_deleted() {
            return Err(SecretsError::NameScheduledForDeletion.into());
        }
        // A retry of the same CreateSecret (same token, same value) answers as the first did.
        if let Some(v) = existing.version(&version_id) {
            same_version(ctx, &existing, v, value.as_ref())?;
            let version_id = Some(v.id.clone());
            return Ok(SecretVersionRefOutput {
                arn: existing.arn,
                name: existing.name,
                version_id,
                replication_status: None,
            });
        }
        return Err(SecretsError::Exists(name).into());
    }
    let arn = berth_secrets::new_arn(&account, &region, &name);
    let check = Check::new("secretsmanager:CreateSecret", &arn).owned_by(&account);
    authz::authorize(ctx, &check).map_err(|e| name_given_id(e, &arn, &name))?;
    if !tags.is_empty() {
        // Tagging at creation needs TagResource as well.
        let check = Check::new("secretsmanager:TagResource", &arn).owned_by(&account);
        authz::authorize(ctx, &check).map_err(|e| name_given_id(e, &arn, &name))?;
    }
    let version = match &value {
        Some(v) => Some(seal(
            ctx,
            &account,
            &arn,
            kms_key_id.as_deref(),
            &version_id,
            v,
        )?),
        None => None,
    };
    let has_version = version.is_some();
    let mut secret = sm.create(
        NewSecret {
            arn,
            name,
            account,
            region,
            description: input.description,
            kms_key_id,
            tags,
        },
        version,
        now,
    )?;
    if !replica_regions.is_empty() {
        secret = replicate(ctx, &secret, replica_regions, false)?;
    }
    let replication_status = (!secret.replicas.is_empty()).then(|| {
        secret
            .replicas
            .iter()
            .map(|r| ReplicationStatusOutput::of(r, None))
            .collect()
    });
    Ok(SecretVersionRefOutput {
        arn: secret.arn,
        name: secret.name,
        version_id: has_version.then_some(version_id),
        replication_status,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueInput {
    pub secret_id: Option<String>,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
}

/// A secret string in an answer; wiped from memory when dropped.
fn secret_text<S: Serializer>(v: &Option<Zeroizing<String>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.serialize_str(t),
        None => s.serialize_none(),
    }
}

/// GetSecretValue's answer for one secret.
#[derive(Clone, Serialize)]
pub struct GetSecretValueOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
    #[serde(
        rename = "SecretString",
        skip_serializing_if = "Option::is_none",
        serialize_with = "secret_text"
    )]
    pub secret_string: Option<Zeroizing<String>>,
    #[serde(rename = "SecretBinary", skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<Blob>,
    #[serde(rename = "VersionStages")]
    pub version_stages: Vec<String>,
    #[serde(rename = "CreatedDate")]
    pub created_date: f64,
}

impl std::fmt::Debug for GetSecretValueOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetSecretValueOutput")
            .field("arn", &self.arn)
            .field("version_id", &self.version_id)
            .finish_non_exhaustive()
    }
}

/// The value of one secret (the version by id, by label, or AWSCURRENT), as the caller.
fn read_value(
    ctx: &Ctx<'_>,
    secret: Secret,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<GetSecretValueOutput, Error> {
    secret.check_not_deleted()?;
    if secret.kms_key_id.is_none() && secret.account != ctx.account() {
        return Err(Error::InvalidRequest(
            "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.".into(),
        ));
    }
    let version = secret.select_version(version_id, stage)?;
    let value = open(ctx, &secret, version)?;
    secrets(ctx).touch(&secret, &version.id, now_ms(ctx))?;
    let (version_id, version_stages, created_date) =
        (version.id.clone(), version.stages.clone(), version.created);
    let (secret_string, secret_binary) = match value {
        SecretValue::String(s) => (Some(s), None),
        SecretValue::Binary(b) => (None, Some(Blob(b))),
    };
    Ok(GetSecretValueOutput {
        arn: secret.arn,
        name: secret.name,
        version_id,
        secret_string,
        secret_binary,
        version_stages,
        created_date: wire_date(created_date),
    })
}

pub fn get_secret_value(
    ctx: &Ctx<'_>,
    input: GetSecretValueInput,
) -> Result<GetSecretValueOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    if let Some(v) = &input.version_id {
        berth_secrets::validate_version_id("versionId", v)?;
    }
    let secret = find(ctx, id, "secretsmanager:GetSecretValue")?;
    read_value(
        ctx,
        secret,
        input.version_id.as_deref(),
        input.version_stage.as_deref(),
    )
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueInput {
    pub secret_id_list: Option<Vec<String>>,
    pub filters: Option<Vec<Filter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// Why one secret of a BatchGetSecretValue has no value in the answer.
#[derive(Debug)]
pub struct BatchGetError {
    pub secret_id: String,
    pub error: Error,
}

/// BatchGetSecretValue's answer. Its errors carry the failure itself: the wire layer gives each
/// its code and message.
#[derive(Debug)]
pub struct BatchGetSecretValueOutput {
    pub secret_values: Vec<GetSecretValueOutput>,
    pub errors: Vec<BatchGetError>,
    pub next_token: Option<String>,
}

pub fn batch_get_secret_value(
    ctx: &Ctx<'_>,
    input: BatchGetSecretValueInput,
) -> Result<BatchGetSecretValueOutput, Error> {
    ctx.authorize("secretsmanager:BatchGetSecretValue", "*")?;
    let has_filters = input.filters.as_ref().is_some_and(|f| !f.is_empty());
    let ids: Vec<String> = match (input.secret_id_list, has_filters) {
        (Some(_), true) | (None, false) => {
            // AWS's text for this case is not known to berth.
            return Err(Error::InvalidParameter(
                "either SecretIdList or Filters must be given, not both".into(),
            ));
        }
        (Some(ids), false) => {
            if ids.len() > 20 {
                return Err(Error::Validation(
                    "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20".into(),
                ));
            }
            ids
        }
        (None, true) => {
            ctx.authorize("secretsmanager:ListSecrets", "*")?;
            let query = ListQuery {
                filters: filters_of(input.filters)?,
                ..ListQuery::default()
            };
            let max = page_max(input.max_results, 20)?;
            let cursor = page_cursor(input.next_token.as_deref())?;
            let (page, next_token) = secrets_page(ctx, &query, cursor.as_deref(), max)?;
            let ids: Vec<String> = page.into_iter().map(|s| s.arn).collect();
            let (secret_values, errors) = batch_values(ctx, ids);
            return Ok(BatchGetSecretValueOutput {
                secret_values,
                errors,
                next_token,
            });
        }
    };
    let (start, max) = page_args(input.next_token.as_deref(), input.max_results, 20)?;
    let (page, next_token) = offset_page(ids, start, max);
    let (secret_values, errors) = batch_values(ctx, page);
    Ok(BatchGetSecretValueOutput {
        secret_values,
        errors,
        next_token,
    })
}

fn batch_values(
    ctx: &Ctx<'_>,
    ids: Vec<String>,
) -> (Vec<GetSecretValueOutput>, Vec<BatchGetError>) {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let one = find(ctx, &id, "secretsmanager:GetSecretValue")
            .and_then(|s| read_value(ctx, s, None, None));
        match one {
            Ok(v) => values.push(v),
            Err(error) => errors.push(BatchGetError {
                secret_id: id,
                error,
            }),
        }
    }
    (values, errors)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueInput {
    pub secret_id: Option<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<Blob>,
    pub client_request_token: Option<String>,
    pub version_stages: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PutSecretValueOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
    #[serde(rename = "VersionStages")]
    pub version_stages: Vec<String>,
}

pub fn put_secret_value(
    ctx: &Ctx<'_>,
    input: PutSecretValueInput,
) -> Result<PutSecretValueOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let value = value_input(input.secret_string, input.secret_binary)?;
    let version_id = token(input.client_request_token)?;
    let stages = input
        .version_stages
        .unwrap_or_else(|| vec![AWSCURRENT.to_string()]);
    let secret = find(ctx, id, "secretsmanager:PutSecretValue")?;
    secret.check_not_deleted()?;
    not_replica(&secret)?;
    let Some(value) = value else {
        // AWS's text for a PutSecretValue without a value is not known to berth.
        return Err(Error::InvalidRequest(
            "You must provide either SecretString or SecretBinary.".into(),
        ));
    };
    if let Some(existing) = secret.version(&version_id) {
        same_version(ctx, &secret, existing, Some(&value))?;
        let (version_id, version_stages) = (existing.id.clone(), existing.stages.clone());
        return Ok(PutSecretValueOutput {
            arn: secret.arn,
            name: secret.name,
            version_id,
            version_stages,
        });
    }
    let version = seal(
        ctx,
        &secret.account,
        &secret.arn,
        secret.kms_key_id.as_deref(),
        &version_id,
        &value,
    )?;
    let updated = secrets(ctx).add_version(&secret, version, &stages, now_ms(ctx))?;
    let updated = sync_replicas(ctx, updated)?;
    let version_stages = updated
        .version(&version_id)
        .map(|v| v.stages.clone())
        .unwrap_or_default();
    Ok(PutSecretValueOutput {
        arn: updated.arn,
        name: updated.name,
        version_id,
        version_stages,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretInput {
    pub secret_id: Option<String>,
    pub description: Option<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<Blob>,
    pub client_request_token: Option<String>,
    pub kms_key_id: Option<String>,
}

pub type UpdateSecretOutput = SecretVersionRefOutput;

pub fn update_secret(ctx: &Ctx<'_>, input: UpdateSecretInput) -> Result<UpdateSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let description = input.description;
    if let Some(d) = &description {
        berth_secrets::validate_description(d)?;
    }
    let value = value_input(input.secret_string, input.secret_binary)?;
    let version_id = token_if(input.client_request_token, value.is_some())?;
    let kms_key_id = input.kms_key_id.map(|k| {
        if k.is_empty() || k == berth_kms::SECRETS_MANAGER_ALIAS {
            None
        } else {
            Some(k)
        }
    });
    let secret = find(ctx, id, "secretsmanager:UpdateSecret")?;
    secret.check_not_deleted()?;
    not_replica(&secret)?;
    if let (Some(v), Some(existing)) = (&value, secret.version(&version_id)) {
        same_version(ctx, &secret, existing, Some(v))?;
        let version_id = Some(existing.id.clone());
        return Ok(SecretVersionRefOutput {
            arn: secret.arn,
            name: secret.name,
            version_id,
            replication_status: None,
        });
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
        description,
        kms_key_id,
        reencrypted,
        version,
        now_ms(ctx),
    )?;
    let updated = sync_replicas(ctx, updated)?;
    Ok(SecretVersionRefOutput {
        arn: updated.arn,
        name: updated.name,
        version_id: has_version.then_some(version_id),
        replication_status: None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageInput {
    pub secret_id: Option<String>,
    pub version_stage: Option<String>,
    pub remove_from_version_id: Option<String>,
    pub move_to_version_id: Option<String>,
}

pub type UpdateSecretVersionStageOutput = SecretRefOutput;

pub fn update_secret_version_stage(
    ctx: &Ctx<'_>,
    input: UpdateSecretVersionStageInput,
) -> Result<UpdateSecretVersionStageOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let stage = required(input.version_stage.as_deref(), "versionStage")?;
    let remove_from = input.remove_from_version_id.as_deref();
    let move_to = input.move_to_version_id.as_deref();
    if let Some(v) = remove_from {
        berth_secrets::validate_version_id("removeFromVersionId", v)?;
    }
    if let Some(v) = move_to {
        berth_secrets::validate_version_id("moveToVersionId", v)?;
    }
    let secret = find(ctx, id, "secretsmanager:UpdateSecretVersionStage")?;
    not_replica(&secret)?;
    let updated = secrets(ctx).update_stage(&secret, stage, remove_from, move_to, now_ms(ctx))?;
    Ok(sync_replicas(ctx, updated)?.into())
}

/// A secret's tags in DescribeSecret and ListSecrets: absent on a secret never tagged, `[]`
/// once its tags are all removed.
#[derive(Debug, Clone, Default)]
pub struct TagsOutput {
    pub list: Vec<TagOutput>,
    pub shown: bool,
}

impl TagsOutput {
    fn hidden(&self) -> bool {
        !self.shown && self.list.is_empty()
    }
}

impl Serialize for TagsOutput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(s)
    }
}

impl IntoIterator for TagsOutput {
    type Item = TagOutput;
    type IntoIter = std::vec::IntoIter<TagOutput>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

/// A secret's metadata: DescribeSecret's answer, and one entry of ListSecrets (which names the
/// version map `SecretVersionsToStages`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDescription {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Omitted for the AWS managed key, as AWS does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_rules: Option<RotationRulesOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated_date: Option<f64>,
    pub last_changed_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "TagsOutput::hidden")]
    pub tags: TagsOutput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_ids_to_stages: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_versions_to_stages: Option<BTreeMap<String, Vec<String>>>,
    pub created_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// DescribeSecret only, on a primary that replicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusOutput>>,
}

impl SecretDescription {
    /// DescribeSecret's answer (`listed`: as a ListSecrets entry).
    fn of(s: Secret, listed: bool) -> SecretDescription {
        let stages: BTreeMap<String, Vec<String>> = s
            .versions_to_stages()
            .into_iter()
            .map(|(id, stages)| (id.to_string(), stages.to_vec()))
            .collect();
        let (version_ids_to_stages, secret_versions_to_stages) = if listed {
            (None, Some(stages))
        } else {
            (Some(stages), None)
        };
        let rotation = s.rotation.as_ref();
        let replication_status = (!listed && !s.replicas.is_empty()).then(|| {
            s.replicas
                .iter()
                .map(|r| ReplicationStatusOutput::of(r, None))
                .collect()
        });
        let primary_region = (!s.replicas.is_empty() || s.primary_region.is_some())
            .then(|| s.primary_region.clone().unwrap_or_else(|| s.region.clone()));
        SecretDescription {
            arn: s.arn,
            name: s.name,
            description: s.description,
            kms_key_id: s.kms_key_id,
            rotation_enabled: rotation.map(|r| r.enabled),
            rotation_lambda_arn: rotation.and_then(|r| r.lambda_arn.clone()),
            rotation_rules: rotation.map(|r| RotationRulesOutput::of(&r.rules)),
            last_rotated_date: s.last_rotated.map(wire_date),
            last_changed_date: wire_date(s.last_changed),
            last_accessed_date: s.last_accessed.map(wire_date),
            deleted_date: s.deleted_date.map(wire_date),
            next_rotation_date: rotation
                .filter(|r| r.enabled)
                .and_then(|r| r.next)
                .map(wire_date),
            tags: TagsOutput {
                shown: s.ever_tagged || !s.tags.is_empty(),
                list: s.tags.into_iter().map(TagOutput::from).collect(),
            },
            version_ids_to_stages,
            secret_versions_to_stages,
            created_date: wire_date(s.created),
            primary_region,
            replication_status,
        }
    }
}

/// The input of the operations that name one secret and nothing else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdInput {
    pub secret_id: Option<String>,
}

pub type DescribeSecretInput = SecretIdInput;
pub type DescribeSecretOutput = SecretDescription;

pub fn describe_secret(
    ctx: &Ctx<'_>,
    input: DescribeSecretInput,
) -> Result<DescribeSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:DescribeSecret")?;
    Ok(SecretDescription::of(secret, false))
}

fn next_token(offset: usize) -> String {
    STANDARD.encode(format!("berth-page:{offset}"))
}

/// The items `start..start + max` of `items`, and the NextToken of the rest when there is more
/// (lists paged by position).
fn offset_page<T>(items: Vec<T>, start: usize, max: usize) -> (Vec<T>, Option<String>) {
    let end = start.saturating_add(max).min(items.len());
    let next = (end < items.len()).then(|| next_token(end));
    (items.into_iter().take(end).skip(start).collect(), next)
}

/// One page of the secrets of the caller's account and region that `query` selects, after
/// `cursor`, and the NextToken of the rest (lists paged by key).
fn secrets_page(
    ctx: &Ctx<'_>,
    query: &ListQuery,
    cursor: Option<&str>,
    max: usize,
) -> Result<(Vec<Secret>, Option<String>), Error> {
    let (page, next) = secrets(ctx).page(
        ctx.account(),
        &ctx.caller.region,
        query,
        cursor,
        max,
        now_ms(ctx),
    )?;
    Ok((page, next.map(|c| cursor_token(&c))))
}

/// (offset, page size) from NextToken and MaxResults, for lists paged by position.
fn page_args(
    token: Option<&str>,
    max_results: Option<i64>,
    max_default: usize,
) -> Result<(usize, usize), Error> {
    let max = page_max(max_results, max_default)?;
    let start = match token {
        None => 0,
        Some(t) => token_text(t)
            .and_then(|s| s.strip_prefix("berth-page:").and_then(|n| n.parse().ok()))
            .ok_or_else(invalid_token)?,
    };
    Ok((start, max))
}

fn invalid_token() -> Error {
    SecretsError::InvalidNextToken("The NextToken value is invalid.".into()).into()
}

fn token_text(t: &str) -> Option<String> {
    STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// A keyed cursor (the last key of the previous page) as a NextToken.
fn cursor_token(cursor: &str) -> String {
    STANDARD.encode(format!("berth-cursor:{cursor}"))
}

/// The cursor a NextToken of [`cursor_token`] carries.
fn page_cursor(token: Option<&str>) -> Result<Option<String>, Error> {
    match token {
        None => Ok(None),
        Some(t) => token_text(t)
            .and_then(|s| s.strip_prefix("berth-cursor:").map(str::to_string))
            .filter(|c| c.is_ascii() && !c.chars().any(|ch| ch.is_ascii_control()))
            .map(Some)
            .ok_or_else(invalid_token),
    }
}

/// MaxResults: 1–100, `max_default` when absent.
fn page_max(max_results: Option<i64>, max_default: usize) -> Result<usize, Error> {
    match max_results {
        None => Ok(max_default),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 100"
            }
        ))),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsInput {
    pub include_planned_deletion: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub filters: Option<Vec<Filter>>,
    pub sort_order: Option<String>,
    pub sort_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsOutput {
    pub secret_list: Vec<SecretDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn list_secrets(ctx: &Ctx<'_>, input: ListSecretsInput) -> Result<ListSecretsOutput, Error> {
    let descending = match input.sort_order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"
            )));
        }
    };
    let query = ListQuery {
        include_planned_deletion: input.include_planned_deletion.unwrap_or(false),
        filters: filters_of(input.filters)?,
        sort_by: input.sort_by,
        descending,
    };
    let max = page_max(input.max_results, 100)?;
    let cursor = page_cursor(input.next_token.as_deref())?;
    ctx.authorize("secretsmanager:ListSecrets", "*")?;
    let (page, next_token) = secrets_page(ctx, &query, cursor.as_deref(), max)?;
    Ok(ListSecretsOutput {
        secret_list: page
            .into_iter()
            .map(|s| SecretDescription::of(s, true))
            .collect(),
        next_token,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsInput {
    pub secret_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub include_deprecated: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVersionsListEntry {
    pub version_id: String,
    pub version_stages: Vec<String>,
    pub created_date: f64,
    pub kms_key_ids: [String; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsOutput {
    pub versions: Vec<SecretVersionsListEntry>,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn list_secret_version_ids(
    ctx: &Ctx<'_>,
    input: ListSecretVersionIdsInput,
) -> Result<ListSecretVersionIdsOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:ListSecretVersionIds")?;
    let include_deprecated = input.include_deprecated.unwrap_or(false);
    let (start, max) = page_args(input.next_token.as_deref(), input.max_results, 100)?;
    let versions: Vec<Version> = secret
        .versions
        .into_iter()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .collect();
    let (versions, next_token) = offset_page(versions, start, max);
    Ok(ListSecretVersionIdsOutput {
        versions: versions
            .into_iter()
            .map(|v| SecretVersionsListEntry {
                version_id: v.id,
                version_stages: v.stages,
                created_date: wire_date(v.created),
                kms_key_ids: [v.kms_key_arn],
                last_accessed_date: v.last_accessed.map(wire_date),
            })
            .collect(),
        arn: secret.arn,
        name: secret.name,
        next_token,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretInput {
    pub secret_id: Option<String>,
    pub recovery_window_in_days: Option<i64>,
    pub force_delete_without_recovery: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteSecretOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "DeletionDate", skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
}

pub fn delete_secret(ctx: &Ctx<'_>, input: DeleteSecretInput) -> Result<DeleteSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let force = input.force_delete_without_recovery.unwrap_or(false);
    let secret = match find(ctx, id, "secretsmanager:DeleteSecret") {
        Ok(s) => s,
        // A forced deletion of a secret that does not exist succeeds (the caller was
        // authorised on that id by `find`): the ARN names the SecretId, without a suffix
        // since there is none to know.
        Err(Error::Secrets(SecretsError::NotFound))
            if force && input.recovery_window_in_days.is_none() =>
        {
            let (arn, name) = match berth_secrets::SecretRef::parse(id)? {
                berth_secrets::SecretRef::Name(n) => (
                    format!(
                        "arn:aws:secretsmanager:{}:{}:secret:{n}",
                        ctx.caller.region,
                        ctx.account()
                    ),
                    n,
                ),
                berth_secrets::SecretRef::FullArn { name, arn, .. } => (arn, name),
                berth_secrets::SecretRef::PartialArn { name, .. } => (id.to_string(), name),
            };
            return Ok(DeleteSecretOutput {
                arn,
                name,
                deletion_date: Some(wire_date(now_ms(ctx))),
            });
        }
        Err(e) => return Err(e),
    };
    // A replica goes with RemoveRegionsFromReplication on its primary.
    not_replica(&secret)?;
    if !secret.replicas.is_empty() {
        // AWS's text for this refusal is not known to berth.
        return Err(Error::InvalidRequest(
            "this secret replicates to other regions: remove them with RemoveRegionsFromReplication first".into(),
        ));
    }
    let deleted =
        secrets(ctx).delete(&secret, input.recovery_window_in_days, force, now_ms(ctx))?;
    Ok(DeleteSecretOutput {
        arn: deleted.arn,
        name: deleted.name,
        deletion_date: deleted.deletion_date.map(wire_date),
    })
}

pub type RestoreSecretInput = SecretIdInput;
pub type RestoreSecretOutput = SecretRefOutput;

pub fn restore_secret(
    ctx: &Ctx<'_>,
    input: RestoreSecretInput,
) -> Result<RestoreSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:RestoreSecret")?;
    Ok(secrets(ctx).restore(&secret, now_ms(ctx))?.into())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    pub secret_id: Option<String>,
    pub resource_policy: Option<String>,
    /// Accepted; berth does not judge whether a policy is public.
    pub block_public_policy: Option<bool>,
}

pub type PutResourcePolicyOutput = SecretRefOutput;

pub fn put_resource_policy(
    ctx: &Ctx<'_>,
    input: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let policy = required(input.resource_policy.as_deref(), "resourcePolicy")?;
    berth_secrets::validate_policy(policy)?;
    let secret = find(ctx, id, "secretsmanager:PutResourcePolicy")?;
    not_replica(&secret)?;
    let updated = secrets(ctx).set_policy(&secret, Some(policy), now_ms(ctx))?;
    Ok(sync_replicas(ctx, updated)?.into())
}

pub type GetResourcePolicyInput = SecretIdInput;

#[derive(Debug, Clone, Serialize)]
pub struct GetResourcePolicyOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "ResourcePolicy", skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

pub fn get_resource_policy(
    ctx: &Ctx<'_>,
    input: GetResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:GetResourcePolicy")?;
    Ok(GetResourcePolicyOutput {
        arn: secret.arn,
        name: secret.name,
        resource_policy: secret.resource_policy,
    })
}

pub type DeleteResourcePolicyInput = SecretIdInput;
pub type DeleteResourcePolicyOutput = SecretRefOutput;

pub fn delete_resource_policy(
    ctx: &Ctx<'_>,
    input: DeleteResourcePolicyInput,
) -> Result<DeleteResourcePolicyOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:DeleteResourcePolicy")?;
    not_replica(&secret)?;
    let updated = secrets(ctx).set_policy(&secret, None, now_ms(ctx))?;
    Ok(sync_replicas(ctx, updated)?.into())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourcePoliciesInput {
    pub secret_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicySummary {
    pub policy_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourcePoliciesOutput {
    pub resource_policies: Vec<ResourcePolicySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListResourcePolicies: a secret has at most its one policy, which AWS names `default`.
pub fn list_resource_policies(
    ctx: &Ctx<'_>,
    input: ListResourcePoliciesInput,
) -> Result<ListResourcePoliciesOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let (start, _) = page_args(input.next_token.as_deref(), input.max_results, 100)?;
    let secret = find(ctx, id, "secretsmanager:ListResourcePolicies")?;
    let names = secret
        .resource_policy
        .iter()
        .map(|_| ResourcePolicySummary {
            policy_name: "default".into(),
        })
        .skip(start)
        .collect();
    Ok(ListResourcePoliciesOutput {
        resource_policies: names,
        next_token: None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyInput {
    pub secret_id: Option<String>,
    pub resource_policy: Option<String>,
}

/// A finding of ValidateResourcePolicy: berth's policy parser's reason a document does not
/// hold (`CheckName` `SYNTAX_ERROR`; AWS's own check names come from IAM Access Analyzer,
/// which berth does not run).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationErrorsEntry {
    pub check_name: String,
    pub error_message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyOutput {
    pub policy_validation_passed: bool,
    pub validation_errors: Vec<ValidationErrorsEntry>,
}

pub fn validate_resource_policy(
    ctx: &Ctx<'_>,
    input: ValidateResourcePolicyInput,
) -> Result<ValidateResourcePolicyOutput, Error> {
    let policy = required(input.resource_policy.as_deref(), "resourcePolicy")?;
    match input.secret_id.as_deref() {
        Some(id) => {
            find(ctx, id, "secretsmanager:ValidateResourcePolicy")?;
        }
        None => ctx.authorize("secretsmanager:ValidateResourcePolicy", "*")?,
    }
    // Size is the model's constraint (ValidationException) and a document that is not a JSON
    // object is malformed; the verdict on a JSON document is berth's policy parser's, reported
    // as a finding.
    if !serde_json::from_str::<serde_json::Value>(policy).is_ok_and(|v| v.is_object()) {
        berth_secrets::validate_policy(policy)?;
    }
    let validation_errors = match berth_secrets::validate_policy(policy) {
        Ok(()) => Vec::new(),
        Err(SecretsError::MalformedPolicy(m)) => vec![ValidationErrorsEntry {
            check_name: "SYNTAX_ERROR".into(),
            error_message: m,
        }],
        Err(e) => return Err(e.into()),
    };
    Ok(ValidateResourcePolicyOutput {
        policy_validation_passed: validation_errors.is_empty(),
        validation_errors,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub secret_id: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

pub fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<crate::kms::Empty, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let tags = tags_of(Some(required(input.tags, "tags")?))?;
    let secret = find(ctx, id, "secretsmanager:TagResource")?;
    not_replica(&secret)?;
    let updated = secrets(ctx).tag(&secret, &tags, now_ms(ctx))?;
    sync_replicas(ctx, updated)?;
    Ok(crate::kms::Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub secret_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

pub fn untag_resource(
    ctx: &Ctx<'_>,
    input: UntagResourceInput,
) -> Result<crate::kms::Empty, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    let secret = find(ctx, id, "secretsmanager:UntagResource")?;
    not_replica(&secret)?;
    let updated = secrets(ctx).untag(&secret, &keys, now_ms(ctx))?;
    sync_replicas(ctx, updated)?;
    Ok(crate::kms::Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_names_the_secret_id_as_given() {
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
        let e = Error::AccessDenied(format!(
            "User: u is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} because no identity-based policy allows the secretsmanager:GetSecretValue action"
        ));
        let Error::AccessDenied(m) = name_given_id(e, arn, "db") else {
            panic!("a denial stays a denial");
        };
        assert_eq!(
            m,
            "User: u is not authorized to perform: secretsmanager:GetSecretValue on resource: db because no identity-based policy allows the secretsmanager:GetSecretValue action"
        );
        let other = name_given_id(
            Error::Validation(format!("on resource: {arn} x")),
            arn,
            "db",
        );
        assert!(matches!(other, Error::Validation(m) if m.contains(arn)));
    }

    #[test]
    fn page_tokens_round_trip() {
        let token = next_token(40);
        assert_eq!(page_args(Some(&token), Some(5), 100).ok(), Some((40, 5)));
        assert!(page_args(Some("nope"), None, 100).is_err());
        assert!(page_args(None, Some(0), 100).is_err());
        assert!(page_args(None, Some(101), 100).is_err());
        let cursor = cursor_token("a/b");
        assert_eq!(
            page_cursor(Some(&cursor)).ok(),
            Some(Some("a/b".to_string()))
        );
        assert!(page_cursor(Some(&token)).is_err());
    }

    #[test]
    fn secret_value_output_omits_the_absent_value_member() {
        let out = GetSecretValueOutput {
            arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf".into(),
            name: "db".into(),
            version_id: "v1".into(),
            secret_string: Some(Zeroizing::new("{\"password\":\"p\u{e9}\\\"\"}".into())),
            secret_binary: None,
            version_stages: vec!["AWSCURRENT".into()],
            created_date: 1_795_914_900.123,
        };
        let v = serde_json::to_value(&out).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "ARN": out.arn, "Name": "db", "VersionId": "v1",
                "SecretString": "{\"password\":\"p\u{e9}\\\"\"}",
                "VersionStages": ["AWSCURRENT"], "CreatedDate": 1_795_914_900.123,
            })
        );
        let binary = GetSecretValueOutput {
            secret_string: None,
            secret_binary: Some(Blob::new(vec![0, 1, 2, 255])),
            ..out
        };
        let v = serde_json::to_value(&binary).unwrap_or_default();
        assert_eq!(v["SecretBinary"], "AAEC/w==");
        assert!(v.get("SecretString").is_none());
    }
}
