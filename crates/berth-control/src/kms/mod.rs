//! AWS Key Management Service: one function per operation.
//!
//! Every use case resolves the key first (a key that does not exist is `NotFoundException`),
//! then authorises the action against the key's policy as the caller
//! ([`Mode::ResourcePolicyRequired`]: the key policy must allow, directly or by delegating to
//! the account's IAM policies), then acts through `berth_kms`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use berth_kms::{EncryptionContext, Grant, Key, Kms, KmsError, NewKey, Tag};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::authz::{self, Check, Mode};
use crate::{Ctx, Error};

mod asym;
mod grants;
mod imports;
mod more;
pub use asym::*;
pub use grants::*;
pub use imports::*;
pub use more::*;

/// Binary data, base64 on the wire (the model's `blob`); wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Zeroizing<Vec<u8>>);

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Blob {
        Blob(Zeroizing::new(bytes))
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blob(..)")
    }
}

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&base64::display::Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Blob, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("base64-encoded binary data")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Blob, E> {
                // The text may be sensitive: the message leaves it out.
                STANDARD
                    .decode(v)
                    .map(Blob::new)
                    .map_err(|_| E::custom("a blob must be base64-encoded binary data"))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// `value`, or AWS's missing-member error naming `member` as the model's wire name in
/// camelCase (`keyId`).
pub(crate) fn required<T>(value: Option<T>, member: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::MissingMember(member.to_string()))
}

/// How often one process records a key's use at most: a cryptographic call is on hot paths
/// (Secrets Manager's GetSecretValue decrypts through KMS), so the store is written at most once
/// per key per minute, and GetKeyLastUsage's use may be up to a minute older than the last.
const RECORD_USE_EVERY_SECS: u64 = 60;

/// Keys whose use this process recorded, and when (bounded: emptied when full).
static RECORDED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, u64>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(std::collections::HashMap::new()));
const RECORDED_MAX: usize = 10_000;

/// Records a successful cryptographic use of a key for GetKeyLastUsage (see
/// [`RECORD_USE_EVERY_SECS`]). A failure to record does not fail the call; it is logged.
pub(crate) fn used(ctx: &Ctx<'_>, key_arn: &str, operation: &str) {
    let now = ctx.now_secs();
    {
        // Only timestamps: a map left by a panicking thread is still valid.
        let mut recorded = RECORDED.lock().unwrap_or_else(|p| p.into_inner());
        if recorded
            .get(key_arn)
            .is_some_and(|at| now < at.saturating_add(RECORD_USE_EVERY_SECS) && *at <= now)
        {
            return;
        }
        if recorded.len() >= RECORDED_MAX {
            recorded.clear();
        }
        recorded.insert(key_arn.to_string(), now);
    }
    let last = berth_kms::LastUse {
        operation: operation.to_string(),
        timestamp: now,
        request_id: ctx.request_id.to_string(),
    };
    if let Err(e) = kms(ctx).record_use(key_arn, &last) {
        tracing::warn!(key = key_arn, error = %e, "kms: the key's last use was not recorded");
    }
}

pub(crate) fn kms<'c>(ctx: &'c Ctx<'_>) -> Kms<'c> {
    Kms::new(ctx.control.store.as_ref(), &ctx.control.root_key)
}

/// Authorises `action` on `key` for the caller against the key policy, with KMS's condition
/// keys (`kms:CallerAccount`, and `kms:EncryptionContext:*` for cryptographic calls) and
/// `extra` ones (`kms:ViaService` when a service calls on the caller's behalf).
pub fn authorize_key(
    ctx: &Ctx<'_>,
    action: &str,
    key: &Key,
    context: Option<&EncryptionContext>,
    extra: &[(&str, String)],
) -> Result<(), Error> {
    let extra = extra
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.clone()]))
        .collect();
    authorize_key_with(ctx, action, key, context, extra)
}

/// [`authorize_key`] with multivalued condition keys (`kms:GrantOperations`).
pub(crate) fn authorize_key_with(
    ctx: &Ctx<'_>,
    action: &str,
    key: &Key,
    context: Option<&EncryptionContext>,
    extra: Vec<(String, Vec<String>)>,
) -> Result<(), Error> {
    let check = Check::new(action, &key.arn)
        .owned_by(&key.account)
        .with_resource_policy(Some(&key.policy), Mode::ResourcePolicyRequired)
        .with_contexts(key.condition_keys(ctx.account(), context))
        .with_contexts(extra);
    match authz::authorize(ctx, &check) {
        Err(Error::AccessDenied(message)) if !message.contains("with an explicit deny") => {
            // No policy allows, none denies: a grant of the key to the caller may allow.
            let empty = EncryptionContext::new();
            let operation = action.strip_prefix("kms:").unwrap_or(action);
            if granted(ctx, key, operation, context.unwrap_or(&empty))?.is_some() {
                Ok(())
            } else {
                Err(Error::AccessDenied(message))
            }
        }
        other => other,
    }
}

/// Whether a grant's principal (`GranteePrincipal` or `RetiringPrincipal`) is the caller: its
/// ARN, the role behind its session, or (for the account's root user) the account.
pub(crate) fn is_caller(ctx: &Ctx<'_>, principal: &str) -> bool {
    let p = &ctx.caller.principal;
    principal == p.arn() || p.role_arn().is_some_and(|r| r == principal)
}

/// The first grant of `key` that allows `operation` to the caller with `context`.
pub(crate) fn granted(
    ctx: &Ctx<'_>,
    key: &Key,
    operation: &str,
    context: &EncryptionContext,
) -> Result<Option<Grant>, Error> {
    Ok(kms(ctx)
        .grants_of(key)?
        .into_iter()
        .find(|g| is_caller(ctx, &g.grantee) && g.allows(operation, context)))
}

pub(crate) fn resolve(ctx: &Ctx<'_>, key_id: &str) -> Result<Key, Error> {
    let k = kms(ctx);
    let key = k.resolve(ctx.account(), &ctx.caller.region, key_id, ctx.now_secs())?;
    // Automatic rotation happens when a due key is next used.
    Ok(k.rotate_if_due(key, ctx.now_secs())?)
}

/// Resolves a required `KeyId` and authorises `action` on it.
pub(crate) fn key_for(ctx: &Ctx<'_>, key_id: Option<&str>, action: &str) -> Result<Key, Error> {
    let key = resolve(ctx, required(key_id, "keyId")?)?;
    authorize_key(ctx, action, &key, None, &[])?;
    Ok(key)
}

/// `GrantTokens`: at most 10, each 1–8192 characters. berth's grants are consistent at once,
/// so a token is accepted and needed by nothing.
pub(crate) fn check_grant_tokens(tokens: Option<&[String]>) -> Result<(), Error> {
    let Some(tokens) = tokens else { return Ok(()) };
    if tokens.len() > 10 {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10".into(),
        )
        .into());
    }
    if let Some(t) = tokens
        .iter()
        .find(|t| t.is_empty() || t.chars().count() > 8192)
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length {}",
            if t.is_empty() { "greater than or equal to 1" } else { "less than or equal to 8192" }
        ))
        .into());
    }
    Ok(())
}

/// A tag as the operation's input gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    pub tag_key: Option<String>,
    pub tag_value: Option<String>,
}

pub(crate) fn tags_of(tags: Option<Vec<TagInput>>) -> Result<Vec<Tag>, Error> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| {
            Ok(Tag {
                key: required(t.tag_key, "tagKey")?,
                value: t.tag_value.unwrap_or_default(),
            })
        })
        .collect()
}

/// A key's metadata as DescribeKey and CreateKey answer it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: u64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    pub key_manager: &'static str,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<&'static str>>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

impl From<Key> for KeyMetadata {
    fn from(k: Key) -> KeyMetadata {
        let algorithms = asym::algorithms(&k.spec, &k.usage);
        KeyMetadata {
            enabled: k.enabled(),
            key_state: k.state.as_str(),
            key_manager: k.manager.as_str(),
            aws_account_id: k.account,
            key_id: k.key_id,
            arn: k.arn,
            creation_date: k.created,
            description: k.description,
            key_usage: k.usage,
            deletion_date: k.deletion_date,
            pending_deletion_window_in_days: k.pending_window_days,
            origin: k.origin,
            valid_to: k.valid_to,
            expiration_model: k.expiration_model,
            customer_master_key_spec: k.spec.clone(),
            key_spec: k.spec,
            encryption_algorithms: algorithms.encryption,
            signing_algorithms: algorithms.signing,
            mac_algorithms: algorithms.mac,
            key_agreement_algorithms: algorithms.key_agreement,
            encapsulation_algorithms: algorithms.encapsulation,
            multi_region: k.multi_region,
            multi_region_configuration: None,
            current_key_material_id: (!k.material_id.is_empty()).then_some(k.material_id),
        }
    }
}

/// The answer of an operation that answers nothing but success.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

/// A CreateKey option berth does not offer (imported key material, multi-Region keys).
fn unsupported(what: &str, value: &str) -> Error {
    KmsError::Unsupported(format!("berth does not support {what} {value}")).into()
}

/// AWS's policy lockout safety check: a key policy must let the caller change it later.
pub(crate) fn lockout_check(ctx: &Ctx<'_>, key_arn: &str, policy: &str) -> Result<(), Error> {
    let check = Check::new("kms:PutKeyPolicy", key_arn)
        .owned_by(ctx.account())
        .with_resource_policy(Some(policy), Mode::ResourcePolicyRequired)
        .with_context("kms:CallerAccount", ctx.account());
    authz::authorize(ctx, &check).map_err(|e| match e {
        Error::AccessDenied(_) => KmsError::MalformedPolicy(
            "The new key policy will not allow you to update the key policy in the future.".into(),
        )
        .into(),
        e => e,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyInput {
    pub key_spec: Option<String>,
    pub customer_master_key_spec: Option<String>,
    pub key_usage: Option<String>,
    pub origin: Option<String>,
    pub multi_region: Option<bool>,
    pub custom_key_store_id: Option<String>,
    pub policy: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub description: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyOutput {
    pub key_metadata: KeyMetadata,
}

pub fn create_key(ctx: &Ctx<'_>, input: CreateKeyInput) -> Result<CreateKeyOutput, Error> {
    let spec = match (&input.key_spec, &input.customer_master_key_spec) {
        (Some(a), Some(b)) if a != b => {
            // AWS's text is not known to berth.
            return Err(KmsError::Validation(
                "KeySpec and CustomerMasterKeySpec cannot both be specified".into(),
            )
            .into());
        }
        (Some(a), _) | (None, Some(a)) => Some(a.as_str()),
        (None, None) => None,
    };
    let (spec, usage) = berth_kms::key_spec_and_usage(spec, input.key_usage.as_deref())?;
    const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
    let external = match input.origin.as_deref() {
        None | Some("AWS_KMS") => false,
        Some("EXTERNAL") => true,
        Some(v) if !ORIGINS.contains(&v) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{v}' at 'origin' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                ORIGINS.join(", ")
            ))
            .into());
        }
        Some(v) => return Err(unsupported("Origin", v)),
    };
    if external && spec != "SYMMETRIC_DEFAULT" {
        // AWS imports asymmetric and HMAC material too; berth imports symmetric material only.
        return Err(unsupported("imported key material for KeySpec", &spec));
    }
    let multi_region = input.multi_region == Some(true);
    if external && multi_region {
        // AWS makes multi-Region keys of imported material (each replica imports the same
        // material); berth does not.
        return Err(unsupported("MultiRegion keys with Origin", "EXTERNAL"));
    }
    if let Some(id) = &input.custom_key_store_id {
        ctx.authorize("kms:CreateKey", "*")?;
        return Err(more::custom_key_store_not_found(id));
    }
    if let Some(p) = &input.policy {
        berth_kms::check_policy_member(p)?;
    }
    authz::authorize(
        ctx,
        &Check::new("kms:CreateKey", "*").with_context(
            "kms:MultiRegion",
            if multi_region { "true" } else { "false" },
        ),
    )?;
    let key_id = if multi_region {
        berth_kms::new_multi_region_key_id()
    } else {
        berth_kms::new_key_id()
    };
    if let Some(p) = &input.policy {
        berth_kms::validate_policy(p)?;
        if input.bypass_policy_lockout_safety_check != Some(true) {
            let arn = berth_kms::key_arn_of(&ctx.caller.region, ctx.account(), &key_id);
            lockout_check(ctx, &arn, p)?;
        }
    }
    let new = NewKey {
        key_id: Some(key_id),
        description: input.description.unwrap_or_default(),
        policy: input.policy,
        tags: tags_of(input.tags)?,
        external,
        multi_region,
    };
    let key = kms(ctx).create_key_of(
        ctx.account(),
        &ctx.caller.region,
        ctx.now_secs(),
        new,
        (&spec, &usage),
    )?;
    Ok(CreateKeyOutput {
        key_metadata: metadata(ctx, key)?,
    })
}

/// The input of the operations that name one key and nothing else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdInput {
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyInput {
    pub key_id: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyOutput {
    pub key_metadata: KeyMetadata,
}

pub fn describe_key(ctx: &Ctx<'_>, input: DescribeKeyInput) -> Result<DescribeKeyOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:DescribeKey")?;
    Ok(DescribeKeyOutput {
        key_metadata: metadata(ctx, key)?,
    })
}

/// `Limit`: 1 to `max`, `default` when absent.
pub(crate) fn limit_of(limit: Option<i64>, default: usize, max: i64) -> Result<usize, Error> {
    match limit {
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysInput {
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysOutput {
    pub keys: Vec<KeyListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

pub fn list_keys(ctx: &Ctx<'_>, input: ListKeysInput) -> Result<ListKeysOutput, Error> {
    ctx.authorize("kms:ListKeys", "*")?;
    let limit = limit_of(input.limit, 100, 1000)?;
    let page = kms(ctx).list_keys(
        ctx.account(),
        &ctx.caller.region,
        limit,
        input.marker.as_deref(),
        ctx.now_secs(),
    )?;
    Ok(ListKeysOutput {
        keys: page
            .items
            .into_iter()
            .map(|k| KeyListEntry {
                key_id: k.key_id,
                key_arn: k.arn,
            })
            .collect(),
        truncated: page.next_marker.is_some(),
        next_marker: page.next_marker,
    })
}

pub type EnableKeyInput = KeyIdInput;

pub fn enable_key(ctx: &Ctx<'_>, input: EnableKeyInput) -> Result<Empty, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:EnableKey")?;
    kms(ctx).enable_key(&key, ctx.now_secs())?;
    Ok(Empty {})
}

pub type DisableKeyInput = KeyIdInput;

pub fn disable_key(ctx: &Ctx<'_>, input: DisableKeyInput) -> Result<Empty, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:DisableKey")?;
    kms(ctx).disable_key(&key, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionInput {
    pub key_id: Option<String>,
    pub pending_window_in_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionOutput {
    pub key_id: String,
    pub deletion_date: Option<u64>,
    pub key_state: &'static str,
    pub pending_window_in_days: Option<u32>,
}

pub fn schedule_key_deletion(
    ctx: &Ctx<'_>,
    input: ScheduleKeyDeletionInput,
) -> Result<ScheduleKeyDeletionOutput, Error> {
    let days = input.pending_window_in_days.unwrap_or(30);
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
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
    Ok(ScheduleKeyDeletionOutput {
        key_state: key.state.as_str(),
        key_id: key.arn,
        deletion_date: key.deletion_date,
        pending_window_in_days: key.pending_window_days,
    })
}

pub type CancelKeyDeletionInput = KeyIdInput;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelKeyDeletionOutput {
    pub key_id: String,
}

pub fn cancel_key_deletion(
    ctx: &Ctx<'_>,
    input: CancelKeyDeletionInput,
) -> Result<CancelKeyDeletionOutput, Error> {
    let key = key_for(ctx, input.key_id.as_deref(), "kms:CancelKeyDeletion")?;
    let key = kms(ctx).cancel_deletion(&key, ctx.now_secs())?;
    Ok(CancelKeyDeletionOutput { key_id: key.arn })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAliasInput {
    pub alias_name: Option<String>,
    pub target_key_id: Option<String>,
}

pub fn create_alias(ctx: &Ctx<'_>, input: CreateAliasInput) -> Result<Empty, Error> {
    let name = required(input.alias_name.as_deref(), "aliasName")?;
    let target = required(input.target_key_id.as_deref(), "targetKeyId")?;
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
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasInput {
    pub alias_name: Option<String>,
}

pub fn delete_alias(ctx: &Ctx<'_>, input: DeleteAliasInput) -> Result<Empty, Error> {
    let name = required(input.alias_name.as_deref(), "aliasName")?;
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
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesInput {
    pub key_id: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    pub creation_date: u64,
    pub last_updated_date: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesOutput {
    pub aliases: Vec<AliasListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

pub fn list_aliases(ctx: &Ctx<'_>, input: ListAliasesInput) -> Result<ListAliasesOutput, Error> {
    let key = match &input.key_id {
        Some(id) => Some(resolve(ctx, id)?),
        None => None,
    };
    ctx.authorize("kms:ListAliases", "*")?;
    let limit = limit_of(input.limit, 50, 100)?;
    let page = kms(ctx).list_aliases(
        ctx.account(),
        &ctx.caller.region,
        key.as_ref(),
        limit,
        input.marker.as_deref(),
        ctx.now_secs(),
    )?;
    Ok(ListAliasesOutput {
        aliases: page
            .items
            .into_iter()
            .map(|a| AliasListEntry {
                alias_name: a.name,
                alias_arn: a.arn,
                target_key_id: a.target_key_id,
                creation_date: a.created,
                last_updated_date: a.updated,
            })
            .collect(),
        truncated: page.next_marker.is_some(),
        next_marker: page.next_marker,
    })
}

fn policy_name(name: Option<String>) -> Result<String, Error> {
    let name = name.unwrap_or_else(|| "default".to_string());
    if name != "default" {
        // KMS keys have one policy, `default`; AWS's text for another name is not known to berth.
        return Err(KmsError::NotFound(format!("policy {name} does not exist")).into());
    }
    Ok(name)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyInput {
    pub key_id: Option<String>,
    pub policy_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyOutput {
    pub policy: String,
    pub policy_name: String,
}

pub fn get_key_policy(
    ctx: &Ctx<'_>,
    input: GetKeyPolicyInput,
) -> Result<GetKeyPolicyOutput, Error> {
    let name = policy_name(input.policy_name)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:GetKeyPolicy")?;
    Ok(GetKeyPolicyOutput {
        policy: key.policy,
        policy_name: name,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyInput {
    pub key_id: Option<String>,
    pub policy_name: Option<String>,
    pub policy: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

pub fn put_key_policy(ctx: &Ctx<'_>, input: PutKeyPolicyInput) -> Result<Empty, Error> {
    policy_name(input.policy_name)?;
    let policy = required(input.policy.as_deref(), "policy")?;
    berth_kms::check_policy_member(policy)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:PutKeyPolicy")?;
    berth_kms::validate_policy(policy)?;
    if input.bypass_policy_lockout_safety_check != Some(true) {
        lockout_check(ctx, &key.arn, policy)?;
    }
    kms(ctx).put_policy(&key, policy, ctx.now_secs())?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub key_id: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

pub fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<Empty, Error> {
    let tags = tags_of(input.tags)?;
    let key = key_for(ctx, input.key_id.as_deref(), "kms:TagResource")?;
    kms(ctx).tag_key(&key, &tags, ctx.now_secs())?;
    Ok(Empty {})
}

/// DryRun: everything is checked, nothing is done.
pub(crate) fn dry_run(dry_run: Option<bool>, keys: &[&Key]) -> Result<(), Error> {
    if dry_run == Some(true) {
        for k in keys {
            k.check_usable()?;
        }
        return Err(Error::DryRun);
    }
    Ok(())
}

/// The model's `EncryptionAlgorithmSpec`.
const ENCRYPTION_ALGORITHMS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];

fn check_algorithm(algorithm: Option<&str>) -> Result<(), Error> {
    match algorithm {
        Some(a) if !ENCRYPTION_ALGORITHMS.contains(&a) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{a}' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            ENCRYPTION_ALGORITHMS.join(", ")
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The algorithm a call uses with `key` (SYMMETRIC_DEFAULT when none is named), refused when
/// the key does not have it.
fn algorithm_for(key: &Key, algorithm: Option<&str>) -> Result<&'static str, Error> {
    let a = algorithm.unwrap_or("SYMMETRIC_DEFAULT");
    berth_kms::asym::encryption_algorithms(&key.spec, &key.usage)
        .iter()
        .find(|x| **x == a)
        .copied()
        .ok_or_else(|| {
            if key.usage == "ENCRYPT_DECRYPT" {
                berth_kms::incompatible(a, key).into()
            } else {
                berth_kms::wrong_usage(key, "Encrypt").into()
            }
        })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptInput {
    pub grant_tokens: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub plaintext: Option<Blob>,
    pub encryption_context: Option<EncryptionContext>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptOutput {
    pub ciphertext_blob: Blob,
    pub key_id: String,
    pub encryption_algorithm: String,
}

pub fn encrypt(ctx: &Ctx<'_>, input: EncryptInput) -> Result<EncryptOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    check_algorithm(input.encryption_algorithm.as_deref())?;
    let plaintext = required(input.plaintext, "plaintext")?;
    let context = input.encryption_context.unwrap_or_default();
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:Encrypt", &key, Some(&context), &[])?;
    if plaintext.as_slice().is_empty() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        )
        .into());
    }
    if key.usage != "ENCRYPT_DECRYPT" {
        return Err(berth_kms::wrong_usage(&key, "Encrypt").into());
    }
    let algorithm = algorithm_for(&key, input.encryption_algorithm.as_deref())?;
    dry_run(input.dry_run, &[&key])?;
    let blob = if key.is_symmetric() {
        kms(ctx).encrypt(&key, plaintext.as_slice(), &context)?
    } else {
        kms(ctx).rsa_encrypt(&key, algorithm, plaintext.as_slice())?
    };
    used(ctx, &key.arn, "Encrypt");
    Ok(EncryptOutput {
        ciphertext_blob: Blob::new(blob),
        key_id: key.arn,
        encryption_algorithm: algorithm.to_string(),
    })
}

/// The key a blob was made under, checked against an optional KeyId the caller named.
fn blob_key(ctx: &Ctx<'_>, blob: &[u8], key_id: Option<&str>) -> Result<Key, Error> {
    let owner = kms(ctx).key_of_blob(&ctx.caller.region, blob, ctx.now_secs())?;
    if let Some(id) = key_id {
        let named = resolve(ctx, id)?;
        if named.arn != owner.arn {
            return Err(KmsError::IncorrectKey.into());
        }
    }
    Ok(owner)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptInput {
    pub grant_tokens: Option<Vec<String>>,
    pub ciphertext_blob: Option<Blob>,
    pub encryption_context: Option<EncryptionContext>,
    pub key_id: Option<String>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptOutput {
    pub key_id: String,
    pub plaintext: Blob,
    pub encryption_algorithm: String,
}

pub fn decrypt(ctx: &Ctx<'_>, input: DecryptInput) -> Result<DecryptOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    check_algorithm(input.encryption_algorithm.as_deref())?;
    let blob = required(input.ciphertext_blob, "ciphertextBlob")?;
    let context = input.encryption_context.unwrap_or_default();
    // An asymmetric ciphertext names no key: the caller names it.
    if let Some(id) = input.key_id.as_deref() {
        let named = resolve(ctx, id)?;
        if !named.is_symmetric() {
            authorize_key(ctx, "kms:Decrypt", &named, Some(&context), &[])?;
            if named.usage != "ENCRYPT_DECRYPT" {
                return Err(berth_kms::wrong_usage(&named, "Decrypt").into());
            }
            let algorithm = algorithm_for(&named, input.encryption_algorithm.as_deref())?;
            dry_run(input.dry_run, &[&named])?;
            let plain = kms(ctx).rsa_decrypt(&named, algorithm, blob.as_slice())?;
            used(ctx, &named.arn, "Decrypt");
            return Ok(DecryptOutput {
                key_id: named.arn,
                plaintext: Blob(plain),
                encryption_algorithm: algorithm.to_string(),
            });
        }
    }
    let key = blob_key(ctx, blob.as_slice(), input.key_id.as_deref())?;
    authorize_key(ctx, "kms:Decrypt", &key, Some(&context), &[])?;
    let algorithm = algorithm_for(&key, input.encryption_algorithm.as_deref())?;
    dry_run(input.dry_run, &[&key])?;
    let plain = kms(ctx).decrypt(&key, blob.as_slice(), &context)?;
    used(ctx, &key.arn, "Decrypt");
    Ok(DecryptOutput {
        key_id: key.arn,
        plaintext: Blob(plain),
        encryption_algorithm: algorithm.to_string(),
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyInput {
    pub grant_tokens: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub encryption_context: Option<EncryptionContext>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub dry_run: Option<bool>,
}

pub type GenerateDataKeyWithoutPlaintextInput = GenerateDataKeyInput;

fn data_key_size(spec: Option<&str>, n: Option<i64>) -> Result<usize, Error> {
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
type DataKey = (Key, Zeroizing<Vec<u8>>, Vec<u8>);

fn make_data_key(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyInput,
    action: &str,
) -> Result<DataKey, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let n = data_key_size(input.key_spec.as_deref(), input.number_of_bytes)?;
    let context = input.encryption_context.unwrap_or_default();
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, action, &key, Some(&context), &[])?;
    dry_run(input.dry_run, &[&key])?;
    let (plain, blob) = kms(ctx).generate_data_key(&key, n, &context)?;
    used(ctx, &key.arn, action.strip_prefix("kms:").unwrap_or(action));
    Ok((key, plain, blob))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyOutput {
    pub ciphertext_blob: Blob,
    pub plaintext: Blob,
    pub key_id: String,
}

pub fn generate_data_key(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyInput,
) -> Result<GenerateDataKeyOutput, Error> {
    let (key, plain, blob) = make_data_key(ctx, input, "kms:GenerateDataKey")?;
    Ok(GenerateDataKeyOutput {
        ciphertext_blob: Blob::new(blob),
        plaintext: Blob(plain),
        key_id: key.arn,
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextOutput {
    pub ciphertext_blob: Blob,
    pub key_id: String,
}

pub fn generate_data_key_without_plaintext(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyWithoutPlaintextInput,
) -> Result<GenerateDataKeyWithoutPlaintextOutput, Error> {
    let (key, _plain, blob) = make_data_key(ctx, input, "kms:GenerateDataKeyWithoutPlaintext")?;
    Ok(GenerateDataKeyWithoutPlaintextOutput {
        ciphertext_blob: Blob::new(blob),
        key_id: key.arn,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptInput {
    pub grant_tokens: Option<Vec<String>>,
    pub ciphertext_blob: Option<Blob>,
    pub source_encryption_context: Option<EncryptionContext>,
    pub source_key_id: Option<String>,
    pub destination_key_id: Option<String>,
    pub destination_encryption_context: Option<EncryptionContext>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptOutput {
    pub ciphertext_blob: Blob,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: &'static str,
    pub destination_encryption_algorithm: &'static str,
}

pub fn re_encrypt(ctx: &Ctx<'_>, input: ReEncryptInput) -> Result<ReEncryptOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    check_algorithm(input.source_encryption_algorithm.as_deref())?;
    check_algorithm(input.destination_encryption_algorithm.as_deref())?;
    let blob = required(input.ciphertext_blob, "ciphertextBlob")?;
    let source_context = input.source_encryption_context.unwrap_or_default();
    let dest_context = input.destination_encryption_context.unwrap_or_default();
    let dest_id = required(input.destination_key_id.as_deref(), "destinationKeyId")?;
    let source = blob_key(ctx, blob.as_slice(), input.source_key_id.as_deref())?;
    authorize_key(
        ctx,
        "kms:ReEncryptFrom",
        &source,
        Some(&source_context),
        &[],
    )?;
    let dest = resolve(ctx, dest_id)?;
    authorize_key(ctx, "kms:ReEncryptTo", &dest, Some(&dest_context), &[])?;
    dry_run(input.dry_run, &[&source, &dest])?;
    let k = kms(ctx);
    let plain = k.decrypt(&source, blob.as_slice(), &source_context)?;
    let out = k.encrypt(&dest, &plain, &dest_context)?;
    used(ctx, &source.arn, "ReEncrypt");
    used(ctx, &dest.arn, "ReEncrypt");
    Ok(ReEncryptOutput {
        ciphertext_blob: Blob::new(out),
        source_key_id: source.arn,
        key_id: dest.arn,
        source_encryption_algorithm: "SYMMETRIC_DEFAULT",
        destination_encryption_algorithm: "SYMMETRIC_DEFAULT",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key's last use is recorded at most once a minute: within the minute the first use
    /// stands, after it the next one replaces it; tracking starts with the store's first record.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_last_use_is_recorded_once_a_minute() {
        use std::sync::Arc;
        let store: Arc<dyn berth_store::Store> =
            Arc::new(berth_store::SqliteStore::in_memory().unwrap());
        let root_key = berth_core::RootKey::generate();
        let now = crate::Control::new(store.clone(), root_key.clone(), 0);
        let later = crate::Control::new(store, root_key, 61);
        let root = crate::testing::caller(berth_iam::Principal::Root {
            account: "111122223333".into(),
        });
        let ctx = now.ctx(&root, "req-1");
        let key = create_key(&ctx, CreateKeyInput::default())
            .unwrap()
            .key_metadata
            .arn;
        let last = |ctx: &Ctx<'_>| {
            imports::get_key_last_usage(
                ctx,
                imports::GetKeyLastUsageInput {
                    key_id: Some(key.clone()),
                },
            )
            .unwrap()
        };
        let unused = last(&ctx);
        assert!(unused.key_last_usage.operation.is_none());
        assert_eq!(unused.tracking_start_date, ctx.now_secs());
        let blob = encrypt(
            &ctx,
            EncryptInput {
                key_id: Some(key.clone()),
                plaintext: Some(Blob::new(b"hello".to_vec())),
                ..Default::default()
            },
        )
        .unwrap()
        .ciphertext_blob;
        let decrypt_in = |ctx: &Ctx<'_>| {
            decrypt(
                ctx,
                DecryptInput {
                    ciphertext_blob: Some(blob.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        };
        decrypt_in(&now.ctx(&root, "req-2"));
        let first = last(&ctx);
        assert_eq!(first.key_last_usage.operation.as_deref(), Some("Encrypt"));
        assert_eq!(first.key_last_usage.timestamp, Some(ctx.now_secs()));
        assert_eq!(
            first.key_last_usage.kms_request_id.as_deref(),
            Some("req-1")
        );
        let v = serde_json::to_value(&first).unwrap();
        assert_eq!(v["KeyLastUsage"]["Operation"], "Encrypt");
        assert_eq!(v["KeyLastUsage"]["KmsRequestId"], "req-1");
        assert!(v["KeyLastUsage"].get("CloudTrailEventId").is_none());

        let later_ctx = later.ctx(&root, "req-3");
        decrypt_in(&later_ctx);
        let second = last(&later_ctx);
        assert_eq!(second.key_last_usage.operation.as_deref(), Some("Decrypt"));
        assert_eq!(second.key_last_usage.timestamp, Some(later_ctx.now_secs()));
        assert_eq!(
            second.key_last_usage.kms_request_id.as_deref(),
            Some("req-3")
        );
        // Tracking began with the first record, which was the key's creation second.
        assert_eq!(second.tracking_start_date, ctx.now_secs());
        assert_eq!(second.key_creation_date, ctx.now_secs());
    }

    #[test]
    fn blobs_are_base64_both_ways() {
        let b: Blob = serde_json::from_str("\"AAEC/w==\"").unwrap_or_default();
        assert_eq!(b.as_slice(), &[0u8, 1, 2, 255]);
        assert_eq!(
            serde_json::to_string(&b).ok().as_deref(),
            Some("\"AAEC/w==\"")
        );
        assert!(serde_json::from_str::<Blob>("\"not base64!\"").is_err());
        assert!(serde_json::from_str::<Blob>("5").is_err());
    }

    #[test]
    fn key_metadata_omits_the_deletion_members_of_a_live_key() {
        let m = KeyMetadata {
            aws_account_id: "111122223333".into(),
            key_id: "k".into(),
            arn: "arn:k".into(),
            creation_date: 1,
            enabled: true,
            description: String::new(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_state: "Enabled",
            deletion_date: None,
            pending_deletion_window_in_days: None,
            origin: "AWS_KMS".into(),
            valid_to: None,
            expiration_model: None,
            key_manager: "CUSTOMER",
            customer_master_key_spec: "SYMMETRIC_DEFAULT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            encryption_algorithms: Some(vec!["SYMMETRIC_DEFAULT"]),
            signing_algorithms: None,
            mac_algorithms: None,
            key_agreement_algorithms: None,
            encapsulation_algorithms: None,
            multi_region: false,
            multi_region_configuration: None,
            current_key_material_id: None,
        };
        let v = serde_json::to_value(&m).unwrap_or_default();
        assert_eq!(v["AWSAccountId"], "111122223333");
        assert_eq!(
            v["EncryptionAlgorithms"],
            serde_json::json!(["SYMMETRIC_DEFAULT"])
        );
        assert!(v.get("DeletionDate").is_none());
        assert!(v.get("PendingDeletionWindowInDays").is_none());
        assert!(v.get("ValidTo").is_none());
        assert!(v.get("MultiRegionConfiguration").is_none());
        assert!(v.get("KeyAgreementAlgorithms").is_none());
    }
}
