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

/// The AWS managed policy for ECS task execution roles.
pub const ECS_TASK_EXECUTION_ROLE_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

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
}

impl ManagedPolicy {
    /// Whether AWS owns the policy (`arn:aws:iam::aws:policy/…`).
    pub fn is_aws_managed(&self) -> bool {
        self.arn.starts_with("arn:aws:iam::aws:")
    }
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

/// A version of a managed policy (berth keeps one: the default, `v1`).
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

const ECS_TASK_EXECUTION_DOCUMENT: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ],
            "Resource": "*"
        }
    ]
}"#;

/// The AWS managed policies berth knows, with AWS's own ids and dates.
pub fn aws_managed_policies() -> Vec<ManagedPolicy> {
    vec![ManagedPolicy {
        arn: ECS_TASK_EXECUTION_ROLE_POLICY_ARN.into(),
        name: "AmazonECSTaskExecutionRolePolicy".into(),
        id: "ANPAJG4T4G4PV56DE72PY".into(),
        path: "/service-role/".into(),
        description: Some(
            "Provides access to other AWS service resources that are required to run Amazon ECS tasks"
                .into(),
        ),
        document: ECS_TASK_EXECUTION_DOCUMENT.into(),
        default_version_id: "v1".into(),
        // 2017-11-16T18:48:22Z
        created_at: 1_510_858_102,
        updated_at: 1_510_858_102,
        tags: Vec::new(),
    }]
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
        return Ok(aws_managed_policies().into_iter().find(|m| m.arn == arn));
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
fn usage_counts(tx: &dyn Tx, account: &str) -> Result<HashMap<String, (u32, u32)>, IamError> {
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

fn with_counts(policy: ManagedPolicy, counts: &HashMap<String, (u32, u32)>) -> PolicyInfo {
    let (a, b) = counts.get(&policy.arn).copied().unwrap_or_default();
    PolicyInfo {
        policy,
        attachment_count: a,
        permissions_boundary_usage_count: b,
    }
}

/// A user or a role: something with inline and attached policies, stored by name.
pub(crate) trait Holder: Serialize + DeserializeOwned {
    const TABLE: &'static str;
    const FIELD: NameField;
    /// The total size of the entity's inline policies.
    const INLINE_MAX: usize;
    fn not_found(name: &str) -> IamError;
    fn no_such_inline(policy: &str) -> IamError;
    fn inline_too_large(name: &str) -> IamError;
    fn attach_quota() -> IamError;
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

/// The entity named `name`, or its `NoSuchEntity` error.
pub(crate) fn load<H: Holder>(tx: &dyn Tx, account: &str, name: &str) -> Result<H, IamError> {
    check_name(H::FIELD, name)?;
    get_json(tx, H::TABLE, &entity::key(account, name))?.ok_or_else(|| H::not_found(name))
}

fn store<H: Holder>(tx: &dyn Tx, account: &str, h: &H) -> Result<(), IamError> {
    put_json(tx, H::TABLE, &entity::key(account, h.name()), h)?;
    Ok(())
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

    /// A version of a managed policy; berth keeps the default one only.
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
        if policy.default_version_id != version_id {
            return Err(missing());
        }
        Ok(PolicyVersion {
            document: policy.document,
            version_id: policy.default_version_id,
            is_default: true,
            created_at: policy.updated_at,
        })
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
                    aws_managed_policies()
                        .into_iter()
                        .map(|p| (format!("0{}", p.arn), p)),
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
                    Some(u) if id.is_empty() || &u.id == id => collect(
                        tx,
                        account,
                        u.inline_policies,
                        &u.attached_policies,
                        &u.groups,
                        u.permissions_boundary.as_deref(),
                    ),
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
    })
}

/// What the authoriser reads of a stored user or role (`User`, `Role`): its id and the members
/// that name its identity policies. The record's other members (tags, the policy names, a
/// role's trust policy, …) are skipped, not decoded; the record itself is unchanged.
#[derive(Deserialize)]
pub(crate) struct PolicyHolderView {
    pub id: String,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlineDocument>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// A user's groups (a role and a group have none).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// What `Iam::resolve_access_key` reads of a user's record: who the user is and its policies.
#[derive(Deserialize)]
pub(crate) struct UserView {
    pub account: String,
    pub name: String,
    pub id: String,
    pub path: String,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlineDocument>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
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
    use crate::{NewRole, NewUser};
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
        iam.attach_user_policy(A, "bob", &p.policy.arn).unwrap();
        iam.attach_user_policy(A, "bob", &p.policy.arn).unwrap();
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
        iam.detach_user_policy(A, "bob", &p.policy.arn).unwrap();
        assert!(matches!(
            iam.detach_user_policy(A, "bob", &p.policy.arn),
            Err(IamError::NoSuchPolicy(_))
        ));
        iam.delete_policy(A, &p.policy.arn).unwrap();
        assert!(matches!(
            iam.get_policy(A, &p.policy.arn),
            Err(IamError::NoSuchPolicy(_))
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
                ListOptions::default(),
            )
            .unwrap();
        assert_eq!(aws_only.items.len(), 1);
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
                iam.attach_user_policy(A, "bob", &arn),
                Err(IamError::PolicyNotAttachable(a)) if a == arn
            ));
        }
        assert!(matches!(
            iam.attach_user_policy(A, "bob", "longpolicynamebutnoarn"),
            Err(IamError::InvalidArn(_))
        ));
        for i in 0..MAX_ATTACHED {
            iam.create_policy(A, new_policy(&format!("p{i}")), 1)
                .unwrap();
            iam.attach_user_policy(A, "bob", &format!("arn:aws:iam::{A}:policy/p{i}"))
                .unwrap();
        }
        assert!(matches!(
            iam.attach_user_policy(A, "bob", ECS_TASK_EXECUTION_ROLE_POLICY_ARN),
            Err(IamError::AttachedPolicyQuota { .. })
        ));
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
        iam.attach_role_policy(A, "exec", ECS_TASK_EXECUTION_ROLE_POLICY_ARN)
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
