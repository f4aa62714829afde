//! IAM roles: a trust policy saying who may assume them, and the policies they grant.

use berth_policy::PolicyKind;
use berth_store::{StoreExt, get_json, put_json};
use serde::{Deserialize, Serialize};

use crate::entity::{
    self, ListOptions, NameField, Page, ROLES, Tag, check_distinct_tags, check_entity_path,
    check_name, check_new_name, merge_tags, policy_size,
};
use crate::policies::{self, AttachedPolicy, EntityKind, Holder, InlinePolicy, check_document};
use crate::sts::RoleInfo;
use crate::{DeleteConflict, Iam, IamError};

/// The total size of a role's inline policies, in characters without white space.
pub const ROLE_INLINE_POLICIES_MAX: usize = 10240;
/// The largest trust policy, in characters without white space.
pub const TRUST_POLICY_MAX: usize = 2048;
/// A role's session duration when none is set, in seconds.
pub const DEFAULT_MAX_SESSION_DURATION: u32 = 3600;

/// An IAM role as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub account: String,
    pub name: String,
    /// `AROA…`
    pub id: String,
    pub path: String,
    pub created_at: u64,
    pub description: Option<String>,
    /// Seconds, 3600–43200.
    pub max_session_duration: u32,
    /// The trust policy, verbatim.
    pub assume_role_policy: String,
    /// ARN of the managed policy that bounds the role's permissions.
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies, in the order they were attached.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl Role {
    /// Whether AWS made the role for a service (`/aws-service-role/<service>/`): only AWS
    /// changes it.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with(crate::service_linked::PATH_PREFIX)
    }

    /// Refuses a change to a service-linked role, with AWS's `UnmodifiableEntity` text.
    pub(crate) fn check_modifiable(&self) -> Result<(), IamError> {
        if self.is_service_linked() {
            return Err(IamError::ProtectedRole(self.name.clone()));
        }
        Ok(())
    }

    pub fn arn(&self) -> String {
        crate::entity::iam_arn(&self.account, "role", &self.path, &self.name)
    }
}

impl Holder for Role {
    const KIND: EntityKind = EntityKind::Role;
    policies::holder_fields!();
    fn check_modifiable(&self) -> Result<(), IamError> {
        Role::check_modifiable(self)
    }
}

/// What a new role is made of.
#[derive(Debug, Clone, Default)]
pub struct NewRole<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub assume_role_policy: &'a str,
    pub description: Option<&'a str>,
    pub max_session_duration: Option<u32>,
    pub permissions_boundary: Option<&'a str>,
    pub tags: Vec<Tag>,
}

impl<'a> NewRole<'a> {
    pub fn new(name: &'a str, assume_role_policy: &'a str) -> NewRole<'a> {
        NewRole {
            name,
            assume_role_policy,
            ..NewRole::default()
        }
    }
}

fn check_trust_policy(doc: &str) -> Result<(), IamError> {
    check_document(doc, PolicyKind::Trust)?;
    if policy_size(doc) > TRUST_POLICY_MAX {
        return Err(IamError::TrustPolicyTooLarge);
    }
    Ok(())
}

impl Iam<'_> {
    /// Creates a role; fails if one of that name (in any case) exists.
    pub fn create_role(&self, account: &str, new: NewRole<'_>, now: u64) -> Result<Role, IamError> {
        check_new_name(NameField::RoleName, new.name)?;
        let path = new.path.unwrap_or("/");
        check_entity_path(path)?;
        check_distinct_tags(&new.tags)?;
        check_trust_policy(new.assume_role_policy)?;
        self.store.write(|tx| {
            let key = entity::key(account, new.name);
            if get_json::<Role>(tx, ROLES, &key)?.is_some() {
                return Err(IamError::RoleExists(new.name.to_string()));
            }
            let boundary = new
                .permissions_boundary
                .map(|arn| policies::resolve_boundary(tx, account, arn).map(|p| p.arn))
                .transpose()?;
            let role = Role {
                account: account.to_string(),
                name: new.name.to_string(),
                id: entity::unique_id("AROA"),
                path: path.to_string(),
                created_at: now,
                description: new.description.map(str::to_string),
                max_session_duration: new
                    .max_session_duration
                    .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
                assume_role_policy: new.assume_role_policy.to_string(),
                permissions_boundary: boundary,
                tags: new.tags.clone(),
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
            };
            put_json(tx, ROLES, &key, &role)?;
            Ok(role)
        })
    }

    /// The role named `name` (compared case-insensitively).
    pub fn get_role(&self, account: &str, name: &str) -> Result<Role, IamError> {
        self.store.read(|tx| policies::load(tx, account, name))
    }

    /// The role, if it exists: its trust policy, path, id and session duration, for STS and
    /// the authoriser. A name that is not a valid role name finds nothing.
    pub fn role(&self, account: &str, name: &str) -> Result<Option<Role>, IamError> {
        match self.get_role(account, name) {
            Ok(r) => Ok(Some(r)),
            Err(IamError::NoSuchRole(_) | IamError::InvalidName(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What STS needs of the role `name` in `account` (names compare case-insensitively);
    /// `None` when there is no such role.
    pub fn role_info(&self, account: &str, name: &str) -> Result<Option<RoleInfo>, IamError> {
        Ok(self.role(account, name)?.map(|r| RoleInfo {
            account: r.account,
            name: r.name,
            id: r.id,
            path: r.path,
            trust_policy: r.assume_role_policy,
            max_session_duration: r.max_session_duration,
        }))
    }

    /// Deletes a role that has no policies left.
    pub fn delete_role(&self, account: &str, name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let role: Role = policies::load(tx, account, name)?;
            role.check_modifiable()?;
            // AWS does not document which it checks first when both are left.
            if !role.attached_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::AttachedPolicies));
            }
            if !role.inline_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies));
            }
            if !crate::instance_profiles::holding(tx, account, &role.name)?.is_empty() {
                return Err(IamError::DeleteConflict(
                    DeleteConflict::InstanceProfileRoles,
                ));
            }
            tx.delete(ROLES, &entity::key(account, &role.name))?;
            Ok(())
        })
    }

    /// Roles whose path starts with `path_prefix`, by name.
    pub fn list_roles(
        &self,
        account: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<Role>, IamError> {
        self.store.read(|tx| {
            entity::list_under(tx, ROLES, account, path_prefix, opts, |r: &Role| {
                (&r.path, &r.name)
            })
        })
    }

    /// Replaces a role's trust policy.
    pub fn update_assume_role_policy(
        &self,
        account: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        check_name(NameField::RoleName, name)?;
        check_trust_policy(document)?;
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            role.check_modifiable()?;
            role.assume_role_policy = document.to_string();
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(())
        })
    }

    /// Sets (or replaces) a role's permissions boundary.
    pub fn put_role_permissions_boundary(
        &self,
        account: &str,
        name: &str,
        boundary_arn: &str,
    ) -> Result<(), IamError> {
        check_name(NameField::RoleName, name)?;
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            role.check_modifiable()?;
            let policy = policies::resolve_boundary(tx, account, boundary_arn)?;
            role.permissions_boundary = Some(policy.arn);
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(())
        })
    }

    /// Changes a role's description and/or its longest session; returns the role as changed.
    pub fn update_role(
        &self,
        account: &str,
        name: &str,
        description: Option<&str>,
        max_session_duration: Option<u32>,
    ) -> Result<Role, IamError> {
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            if let Some(d) = description {
                role.description = Some(d.to_string());
            }
            if let Some(m) = max_session_duration {
                role.max_session_duration = m;
            }
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(role)
        })
    }

    pub fn untag_role(&self, account: &str, name: &str, keys: &[String]) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            crate::entity::remove_tags(&mut role.tags, keys);
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(())
        })
    }

    /// A role's tags, in the order they were added.
    pub fn list_role_tags(
        &self,
        account: &str,
        name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<Tag>, IamError> {
        let role = self.get_role(account, name)?;
        Ok(crate::instance_profiles::page_in_order(role.tags, opts))
    }

    /// Removes a role's permissions boundary (none set: nothing changes).
    pub fn delete_role_permissions_boundary(
        &self,
        account: &str,
        name: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            role.check_modifiable()?;
            role.permissions_boundary = None;
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(())
        })
    }

    /// Adds tags to a role; a key it already has (in any case) takes the new spelling and value.
    pub fn tag_role(&self, account: &str, name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        check_name(NameField::RoleName, name)?;
        self.store.write(|tx| {
            let mut role: Role = policies::load(tx, account, name)?;
            merge_tags(&mut role.tags, tags)?;
            put_json(tx, ROLES, &entity::key(account, &role.name), &role)?;
            Ok(())
        })
    }

    pub fn put_role_policy(
        &self,
        account: &str,
        role: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.put_inline::<Role>(account, role, policy_name, document)
    }

    /// An inline policy of a role, with the role's stored name.
    pub fn get_role_policy(
        &self,
        account: &str,
        role: &str,
        policy_name: &str,
    ) -> Result<(String, InlinePolicy), IamError> {
        self.get_inline::<Role>(account, role, policy_name)
    }

    pub fn list_role_policies(
        &self,
        account: &str,
        role: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<String>, IamError> {
        self.list_inline::<Role>(account, role, opts)
    }

    pub fn list_attached_role_policies(
        &self,
        account: &str,
        role: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<AttachedPolicy>, IamError> {
        self.list_attached::<Role>(account, role, path_prefix, opts)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ECS_TASK_EXECUTION_ROLE_POLICY_ARN;
    use crate::policies::NewPolicy;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

    fn setup() -> (SqliteStore, RootKey) {
        (SqliteStore::in_memory().unwrap(), RootKey::generate())
    }

    #[test]
    fn role_lifecycle() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        let r = iam
            .create_role(
                A,
                NewRole {
                    path: Some("/svc/"),
                    description: Some("exec"),
                    ..NewRole::new("Exec", TRUST)
                },
                5,
            )
            .unwrap();
        assert!(r.id.starts_with("AROA"));
        assert_eq!(r.arn(), format!("arn:aws:iam::{A}:role/svc/Exec"));
        assert_eq!(r.max_session_duration, 3600);
        assert_eq!(r.assume_role_policy, TRUST);
        assert!(matches!(
            iam.create_role(A, NewRole::new("EXEC", TRUST), 6),
            Err(IamError::RoleExists(n)) if n == "EXEC"
        ));
        assert_eq!(iam.role(A, "exec").unwrap(), Some(r.clone()));
        assert_eq!(iam.role(A, "nope").unwrap(), None);
        let info = iam.role_info(A, "EXEC").unwrap().unwrap();
        assert_eq!(info.arn(), r.arn());
        assert_eq!(
            (info.id.as_str(), info.trust_policy.as_str()),
            (r.id.as_str(), TRUST)
        );
        assert_eq!(info.max_session_duration, 3600);
        let other = TRUST.replace("ecs-tasks", "ec2");
        iam.update_assume_role_policy(A, "exec", &other).unwrap();
        assert_eq!(iam.get_role(A, "exec").unwrap().assume_role_policy, other);
        iam.delete_role(A, "exec").unwrap();
        assert!(matches!(
            iam.get_role(A, "exec"),
            Err(IamError::NoSuchRole(n)) if n == "exec"
        ));
    }

    #[test]
    fn a_malformed_trust_policy_writes_nothing() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        assert!(matches!(
            iam.create_role(A, NewRole::new("r", "{nope"), 1),
            Err(IamError::MalformedPolicy(m)) if m == "This policy contains invalid Json"
        ));
        assert!(matches!(
            iam.create_role(A, NewRole::new("r", DOC), 1),
            Err(IamError::MalformedPolicy(_))
        ));
        // The boundary is checked inside the write: nothing stays behind.
        assert!(matches!(
            iam.create_role(
                A,
                NewRole {
                    permissions_boundary: Some("arn:aws:iam::111122223333:policy/none"),
                    ..NewRole::new("r", TRUST)
                },
                1
            ),
            Err(IamError::BoundaryNotAttachable(_))
        ));
        assert!(matches!(
            iam.create_role(
                A,
                NewRole {
                    permissions_boundary: Some("arn:aws:iam::111122223333:role/r"),
                    ..NewRole::new("r", TRUST)
                },
                1
            ),
            Err(IamError::InvalidBoundaryArn(_))
        ));
        assert!(
            iam.list_roles(A, None, ListOptions::default())
                .unwrap()
                .items
                .is_empty()
        );
        let principals: Vec<String> = (0..80)
            .map(|i| format!("\"arn:aws:iam::{A}:user/user-number-{i:03}\""))
            .collect();
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":[{}]}},"Action":"sts:AssumeRole"}}]}}"#,
            principals.join(",")
        );
        assert!(matches!(
            iam.create_role(A, NewRole::new("r", &big), 1),
            Err(IamError::TrustPolicyTooLarge)
        ));
    }

    #[test]
    fn delete_refuses_while_policies_remain() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_role(A, NewRole::new("r", TRUST), 1).unwrap();
        iam.put_role_policy(A, "r", "p", DOC).unwrap();
        assert!(matches!(
            iam.delete_role(A, "r"),
            Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies))
        ));
        iam.attach_policy(EntityKind::Role, A, "r", ECS_TASK_EXECUTION_ROLE_POLICY_ARN)
            .unwrap();
        assert!(matches!(
            iam.delete_role(A, "r"),
            Err(IamError::DeleteConflict(DeleteConflict::AttachedPolicies))
        ));
        let attached = iam
            .list_attached_role_policies(A, "r", Some("/service-role/"), ListOptions::default())
            .unwrap();
        assert_eq!(attached.items.len(), 1);
        assert!(
            iam.list_attached_role_policies(A, "r", Some("/other/"), ListOptions::default())
                .unwrap()
                .items
                .is_empty()
        );
        iam.detach_policy(EntityKind::Role, A, "r", ECS_TASK_EXECUTION_ROLE_POLICY_ARN)
            .unwrap();
        iam.delete_inline_policy(EntityKind::Role, A, "r", "p")
            .unwrap();
        assert!(matches!(
            iam.get_role_policy(A, "r", "p"),
            Err(IamError::NoSuchRolePolicy(_))
        ));
        iam.delete_role(A, "r").unwrap();
    }

    #[test]
    fn boundaries_and_tags() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_role(A, NewRole::new("r", TRUST), 1).unwrap();
        let p = iam
            .create_policy(
                A,
                NewPolicy {
                    name: "bound",
                    document: DOC,
                    ..NewPolicy::default()
                },
                1,
            )
            .unwrap();
        iam.put_role_permissions_boundary(A, "r", &p.policy.arn)
            .unwrap();
        assert_eq!(
            iam.get_role(A, "r").unwrap().permissions_boundary,
            Some(p.policy.arn.clone())
        );
        assert_eq!(
            iam.get_policy(A, &p.policy.arn)
                .unwrap()
                .permissions_boundary_usage_count,
            1
        );
        assert!(matches!(
            iam.delete_policy(A, &p.policy.arn),
            Err(IamError::DeleteConflict(DeleteConflict::PolicyInUse))
        ));
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        iam.tag_role(A, "r", vec![tag("team", "a")]).unwrap();
        iam.tag_role(A, "r", vec![tag("Team", "b"), tag("env", "")])
            .unwrap();
        assert_eq!(
            iam.get_role(A, "r").unwrap().tags,
            vec![tag("Team", "b"), tag("env", "")]
        );
        assert!(matches!(
            iam.tag_role(A, "r", vec![tag("x", "1"), tag("X", "2")]),
            Err(IamError::DuplicateTagKeys)
        ));
        assert!(matches!(
            iam.tag_role(A, "nope", vec![tag("x", "1")]),
            Err(IamError::NoSuchRole(_))
        ));
    }

    #[test]
    fn roles_page_by_name() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        for n in ["c", "A", "b"] {
            iam.create_role(A, NewRole::new(n, TRUST), 1).unwrap();
        }
        let first = iam
            .list_roles(
                A,
                None,
                ListOptions {
                    marker: None,
                    max_items: 2,
                },
            )
            .unwrap();
        let names: Vec<&str> = first.items.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["A", "b"]);
        let rest = iam
            .list_roles(
                A,
                None,
                ListOptions {
                    marker: first.marker.as_deref(),
                    max_items: 2,
                },
            )
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].name, "c");
        assert!(!rest.is_truncated());
    }
}
