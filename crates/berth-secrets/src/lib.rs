//! berth-secrets: the Secrets Manager domain — secrets, versions, staging labels, resource
//! policies, and how a SecretId (name, partial ARN, full ARN) finds its secret.
//!
//! Plain Rust over the [`Store`] trait. Values arrive here already sealed: the API layer asks
//! KMS for a data key *as the caller* (so the key policy and the caller's IAM policies decide),
//! seals the value with [`seal_value`], and hands the [`SealedValue`] over. Nothing in this
//! crate sees a KMS key's material, and nothing it stores holds a value in the clear.

mod error;
mod model;
mod value;

use berth_core::Arn;
use berth_store::{Store, StoreExt, Tx, get_json, put_json, scan_json};

pub use error::SecretsError;
pub use model::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Replica, Rotation, RotationRules, SealedValue, Secret,
    Tag, ValueKind, Version,
};
pub use value::{MAX_VALUE_BYTES, SecretValue, seal_value};

/// Table of secrets: `{account}/{region}/{name}`.
pub const SECRETS: &str = "sm_secrets";
/// Table of sealed values: `{account}/{region}/{name}#{version_id}` (`#` is not a name
/// character, so one secret's prefix never covers another's).
pub const VALUES: &str = "sm_values";
/// ListSecrets' sort orders other than by name, as keys to nothing:
/// `{account}/{region}/{c|m|a}/{created|last_changed|last_accessed, 20 digits}/{name}`.
/// Kept in step with [`SECRETS`] by every write of a secret, so that a page of ListSecrets
/// reads only the keys it needs (a keyed cursor), whatever the sort.
pub const ORDER: &str = "sm_order";
/// The key in [`ORDER`] saying that it covers every secret (written by
/// [`Secrets::ensure_order_index`]; `!` is not a name or account character).
const ORDER_BUILT: &str = "!built-v2";
/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;
/// Keys read per step while a page of ListSecrets is filled.
const PAGE_CHUNK: usize = 64;

/// Largest resource policy.
pub const MAX_POLICY_CHARS: usize = 20_480;
/// Most tags on one secret.
pub const MAX_TAGS: usize = 50;
/// Versions kept per secret; the oldest deprecated ones go first.
pub const MAX_VERSIONS: usize = 100;
/// Most staging labels on one version.
pub const MAX_STAGES_PER_VERSION: usize = 20;

const NAME_MESSAGE: &str = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

/// Checks a secret name: letters, digits and `/_+=.@-`, 1–512 characters.
pub fn validate_name(name: &str) -> Result<(), SecretsError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SecretsError::Validation(NAME_MESSAGE.into()))
    }
}

/// Checks a version id or ClientRequestToken (32–64 characters) given as `member`.
pub fn validate_version_id(member: &str, id: &str) -> Result<(), SecretsError> {
    let bound = if id.len() < 32 {
        "greater than or equal to 32"
    } else if id.len() > 64 {
        "less than or equal to 64"
    } else {
        return Ok(());
    };
    Err(SecretsError::Validation(format!(
        "1 validation error detected: Value '{id}' at '{member}' failed to satisfy constraint: Member must have length {bound}"
    )))
}

/// Checks a description (at most 2048 characters).
pub fn validate_description(d: &str) -> Result<(), SecretsError> {
    if d.chars().count() > 2048 {
        return Err(SecretsError::Validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048".into(),
        ));
    }
    Ok(())
}

/// Checks tags (keys 1–128, values up to 256 characters; `aws:` is reserved).
pub fn validate_tags(tags: &[Tag]) -> Result<(), SecretsError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            // AWS's text for this case is not known to berth.
            return Err(SecretsError::InvalidParameter(format!(
                "invalid tag: keys must be 1-128 characters and values at most 256: {}",
                t.key
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SecretsError::InvalidParameter(
                "Invalid tag key. The aws: prefix is reserved for AWS use.".into(),
            ));
        }
    }
    Ok(())
}

/// Checks a resource policy document: size, then syntax.
pub fn validate_policy(doc: &str) -> Result<(), SecretsError> {
    if doc.is_empty() || doc.chars().count() > MAX_POLICY_CHARS {
        return Err(SecretsError::Validation(format!(
            "1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: Member must have length {}",
            if doc.is_empty() {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {MAX_POLICY_CHARS}")
            }
        )));
    }
    berth_policy::parse(doc, berth_policy::PolicyKind::Resource)
        .map(|_| ())
        .map_err(|e| SecretsError::MalformedPolicy(e.message().to_string()))
}

/// Six random letters and digits, as AWS appends to a secret's name in its ARN.
fn arn_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(6);
    while out.len() < 6 {
        let mut b = [0u8; 16];
        berth_core::ids::random_bytes(&mut b);
        for x in b {
            // Rejection sampling keeps the draw uniform over 62 characters.
            if (x as usize) < 248 && out.len() < 6 {
                out.push(ALPHABET[x as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// A fresh ARN for a new secret `name`.
pub fn new_arn(account: &str, region: &str, name: &str) -> String {
    Arn::aws(
        "secretsmanager",
        region,
        account,
        format!("secret:{name}-{}", arn_suffix()),
    )
    .to_string()
}

/// What a SecretId names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A name in the caller's account and region.
    Name(String),
    /// A full ARN: the exact secret.
    FullArn {
        account: String,
        region: String,
        name: String,
        arn: String,
    },
    /// An ARN without the six-character suffix: the secret of that name.
    PartialArn {
        account: String,
        region: String,
        name: String,
    },
}

impl SecretRef {
    /// Reads a SecretId by AWS's rules: an ARN whose last segment ends in `-` and six
    /// characters is a full ARN; any other ARN is partial; anything else is a name, which must
    /// be a valid one ([`validate_name`]).
    pub fn parse(secret_id: &str) -> Result<SecretRef, SecretsError> {
        if secret_id.is_empty() || secret_id.len() > 2048 {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{secret_id}' at 'secretId' failed to satisfy constraint: Member must have length {}",
                if secret_id.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 2048"
                }
            )));
        }
        if !secret_id.starts_with("arn:") {
            // A SecretId that is a name is held to the rules of names.
            validate_name(secret_id)?;
            return Ok(SecretRef::Name(secret_id.to_string()));
        }
        let arn = Arn::parse(secret_id).map_err(|_| SecretsError::NotFound)?;
        let name = arn
            .resource
            .strip_prefix("secret:")
            .filter(|n| !n.is_empty())
            .ok_or(SecretsError::NotFound)?;
        if arn.service != "secretsmanager" {
            return Err(SecretsError::NotFound);
        }
        let full = name.len() > 7
            && name.as_bytes()[name.len() - 7] == b'-'
            && name[name.len() - 6..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric());
        if full {
            Ok(SecretRef::FullArn {
                account: arn.account,
                region: arn.region,
                name: name[..name.len() - 7].to_string(),
                arn: secret_id.to_string(),
            })
        } else {
            Ok(SecretRef::PartialArn {
                account: arn.account,
                region: arn.region,
                name: name.to_string(),
            })
        }
    }
}

/// Input to [`Secrets::create`].
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub tags: Vec<Tag>,
}

/// A version about to be written: its id, the key its data key is under, the sealed value.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub id: String,
    pub kms_key_arn: String,
    pub sealed: SealedValue,
}

/// ListSecrets' query.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub include_planned_deletion: bool,
    /// (key, values): keys as the model names them (`name`, `description`, `tag-key`, ...).
    pub filters: Vec<(String, Vec<String>)>,
    pub sort_by: Option<String>,
    pub descending: bool,
}

fn secret_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn value_key(s: &Secret, version_id: &str) -> String {
    format!("{}/{}/{}#{version_id}", s.account, s.region, s.name)
}

/// A secret whose recovery window has ended no longer exists.
fn live(s: Secret, now: u64) -> Option<Secret> {
    match s.deletion_date {
        Some(d) if now >= d => None,
        _ => Some(s),
    }
}

fn load(
    tx: &dyn Tx,
    account: &str,
    region: &str,
    name: &str,
    now: u64,
) -> Result<Option<Secret>, SecretsError> {
    let s: Option<Secret> = get_json(tx, SECRETS, &secret_key(account, region, name))?;
    Ok(s.map(Secret::to_millis).and_then(|s| live(s, now)))
}

/// A secret's sort keys: (created, last changed, last accessed or 0).
type SortKeys = [u64; 3];
const SORT_FIELDS: [&str; 3] = ["c", "m", "a"];

fn sort_keys(s: &Secret) -> SortKeys {
    [s.created, s.last_changed, s.last_accessed.unwrap_or(0)]
}

fn order_key(account: &str, region: &str, field: &str, value: u64, name: &str) -> String {
    format!("{account}/{region}/{field}/{value:020}/{name}")
}

/// Writes `s` and moves its [`ORDER`] entries from `old` (its sort keys as stored, if it was).
fn save(tx: &dyn Tx, old: Option<SortKeys>, s: &Secret) -> Result<(), SecretsError> {
    put_json(tx, SECRETS, &secret_key(&s.account, &s.region, &s.name), s)?;
    let new = sort_keys(s);
    for (i, field) in SORT_FIELDS.iter().enumerate() {
        if old.is_some_and(|o| o[i] == new[i]) {
            continue;
        }
        if let Some(o) = old {
            tx.delete(
                ORDER,
                &order_key(&s.account, &s.region, field, o[i], &s.name),
            )?;
        }
        tx.put(
            ORDER,
            &order_key(&s.account, &s.region, field, new[i], &s.name),
            b"",
        )?;
    }
    Ok(())
}

fn remove_all(tx: &dyn Tx, s: &Secret) -> Result<(), SecretsError> {
    tx.delete(SECRETS, &secret_key(&s.account, &s.region, &s.name))?;
    for (field, v) in SORT_FIELDS.iter().zip(sort_keys(s)) {
        tx.delete(ORDER, &order_key(&s.account, &s.region, field, v, &s.name))?;
    }
    for (k, _) in tx.scan(VALUES, &format!("{}/{}/{}#", s.account, s.region, s.name))? {
        tx.delete(VALUES, &k)?;
    }
    Ok(())
}

/// Moves the labels `stages` onto `target` (a version id). AWSCURRENT leaving a version
/// leaves AWSPREVIOUS behind on it.
fn apply_stages(s: &mut Secret, target: &str, stages: &[String]) {
    for stage in stages {
        let holder = s
            .version_with_stage(stage)
            .map(|v| v.id.clone())
            .filter(|id| id != target);
        if let Some(old) = holder {
            for v in &mut s.versions {
                if v.id == old {
                    v.stages.retain(|x| x != stage);
                }
            }
            if stage == AWSCURRENT {
                for v in &mut s.versions {
                    v.stages.retain(|x| x != AWSPREVIOUS);
                }
                for v in &mut s.versions {
                    if v.id == old {
                        v.stages.push(AWSPREVIOUS.to_string());
                    }
                }
            }
        }
        for v in &mut s.versions {
            if v.id == target && !v.stages.iter().any(|x| x == stage) {
                v.stages.push(stage.clone());
            }
        }
    }
}

/// Drops the oldest deprecated versions beyond [`MAX_VERSIONS`]; returns their ids.
fn prune_versions(s: &mut Secret) -> Vec<String> {
    let mut dropped = Vec::new();
    while s.versions.len() > MAX_VERSIONS {
        match s.versions.iter().position(|v| v.stages.is_empty()) {
            Some(i) => dropped.push(s.versions.remove(i).id),
            None => break,
        }
    }
    dropped
}

fn insert_version(
    tx: &dyn Tx,
    s: &mut Secret,
    version: NewVersion,
    stages: &[String],
    now: u64,
) -> Result<(), SecretsError> {
    if s.version(&version.id).is_some() {
        return Err(SecretsError::VersionExists);
    }
    s.versions.push(Version {
        id: version.id.clone(),
        created: now,
        stages: Vec::new(),
        kms_key_arn: version.kms_key_arn.clone(),
        last_accessed: None,
    });
    apply_stages(s, &version.id, stages);
    if stages.iter().any(|x| x == AWSCURRENT) && !stages.iter().any(|x| x == AWSPENDING) {
        // The version AWSCURRENT left (now AWSPREVIOUS) keeps no AWSPENDING.
        for v in &mut s.versions {
            if v.id != version.id && v.stages.iter().any(|x| x == AWSPREVIOUS) {
                v.stages.retain(|x| x != AWSPENDING);
            }
        }
    }
    for gone in prune_versions(s) {
        tx.delete(VALUES, &value_key(s, &gone))?;
    }
    put_json(tx, VALUES, &value_key(s, &version.id), &version.sealed)?;
    s.last_changed = now;
    Ok(())
}

fn check_stages(stages: &[String]) -> Result<(), SecretsError> {
    if stages.len() > MAX_STAGES_PER_VERSION {
        return Err(SecretsError::LimitExceeded(format!(
            "a version can have at most {MAX_STAGES_PER_VERSION} staging labels"
        )));
    }
    for s in stages {
        if s.is_empty() || s.len() > 256 {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{s}' at 'versionStages' failed to satisfy constraint: Member must have length less than or equal to 256"
            )));
        }
    }
    Ok(())
}

/// The Secrets Manager domain over a store.
pub struct Secrets<'a> {
    store: &'a dyn Store,
}

impl<'a> Secrets<'a> {
    pub fn new(store: &'a dyn Store) -> Secrets<'a> {
        Secrets { store }
    }

    /// Finds the secret a SecretId names, for a caller of `caller_account` in `region`.
    /// A name never reaches another account; a partial ARN of another account does not
    /// resolve either (AWS requires the full ARN across accounts).
    pub fn resolve(
        &self,
        caller_account: &str,
        region: &str,
        secret_id: &str,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        let r = SecretRef::parse(secret_id)?;
        self.store.read(|tx| {
            let found = match &r {
                SecretRef::Name(name) => load(tx, caller_account, region, name, now)?,
                SecretRef::FullArn {
                    account,
                    region: r,
                    name,
                    arn,
                } => {
                    if r != region {
                        None
                    } else {
                        load(tx, account, region, name, now)?.filter(|s| &s.arn == arn)
                    }
                }
                SecretRef::PartialArn {
                    account,
                    region: r,
                    name,
                } => {
                    if r != region || account != caller_account {
                        None
                    } else {
                        load(tx, account, region, name, now)?
                    }
                }
            };
            found.ok_or(SecretsError::NotFound)
        })
    }

    /// The live secret called `name`, if any (including one waiting for deletion).
    pub fn by_name(
        &self,
        account: &str,
        region: &str,
        name: &str,
        now: u64,
    ) -> Result<Option<Secret>, SecretsError> {
        self.store.read(|tx| load(tx, account, region, name, now))
    }

    /// Reloads `secret` and applies `f` in one transaction.
    fn update<T>(
        &self,
        secret: &Secret,
        now: u64,
        f: impl FnOnce(&dyn Tx, &mut Secret) -> Result<T, SecretsError>,
    ) -> Result<(Secret, T), SecretsError> {
        self.store.write(|tx| {
            let mut s = load(tx, &secret.account, &secret.region, &secret.name, now)?
                .filter(|s| s.arn == secret.arn)
                .ok_or(SecretsError::NotFound)?;
            let old = sort_keys(&s);
            let out = f(tx, &mut s)?;
            save(tx, Some(old), &s)?;
            Ok((s, out))
        })
    }

    /// CreateSecret, with its first version (labelled AWSCURRENT) when a value was given.
    pub fn create(
        &self,
        new: NewSecret,
        version: Option<NewVersion>,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        validate_name(&new.name)?;
        self.store.write(|tx| {
            let key = secret_key(&new.account, &new.region, &new.name);
            let existing: Option<Secret> = get_json(tx, SECRETS, &key)?;
            if let Some(old) = existing {
                match live(old.clone(), now) {
                    Some(s) if s.is_deleted() => {
                        return Err(SecretsError::NameScheduledForDeletion);
                    }
                    Some(_) => return Err(SecretsError::Exists(new.name.clone())),
                    // Its recovery window is over: it goes now.
                    None => remove_all(tx, &old)?,
                }
            }
            let mut s = Secret {
                arn: new.arn.clone(),
                name: new.name.clone(),
                account: new.account.clone(),
                region: new.region.clone(),
                description: new.description.clone(),
                kms_key_id: new.kms_key_id.clone(),
                created: now,
                last_changed: now,
                last_accessed: None,
                deleted_date: None,
                deletion_date: None,
                tags: Vec::new(),
                resource_policy: None,
                versions: Vec::new(),
                timestamps_ms: true,
                rotation: None,
                last_rotated: None,
                primary_region: None,
                replicas: Vec::new(),
                ever_tagged: !new.tags.is_empty(),
            };
            merge_tags(&mut s.tags, &new.tags)?;
            if let Some(v) = &version {
                s.versions.push(Version {
                    id: v.id.clone(),
                    created: now,
                    stages: vec![AWSCURRENT.to_string()],
                    kms_key_arn: v.kms_key_arn.clone(),
                    last_accessed: None,
                });
                put_json(tx, VALUES, &value_key(&s, &v.id), &v.sealed)?;
            }
            save(tx, None, &s)?;
            Ok(s)
        })
    }

    /// PutSecretValue: stores a new version and moves `stages` onto it. A version id already
    /// in use is [`SecretsError::VersionExists`]; the API layer checks idempotent retries
    /// (same value) before it seals anything.
    pub fn add_version(
        &self,
        secret: &Secret,
        version: NewVersion,
        stages: &[String],
        now: u64,
    ) -> Result<Secret, SecretsError> {
        check_stages(stages)?;
        let (s, ()) = self.update(secret, now, |tx, s| {
            s.check_not_deleted()?;
            insert_version(tx, s, version, stages, now)
        })?;
        Ok(s)
    }

    /// UpdateSecret: description, KMS key (for versions written from now on), existing
    /// versions re-encrypted under a new key, and, when a value was given, a new AWSCURRENT
    /// version — in one transaction.
    pub fn update_secret(
        &self,
        secret: &Secret,
        description: Option<String>,
        kms_key_id: Option<Option<String>>,
        reencrypted: Vec<NewVersion>,
        version: Option<NewVersion>,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |tx, s| {
            s.check_not_deleted()?;
            for r in reencrypted {
                let Some(i) = s.versions.iter().position(|v| v.id == r.id) else {
                    continue;
                };
                s.versions[i].kms_key_arn = r.kms_key_arn.clone();
                put_json(tx, VALUES, &value_key(s, &r.id), &r.sealed)?;
            }
            if let Some(d) = description {
                s.description = Some(d);
            }
            if let Some(k) = kms_key_id {
                s.kms_key_id = k;
            }
            if let Some(v) = version {
                insert_version(tx, s, v, &[AWSCURRENT.to_string()], now)?;
            }
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// The sealed value of one version.
    pub fn sealed_value(
        &self,
        secret: &Secret,
        version_id: &str,
    ) -> Result<SealedValue, SecretsError> {
        self.store
            .read(|tx| get_json(tx, VALUES, &value_key(secret, version_id)))?
            .ok_or(SecretsError::Corrupt)
    }

    /// Records a read of the secret and of the version (LastAccessedDate, kept to the day as
    /// AWS does).
    pub fn touch(&self, secret: &Secret, version_id: &str, now: u64) -> Result<(), SecretsError> {
        let day = start_of_day_ms(now);
        let version_seen = secret
            .version(version_id)
            .is_none_or(|v| v.last_accessed == Some(day));
        if secret.last_accessed == Some(day) && version_seen {
            return Ok(());
        }
        self.update(secret, now, |_, s| {
            s.last_accessed = Some(day);
            for v in &mut s.versions {
                if v.id == version_id {
                    v.last_accessed = Some(day);
                }
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// UpdateSecretVersionStage.
    pub fn update_stage(
        &self,
        secret: &Secret,
        stage: &str,
        remove_from: Option<&str>,
        move_to: Option<&str>,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        check_stages(&[stage.to_string()])?;
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            for id in remove_from.iter().chain(move_to.iter()) {
                if s.version(id).is_none() {
                    return Err(SecretsError::NoVersion((*id).to_string()));
                }
            }
            let holder = s.version_with_stage(stage).map(|v| v.id.clone());
            if let Some(h) = &holder
                && move_to != Some(h.as_str())
                && remove_from != Some(h.as_str())
            {
                return Err(SecretsError::InvalidParameter(format!(
                    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            if let Some(r) = remove_from
                && holder.as_deref() != Some(r)
            {
                return Err(SecretsError::InvalidParameter(format!(
                    "The staging label {stage} is not attached to version {r}"
                )));
            }
            match move_to {
                Some(target) => apply_stages(s, target, &[stage.to_string()]),
                None => {
                    if let Some(r) = remove_from {
                        if stage == AWSCURRENT {
                            return Err(SecretsError::InvalidParameter(
                                "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.".into(),
                            ));
                        }
                        for v in &mut s.versions {
                            if v.id == r {
                                v.stages.retain(|x| x != stage);
                            }
                        }
                    }
                }
            }
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// DeleteSecret: scheduled after `window_days` (7–30, default 30), or at once with
    /// `force`. Returns the secret as it was, with its deletion date set.
    pub fn delete(
        &self,
        secret: &Secret,
        window_days: Option<i64>,
        force: bool,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        if force && window_days.is_some() {
            return Err(SecretsError::InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                    .into(),
            ));
        }
        let days = window_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(SecretsError::InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
            ));
        }
        if force {
            return self.store.write(|tx| {
                let mut s = load(tx, &secret.account, &secret.region, &secret.name, now)?
                    .filter(|s| s.arn == secret.arn)
                    .ok_or(SecretsError::NotFound)?;
                remove_all(tx, &s)?;
                s.deleted_date = Some(now);
                s.deletion_date = Some(now);
                Ok(s)
            });
        }
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            s.deleted_date = Some(now);
            s.deletion_date = Some(now.saturating_add((days as u64).saturating_mul(DAY_MS)));
            Ok(())
        })?;
        Ok(s)
    }

    /// RestoreSecret: cancels a scheduled deletion (a secret not scheduled stays as it is).
    pub fn restore(&self, secret: &Secret, now: u64) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |_, s| {
            s.deleted_date = None;
            s.deletion_date = None;
            Ok(())
        })?;
        Ok(s)
    }

    /// PutResourcePolicy / DeleteResourcePolicy (`None`).
    pub fn set_policy(
        &self,
        secret: &Secret,
        policy: Option<&str>,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        if let Some(p) = policy {
            validate_policy(p)?;
        }
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            s.resource_policy = policy.map(str::to_string);
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// TagResource.
    pub fn tag(&self, secret: &Secret, tags: &[Tag], now: u64) -> Result<Secret, SecretsError> {
        validate_tags(tags)?;
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            merge_tags(&mut s.tags, tags)?;
            s.ever_tagged = true;
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// UntagResource.
    pub fn untag(
        &self,
        secret: &Secret,
        keys: &[String],
        now: u64,
    ) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            s.tags.retain(|t| !keys.contains(&t.key));
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// RotateSecret's stored configuration (CancelRotateSecret: `enabled` false, the rest kept).
    pub fn set_rotation(
        &self,
        secret: &Secret,
        rotation: Rotation,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |_, s| {
            s.check_not_deleted()?;
            s.rotation = Some(rotation);
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// The regions `secret` (a primary) replicates to.
    pub fn set_replicas(
        &self,
        secret: &Secret,
        replicas: Vec<Replica>,
        now: u64,
    ) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |_, s| {
            s.replicas = replicas;
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// Writes `replica` (a whole secret record in its own region) with the sealed values of
    /// the versions it lacks, dropping the values of versions it no longer has. Replaces any
    /// secret of that name in that region.
    pub fn write_replica(
        &self,
        replica: &Secret,
        values: Vec<NewVersion>,
    ) -> Result<(), SecretsError> {
        self.store.write(|tx| {
            let key = secret_key(&replica.account, &replica.region, &replica.name);
            let old: Option<Secret> = get_json(tx, SECRETS, &key)?;
            let old = old.map(Secret::to_millis);
            if let Some(o) = &old {
                if o.arn != replica.arn {
                    remove_all(tx, o)?;
                } else {
                    for v in &o.versions {
                        if replica.version(&v.id).is_none() {
                            tx.delete(VALUES, &value_key(replica, &v.id))?;
                        }
                    }
                }
            }
            for v in values {
                put_json(tx, VALUES, &value_key(replica, &v.id), &v.sealed)?;
            }
            let old_keys = old.filter(|o| o.arn == replica.arn).map(|o| sort_keys(&o));
            save(tx, old_keys, replica)
        })
    }

    /// Deletes a secret and its values at once (a replica removed from replication).
    pub fn remove(&self, secret: &Secret) -> Result<(), SecretsError> {
        self.store.write(|tx| remove_all(tx, secret))
    }

    /// StopReplicationToReplica: the replica becomes a standalone secret.
    pub fn promote(&self, secret: &Secret, now: u64) -> Result<Secret, SecretsError> {
        let (s, ()) = self.update(secret, now, |_, s| {
            s.primary_region = None;
            s.last_changed = now;
            Ok(())
        })?;
        Ok(s)
    }

    /// Makes sure [`ORDER`] covers every secret: a data directory written before the index
    /// existed gets it built once, in one transaction (run at server start).
    pub fn ensure_order_index(&self) -> Result<(), SecretsError> {
        if self.store.read(|tx| tx.get(ORDER, ORDER_BUILT))?.is_some() {
            return Ok(());
        }
        self.store.write(|tx| {
            if tx.get(ORDER, ORDER_BUILT)?.is_some() {
                return Ok(());
            }
            for (k, _) in tx.scan(ORDER, "")? {
                tx.delete(ORDER, &k)?;
            }
            for (_, s) in scan_json::<Secret>(tx, SECRETS, "")? {
                save(tx, None, &s.to_millis())?;
            }
            tx.put(ORDER, ORDER_BUILT, b"")?;
            Ok(())
        })
    }

    /// One page of ListSecrets: at most `max` of the region's secrets that match, in the
    /// query's order, after `cursor` (from the previous page), and the cursor for the next
    /// page when there are more. Reads the keys in order from the cursor and stops once it
    /// has `max` + 1 matches, so a page costs what it returns (plus what the filters skip),
    /// not the whole region.
    pub fn page(
        &self,
        account: &str,
        region: &str,
        query: &ListQuery,
        cursor: Option<&str>,
        max: usize,
        now: u64,
    ) -> Result<(Vec<Secret>, Option<String>), SecretsError> {
        check_filters(query)?;
        let max = max.max(1);
        let field = match query.sort_by.as_deref() {
            Some("name") => None,
            Some("last-changed-date") => Some("m"),
            Some("last-accessed-date") => Some("a"),
            _ => Some("c"),
        };
        let (table, prefix) = match field {
            None => (SECRETS, format!("{account}/{region}/")),
            Some(f) => (ORDER, format!("{account}/{region}/{f}/")),
        };
        self.store.read(|tx| {
            let mut found: Vec<(String, Secret)> = Vec::new();
            let mut after = cursor.map(|c| format!("{prefix}{c}"));
            'scan: loop {
                let chunk = tx.scan_range(
                    table,
                    &prefix,
                    after.as_deref(),
                    query.descending,
                    PAGE_CHUNK.min(max + 1),
                )?;
                let done = chunk.len() < PAGE_CHUNK.min(max + 1);
                for (k, v) in chunk {
                    let secret: Option<Secret> = match field {
                        None => Some(
                            serde_json::from_slice::<Secret>(&v)
                                .map_err(|source| berth_store::StoreError::Decode {
                                    table: table.into(),
                                    key: k.clone(),
                                    source,
                                })?
                                .to_millis(),
                        ),
                        // `{value:020}/{name}` after the prefix.
                        Some(_) => match k.get(prefix.len() + 21..) {
                            Some(name) => load(tx, account, region, name, now)?,
                            None => None,
                        },
                    };
                    let keep = secret
                        .and_then(|s| live(s, now))
                        .filter(|s| query.include_planned_deletion || !s.is_deleted())
                        .filter(|s| query.filters.iter().all(|(k, vs)| filter_matches(s, k, vs)));
                    after = Some(k.clone());
                    if let Some(s) = keep {
                        found.push((k, s));
                        if found.len() > max {
                            break 'scan;
                        }
                    }
                }
                if done {
                    break;
                }
            }
            let next = if found.len() > max {
                found.truncate(max);
                found
                    .last()
                    .and_then(|(k, _)| k.strip_prefix(&prefix))
                    .map(str::to_string)
            } else {
                None
            };
            Ok((found.into_iter().map(|(_, s)| s).collect(), next))
        })
    }

    /// Every matching secret of the region, in the query's order (all pages of [`page`]).
    ///
    /// [`page`]: Secrets::page
    pub fn list(
        &self,
        account: &str,
        region: &str,
        query: &ListQuery,
        now: u64,
    ) -> Result<Vec<Secret>, SecretsError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self.page(account, region, query, cursor.as_deref(), 100, now)?;
            out.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

fn check_filters(query: &ListQuery) -> Result<(), SecretsError> {
    for (key, values) in &query.filters {
        if ![
            "description",
            "name",
            "tag-key",
            "tag-value",
            "primary-region",
            "owning-service",
            "all",
        ]
        .contains(&key.as_str())
        {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{key}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]"
            )));
        }
        if values.is_empty() {
            return Err(SecretsError::InvalidParameter(
                "Invalid filter values: a filter needs at least one value".into(),
            ));
        }
    }
    Ok(())
}

fn merge_tags(existing: &mut Vec<Tag>, new: &[Tag]) -> Result<(), SecretsError> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => existing.push(t.clone()),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(SecretsError::InvalidParameter(format!(
            "a secret can have at most {MAX_TAGS} tags"
        )));
    }
    Ok(())
}

/// The start of the day (UTC) of `ms`, in milliseconds.
pub fn start_of_day_ms(ms: u64) -> u64 {
    ms - ms % DAY_MS
}

/// Whether each word of `query` (lowercase, split at blanks) is the prefix of a word of
/// `text`, case-insensitively. Words of `text` are split at blanks and at the punctuation a
/// name may hold (`/_+=.@-`); the whole text counts as a word too.
fn words_match(query: &str, text: &str) -> bool {
    let text = text.to_lowercase();
    let words: Vec<&str> = std::iter::once(text.as_str())
        .chain(text.split(|c: char| c.is_whitespace() || "/_+=.@-".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    let mut query_words = query.split_whitespace().peekable();
    query_words.peek().is_some() && query_words.all(|q| words.iter().any(|w| w.starts_with(q)))
}

/// One ListSecrets filter: any value matches (a value starting with `!` matches when its
/// rest does not).
fn filter_matches(s: &Secret, key: &str, values: &[String]) -> bool {
    values.iter().any(|raw| {
        let (negate, v) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw.as_str()),
        };
        let lower = v.to_lowercase();
        let hit = match key {
            "name" => words_match(&lower, &s.name),
            "description" => s
                .description
                .as_deref()
                .is_some_and(|d| words_match(&lower, d)),
            "tag-key" => s.tags.iter().any(|t| t.key.starts_with(v)),
            "tag-value" => s.tags.iter().any(|t| t.value.starts_with(v)),
            "primary-region" => s
                .primary_region
                .as_deref()
                .unwrap_or(&s.region)
                .starts_with(v),
            // Secrets made through the API have no owning service.
            "owning-service" => false,
            // `all`: every word must prefix-match a word of some attribute.
            _ => {
                let attributes: Vec<&str> = [Some(s.name.as_str()), s.description.as_deref()]
                    .into_iter()
                    .flatten()
                    .chain(
                        s.tags
                            .iter()
                            .flat_map(|t| [t.key.as_str(), t.value.as_str()]),
                    )
                    .collect();
                lower
                    .split_whitespace()
                    .all(|w| attributes.iter().any(|a| words_match(w, a)))
            }
        };
        hit != negate
    })
}

#[cfg(test)]
mod tests;
