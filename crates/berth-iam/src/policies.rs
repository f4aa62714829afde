//! Policies: customer managed policies, the built-in AWS managed ones, inline policies of users
//! and roles, and attachments.
//!
//! Documents are kept verbatim (AWS hands back what it was given). They are validated with
//! `berth-policy` before anything is written, and sized as IAM counts them (white space not
//! counted).

use std::collections::HashMap;

use berth_policy::PolicyKind;
use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::authz::IdentityDocuments;
use crate::entity::{
    self, ListOptions, NameField, POLICIES, Page, Tag, check_distinct_tags, check_name,
    check_new_name, check_policy_path, paginate, policy_size, under,
};
use crate::{Iam, IamError, Principal, Role, User};

/// The largest customer managed policy document, in characters without white space.
pub const MANAGED_POLICY_MAX: usize = 6144;
/// The most managed policies attached to one user or one role (AWS's default quota).
pub const MAX_ATTACHED: usize = 10;

/// A managed policy: one of the account's own, or one AWS provides to every account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    /// `ANPA…`
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    /// The default version's document, verbatim.
    pub document: String,
    pub default_version_id: String,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Every version, oldest first; empty means the one version `v1` (`document`).
    #[serde(default)]
    pub versions: Vec<StoredVersion>,
    /// The number the next version gets (AWS never gives a version id twice).
    #[serde(default)]
    pub next_version: u32,
}

/// A version of a customer managed policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVersion {
    pub id: String,
    pub document: String,
    pub created_at: u64,
}

/// The most versions a managed policy keeps.
pub const MAX_POLICY_VERSIONS: usize = 5;

impl ManagedPolicy {
    /// The policy's versions, oldest first.
    pub fn all_versions(&self) -> Vec<PolicyVersion> {
        if self.versions.is_empty() {
            return vec![PolicyVersion {
                document: self.document.clone(),
                version_id: self.default_version_id.clone(),
                is_default: true,
                created_at: self.created_at,
            }];
        }
        self.versions
            .iter()
            .map(|v| PolicyVersion {
                document: v.document.clone(),
                version_id: v.id.clone(),
                is_default: v.id == self.default_version_id,
                created_at: v.created_at,
            })
            .collect()
    }

    /// Makes the version list explicit (a policy stored with one implicit version).
    fn materialise_versions(&mut self) {
        if self.versions.is_empty() {
            self.versions.push(StoredVersion {
                id: self.default_version_id.clone(),
                document: self.document.clone(),
                created_at: self.created_at,
            });
        }
        if self.next_version == 0 {
            let highest = self
                .versions
                .iter()
                .filter_map(|v| v.id.strip_prefix('v')?.parse::<u32>().ok())
                .max()
                .unwrap_or(1);
            self.next_version = highest + 1;
        }
    }

    /// Whether AWS owns the policy (`arn:aws:iam::aws:policy/…`).
    pub fn is_aws_managed(&self) -> bool {
        self.arn.starts_with("arn:aws:iam::aws:")
    }
}

/// A kind of entity that holds policies: a managed policy is used by users, roles and groups
/// (`ListEntitiesForPolicy`'s `EntityFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Role,
    Group,
}

/// A user, role or group using a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntity {
    pub kind: EntityKind,
    pub name: String,
    pub id: String,
}

/// A managed policy with its use in the caller's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub policy: ManagedPolicy,
    /// Users and roles it is attached to.
    pub attachment_count: u32,
    /// Users and roles it is the permissions boundary of.
    pub permissions_boundary_usage_count: u32,
}

/// A version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub document: String,
    pub version_id: String,
    pub is_default: bool,
    pub created_at: u64,
}

/// An inline policy embedded in a user or a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
}

/// A managed policy as listed among an entity's attached policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

/// Which policies `ListPolicies` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyScope {
    #[default]
    All,
    Aws,
    Local,
}

/// `ListPolicies`' `PolicyUsageFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyUsage {
    PermissionsPolicy,
    PermissionsBoundary,
}

/// `ListPolicies`' filters.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyFilter<'a> {
    pub scope: PolicyScope,
    pub only_attached: bool,
    pub path_prefix: Option<&'a str>,
    pub usage: Option<PolicyUsage>,
}

/// What a new customer managed policy is made of.
#[derive(Debug, Clone, Default)]
pub struct NewPolicy<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub document: &'a str,
    pub description: Option<&'a str>,
    pub tags: Vec<Tag>,
}

/// Validates a document for its use; the error carries AWS's `MalformedPolicyDocument` text.
pub(crate) fn check_document(doc: &str, kind: PolicyKind) -> Result<(), IamError> {
    berth_policy::parse(doc, kind)
        .map(|_| ())
        .map_err(|e| IamError::MalformedPolicy(e.message().to_string()))
}

/// The parts of `arn:aws:iam::ACCOUNT:policy/PATH/NAME`.
struct PolicyArn<'a> {
    account: &'a str,
    name: &'a str,
    path: &'a str,
}

/// `Ok(None)`: an ARN, but not a managed policy's. `Err`: not an ARN at all.
fn parse_policy_arn(arn: &str) -> Result<Option<PolicyArn<'_>>, IamError> {
    let parsed = berth_core::Arn::parse(arn).map_err(|_| IamError::InvalidArn(arn.to_string()))?;
    if parsed.partition != "aws" || parsed.service != "iam" || !parsed.region.is_empty() {
        return Ok(None);
    }
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return Ok(None);
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return Ok(None);
    };
    let Some(path_and_name) = resource.strip_prefix("policy") else {
        return Ok(None);
    };
    if !path_and_name.starts_with('/') {
        return Ok(None);
    }
    let Some(slash) = path_and_name.rfind('/') else {
        return Ok(None);
    };
    let (path, name) = (&path_and_name[..=slash], &path_and_name[slash + 1..]);
    if name.is_empty() || check_name(NameField::PolicyName, name).is_err() {
        return Ok(None);
    }
    Ok(Some(PolicyArn {
        account,
        name,
        path,
    }))
}

/// The managed policy `arn` names, as seen from `account`: the account's own or AWS's.
/// `Err` only for a string that is not an ARN.
pub(crate) fn find_policy(
    tx: &dyn Tx,
    account: &str,
    arn: &str,
) -> Result<Option<ManagedPolicy>, IamError> {
    let Some(p) = parse_policy_arn(arn)? else {
        return Ok(None);
    };
    if p.account == "aws" {
        return Ok(crate::catalogue::aws_managed_policy(arn).cloned());
    }
    if p.account != account {
        // Customer managed policies are not shared across accounts.
        return Ok(None);
    }
    let record: Option<ManagedPolicy> = get_json(tx, POLICIES, &entity::key(account, p.name))?;
    // Names compare case-insensitively (they are unique that way); the path must be the same.
    // AWS does not document how it matches an ARN whose name differs only in case.
    Ok(record.filter(|r| r.path == p.path))
}

/// How often each managed policy (by ARN) is attached, and used as a boundary, in `account`.
pub(crate) fn usage_counts(
    tx: &dyn Tx,
    account: &str,
) -> Result<HashMap<String, (u32, u32)>, IamError> {
    let mut counts: HashMap<String, (u32, u32)> = HashMap::new();
    let prefix = entity::account_prefix(account);
    let mut count = |attached: &[String], boundary: &Option<String>| {
        for arn in attached {
            counts.entry(arn.clone()).or_default().0 += 1;
        }
        if let Some(b) = boundary {
            counts.entry(b.clone()).or_default().1 += 1;
        }
    };
    for (_, u) in scan_json::<User>(tx, entity::USERS, &prefix)? {
        count(&u.attached_policies, &u.permissions_boundary);
    }
    for (_, r) in scan_json::<Role>(tx, entity::ROLES, &prefix)? {
        count(&r.attached_policies, &r.permissions_boundary);
    }
    for (_, g) in scan_json::<crate::Group>(tx, entity::GROUPS, &prefix)? {
        count(&g.attached_policies, &None);
    }
    Ok(counts)
}

pub(crate) fn with_counts(
    policy: ManagedPolicy,
    counts: &HashMap<String, (u32, u32)>,
) -> PolicyInfo {
    let (a, b) = counts.get(&policy.arn).copied().unwrap_or_default();
    PolicyInfo {
        policy,
        attachment_count: a,
        permissions_boundary_usage_count: b,
    }
}

/// What differs between the kinds of entity that hold inline and attached policies: their
/// table, name field, inline-size limit and error kinds, said here once.
impl EntityKind {
    const fn table(self) -> &'static str {
        match self {
            EntityKind::User => entity::USERS,
            EntityKind::Group => entity::GROUPS,
            EntityKind::Role => entity::ROLES,
        }
    }

    const fn field(self) -> NameField {
        match self {
            EntityKind::User => NameField::UserName,
            EntityKind::Group => NameField::GroupName,
            EntityKind::Role => NameField::RoleName,
        }
    }

    const fn inline_max(self) -> usize {
        match self {
            EntityKind::User => crate::USER_INLINE_POLICIES_MAX,
            EntityKind::Group => crate::GROUP_INLINE_POLICIES_MAX,
            EntityKind::Role => crate::ROLE_INLINE_POLICIES_MAX,
        }
    }

    fn not_found(self, name: &str) -> IamError {
        let name = name.to_string();
        match self {
            EntityKind::User => IamError::NoSuchUser(name),
            EntityKind::Group => IamError::NoSuchGroup(name),
            EntityKind::Role => IamError::NoSuchRole(name),
        }
    }

    fn no_such_inline(self, policy: &str) -> IamError {
        let policy = policy.to_string();
        match self {
            EntityKind::User => IamError::NoSuchUserPolicy(policy),
            EntityKind::Group => IamError::NoSuchGroupPolicy(policy),
            EntityKind::Role => IamError::NoSuchRolePolicy(policy),
        }
    }

    fn inline_too_large(self, name: &str) -> IamError {
        let name = name.to_string();
        match self {
            EntityKind::User => IamError::UserPolicyTooLarge(name),
            EntityKind::Group => IamError::GroupPolicyTooLarge(name),
            EntityKind::Role => IamError::RolePolicyTooLarge(name),
        }
    }

    fn attach_quota(self) -> IamError {
        IamError::AttachedPolicyQuota {
            quota: match self {
                EntityKind::User => "PoliciesPerUser",
                EntityKind::Group => "PoliciesPerGroup",
                EntityKind::Role => "PoliciesPerRole",
            },
            limit: MAX_ATTACHED,
        }
    }
}

/// A user, group or role: something with inline and attached policies, stored by name.
/// Implementors give their [`EntityKind`] and their fields through [`holder_fields!`].
pub(crate) trait Holder: Serialize + DeserializeOwned {
    const KIND: EntityKind;
    const TABLE: &'static str = Self::KIND.table();
    const FIELD: NameField = Self::KIND.field();
    /// The total size of the entity's inline policies.
    const INLINE_MAX: usize = Self::KIND.inline_max();
    fn not_found(name: &str) -> IamError {
        Self::KIND.not_found(name)
    }
    fn no_such_inline(policy: &str) -> IamError {
        Self::KIND.no_such_inline(policy)
    }
    fn inline_too_large(name: &str) -> IamError {
        Self::KIND.inline_too_large(name)
    }
    fn attach_quota() -> IamError {
        Self::KIND.attach_quota()
    }
    fn name(&self) -> &str;
    fn inline(&self) -> &Vec<InlinePolicy>;
    fn inline_mut(&mut self) -> &mut Vec<InlinePolicy>;
    fn attached(&self) -> &Vec<String>;
    fn attached_mut(&mut self) -> &mut Vec<String>;
    /// Refuses a change to an entity only AWS may change.
    fn check_modifiable(&self) -> Result<(), IamError> {
        Ok(())
    }
}

/// The [`Holder`] accessors of a record with the fields `name`, `inline_policies` and
/// `attached_policies`; used inside an `impl Holder for …` block.
macro_rules! holder_fields {
    () => {
        fn name(&self) -> &str {
            &self.name
        }
        fn inline(&self) -> &Vec<$crate::policies::InlinePolicy> {
            &self.inline_policies
        }
        fn inline_mut(&mut self) -> &mut Vec<$crate::policies::InlinePolicy> {
            &mut self.inline_policies
        }
        fn attached(&self) -> &Vec<String> {
            &self.attached_policies
        }
        fn attached_mut(&mut self) -> &mut Vec<String> {
            &mut self.attached_policies
        }
    };
}
pub(crate) use holder_fields;

/// The entity named `name`, or its `NoSuchEntity` error.
pub(crate) fn load<H: Holder>(tx: &dyn Tx, account: &str, name: &str) -> Result<H, IamError> {
    check_name(H::FIELD, name)?;
    get_json(tx, H::TABLE, &entity::key(account, name))?.ok_or_else(|| H::not_found(name))
}

fn store<H: Holder>(tx: &dyn Tx, account: &str, h: &H) -> Result<(), IamError> {
    put_json(tx, H::TABLE, &entity::key(account, h.name()), h)?;
    Ok(())
}

/// `$body` with `$h` the record type of the entity kind `$kind` (a [`Holder`]).
macro_rules! by_kind {
    ($kind:expr, $h:ident => $body:expr) => {
        match $kind {
            EntityKind::User => {
                type $h = crate::User;
                $body
            }
            EntityKind::Role => {
                type $h = Role;
                $body
            }
            EntityKind::Group => {
                type $h = crate::Group;
                $body
            }
        }
    };
}

/// What `ListEntitiesForPolicy` reads of a user, role or group besides its policies.
pub(crate) trait PolicyUser: Holder {
    fn path(&self) -> &str;
    fn id(&self) -> &str;
    /// The permissions boundary's ARN (a group has none).
    fn boundary(&self) -> Option<&str>;
}

impl PolicyUser for User {
    fn path(&self) -> &str {
        &self.path
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn boundary(&self) -> Option<&str> {
        self.permissions_boundary.as_deref()
    }
}

impl PolicyUser for Role {
    fn path(&self) -> &str {
        &self.path
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn boundary(&self) -> Option<&str> {
        self.permissions_boundary.as_deref()
    }
}

impl PolicyUser for crate::Group {
    fn path(&self) -> &str {
        &self.path
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn boundary(&self) -> Option<&str> {
        None
    }
}

/// Adds the entities of kind `H` in `account` under `path_prefix` for which `uses` (given their
/// attached policies and boundary) holds, keyed by kind then lowercase name.
fn entities_using<H: PolicyUser>(
    tx: &dyn Tx,
    account: &str,
    path_prefix: Option<&str>,
    uses: &dyn Fn(&[String], Option<&str>) -> bool,
    items: &mut Vec<(String, PolicyEntity)>,
) -> Result<(), IamError> {
    let tag = match H::KIND {
        EntityKind::Group => 'g',
        EntityKind::Role => 'r',
        EntityKind::User => 'u',
    };
    for (_, e) in scan_json::<H>(tx, H::TABLE, &entity::account_prefix(account))? {
        if under(e.path(), path_prefix) && uses(e.attached(), e.boundary()) {
            items.push((
                format!("{tag}{}", e.name().to_ascii_lowercase()),
                PolicyEntity {
                    kind: H::KIND,
                    name: e.name().to_string(),
                    id: e.id().to_string(),
                },
            ));
        }
    }
    Ok(())
}

/// The inline and attached policies of a user, role or group, the kind given as a value.
impl Iam<'_> {
    /// Adds or replaces an inline policy of the entity `holder` of kind `kind`.
    pub fn put_inline_policy(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        by_kind!(kind, H => self.put_inline::<H>(account, holder, policy_name, document))
    }

    /// An inline policy, with its holder's stored name.
    pub fn get_inline_policy(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        policy_name: &str,
    ) -> Result<(String, InlinePolicy), IamError> {
        by_kind!(kind, H => self.get_inline::<H>(account, holder, policy_name))
    }

    pub fn delete_inline_policy(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        by_kind!(kind, H => self.delete_inline::<H>(account, holder, policy_name))
    }

    pub fn list_inline_policies(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<String>, IamError> {
        by_kind!(kind, H => self.list_inline::<H>(account, holder, opts))
    }

    pub fn attach_policy(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        by_kind!(kind, H => self.attach::<H>(account, holder, arn))
    }

    pub fn detach_policy(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        by_kind!(kind, H => self.detach::<H>(account, holder, arn))
    }

    pub fn list_attached_policies(
        &self,
        kind: EntityKind,
        account: &str,
        holder: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<AttachedPolicy>, IamError> {
        by_kind!(kind, H => self.list_attached::<H>(account, holder, path_prefix, opts))
    }
}

impl Iam<'_> {
    /// Adds or replaces an inline policy of a user or role.
    pub(crate) fn put_inline<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        check_name(H::FIELD, holder)?;
        check_name(NameField::PolicyName, policy_name)?;
        check_document(document, PolicyKind::Identity)?;
        self.store.write(|tx| {
            let mut h: H = load(tx, account, holder)?;
            h.check_modifiable()?;
            let others: usize = h
                .inline()
                .iter()
                .filter(|p| !p.name.eq_ignore_ascii_case(policy_name))
                .map(|p| policy_size(&p.document))
                .sum();
            if others + policy_size(document) > H::INLINE_MAX {
                return Err(H::inline_too_large(h.name()));
            }
            let new = InlinePolicy {
                name: policy_name.to_string(),
                document: document.to_string(),
            };
            let list = h.inline_mut();
            match list
                .iter_mut()
                .find(|p| p.name.eq_ignore_ascii_case(policy_name))
            {
                // AWS does not say whether a replacement keeps the old name's spelling; the
                // new one is kept here.
                Some(p) => *p = new,
                None => list.push(new),
            }
            store(tx, account, &h)
        })
    }

    /// An inline policy of a user or role; returns the holder's stored name with it.
    pub(crate) fn get_inline<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        policy_name: &str,
    ) -> Result<(String, InlinePolicy), IamError> {
        check_name(NameField::PolicyName, policy_name)?;
        self.store.read(|tx| {
            let h: H = load(tx, account, holder)?;
            let p = h
                .inline()
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(policy_name))
                .cloned()
                .ok_or_else(|| H::no_such_inline(policy_name))?;
            Ok((h.name().to_string(), p))
        })
    }

    pub(crate) fn delete_inline<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        check_name(NameField::PolicyName, policy_name)?;
        self.store.write(|tx| {
            let mut h: H = load(tx, account, holder)?;
            h.check_modifiable()?;
            let before = h.inline().len();
            h.inline_mut()
                .retain(|p| !p.name.eq_ignore_ascii_case(policy_name));
            if h.inline().len() == before {
                return Err(H::no_such_inline(policy_name));
            }
            store(tx, account, &h)
        })
    }

    pub(crate) fn list_inline<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<String>, IamError> {
        self.store.read(|tx| {
            let h: H = load(tx, account, holder)?;
            let items = h
                .inline()
                .iter()
                .map(|p| (p.name.to_ascii_lowercase(), p.name.clone()))
                .collect();
            Ok(paginate(items, opts))
        })
    }

    /// Attaches a managed policy; attaching one already attached changes nothing.
    pub(crate) fn attach<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        check_name(H::FIELD, holder)?;
        self.store.write(|tx| {
            let mut h: H = load(tx, account, holder)?;
            h.check_modifiable()?;
            let policy = find_policy(tx, account, arn)?
                .ok_or_else(|| IamError::PolicyNotAttachable(arn.to_string()))?;
            if h.attached().contains(&policy.arn) {
                return Ok(());
            }
            if h.attached().len() >= MAX_ATTACHED {
                return Err(H::attach_quota());
            }
            h.attached_mut().push(policy.arn);
            store(tx, account, &h)
        })
    }

    pub(crate) fn detach<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        arn: &str,
    ) -> Result<(), IamError> {
        check_name(H::FIELD, holder)?;
        self.store.write(|tx| {
            let mut h: H = load(tx, account, holder)?;
            h.check_modifiable()?;
            let canonical = find_policy(tx, account, arn)?.map(|p| p.arn);
            let before = h.attached().len();
            h.attached_mut()
                .retain(|a| Some(a) != canonical.as_ref() && a != arn);
            if h.attached().len() == before {
                return Err(IamError::NoSuchPolicy(arn.to_string()));
            }
            store(tx, account, &h)
        })
    }

    pub(crate) fn list_attached<H: Holder>(
        &self,
        account: &str,
        holder: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<AttachedPolicy>, IamError> {
        self.store.read(|tx| {
            let h: H = load(tx, account, holder)?;
            let mut items = Vec::new();
            for arn in h.attached() {
                let Some(p) = find_policy(tx, account, arn)? else {
                    continue;
                };
                if !under(&p.path, path_prefix) {
                    continue;
                }
                items.push((
                    format!("{}|{}", p.name.to_ascii_lowercase(), p.arn),
                    AttachedPolicy {
                        name: p.name,
                        arn: p.arn,
                    },
                ));
            }
            Ok(paginate(items, opts))
        })
    }

    /// Creates a customer managed policy (version `v1`, the default).
    pub fn create_policy(
        &self,
        account: &str,
        new: NewPolicy<'_>,
        now: u64,
    ) -> Result<PolicyInfo, IamError> {
        check_new_name(NameField::PolicyName, new.name)?;
        let path = new.path.unwrap_or("/");
        check_policy_path(path)?;
        check_distinct_tags(&new.tags)?;
        check_document(new.document, PolicyKind::Identity)?;
        if policy_size(new.document) > MANAGED_POLICY_MAX {
            return Err(IamError::ManagedPolicyTooLarge);
        }
        let policy = ManagedPolicy {
            arn: format!("arn:aws:iam::{account}:policy{path}{}", new.name),
            name: new.name.to_string(),
            id: entity::unique_id("ANPA"),
            path: path.to_string(),
            description: new.description.map(str::to_string),
            document: new.document.to_string(),
            default_version_id: "v1".into(),
            created_at: now,
            updated_at: now,
            tags: new.tags,
            versions: Vec::new(),
            next_version: 2,
        };
        self.store.write(|tx| {
            let key = entity::key(account, new.name);
            if get_json::<ManagedPolicy>(tx, POLICIES, &key)?.is_some() {
                return Err(IamError::PolicyExists(new.name.to_string()));
            }
            put_json(tx, POLICIES, &key, &policy)?;
            Ok(())
        })?;
        Ok(PolicyInfo {
            policy,
            attachment_count: 0,
            permissions_boundary_usage_count: 0,
        })
    }

    /// A managed policy (the account's own or AWS's) with its use in the account.
    pub fn get_policy(&self, account: &str, arn: &str) -> Result<PolicyInfo, IamError> {
        self.store.read(|tx| {
            let policy = find_policy(tx, account, arn)?
                .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
            Ok(with_counts(policy, &usage_counts(tx, account)?))
        })
    }

    /// A version of a managed policy.
    pub fn get_policy_version(
        &self,
        account: &str,
        arn: &str,
        version_id: &str,
    ) -> Result<PolicyVersion, IamError> {
        let missing = || IamError::NoSuchPolicyVersion {
            arn: arn.to_string(),
            version: version_id.to_string(),
        };
        let policy = self
            .store
            .read(|tx| find_policy(tx, account, arn))?
            .ok_or_else(missing)?;
        policy
            .all_versions()
            .into_iter()
            .find(|v| v.version_id == version_id)
            .ok_or_else(missing)
    }

    /// A customer managed policy to change, in a write transaction.
    fn own_policy(tx: &dyn Tx, account: &str, arn: &str) -> Result<ManagedPolicy, IamError> {
        let policy = find_policy(tx, account, arn)?
            .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
        if policy.is_aws_managed() {
            return Err(IamError::AwsManagedPolicyChange(arn.to_string()));
        }
        Ok(policy)
    }

    fn store_policy(tx: &dyn Tx, account: &str, policy: &ManagedPolicy) -> Result<(), IamError> {
        put_json(tx, POLICIES, &entity::key(account, &policy.name), policy)?;
        Ok(())
    }

    /// Adds a version to a customer managed policy (at most five are kept); as the default
    /// when `set_as_default`, which is then what authorisation evaluates.
    pub fn create_policy_version(
        &self,
        account: &str,
        arn: &str,
        document: &str,
        set_as_default: bool,
        now: u64,
    ) -> Result<PolicyVersion, IamError> {
        check_document(document, PolicyKind::Identity)?;
        if policy_size(document) > MANAGED_POLICY_MAX {
            return Err(IamError::ManagedPolicyTooLarge);
        }
        self.store.write(|tx| {
            let mut policy = Self::own_policy(tx, account, arn)?;
            policy.materialise_versions();
            if policy.versions.len() >= MAX_POLICY_VERSIONS {
                return Err(IamError::PolicyVersionQuota);
            }
            let id = format!("v{}", policy.next_version);
            policy.next_version += 1;
            policy.versions.push(StoredVersion {
                id: id.clone(),
                document: document.to_string(),
                created_at: now,
            });
            if set_as_default {
                policy.default_version_id = id.clone();
                policy.document = document.to_string();
            }
            policy.updated_at = now;
            Self::store_policy(tx, account, &policy)?;
            Ok(PolicyVersion {
                document: document.to_string(),
                version_id: id,
                is_default: set_as_default,
                created_at: now,
            })
        })
    }

    /// A managed policy's versions, newest first.
    pub fn list_policy_versions(
        &self,
        account: &str,
        arn: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<PolicyVersion>, IamError> {
        let policy = self
            .store
            .read(|tx| find_policy(tx, account, arn))?
            .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
        // AWS does not document the order; berth lists the newest first.
        let items = policy
            .all_versions()
            .into_iter()
            .map(|v| {
                let n = v
                    .version_id
                    .strip_prefix('v')
                    .and_then(|n| n.parse::<u32>().ok())
                    .unwrap_or(0);
                (format!("{:010}", u32::MAX - n), v)
            })
            .collect();
        Ok(paginate(items, opts))
    }

    /// Deletes a version that is not the default.
    pub fn delete_policy_version(
        &self,
        account: &str,
        arn: &str,
        version_id: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut policy = Self::own_policy(tx, account, arn)?;
            policy.materialise_versions();
            if !policy.versions.iter().any(|v| v.id == version_id) {
                return Err(IamError::NoSuchPolicyVersion {
                    arn: arn.to_string(),
                    version: version_id.to_string(),
                });
            }
            if policy.default_version_id == version_id {
                return Err(IamError::DeleteConflict(
                    crate::DeleteConflict::DefaultPolicyVersion,
                ));
            }
            policy.versions.retain(|v| v.id != version_id);
            Self::store_policy(tx, account, &policy)
        })
    }

    /// Makes a version the default: the one authorisation evaluates from the next request on.
    pub fn set_default_policy_version(
        &self,
        account: &str,
        arn: &str,
        version_id: &str,
        now: u64,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut policy = Self::own_policy(tx, account, arn)?;
            policy.materialise_versions();
            let Some(v) = policy.versions.iter().find(|v| v.id == version_id).cloned() else {
                return Err(IamError::NoSuchPolicyVersion {
                    arn: arn.to_string(),
                    version: version_id.to_string(),
                });
            };
            policy.default_version_id = v.id;
            policy.document = v.document;
            policy.updated_at = now;
            Self::store_policy(tx, account, &policy)
        })
    }

    /// The users, groups and roles a managed policy is attached to (`usage`
    /// `PermissionsPolicy`), or is the permissions boundary of (`PermissionsBoundary`), or
    /// both (no `usage`); `kind` keeps one kind of entity.
    pub fn list_entities_for_policy(
        &self,
        account: &str,
        arn: &str,
        kind: Option<EntityKind>,
        path_prefix: Option<&str>,
        usage: Option<PolicyUsage>,
        opts: ListOptions<'_>,
    ) -> Result<Page<PolicyEntity>, IamError> {
        self.store.read(|tx| {
            let policy = find_policy(tx, account, arn)?
                .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
            let arn = policy.arn.as_str();
            let uses = |attached: &[String], boundary: Option<&str>| {
                let as_policy = usage != Some(PolicyUsage::PermissionsBoundary)
                    && attached.iter().any(|a| a == arn);
                let as_boundary =
                    usage != Some(PolicyUsage::PermissionsPolicy) && boundary == Some(arn);
                as_policy || as_boundary
            };
            let wanted = |k: EntityKind| kind.is_none_or(|w| w == k);
            let mut items = Vec::new();
            for k in [EntityKind::Group, EntityKind::Role, EntityKind::User] {
                if wanted(k) {
                    by_kind!(k, H => entities_using::<H>(tx, account, path_prefix, &uses, &mut items))?;
                }
            }
            Ok(paginate(items, opts))
        })
    }

    /// Adds tags to a customer managed policy.
    pub fn tag_policy(&self, account: &str, arn: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut policy = Self::own_policy(tx, account, arn)?;
            entity::merge_tags(&mut policy.tags, tags)?;
            Self::store_policy(tx, account, &policy)
        })
    }

    pub fn untag_policy(&self, account: &str, arn: &str, keys: &[String]) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut policy = Self::own_policy(tx, account, arn)?;
            entity::remove_tags(&mut policy.tags, keys);
            Self::store_policy(tx, account, &policy)
        })
    }

    /// A managed policy's tags, in the order they were added.
    pub fn list_policy_tags(
        &self,
        account: &str,
        arn: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<Tag>, IamError> {
        let policy = self
            .store
            .read(|tx| find_policy(tx, account, arn))?
            .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
        Ok(crate::instance_profiles::page_in_order(policy.tags, opts))
    }

    /// Deletes a customer managed policy that nothing uses any more.
    pub fn delete_policy(&self, account: &str, arn: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let policy = find_policy(tx, account, arn)?
                .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
            if policy.is_aws_managed() {
                return Err(IamError::AwsManagedPolicy);
            }
            if usage_counts(tx, account)?.contains_key(&policy.arn) {
                return Err(IamError::DeleteConflict(crate::DeleteConflict::PolicyInUse));
            }
            if policy.versions.len() > 1 {
                return Err(IamError::DeleteConflict(
                    crate::DeleteConflict::PolicyVersions,
                ));
            }
            tx.delete(POLICIES, &entity::key(account, &policy.name))?;
            Ok(())
        })
    }

    /// Managed policies visible to the account: AWS's first, then the account's own by name.
    pub fn list_policies(
        &self,
        account: &str,
        filter: PolicyFilter<'_>,
        opts: ListOptions<'_>,
    ) -> Result<Page<PolicyInfo>, IamError> {
        self.store.read(|tx| {
            let counts = usage_counts(tx, account)?;
            let mut all: Vec<(String, ManagedPolicy)> = Vec::new();
            if filter.scope != PolicyScope::Local {
                all.extend(
                    crate::catalogue::aws_managed_policies()
                        .iter()
                        .map(|p| (format!("0{}", p.name.to_ascii_lowercase()), p.clone())),
                );
            }
            if filter.scope != PolicyScope::Aws {
                all.extend(
                    scan_json::<ManagedPolicy>(tx, POLICIES, &entity::account_prefix(account))?
                        .into_iter()
                        .map(|(_, p)| (format!("1{}", p.name.to_ascii_lowercase()), p)),
                );
            }
            let items = all
                .into_iter()
                .filter(|(_, p)| under(&p.path, filter.path_prefix))
                .map(|(k, p)| (k, with_counts(p, &counts)))
                .filter(|(_, info)| {
                    // AWS documents PolicyUsageFilter together with OnlyAttached; how it
                    // filters on its own is not documented, so it only refines OnlyAttached.
                    !filter.only_attached
                        || match filter.usage {
                            Some(PolicyUsage::PermissionsBoundary) => {
                                info.permissions_boundary_usage_count > 0
                            }
                            _ => info.attachment_count > 0,
                        }
                })
                .collect();
            Ok(paginate(items, opts))
        })
    }

    /// The verbatim identity-side documents of `principal`: its inline policies, its attached
    /// managed policies (AWS's built-in ones included) and its permissions boundary; for a role
    /// session, the role's. Root has none (the engine allows it everything in its own account).
    /// A user or role that no longer exists, or was replaced by another of the same name, has
    /// none. The session policy is the caller's to add (it travels with the session's key).
    pub fn identity_policies(&self, principal: &Principal) -> Result<IdentityDocuments, IamError> {
        self.store.read(|tx| match principal {
            Principal::Root { .. } => Ok(IdentityDocuments::default()),
            Principal::User {
                account, name, id, ..
            } => {
                let user: Option<PolicyHolderView> =
                    get_json(tx, entity::USERS, &entity::key(account, name))?;
                match user {
                    Some(mut u) if id.is_empty() || &u.id == id => {
                        u.user_documents(tx, account, &[])
                    }
                    _ => Ok(IdentityDocuments::default()),
                }
            }
            Principal::AssumedRole {
                account,
                role_name,
                role_id,
                ..
            } => {
                let role: Option<PolicyHolderView> =
                    get_json(tx, entity::ROLES, &entity::key(account, role_name))?;
                match role {
                    Some(r) if &r.id == role_id => collect(
                        tx,
                        account,
                        r.inline_policies,
                        &r.attached_policies,
                        &[],
                        r.permissions_boundary.as_deref(),
                    ),
                    _ => Ok(IdentityDocuments::default()),
                }
            }
            Principal::FederatedUser {
                account,
                user_name,
                session_key_id,
                ..
            } => {
                let user: Option<PolicyHolderView> =
                    get_json(tx, entity::USERS, &entity::key(account, user_name))?;
                let key: Option<crate::AccessKeyRecord> =
                    get_json(tx, crate::keys::TABLE, session_key_id)?;
                let (policy, session_tags) = match key.map(|k| k.owner) {
                    Some(crate::KeyOwner::Federated { policy, tags, .. }) => (policy, tags),
                    _ => (None, Vec::new()),
                };
                match user {
                    Some(mut u) => {
                        let mut docs = u.user_documents(tx, account, &session_tags)?;
                        // Without a federation policy the session may do nothing.
                        docs.session = Some(
                            policy.unwrap_or_else(|| crate::user_sessions::NOTHING.to_string()),
                        );
                        Ok(docs)
                    }
                    None => Ok(IdentityDocuments::default()),
                }
            }
        })
    }
}

/// The documents of a user or role: its own inline and attached policies, then those of each
/// group it is in (a group that is gone adds nothing), and its permissions boundary.
pub(crate) fn collect(
    tx: &dyn Tx,
    account: &str,
    inline: Vec<InlineDocument>,
    attached: &[String],
    groups: &[String],
    boundary: Option<&str>,
) -> Result<IdentityDocuments, IamError> {
    let mut policies: Vec<String> = inline.into_iter().map(|p| p.document).collect();
    for arn in attached {
        policies.extend(find_policy(tx, account, arn)?.map(|p| p.document));
    }
    for group in groups {
        let Some(g) =
            get_json::<PolicyHolderView>(tx, entity::GROUPS, &entity::key(account, group))?
        else {
            continue;
        };
        policies.extend(g.inline_policies.into_iter().map(|p| p.document));
        for arn in &g.attached_policies {
            policies.extend(find_policy(tx, account, arn)?.map(|p| p.document));
        }
    }
    let boundary = match boundary {
        Some(arn) => find_policy(tx, account, arn)?.map(|p| p.document),
        None => None,
    };
    Ok(IdentityDocuments {
        policies,
        boundary,
        session: None,
        principal_tags: Vec::new(),
    })
}

/// What the authoriser reads of a stored user, role or group (`User`, `Role`, `Group`): who it
/// is, the members that name its identity policies, and its tags. The record's other members
/// (the policy names, a role's trust policy, …) are skipped, not decoded; the record itself is
/// unchanged.
#[derive(Deserialize)]
pub(crate) struct PolicyHolderView {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlineDocument>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// A user's groups (a role and a group have none).
    #[serde(default)]
    pub groups: Vec<String>,
    /// A user's tags (its `aws:PrincipalTag/<key>` keys).
    #[serde(default)]
    pub tags: Vec<crate::entity::Tag>,
}

impl PolicyHolderView {
    /// A user's identity documents, the one reading of them for every request a user (or a
    /// federated user's session) makes: its own inline and attached policies, its groups', its
    /// permissions boundary, and its tags as the `aws:PrincipalTag/<key>` condition keys — each
    /// replaced by a session tag of the same key from `session_tags`. Its policy members are
    /// moved out.
    pub(crate) fn user_documents(
        &mut self,
        tx: &dyn Tx,
        account: &str,
        session_tags: &[(String, String)],
    ) -> Result<IdentityDocuments, IamError> {
        let mut docs = collect(
            tx,
            account,
            std::mem::take(&mut self.inline_policies),
            &self.attached_policies,
            &self.groups,
            self.permissions_boundary.as_deref(),
        )?;
        let tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        docs.principal_tags = crate::sts::principal_tags(&tags, session_tags);
        Ok(docs)
    }
}

/// An inline policy's document, its name skipped.
#[derive(Deserialize)]
pub(crate) struct InlineDocument {
    pub document: String,
}

/// Resolves a permissions boundary ARN for a user or role.
pub(crate) fn resolve_boundary(
    tx: &dyn Tx,
    account: &str,
    arn: &str,
) -> Result<ManagedPolicy, IamError> {
    match parse_policy_arn(arn) {
        Ok(Some(_)) => {}
        _ => return Err(IamError::InvalidBoundaryArn(arn.to_string())),
    }
    find_policy(tx, account, arn)?.ok_or_else(|| IamError::BoundaryNotAttachable(arn.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ECS_TASK_EXECUTION_ROLE_POLICY_ARN, NewRole, NewUser};
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn new_policy(name: &str) -> NewPolicy<'_> {
        NewPolicy {
            name,
            document: DOC,
            ..NewPolicy::default()
        }
    }

    #[test]
    fn managed_policy_lifecycle_and_counts() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let p = iam.create_policy(A, new_policy("Reader"), 10).unwrap();
        assert_eq!(p.policy.arn, format!("arn:aws:iam::{A}:policy/Reader"));
        assert!(p.policy.id.starts_with("ANPA"));
        assert!(matches!(
            iam.create_policy(A, new_policy("READER"), 11),
            Err(IamError::PolicyExists(n)) if n == "READER"
        ));
        iam.create_user(A, NewUser::named("bob"), 10).unwrap();
        iam.attach_policy(EntityKind::User, A, "bob", &p.policy.arn)
            .unwrap();
        iam.attach_policy(EntityKind::User, A, "bob", &p.policy.arn)
            .unwrap();
        let got = iam.get_policy(A, &p.policy.arn).unwrap();
        assert_eq!(got.attachment_count, 1);
        assert!(matches!(
            iam.delete_policy(A, &p.policy.arn),
            Err(IamError::DeleteConflict(crate::DeleteConflict::PolicyInUse))
        ));
        let only = iam
            .list_policies(
                A,
                PolicyFilter {
                    only_attached: true,
                    ..PolicyFilter::default()
                },
                ListOptions::default(),
            )
            .unwrap();
        assert_eq!(only.items.len(), 1);
        iam.detach_policy(EntityKind::User, A, "bob", &p.policy.arn)
            .unwrap();
        assert!(matches!(
            iam.detach_policy(EntityKind::User, A, "bob", &p.policy.arn),
            Err(IamError::NoSuchPolicy(_))
        ));
        iam.delete_policy(A, &p.policy.arn).unwrap();
        assert!(matches!(
            iam.get_policy(A, &p.policy.arn),
            Err(IamError::NoSuchPolicy(_))
        ));
    }

    #[test]
    fn versions_default_and_limits() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let p = iam.create_policy(A, new_policy("Reader"), 10).unwrap();
        let arn = p.policy.arn.as_str();
        const DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        let user = iam.create_user(A, NewUser::named("bob"), 10).unwrap();
        iam.attach_policy(EntityKind::User, A, "bob", arn).unwrap();
        let bob = Principal::User {
            account: A.into(),
            name: "bob".into(),
            id: user.id,
            path: "/".into(),
        };
        let v2 = iam.create_policy_version(A, arn, DENY, false, 11).unwrap();
        assert_eq!((v2.version_id.as_str(), v2.is_default), ("v2", false));
        assert_eq!(iam.identity_policies(&bob).unwrap().policies, vec![DOC]);
        iam.set_default_policy_version(A, arn, "v2", 12).unwrap();
        assert_eq!(iam.identity_policies(&bob).unwrap().policies, vec![DENY]);
        assert_eq!(
            iam.get_policy(A, arn).unwrap().policy.default_version_id,
            "v2"
        );
        assert!(matches!(
            iam.delete_policy_version(A, arn, "v2"),
            Err(IamError::DeleteConflict(
                crate::DeleteConflict::DefaultPolicyVersion
            ))
        ));
        for _ in 0..3 {
            iam.create_policy_version(A, arn, DOC, false, 13).unwrap();
        }
        assert!(matches!(
            iam.create_policy_version(A, arn, DOC, true, 14),
            Err(IamError::PolicyVersionQuota)
        ));
        iam.delete_policy_version(A, arn, "v1").unwrap();
        let v6 = iam.create_policy_version(A, arn, DOC, true, 15).unwrap();
        assert_eq!(v6.version_id, "v6");
        let listed: Vec<String> = iam
            .list_policy_versions(A, arn, ListOptions::default())
            .unwrap()
            .items
            .into_iter()
            .map(|v| v.version_id)
            .collect();
        assert_eq!(listed, vec!["v6", "v5", "v4", "v3", "v2"]);
        assert_eq!(iam.get_policy_version(A, arn, "v2").unwrap().document, DENY);
        assert!(matches!(
            iam.get_policy_version(A, arn, "v1"),
            Err(IamError::NoSuchPolicyVersion { .. })
        ));
        let entities = iam
            .list_entities_for_policy(A, arn, None, None, None, ListOptions::default())
            .unwrap();
        assert_eq!(entities.items.len(), 1);
        assert_eq!(entities.items[0].kind, EntityKind::User);
        assert!(
            iam.list_entities_for_policy(
                A,
                arn,
                Some(EntityKind::Role),
                None,
                None,
                ListOptions::default()
            )
            .unwrap()
            .items
            .is_empty()
        );
        iam.detach_policy(EntityKind::User, A, "bob", arn).unwrap();
        assert!(matches!(
            iam.delete_policy(A, arn),
            Err(IamError::DeleteConflict(
                crate::DeleteConflict::PolicyVersions
            ))
        ));
        assert!(matches!(
            iam.create_policy_version(A, ECS_TASK_EXECUTION_ROLE_POLICY_ARN, DOC, false, 1),
            Err(IamError::AwsManagedPolicyChange(_))
        ));
    }

    #[test]
    fn aws_managed_policy_is_built_in() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let p = iam
            .get_policy(A, ECS_TASK_EXECUTION_ROLE_POLICY_ARN)
            .unwrap();
        assert_eq!(p.policy.name, "AmazonECSTaskExecutionRolePolicy");
        let v = iam
            .get_policy_version(A, ECS_TASK_EXECUTION_ROLE_POLICY_ARN, "v1")
            .unwrap();
        assert!(v.document.contains("ecr:GetAuthorizationToken"));
        assert!(check_document(&v.document, PolicyKind::Identity).is_ok());
        assert!(matches!(
            iam.get_policy_version(A, ECS_TASK_EXECUTION_ROLE_POLICY_ARN, "v2"),
            Err(IamError::NoSuchPolicyVersion { .. })
        ));
        assert!(matches!(
            iam.delete_policy(A, ECS_TASK_EXECUTION_ROLE_POLICY_ARN),
            Err(IamError::AwsManagedPolicy)
        ));
        let aws_only = iam
            .list_policies(
                A,
                PolicyFilter {
                    scope: PolicyScope::Aws,
                    ..PolicyFilter::default()
                },
                ListOptions {
                    marker: None,
                    max_items: 1000,
                },
            )
            .unwrap();
        assert_eq!(aws_only.items.len(), crate::aws_managed_policies().len());
        assert!(
            aws_only
                .items
                .iter()
                .all(|p| p.policy.arn.starts_with("arn:aws:iam::aws:policy/"))
        );
        let local = iam
            .list_policies(
                A,
                PolicyFilter {
                    scope: PolicyScope::Local,
                    ..PolicyFilter::default()
                },
                ListOptions::default(),
            )
            .unwrap();
        assert!(local.items.is_empty());
    }

    #[test]
    fn malformed_and_oversized_documents_are_refused() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        assert!(matches!(
            iam.create_policy(
                A,
                NewPolicy {
                    name: "bad",
                    document: "{not json",
                    ..NewPolicy::default()
                },
                1
            ),
            Err(IamError::MalformedPolicy(m)) if m == "Syntax errors in policy."
        ));
        let actions: Vec<String> = (0..700).map(|i| format!("\"s3:Get{i:04}\"")).collect();
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
            actions.join(",")
        );
        assert!(matches!(
            iam.create_policy(
                A,
                NewPolicy {
                    name: "big",
                    document: &big,
                    ..NewPolicy::default()
                },
                1
            ),
            Err(IamError::ManagedPolicyTooLarge)
        ));
        assert!(
            iam.list_policies(
                A,
                PolicyFilter {
                    scope: PolicyScope::Local,
                    ..PolicyFilter::default()
                },
                ListOptions::default()
            )
            .unwrap()
            .items
            .is_empty()
        );
    }

    #[test]
    fn attach_unknown_or_foreign_policy() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("bob"), 1).unwrap();
        iam.create_policy("999988887777", new_policy("Theirs"), 1)
            .unwrap();
        for arn in [
            format!("arn:aws:iam::{A}:policy/nope"),
            "arn:aws:iam::999988887777:policy/Theirs".to_string(),
            format!("arn:aws:iam::{A}:role/x"),
        ] {
            assert!(matches!(
                iam.attach_policy(EntityKind::User, A, "bob", &arn),
                Err(IamError::PolicyNotAttachable(a)) if a == arn
            ));
        }
        assert!(matches!(
            iam.attach_policy(EntityKind::User, A, "bob", "longpolicynamebutnoarn"),
            Err(IamError::InvalidArn(_))
        ));
        for i in 0..MAX_ATTACHED {
            iam.create_policy(A, new_policy(&format!("p{i}")), 1)
                .unwrap();
            iam.attach_policy(
                EntityKind::User,
                A,
                "bob",
                &format!("arn:aws:iam::{A}:policy/p{i}"),
            )
            .unwrap();
        }
        assert!(matches!(
            iam.attach_policy(
                EntityKind::User,
                A,
                "bob",
                ECS_TASK_EXECUTION_ROLE_POLICY_ARN
            ),
            Err(IamError::AttachedPolicyQuota { .. })
        ));
    }

    #[test]
    fn a_users_tags_are_its_principal_tags() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let user = iam.create_user(A, NewUser::named("bob"), 1).unwrap();
        let bob = Principal::User {
            account: A.into(),
            name: "bob".into(),
            id: user.id,
            path: "/".into(),
        };
        assert!(
            iam.identity_policies(&bob)
                .unwrap()
                .principal_tags
                .is_empty()
        );
        iam.tag_user(
            A,
            "bob",
            vec![crate::entity::Tag {
                key: "Team".into(),
                value: "blue".into(),
            }],
        )
        .unwrap();
        assert_eq!(
            iam.identity_policies(&bob).unwrap().principal_tags,
            vec![("aws:PrincipalTag/Team".to_string(), "blue".to_string())]
        );
    }

    #[test]
    fn identity_policies_of_principals() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let boundary = iam.create_policy(A, new_policy("Boundary"), 1).unwrap();
        let role = iam
            .create_role(
                A,
                NewRole {
                    permissions_boundary: Some(&boundary.policy.arn),
                    ..NewRole::new("exec", TRUST)
                },
                1,
            )
            .unwrap();
        iam.put_role_policy(A, "exec", "inline", DOC).unwrap();
        iam.attach_policy(
            EntityKind::Role,
            A,
            "exec",
            ECS_TASK_EXECUTION_ROLE_POLICY_ARN,
        )
        .unwrap();
        let session = Principal::AssumedRole {
            account: A.into(),
            role_name: "exec".into(),
            role_id: role.id.clone(),
            role_path: "/".into(),
            session_name: "s".into(),
            session_key_id: "ASIAX".into(),
        };
        let got = iam.identity_policies(&session).unwrap();
        assert_eq!(got.policies.len(), 2);
        assert_eq!(got.policies[0], DOC);
        assert!(got.policies[1].contains("ecr:GetAuthorizationToken"));
        assert_eq!(got.boundary.as_deref(), Some(DOC));
        assert_eq!(got.session, None);
        let stale = Principal::AssumedRole {
            account: A.into(),
            role_name: "exec".into(),
            role_id: "AROAOTHER".into(),
            role_path: "/".into(),
            session_name: "s".into(),
            session_key_id: "ASIAX".into(),
        };
        assert_eq!(
            iam.identity_policies(&stale).unwrap(),
            IdentityDocuments::default()
        );
        let root = Principal::Root { account: A.into() };
        assert_eq!(
            iam.identity_policies(&root).unwrap(),
            IdentityDocuments::default()
        );
    }
}
