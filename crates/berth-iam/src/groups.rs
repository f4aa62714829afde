//! IAM groups: a set of users, and policies that apply to every user in it.
//!
//! Membership is kept on the user's record (`User::groups`, the groups' names), so that the
//! authoriser reads a user's groups from the record it already reads; a group's members are
//! found by scanning the account's users.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::entity::{
    self, GROUPS, ListOptions, NameField, Page, USERS, check_entity_path, check_name,
    check_new_name, paginate,
};
use crate::policies::{self, EntityKind, Holder, InlinePolicy};
use crate::{DeleteConflict, Iam, IamError, User};

/// The total size of a group's inline policies, in characters without white space.
pub const GROUP_INLINE_POLICIES_MAX: usize = 5120;
/// The most groups one user is in.
pub const GROUPS_PER_USER: usize = 10;

/// An IAM group as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub account: String,
    pub name: String,
    /// `AGPA…`
    pub id: String,
    pub path: String,
    pub created_at: u64,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies, in the order they were attached.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl Group {
    pub fn arn(&self) -> String {
        crate::entity::iam_arn(&self.account, "group", &self.path, &self.name)
    }
}

impl Holder for Group {
    const KIND: EntityKind = EntityKind::Group;
    policies::holder_fields!();
}

/// Whether `user` is in the group named `group` (names compare case-insensitively).
fn is_member(user: &User, group: &str) -> bool {
    user.groups.iter().any(|g| g.eq_ignore_ascii_case(group))
}

/// The users of `account` in the group named `group`.
pub(crate) fn members(tx: &dyn Tx, account: &str, group: &str) -> Result<Vec<User>, IamError> {
    Ok(
        scan_json::<User>(tx, USERS, &entity::account_prefix(account))?
            .into_iter()
            .map(|(_, u)| u)
            .filter(|u| is_member(u, group))
            .collect(),
    )
}

fn store_user(tx: &dyn Tx, account: &str, user: &User) -> Result<(), IamError> {
    put_json(tx, USERS, &entity::key(account, &user.name), user)?;
    Ok(())
}

impl Iam<'_> {
    /// Creates a group; fails if one of that name (in any case) exists.
    pub fn create_group(
        &self,
        account: &str,
        name: &str,
        path: Option<&str>,
        now: u64,
    ) -> Result<Group, IamError> {
        check_new_name(NameField::GroupName, name)?;
        let path = path.unwrap_or("/");
        check_entity_path(path)?;
        self.store.write(|tx| {
            let key = entity::key(account, name);
            if get_json::<Group>(tx, GROUPS, &key)?.is_some() {
                return Err(IamError::GroupExists(name.to_string()));
            }
            let group = Group {
                account: account.to_string(),
                name: name.to_string(),
                id: entity::unique_id("AGPA"),
                path: path.to_string(),
                created_at: now,
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
            };
            put_json(tx, GROUPS, &key, &group)?;
            Ok(group)
        })
    }

    /// The group, if it exists (a name that is not a valid group name finds nothing).
    pub fn find_group(&self, account: &str, name: &str) -> Result<Option<Group>, IamError> {
        if check_name(NameField::GroupName, name).is_err() {
            return Ok(None);
        }
        self.store
            .read(|tx| Ok(get_json(tx, GROUPS, &entity::key(account, name))?))
    }

    /// The group and a page of its users, by name.
    pub fn get_group(
        &self,
        account: &str,
        name: &str,
        opts: ListOptions<'_>,
    ) -> Result<(Group, Page<User>), IamError> {
        self.store.read(|tx| {
            let group: Group = policies::load(tx, account, name)?;
            let items = members(tx, account, &group.name)?
                .into_iter()
                .map(|u| (u.name.to_ascii_lowercase(), u))
                .collect();
            Ok((group, paginate(items, opts)))
        })
    }

    /// Groups whose path starts with `path_prefix`, by name.
    pub fn list_groups(
        &self,
        account: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<Group>, IamError> {
        self.store.read(|tx| {
            entity::list_under(tx, GROUPS, account, path_prefix, opts, |g: &Group| {
                (&g.path, &g.name)
            })
        })
    }

    /// The groups a user is in, by name.
    pub fn list_groups_for_user(
        &self,
        account: &str,
        user: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<Group>, IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user)?;
            let mut items = Vec::new();
            for g in &user.groups {
                if let Some(group) = get_json::<Group>(tx, GROUPS, &entity::key(account, g))? {
                    items.push((group.name.to_ascii_lowercase(), group));
                }
            }
            Ok(paginate(items, opts))
        })
    }

    /// Renames a group or moves it to another path; its members follow it.
    pub fn update_group(
        &self,
        account: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        entity::check_update(NameField::GroupName, new_name, new_path)?;
        self.store.write(|tx| {
            let mut group: Group = policies::load(tx, account, name)?;
            let old_name = group.name.clone();
            if let Some(p) = new_path {
                group.path = p.to_string();
            }
            if let Some(n) = new_name {
                let renamed = !n.eq_ignore_ascii_case(&old_name);
                if renamed && get_json::<Group>(tx, GROUPS, &entity::key(account, n))?.is_some() {
                    return Err(IamError::GroupExists(n.to_string()));
                }
                for mut user in members(tx, account, &old_name)? {
                    for g in user.groups.iter_mut() {
                        if g.eq_ignore_ascii_case(&old_name) {
                            *g = n.to_string();
                        }
                    }
                    store_user(tx, account, &user)?;
                }
                tx.delete(GROUPS, &entity::key(account, &old_name))?;
                group.name = n.to_string();
            }
            put_json(tx, GROUPS, &entity::key(account, &group.name), &group)?;
            Ok(())
        })
    }

    /// Deletes a group that has no users and no policies left.
    pub fn delete_group(&self, account: &str, name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let group: Group = policies::load(tx, account, name)?;
            // AWS does not document the order in which DeleteGroup checks what is left.
            if !members(tx, account, &group.name)?.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::GroupMembers));
            }
            if !group.inline_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies));
            }
            if !group.attached_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::AttachedPolicies));
            }
            tx.delete(GROUPS, &entity::key(account, &group.name))?;
            Ok(())
        })
    }

    /// Adds a user to a group; adding a member again changes nothing.
    pub fn add_user_to_group(
        &self,
        account: &str,
        group: &str,
        user: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let group: Group = policies::load(tx, account, group)?;
            let mut user: User = policies::load(tx, account, user)?;
            if is_member(&user, &group.name) {
                return Ok(());
            }
            if user.groups.len() >= GROUPS_PER_USER {
                return Err(IamError::GroupsPerUserQuota);
            }
            user.groups.push(group.name);
            store_user(tx, account, &user)
        })
    }

    /// Removes a user from a group.
    pub fn remove_user_from_group(
        &self,
        account: &str,
        group: &str,
        user: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let group: Group = policies::load(tx, account, group)?;
            let mut user: User = policies::load(tx, account, user)?;
            if !is_member(&user, &group.name) {
                // AWS's answer for a user that is not in the group is not documented; berth
                // answers as for a user that is not there.
                return Err(IamError::NoSuchUser(user.name));
            }
            user.groups.retain(|g| !g.eq_ignore_ascii_case(&group.name));
            store_user(tx, account, &user)
        })
    }

    pub fn put_group_policy(
        &self,
        account: &str,
        group: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.put_inline::<Group>(account, group, policy_name, document)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{NewPolicy, NewUser, Principal};
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;
    const DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

    fn bob(id: &str) -> Principal {
        Principal::User {
            account: A.into(),
            name: "bob".into(),
            id: id.into(),
            path: "/".into(),
        }
    }

    #[test]
    fn group_lifecycle_and_membership() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let g = iam.create_group(A, "Devs", Some("/eng/"), 5).unwrap();
        assert!(g.id.starts_with("AGPA") && g.id.len() == 21);
        assert_eq!(g.arn(), format!("arn:aws:iam::{A}:group/eng/Devs"));
        assert!(matches!(
            iam.create_group(A, "devs", None, 6),
            Err(IamError::GroupExists(n)) if n == "devs"
        ));
        iam.create_user(A, NewUser::named("bob"), 5).unwrap();
        iam.add_user_to_group(A, "devs", "bob").unwrap();
        iam.add_user_to_group(A, "Devs", "BOB").unwrap();
        let (_, users) = iam.get_group(A, "devs", ListOptions::default()).unwrap();
        assert_eq!(users.items.len(), 1);
        assert_eq!(
            iam.list_groups_for_user(A, "bob", ListOptions::default())
                .unwrap()
                .items,
            vec![g.clone()]
        );
        assert!(matches!(
            iam.delete_group(A, "Devs"),
            Err(IamError::DeleteConflict(DeleteConflict::GroupMembers))
        ));
        assert!(matches!(
            iam.delete_user(A, "bob"),
            Err(IamError::DeleteConflict(DeleteConflict::GroupMembers))
        ));
        iam.update_group(A, "devs", Some("Builders"), Some("/"))
            .unwrap();
        let got = iam
            .list_groups_for_user(A, "bob", ListOptions::default())
            .unwrap();
        assert_eq!(got.items.len(), 1);
        assert_eq!(got.items[0].name, "Builders");
        assert_eq!(got.items[0].id, g.id);
        assert!(iam.find_group(A, "Devs").unwrap().is_none());
        iam.remove_user_from_group(A, "builders", "bob").unwrap();
        assert!(matches!(
            iam.remove_user_from_group(A, "builders", "bob"),
            Err(IamError::NoSuchUser(_))
        ));
        iam.put_group_policy(A, "Builders", "p", DOC).unwrap();
        assert!(matches!(
            iam.delete_group(A, "Builders"),
            Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies))
        ));
        iam.delete_inline_policy(EntityKind::Group, A, "Builders", "p")
            .unwrap();
        iam.delete_group(A, "Builders").unwrap();
        assert!(matches!(
            iam.get_group(A, "Builders", ListOptions::default()),
            Err(IamError::NoSuchGroup(_))
        ));
    }

    #[test]
    fn a_user_is_in_at_most_ten_groups() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("bob"), 5).unwrap();
        for i in 0..=GROUPS_PER_USER {
            iam.create_group(A, &format!("g{i}"), None, 5).unwrap();
        }
        for i in 0..GROUPS_PER_USER {
            iam.add_user_to_group(A, &format!("g{i}"), "bob").unwrap();
        }
        assert!(matches!(
            iam.add_user_to_group(A, "g10", "bob"),
            Err(IamError::GroupsPerUserQuota)
        ));
    }

    #[test]
    fn group_policies_are_a_members_identity_policies() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let user = iam.create_user(A, NewUser::named("bob"), 5).unwrap();
        iam.create_group(A, "devs", None, 5).unwrap();
        iam.put_group_policy(A, "devs", "inline", DOC).unwrap();
        let managed = iam
            .create_policy(
                A,
                NewPolicy {
                    name: "NoS3",
                    document: DENY,
                    ..NewPolicy::default()
                },
                5,
            )
            .unwrap();
        iam.attach_policy(EntityKind::Group, A, "devs", &managed.policy.arn)
            .unwrap();
        let principal = bob(&user.id);
        assert!(
            iam.identity_policies(&principal)
                .unwrap()
                .policies
                .is_empty()
        );
        iam.add_user_to_group(A, "devs", "bob").unwrap();
        let docs = iam.identity_policies(&principal).unwrap();
        assert_eq!(docs.policies, vec![DOC.to_string(), DENY.to_string()]);
        // The access key path reads the same documents.
        let key = iam
            .create_access_key(A, crate::KeyHolder::User("bob"), 5)
            .unwrap();
        let resolved = iam
            .resolve_access_key(&key.info.access_key_id)
            .unwrap()
            .unwrap();
        assert_eq!(resolved.identity, Some(docs));
        // Attached to a group counts as attached: the policy is in use.
        assert_eq!(
            iam.get_policy(A, &managed.policy.arn)
                .unwrap()
                .attachment_count,
            1
        );
        assert!(matches!(
            iam.delete_policy(A, &managed.policy.arn),
            Err(IamError::DeleteConflict(DeleteConflict::PolicyInUse))
        ));
        iam.remove_user_from_group(A, "devs", "bob").unwrap();
        assert!(
            iam.identity_policies(&principal)
                .unwrap()
                .policies
                .is_empty()
        );
    }
}
