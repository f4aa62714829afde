//! berth-kms: the KMS domain — symmetric keys, aliases, key policies, and the AES-256-GCM
//! crypto behind Encrypt, Decrypt and GenerateDataKey.
//!
//! Plain Rust over the [`Store`] trait: no HTTP and no authorisation. The API layer resolves a
//! key with [`Kms::resolve`], authorises the call against the key's policy as the caller, and
//! only then calls the operation here. Key material is random, 256 bits, and stored only
//! sealed under berth's root key with the key ARN as associated data.

pub mod asym;
mod cache;
mod crypto;
mod error;
mod grants;
mod import;
mod last_use;
mod model;
mod more;
mod multi;
mod usage;

use base64::Engine;
use berth_core::{Arn, RootKey};
use berth_store::{Store, StoreExt, Tx, get_json, put_json, scan_json};
use zeroize::Zeroizing;

pub use crypto::{EncryptionContext, blob_key_arn};
pub use error::KmsError;
pub use grants::{GRANT_OPERATIONS, GRANTS, Grant, GrantConstraints, NewGrant};
pub use import::{ImportParameters, Imported, WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS};
pub use last_use::{LAST_USES, LastUse};
pub use model::{Alias, Key, KeyManager, KeyState, Rotation, Tag};
pub use more::{DEFAULT_ROTATION_DAYS, MAX_ROTATION_DAYS, MIN_ROTATION_DAYS, check_rotation_days};
pub use multi::{MULTI_REGION, MultiRegionSet, new_multi_region_key_id};
pub use usage::{Signed, incompatible, key_spec_and_usage, require_usage, wrong_usage};

/// Table of keys: `{account}/{region}/{key_id}`.
pub const KEYS: &str = "kms_keys";
/// Table of aliases: `{account}/{region}/{alias_name}`.
pub const ALIASES: &str = "kms_aliases";

/// The alias of Secrets Manager's AWS managed key.
pub const SECRETS_MANAGER_ALIAS: &str = "alias/aws/secretsmanager";
/// The description AWS gives that key.
pub const SECRETS_MANAGER_KEY_DESCRIPTION: &str =
    "Default key that protects my Secrets Manager data when no other key is defined";

/// The alias of Parameter Store's AWS managed key.
pub const SSM_ALIAS: &str = "alias/aws/ssm";
/// The description berth gives that key (AWS's own text is not known to berth).
pub const SSM_KEY_DESCRIPTION: &str =
    "Default key that protects my SSM parameters when no other key is defined";

/// Largest plaintext Encrypt takes.
pub const MAX_PLAINTEXT: usize = 4096;
/// Largest data key GenerateDataKey makes.
pub const MAX_DATA_KEY_BYTES: usize = 1024;
/// Most tags on one key.
pub const MAX_TAGS: usize = 50;

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key policy CreateKey gives a key when the caller gives none: the account may delegate
/// access to IAM policies.
pub fn default_key_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

/// The key policy of the AWS managed key `aws/secretsmanager`, as AWS documents it
/// (`auto-secretsmanager-2`): any principal of the account may use the key through Secrets
/// Manager in this region (`GenerateDataKey*` through Secrets Manager in any region), and the
/// account may read the key's metadata.
///
/// AWS's own document gives its first two statements the same `Sid`; berth's policy parser
/// (like IAM's) refuses repeated Sids, so the second statement carries none here.
pub fn secrets_manager_key_policy(account: &str, region: &str) -> String {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "auto-secretsmanager-2",
        "Statement": [
            {
                "Sid": "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": format!("secretsmanager.{region}.amazonaws.com"),
                }},
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"},
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    });
    doc.to_string()
}

/// The key policy of the AWS managed key `aws/ssm`, in the shape of `aws/secretsmanager`'s:
/// any principal of the account may use the key through Parameter Store in this region, and
/// the account may read the key's metadata. AWS's exact document for this key is not known to
/// berth.
pub fn ssm_key_policy(account: &str, region: &str) -> String {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "auto-ssm",
        "Statement": [
            {
                "Sid": "Allow access through AWS Systems Manager for all principals in the account that are authorized to use AWS Systems Manager",
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": format!("ssm.{region}.amazonaws.com"),
                }},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    });
    doc.to_string()
}

/// What a caller may name a key by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Id {
        account: String,
        region: String,
        key_id: String,
    },
    Alias {
        account: String,
        region: String,
        name: String,
    },
}

fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    Arn::aws("kms", region, account, format!("key/{key_id}")).to_string()
}

pub(crate) fn alias_arn(region: &str, account: &str, name: &str) -> String {
    Arn::aws("kms", region, account, name).to_string()
}

fn looks_like_key_id(s: &str) -> bool {
    // Key ids are UUIDs; multi-Region keys add an `mrk-` prefix and 32 hex digits.
    let uuid = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    uuid || (s.len() == 36
        && s.starts_with("mrk-")
        && s[4..].bytes().all(|b| b.is_ascii_hexdigit()))
}

impl KeyRef {
    /// Reads a KeyId: a key id, key ARN, alias name or alias ARN. A bare id or alias name is
    /// in the caller's account and region.
    pub fn parse(caller_account: &str, region: &str, input: &str) -> Result<KeyRef, KmsError> {
        let invalid = || KmsError::NotFound(format!("Invalid keyId '{input}'"));
        if input.starts_with("arn:") {
            let arn = Arn::parse(input).map_err(|_| invalid())?;
            if arn.service != "kms" || arn.partition != "aws" {
                return Err(invalid());
            }
            if let Some(id) = arn.resource.strip_prefix("key/") {
                return Ok(KeyRef::Id {
                    account: arn.account,
                    region: arn.region,
                    key_id: id.to_string(),
                });
            }
            if arn.resource.starts_with("alias/") {
                return Ok(KeyRef::Alias {
                    account: arn.account,
                    region: arn.region,
                    name: arn.resource,
                });
            }
            return Err(invalid());
        }
        if input.starts_with("alias/") {
            return Ok(KeyRef::Alias {
                account: caller_account.to_string(),
                region: region.to_string(),
                name: input.to_string(),
            });
        }
        if looks_like_key_id(input) {
            return Ok(KeyRef::Id {
                account: caller_account.to_string(),
                region: region.to_string(),
                key_id: input.to_string(),
            });
        }
        Err(invalid())
    }
}

/// A fresh key material id: 64 hex digits.
pub(crate) fn new_material_id() -> String {
    let mut b = [0u8; 32];
    berth_core::ids::random_bytes(&mut b);
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh key id (a UUID), for callers that must know a key's ARN before it exists.
pub fn new_key_id() -> String {
    berth_core::ids::request_id()
}

/// The ARN of key `key_id` in `account` and `region`.
pub fn key_arn_of(region: &str, account: &str, key_id: &str) -> String {
    key_arn(region, account, key_id)
}

/// Input to [`Kms::create_key`].
#[derive(Debug, Default, Clone)]
pub struct NewKey {
    /// The id to give the key; a fresh one when `None`.
    pub key_id: Option<String>,
    pub description: String,
    pub policy: Option<String>,
    pub tags: Vec<Tag>,
    /// `Origin: EXTERNAL`: the key is made without material, `PendingImport`.
    pub external: bool,
    /// A multi-Region primary key (its id must be an `mrk-` id).
    pub multi_region: bool,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_marker: Option<String>,
}

/// The KMS domain over a store, with the root key that seals key material.
pub struct Kms<'a> {
    pub(crate) store: &'a dyn Store,
    root: &'a RootKey,
}

pub(crate) fn material_context(arn: &str) -> Vec<u8> {
    format!("kms-key-material:{arn}").into_bytes()
}

fn live(key: Key, now: u64) -> Option<Key> {
    match (key.state, key.deletion_date) {
        (KeyState::PendingDeletion, Some(d)) if now >= d => None,
        _ => Some(import::expire(key, now)),
    }
}

pub(crate) fn load_key(
    tx: &dyn Tx,
    account: &str,
    region: &str,
    key_id: &str,
    now: u64,
) -> Result<Option<Key>, KmsError> {
    let k: Option<Key> = get_json(tx, KEYS, &format!("{account}/{region}/{key_id}"))?;
    Ok(k.and_then(|k| live(k, now)))
}

fn key_not_found(region: &str, account: &str, key_id: &str) -> KmsError {
    KmsError::NotFound(format!(
        "Key '{}' does not exist",
        key_arn(region, account, key_id)
    ))
}

fn alias_not_found(region: &str, account: &str, name: &str) -> KmsError {
    KmsError::NotFound(format!(
        "Alias {} is not found.",
        alias_arn(region, account, name)
    ))
}

fn resolve_in(tx: &dyn Tx, region: &str, key_ref: &KeyRef, now: u64) -> Result<Key, KmsError> {
    let (account, ref_region) = match key_ref {
        KeyRef::Id {
            account, region, ..
        }
        | KeyRef::Alias {
            account, region, ..
        } => (account.as_str(), region.as_str()),
    };
    match key_ref {
        KeyRef::Id { key_id, .. } => {
            // A key ARN of another region names no key here: AWS answers NotFoundException.
            if ref_region != region {
                return Err(KmsError::NotFound(format!("Invalid arn {ref_region}")));
            }
            load_key(tx, account, region, key_id, now)?
                .ok_or_else(|| key_not_found(region, account, key_id))
        }
        KeyRef::Alias { name, .. } => {
            let missing = || alias_not_found(ref_region, account, name);
            if ref_region != region {
                return Err(KmsError::NotFound(format!("Invalid arn {ref_region}")));
            }
            let alias: Alias = get_json(tx, ALIASES, &format!("{account}/{region}/{name}"))?
                .ok_or_else(missing)?;
            load_key(tx, account, region, &alias.target_key_id, now)?.ok_or_else(missing)
        }
    }
}

pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), KmsError> {
    // AWS's order: duplicate keys, the count, then each tag's lengths and reserved prefix.
    let mut seen = std::collections::BTreeSet::new();
    if !tags.iter().all(|t| seen.insert(t.key.as_str())) {
        return Err(KmsError::Tag("Duplicate tag keys".into()));
    }
    if tags.len() > MAX_TAGS {
        return Err(KmsError::Tag("Too many tags".into()));
    }
    for (i, t) in tags.iter().enumerate() {
        let n = i + 1;
        if t.key.chars().count() > 128 {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{}' at 'tags.{n}.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128",
                t.key
            )));
        }
        if t.key.is_empty() {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '' at 'tags.{n}.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1"
            )));
        }
        if t.value.chars().count() > 256 {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{}' at 'tags.{n}.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256",
                t.value
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::Tag(
                "Tags beginning with aws: are reserved".into(),
            ));
        }
    }
    Ok(())
}

pub(crate) fn merge_tags(existing: &mut Vec<Tag>, new: &[Tag]) -> Result<(), KmsError> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => existing.push(t.clone()),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(KmsError::Tag("Too many tags".into()));
    }
    Ok(())
}

/// The key policy document size quota: 32 KB (32,768 bytes), AWS's "Key policy document size"
/// resource quota.
pub const MAX_POLICY_BYTES: usize = 32_768;
/// The length bound of the `Policy` member in AWS's KMS model (`PolicyType`).
pub const POLICY_MEMBER_MAX: usize = 131_072;
/// The pattern of the `Policy` member in AWS's KMS model (`PolicyType`), as its messages name it.
const POLICY_MEMBER_PATTERN: &str = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";

/// Checks the `Policy` member against the model's constraints (length 1–131072, tab, line feed,
/// carriage return and `\u0020`–`\u00FF` only): `ValidationException` with AWS's text.
pub fn check_policy_member(doc: &str) -> Result<(), KmsError> {
    let constraint = |c: &str| {
        KmsError::Validation(format!(
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must {c}"
        ))
    };
    let chars = doc.chars().count();
    if chars < 1 {
        return Err(constraint("have length greater than or equal to 1"));
    }
    if chars > POLICY_MEMBER_MAX {
        return Err(constraint(&format!(
            "have length less than or equal to {POLICY_MEMBER_MAX}"
        )));
    }
    if !doc
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        return Err(constraint(&format!(
            "satisfy regular expression pattern: {POLICY_MEMBER_PATTERN}"
        )));
    }
    Ok(())
}

/// Validates a key policy document: the model's constraints, the 32 KB quota
/// (`LimitExceededException`), then its grammar (`MalformedPolicyDocumentException`).
pub fn validate_policy(doc: &str) -> Result<(), KmsError> {
    check_policy_member(doc)?;
    // AWS documents the quota in bytes; berth counts the UTF-8 bytes of the document as sent,
    // white space included. Whether AWS counts white space, or counts Latin-1 characters as one
    // byte each, is not known to berth.
    if doc.len() > MAX_POLICY_BYTES {
        return Err(KmsError::PolicyTooLarge);
    }
    berth_policy::parse(doc, berth_policy::PolicyKind::Resource)
        .map(|_| ())
        .map_err(|e| KmsError::MalformedPolicy(e.message().to_string()))
}

/// Checks an alias name for CreateAlias / DeleteAlias, in AWS's order.
pub fn validate_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") {
        return Err(KmsError::Validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into(),
        ));
    }
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_-:".contains(&b));
    if name.len() > 256 || name.len() <= "alias/".len() || !valid_chars {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::ReservedAlias);
    }
    Ok(())
}

impl<'a> Kms<'a> {
    pub fn new(store: &'a dyn Store, root: &'a RootKey) -> Kms<'a> {
        Kms { store, root }
    }

    /// Finds the key a KeyId names, in the caller's region. Secrets Manager's AWS managed key
    /// is made on first use when the caller names its alias in its own account.
    pub fn resolve(
        &self,
        caller_account: &str,
        region: &str,
        key_id: &str,
        now: u64,
    ) -> Result<Key, KmsError> {
        let key_ref = KeyRef::parse(caller_account, region, key_id)?;
        match &key_ref {
            KeyRef::Alias {
                account,
                region: r,
                name,
            } if name == SECRETS_MANAGER_ALIAS && account == caller_account && r == region => {
                self.secrets_manager_key(account, region, now)
            }
            KeyRef::Alias {
                account,
                region: r,
                name,
            } if name == SSM_ALIAS && account == caller_account && r == region => {
                self.ssm_key(account, region, now)
            }
            _ => self.store.read(|tx| resolve_in(tx, region, &key_ref, now)),
        }
    }

    /// The key a ciphertext blob was made under. A blob that is not berth's, of another
    /// region, or whose key is gone, is `InvalidCiphertext`.
    pub fn key_of_blob(&self, region: &str, blob: &[u8], now: u64) -> Result<Key, KmsError> {
        let arn = Arn::parse(blob_key_arn(blob)?).map_err(|_| KmsError::InvalidCiphertext)?;
        let key_id = arn
            .resource
            .strip_prefix("key/")
            .ok_or(KmsError::InvalidCiphertext)?;
        // A multi-Region key's ciphertext opens under its replica in another region.
        if arn.region != region && !key_id.starts_with("mrk-") {
            return Err(KmsError::InvalidCiphertext);
        }
        self.store
            .read(|tx| load_key(tx, &arn.account, region, key_id, now))?
            .ok_or(KmsError::InvalidCiphertext)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_key_record(
        &self,
        key_id: Option<String>,
        account: &str,
        region: &str,
        now: u64,
        manager: KeyManager,
        description: String,
        policy: String,
        tags: Vec<Tag>,
    ) -> Key {
        let mut material = Zeroizing::new(vec![0u8; 32]);
        berth_core::ids::random_bytes(material.as_mut());
        self.key_record_with(
            key_id,
            account,
            region,
            now,
            manager,
            description,
            policy,
            tags,
            ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
            &material,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn key_record_with(
        &self,
        key_id: Option<String>,
        account: &str,
        region: &str,
        now: u64,
        manager: KeyManager,
        description: String,
        policy: String,
        tags: Vec<Tag>,
        (spec, usage): (&str, &str),
        material: &[u8],
    ) -> Key {
        let key_id = key_id.unwrap_or_else(new_key_id);
        let arn = key_arn(region, account, &key_id);
        let sealed = self.root.seal(&material_context(&arn), material);
        Key {
            key_id,
            arn,
            account: account.to_string(),
            region: region.to_string(),
            created: now,
            description,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            manager,
            policy,
            tags,
            sealed_material: B64.encode(sealed),
            spec: spec.to_string(),
            usage: usage.to_string(),
            material_id: new_material_id(),
            older_materials: Vec::new(),
            rotations: Vec::new(),
            rotation_period_days: None,
            next_rotation: None,
            origin: "AWS_KMS".into(),
            valid_to: None,
            expiration_model: None,
            import_digest: None,
            multi_region: false,
        }
    }

    /// CreateKey: a symmetric encryption key of the customer.
    pub fn create_key(
        &self,
        account: &str,
        region: &str,
        now: u64,
        input: NewKey,
    ) -> Result<Key, KmsError> {
        let policy = match input.policy {
            Some(p) => {
                validate_policy(&p)?;
                p
            }
            None => default_key_policy(account),
        };
        check_tags(&input.tags)?;
        let mut tags = Vec::new();
        merge_tags(&mut tags, &input.tags)?;
        if let Some(id) = &input.key_id
            && !looks_like_key_id(id)
        {
            return Err(KmsError::NotFound(format!("Invalid keyId '{id}'")));
        }
        let key = self.new_key_record(
            input.key_id,
            account,
            region,
            now,
            KeyManager::Customer,
            input.description,
            policy,
            tags,
        );
        self.store.write(|tx| -> Result<(), KmsError> {
            put_json(
                tx,
                KEYS,
                &format!("{account}/{region}/{}", key.key_id),
                &key,
            )?;
            Ok(())
        })?;
        Ok(key)
    }

    /// The AWS managed key of Secrets Manager in this account and region, made on first use.
    pub fn secrets_manager_key(
        &self,
        account: &str,
        region: &str,
        now: u64,
    ) -> Result<Key, KmsError> {
        self.aws_managed_key(
            account,
            region,
            SECRETS_MANAGER_ALIAS,
            SECRETS_MANAGER_KEY_DESCRIPTION,
            || secrets_manager_key_policy(account, region),
            now,
        )
    }

    /// The AWS managed key of Parameter Store (`alias/aws/ssm`) in this account and region,
    /// made on first use.
    pub fn ssm_key(&self, account: &str, region: &str, now: u64) -> Result<Key, KmsError> {
        self.aws_managed_key(
            account,
            region,
            SSM_ALIAS,
            SSM_KEY_DESCRIPTION,
            || ssm_key_policy(account, region),
            now,
        )
    }

    /// The AWS managed key behind `alias` in this account and region, made on first use
    /// with `description` and `policy`; of two requests making it at once the first wins.
    fn aws_managed_key(
        &self,
        account: &str,
        region: &str,
        alias_name: &str,
        description: &str,
        policy: impl FnOnce() -> String,
        now: u64,
    ) -> Result<Key, KmsError> {
        let alias_key = format!("{account}/{region}/{alias_name}");
        let existing = self.store.read(|tx| -> Result<Option<Key>, KmsError> {
            let Some(alias) = get_json::<Alias>(tx, ALIASES, &alias_key)? else {
                return Ok(None);
            };
            load_key(tx, account, region, &alias.target_key_id, now)
        })?;
        if let Some(k) = existing {
            return Ok(k);
        }
        let fresh = self.new_key_record(
            None,
            account,
            region,
            now,
            KeyManager::Aws,
            description.to_string(),
            policy(),
            Vec::new(),
        );
        self.store.write(|tx| -> Result<Key, KmsError> {
            // Another request may have made it meanwhile: the first one wins.
            if let Some(alias) = get_json::<Alias>(tx, ALIASES, &alias_key)?
                && let Some(k) = load_key(tx, account, region, &alias.target_key_id, now)?
            {
                return Ok(k);
            }
            put_json(
                tx,
                KEYS,
                &format!("{account}/{region}/{}", fresh.key_id),
                &fresh,
            )?;
            let alias = Alias {
                name: alias_name.to_string(),
                arn: alias_arn(region, account, alias_name),
                target_key_id: fresh.key_id.clone(),
                created: now,
                updated: now,
            };
            put_json(tx, ALIASES, &alias_key, &alias)?;
            Ok(fresh.clone())
        })
    }

    /// Applies `f` to the stored key in one transaction and returns the result.
    pub(crate) fn update_key(
        &self,
        key: &Key,
        now: u64,
        f: impl FnOnce(&mut Key) -> Result<(), KmsError>,
    ) -> Result<Key, KmsError> {
        self.store.write(|tx| {
            let mut k = load_key(tx, &key.account, &key.region, &key.key_id, now)?
                .ok_or_else(|| key_not_found(&key.region, &key.account, &key.key_id))?;
            f(&mut k)?;
            put_json(
                tx,
                KEYS,
                &format!("{}/{}/{}", k.account, k.region, k.key_id),
                &k,
            )?;
            Ok(k)
        })
    }

    pub(crate) fn pending_import(k: &Key) -> KmsError {
        KmsError::InvalidState(format!("{} is pending import.", k.arn))
    }

    pub(crate) fn pending(k: &Key) -> KmsError {
        KmsError::InvalidState(format!("{} is pending deletion.", k.arn))
    }

    /// EnableKey.
    pub fn enable_key(&self, key: &Key, now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| match k.state {
            KeyState::PendingDeletion => Err(Self::pending(k)),
            KeyState::PendingImport => Err(Self::pending_import(k)),
            _ => {
                k.state = KeyState::Enabled;
                Ok(())
            }
        })
    }

    /// DisableKey.
    pub fn disable_key(&self, key: &Key, now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| match k.state {
            KeyState::PendingDeletion => Err(Self::pending(k)),
            KeyState::PendingImport => Err(Self::pending_import(k)),
            _ => {
                k.state = KeyState::Disabled;
                Ok(())
            }
        })
    }

    /// ScheduleKeyDeletion: the key is unusable now and deleted after `days` (7–30).
    pub fn schedule_deletion(&self, key: &Key, days: i64, now: u64) -> Result<Key, KmsError> {
        if days < 7 {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"
            )));
        }
        if days > 30 {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30"
            )));
        }
        self.update_key(key, now, |k| {
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(k));
            }
            k.state = KeyState::PendingDeletion;
            k.deletion_date = Some(berth_core::time::add_days(now, days as u64));
            k.pending_window_days = Some(days as u32);
            Ok(())
        })
    }

    /// CancelKeyDeletion: the key comes back disabled.
    pub fn cancel_deletion(&self, key: &Key, now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| {
            if k.state != KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(format!(
                    "{} is not pending deletion.",
                    k.arn
                )));
            }
            // A key of imported material that has none comes back waiting for it.
            k.state = if k.is_external() && k.sealed_material.is_empty() {
                KeyState::PendingImport
            } else {
                KeyState::Disabled
            };
            k.deletion_date = None;
            k.pending_window_days = None;
            Ok(())
        })
    }

    /// PutKeyPolicy (policy name `default`).
    pub fn put_policy(&self, key: &Key, policy: &str, now: u64) -> Result<Key, KmsError> {
        validate_policy(policy)?;
        self.update_key(key, now, |k| {
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(k));
            }
            k.policy = policy.to_string();
            Ok(())
        })
    }

    /// TagResource: adds or replaces tags.
    pub fn tag_key(&self, key: &Key, tags: &[Tag], now: u64) -> Result<Key, KmsError> {
        check_tags(tags)?;
        self.update_key(key, now, |k| {
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(k));
            }
            merge_tags(&mut k.tags, tags)
        })
    }

    /// ListKeys: the region's keys in id order, `limit` per page after `marker`.
    pub fn list_keys(
        &self,
        account: &str,
        region: &str,
        limit: usize,
        marker: Option<&str>,
        now: u64,
    ) -> Result<Page<Key>, KmsError> {
        let all: Vec<(String, Key)> = self
            .store
            .read(|tx| scan_json(tx, KEYS, &format!("{account}/{region}/")))?;
        let keys: Vec<Key> = all.into_iter().filter_map(|(_, k)| live(k, now)).collect();
        paginate(keys, |k| k.key_id.clone(), limit, marker)
    }

    /// ListAliases: the region's aliases in name order, optionally only those of one key.
    pub fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key: Option<&Key>,
        limit: usize,
        marker: Option<&str>,
        now: u64,
    ) -> Result<Page<Alias>, KmsError> {
        let aliases = self.store.read(|tx| -> Result<Vec<Alias>, KmsError> {
            let all: Vec<(String, Alias)> =
                scan_json(tx, ALIASES, &format!("{account}/{region}/"))?;
            let mut out = Vec::new();
            for (_, a) in all {
                if key.is_some_and(|k| k.key_id != a.target_key_id) {
                    continue;
                }
                // An alias goes with its key.
                if load_key(tx, account, region, &a.target_key_id, now)?.is_some() {
                    out.push(a);
                }
            }
            Ok(out)
        })?;
        paginate(aliases, |a| a.name.clone(), limit, marker)
    }

    /// CreateAlias for a key of the caller's account and region (already resolved by id or
    /// ARN, never by alias).
    pub fn create_alias(&self, name: &str, key: &Key, now: u64) -> Result<Alias, KmsError> {
        validate_alias_name(name)?;
        let store_key = format!("{}/{}/{name}", key.account, key.region);
        let alias = Alias {
            name: name.to_string(),
            arn: alias_arn(&key.region, &key.account, name),
            target_key_id: key.key_id.clone(),
            created: now,
            updated: now,
        };
        self.store.write(|tx| -> Result<(), KmsError> {
            if let Some(existing) = get_json::<Alias>(tx, ALIASES, &store_key)? {
                // An alias whose key is gone no longer exists.
                if load_key(tx, &key.account, &key.region, &existing.target_key_id, now)?.is_some()
                {
                    return Err(KmsError::AlreadyExists(format!(
                        "An alias with the name {} already exists",
                        alias.arn
                    )));
                }
            }
            let k = load_key(tx, &key.account, &key.region, &key.key_id, now)?
                .ok_or_else(|| key_not_found(&key.region, &key.account, &key.key_id))?;
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(&k));
            }
            put_json(tx, ALIASES, &store_key, &alias)?;
            Ok(())
        })?;
        Ok(alias)
    }

    /// The alias record of `name` in the account and region, with its key.
    pub fn alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
        now: u64,
    ) -> Result<(Alias, Key), KmsError> {
        self.store.read(|tx| {
            let missing = || alias_not_found(region, account, name);
            let a: Alias = get_json(tx, ALIASES, &format!("{account}/{region}/{name}"))?
                .ok_or_else(missing)?;
            let k = load_key(tx, account, region, &a.target_key_id, now)?.ok_or_else(missing)?;
            Ok((a, k))
        })
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, account: &str, region: &str, name: &str) -> Result<(), KmsError> {
        if name.starts_with("alias/aws/") {
            return Err(KmsError::ReservedAlias);
        }
        self.store.write(|tx| {
            if tx.delete(ALIASES, &format!("{account}/{region}/{name}"))? {
                Ok(())
            } else {
                Err(alias_not_found(region, account, name))
            }
        })
    }

    pub(crate) fn material(&self, key: &Key) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let sealed = B64
            .decode(&key.sealed_material)
            .map_err(|_| KmsError::Seal(berth_core::SealError::BadFormat))?;
        Ok(self.root.open(&material_context(&key.arn), &sealed)?)
    }

    /// Encrypt: `plaintext` (1–4096 bytes) under `key`, bound to `context`.
    pub fn encrypt(
        &self,
        key: &Key,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to {MAX_PLAINTEXT}"
            )));
        }
        require_symmetric(key, "Encrypt")?;
        key.check_usable()?;
        crypto::seal_blob(&self.material(key)?, &key.arn, context, plaintext)
    }

    /// Decrypt: opens a blob made under `key` (see [`Kms::key_of_blob`]) with `context`.
    pub fn decrypt(
        &self,
        key: &Key,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        if !names_key(blob_key_arn(blob)?, key) {
            return Err(KmsError::IncorrectKey);
        }
        require_symmetric(key, "Decrypt")?;
        key.check_usable()?;
        match crypto::open_blob(&self.material(key)?, blob, context) {
            Err(KmsError::InvalidCiphertext) => {
                // Made under earlier material of a rotated key, newest first.
                for older in key.older_materials.iter().rev() {
                    let sealed = B64
                        .decode(&older.sealed)
                        .map_err(|_| KmsError::Seal(berth_core::SealError::BadFormat))?;
                    let material = self.root.open(&material_context(&key.arn), &sealed)?;
                    if let Ok(plain) = crypto::open_blob(&material, blob, context) {
                        return Ok(plain);
                    }
                }
                Err(KmsError::InvalidCiphertext)
            }
            other => other,
        }
    }

    /// GenerateDataKey: `n` random bytes (1–1024), in plaintext and encrypted under `key`.
    pub fn generate_data_key(
        &self,
        key: &Key,
        n: usize,
        context: &EncryptionContext,
    ) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KmsError> {
        if n == 0 || n > MAX_DATA_KEY_BYTES {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {} {}",
                if n == 0 {
                    "greater than or equal to"
                } else {
                    "less than or equal to"
                },
                if n == 0 { 1 } else { MAX_DATA_KEY_BYTES }
            )));
        }
        require_symmetric(key, "GenerateDataKey")?;
        key.check_usable()?;
        let mut plain = Zeroizing::new(vec![0u8; n]);
        berth_core::ids::random_bytes(plain.as_mut_slice());
        let blob = crypto::seal_blob(&self.material(key)?, &key.arn, context, &plain)?;
        Ok((plain, blob))
    }
}

/// Whether a ciphertext naming `arn` was made under `key`: the same key, or a related
/// multi-Region key of the same account (same id, another region).
pub fn names_key(arn: &str, key: &Key) -> bool {
    if arn == key.arn {
        return true;
    }
    key.multi_region
        && Arn::parse(arn).is_ok_and(|a| {
            a.account == key.account && a.resource.strip_prefix("key/") == Some(&key.key_id)
        })
}

/// Refuses a symmetric-only operation on an asymmetric or HMAC key: a key of another usage is
/// refused in AWS's words; an RSA encryption key names the algorithm it lacks (AWS's text for
/// that case is not known to berth).
pub fn require_symmetric(key: &Key, operation: &str) -> Result<(), KmsError> {
    if key.is_symmetric() {
        return Ok(());
    }
    if key.usage != "ENCRYPT_DECRYPT" {
        return Err(wrong_usage(key, operation));
    }
    Err(incompatible("SYMMETRIC_DEFAULT", key))
}

pub(crate) fn paginate<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> String,
    limit: usize,
    marker: Option<&str>,
) -> Result<Page<T>, KmsError> {
    let limit = limit.max(1);
    let start = match marker {
        None => 0,
        // The marker is the first id of the next page; items removed meanwhile are skipped.
        Some(m) => items
            .iter()
            .position(|t| id(t).as_str() >= m)
            .unwrap_or(items.len()),
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next_marker = if rest.len() > limit {
        rest.get(limit).map(&id)
    } else {
        None
    };
    rest.truncate(limit);
    Ok(Page {
        items: rest,
        next_marker,
    })
}

#[cfg(test)]
mod tests;
