//! IAM users and their access keys.

use berth_store::{StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::entity::{
    self, ListOptions, NameField, Page, Tag, USERS, check_distinct_tags, check_entity_path,
    check_new_name, paginate,
};
use crate::keys::{self, AccessKeyRecord, KeyOwner, KeyStatus, NewCredentials};
use crate::policies::{self, AttachedPolicy, EntityKind, Holder, InlinePolicy};
use crate::{DeleteConflict, Iam, IamError};

/// The total size of a user's inline policies, in characters without white space.
pub const USER_INLINE_POLICIES_MAX: usize = 2048;
/// The most access keys a user (or the root user) has at once.
pub const ACCESS_KEYS_PER_USER: usize = 2;

/// An IAM user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub account: String,
    pub name: String,
    /// `AIDA…`
    pub id: String,
    pub path: String,
    pub created_at: u64,
    /// ARN of the managed policy that bounds the user's permissions.
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies, in the order they were attached.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the groups the user is in, in the order it joined them.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl User {
    pub fn arn(&self) -> String {
        crate::entity::iam_arn(&self.account, "user", &self.path, &self.name)
    }
}

impl Holder for User {
    const KIND: EntityKind = EntityKind::User;
    policies::holder_fields!();
}

/// What a new user is made of.
#[derive(Debug, Clone, Default)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub permissions_boundary: Option<&'a str>,
    pub tags: Vec<Tag>,
}

impl<'a> NewUser<'a> {
    pub fn named(name: &'a str) -> NewUser<'a> {
        NewUser {
            name,
            ..NewUser::default()
        }
    }
}

/// Whose access keys an operation is about: the root user's, or an IAM user's (by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHolder<'a> {
    Root,
    User(&'a str),
}

/// An access key as `ListAccessKeys` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    /// The user's name; `None` for the root user's keys.
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created_at: u64,
}

/// A key just made: the only time its secret is shown.
pub struct CreatedAccessKey {
    pub info: AccessKeyInfo,
    pub secret_access_key: Zeroizing<String>,
}

/// The owner record of `holder` in `account`, with the user's stored name.
fn key_owner(
    tx: &dyn Tx,
    account: &str,
    holder: KeyHolder<'_>,
) -> Result<(KeyOwner, Option<String>), IamError> {
    match holder {
        KeyHolder::Root => Ok((KeyOwner::Root, None)),
        KeyHolder::User(name) => {
            let user: User = policies::load(tx, account, name)?;
            Ok((
                KeyOwner::User {
                    name: user.name.clone(),
                },
                Some(user.name),
            ))
        }
    }
}

impl Iam<'_> {
    /// Creates a user; fails if one of that name (in any case) exists.
    pub fn create_user(&self, account: &str, new: NewUser<'_>, now: u64) -> Result<User, IamError> {
        check_new_name(NameField::UserName, new.name)?;
        let path = new.path.unwrap_or("/");
        check_entity_path(path)?;
        check_distinct_tags(&new.tags)?;
        self.store.write(|tx| {
            let key = entity::key(account, new.name);
            if get_json::<User>(tx, USERS, &key)?.is_some() {
                return Err(IamError::UserExists(new.name.to_string()));
            }
            let boundary = new
                .permissions_boundary
                .map(|arn| policies::resolve_boundary(tx, account, arn).map(|p| p.arn))
                .transpose()?;
            let user = User {
                account: account.to_string(),
                name: new.name.to_string(),
                id: entity::unique_id("AIDA"),
                path: path.to_string(),
                created_at: now,
                permissions_boundary: boundary,
                tags: new.tags.clone(),
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
                groups: Vec::new(),
            };
            put_json(tx, USERS, &key, &user)?;
            Ok(user)
        })
    }

    /// The user named `name` (compared case-insensitively).
    pub fn get_user(&self, account: &str, name: &str) -> Result<User, IamError> {
        self.store.read(|tx| policies::load(tx, account, name))
    }

    /// The user, if it exists (a name that is not a valid user name finds nothing).
    pub fn find_user(&self, account: &str, name: &str) -> Result<Option<User>, IamError> {
        match self.get_user(account, name) {
            Ok(u) => Ok(Some(u)),
            Err(IamError::NoSuchUser(_) | IamError::InvalidName(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a user that has no access keys and no policies left.
    pub fn delete_user(&self, account: &str, name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, name)?;
            // AWS does not document the order in which DeleteUser checks what is left.
            let owner = KeyOwner::User {
                name: user.name.clone(),
            };
            if !keys::ids_of(tx, account, &owner)?.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::AccessKeys));
            }
            if !user.inline_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies));
            }
            if !user.attached_policies.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::AttachedPolicies));
            }
            if !user.groups.is_empty() {
                return Err(IamError::DeleteConflict(DeleteConflict::GroupMembers));
            }
            crate::login::check_none_left(tx, account, &user)?;
            crate::mfa::check_none_left(tx, account, &user)?;
            crate::certs::check_none_left(tx, account, &user)?;
            tx.delete(USERS, &entity::key(account, &user.name))?;
            Ok(())
        })
    }

    /// Users whose path starts with `path_prefix`, by name.
    pub fn list_users(
        &self,
        account: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<User>, IamError> {
        self.store.read(|tx| {
            entity::list_under(tx, USERS, account, path_prefix, opts, |u: &User| {
                (&u.path, &u.name)
            })
        })
    }

    /// Makes a new access key for a user or the root user (at most two each).
    pub fn create_access_key(
        &self,
        account: &str,
        holder: KeyHolder<'_>,
        now: u64,
    ) -> Result<CreatedAccessKey, IamError> {
        let creds = NewCredentials::generate(account, "AKIA");
        let user_name = self.store.write(|tx| {
            let (owner, user_name) = key_owner(tx, account, holder)?;
            if keys::ids_of(tx, account, &owner)?.len() >= ACCESS_KEYS_PER_USER {
                return Err(IamError::AccessKeyQuota);
            }
            keys::insert(tx, self.root_key, &creds, owner, now, None)?;
            Ok(user_name)
        })?;
        let NewCredentials {
            access_key_id,
            secret_access_key,
            ..
        } = creds;
        Ok(CreatedAccessKey {
            info: AccessKeyInfo {
                user_name,
                access_key_id,
                status: KeyStatus::Active,
                created_at: now,
            },
            secret_access_key,
        })
    }

    /// Deletes one of a user's (or the root user's) access keys.
    pub fn delete_access_key(
        &self,
        account: &str,
        holder: KeyHolder<'_>,
        access_key_id: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (owner, _) = key_owner(tx, account, holder)?;
            let record: Option<AccessKeyRecord> = get_json(tx, keys::TABLE, access_key_id)?;
            match record {
                Some(r) if r.account_id == account && r.owner == owner => {
                    tx.delete(keys::TABLE, access_key_id)?;
                    Ok(())
                }
                _ => Err(IamError::NoSuchAccessKey(access_key_id.to_string())),
            }
        })
    }

    /// A user's (or the root user's) access keys, by key id.
    pub fn list_access_keys(
        &self,
        account: &str,
        holder: KeyHolder<'_>,
        opts: ListOptions<'_>,
    ) -> Result<Page<AccessKeyInfo>, IamError> {
        self.store.read(|tx| {
            let (owner, user_name) = key_owner(tx, account, holder)?;
            let items = keys::records_of(tx, account, &owner)?
                .into_iter()
                .map(|r| {
                    (
                        r.access_key_id.clone(),
                        AccessKeyInfo {
                            user_name: user_name.clone(),
                            access_key_id: r.access_key_id,
                            status: r.status,
                            created_at: r.created_at,
                        },
                    )
                })
                .collect();
            Ok(paginate(items, opts))
        })
    }

    /// Renames a user or moves it to another path; its access keys and group memberships
    /// follow it.
    pub fn update_user(
        &self,
        account: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        entity::check_update(NameField::UserName, new_name, new_path)?;
        self.store.write(|tx| {
            let mut user: User = policies::load(tx, account, name)?;
            if let Some(p) = new_path {
                user.path = p.to_string();
            }
            if let Some(n) = new_name {
                if !n.eq_ignore_ascii_case(&user.name)
                    && get_json::<User>(tx, USERS, &entity::key(account, n))?.is_some()
                {
                    return Err(IamError::UserExists(n.to_string()));
                }
                let old = KeyOwner::User {
                    name: user.name.clone(),
                };
                let new = KeyOwner::User {
                    name: n.to_string(),
                };
                for mut record in keys::records_of(tx, account, &old)? {
                    record.owner = new.clone();
                    put_json(tx, keys::TABLE, &record.access_key_id.clone(), &record)?;
                }
                tx.delete(USERS, &entity::key(account, &user.name))?;
                user.name = n.to_string();
            }
            put_json(tx, USERS, &entity::key(account, &user.name), &user)?;
            Ok(())
        })
    }

    /// Sets (or replaces) a user's permissions boundary.
    pub fn put_user_permissions_boundary(
        &self,
        account: &str,
        name: &str,
        boundary_arn: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut user: User = policies::load(tx, account, name)?;
            let policy = policies::resolve_boundary(tx, account, boundary_arn)?;
            user.permissions_boundary = Some(policy.arn);
            put_json(tx, USERS, &entity::key(account, &user.name), &user)?;
            Ok(())
        })
    }

    /// Removes a user's permissions boundary (none set: nothing changes).
    pub fn delete_user_permissions_boundary(
        &self,
        account: &str,
        name: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut user: User = policies::load(tx, account, name)?;
            user.permissions_boundary = None;
            put_json(tx, USERS, &entity::key(account, &user.name), &user)?;
            Ok(())
        })
    }

    /// Adds tags to a user; a key it already has (in any case) takes the new spelling and value.
    pub fn tag_user(&self, account: &str, name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut user: User = policies::load(tx, account, name)?;
            entity::merge_tags(&mut user.tags, tags)?;
            put_json(tx, USERS, &entity::key(account, &user.name), &user)?;
            Ok(())
        })
    }

    pub fn untag_user(&self, account: &str, name: &str, keys: &[String]) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut user: User = policies::load(tx, account, name)?;
            entity::remove_tags(&mut user.tags, keys);
            put_json(tx, USERS, &entity::key(account, &user.name), &user)?;
            Ok(())
        })
    }

    /// A user's tags, in the order they were added.
    pub fn list_user_tags(
        &self,
        account: &str,
        name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<Tag>, IamError> {
        let user = self.get_user(account, name)?;
        Ok(crate::instance_profiles::page_in_order(user.tags, opts))
    }

    /// Makes one of a user's (or the root user's) keys active or inactive; an inactive key no
    /// longer signs requests.
    pub fn update_access_key(
        &self,
        account: &str,
        holder: KeyHolder<'_>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (owner, _) = key_owner(tx, account, holder)?;
            let record: Option<AccessKeyRecord> = get_json(tx, keys::TABLE, access_key_id)?;
            match record {
                Some(mut r) if r.account_id == account && r.owner == owner => {
                    r.status = status;
                    put_json(tx, keys::TABLE, access_key_id, &r)?;
                    Ok(())
                }
                _ => Err(IamError::NoSuchAccessKey(access_key_id.to_string())),
            }
        })
    }

    /// Who owns a key of the account: `Some(user name)` for a user's, `None` for the root
    /// user's. berth does not record when a key was last used.
    pub fn access_key_owner(
        &self,
        account: &str,
        access_key_id: &str,
    ) -> Result<Option<String>, IamError> {
        let record: Option<AccessKeyRecord> = self
            .store
            .read(|tx| Ok::<_, IamError>(get_json(tx, keys::TABLE, access_key_id)?))?;
        match record {
            Some(r) if r.account_id == account => match r.owner {
                KeyOwner::User { name } => Ok(Some(name)),
                KeyOwner::Root => Ok(None),
                _ => Err(IamError::NoSuchAccessKey(access_key_id.to_string())),
            },
            _ => Err(IamError::NoSuchAccessKey(access_key_id.to_string())),
        }
    }

    pub fn put_user_policy(
        &self,
        account: &str,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.put_inline::<User>(account, user, policy_name, document)
    }

    /// An inline policy of a user, with the user's stored name.
    pub fn get_user_policy(
        &self,
        account: &str,
        user: &str,
        policy_name: &str,
    ) -> Result<(String, InlinePolicy), IamError> {
        self.get_inline::<User>(account, user, policy_name)
    }

    pub fn list_user_policies(
        &self,
        account: &str,
        user: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<String>, IamError> {
        self.list_inline::<User>(account, user, opts)
    }

    pub fn list_attached_user_policies(
        &self,
        account: &str,
        user: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<AttachedPolicy>, IamError> {
        self.list_attached::<User>(account, user, path_prefix, opts)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Principal;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;

    fn setup() -> (SqliteStore, RootKey) {
        (SqliteStore::in_memory().unwrap(), RootKey::generate())
    }

    #[test]
    fn a_renamed_user_keeps_its_keys_and_groups() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("erin"), 1).unwrap();
        iam.create_user(A, NewUser::named("taken"), 1).unwrap();
        iam.create_group(A, "g", None, 1).unwrap();
        iam.add_user_to_group(A, "g", "erin").unwrap();
        let key = iam
            .create_access_key(A, KeyHolder::User("erin"), 1)
            .unwrap();
        assert!(matches!(
            iam.update_user(A, "erin", Some("TAKEN"), None),
            Err(IamError::UserExists(_))
        ));
        iam.update_user(A, "erin", Some("erin2"), Some("/ops/"))
            .unwrap();
        assert!(matches!(
            iam.get_user(A, "erin"),
            Err(IamError::NoSuchUser(_))
        ));
        let resolved = iam
            .resolve_access_key(&key.info.access_key_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            resolved.principal.arn(),
            format!("arn:aws:iam::{A}:user/ops/erin2")
        );
        assert_eq!(
            iam.list_groups_for_user(A, "erin2", ListOptions::default())
                .unwrap()
                .items
                .len(),
            1
        );
        iam.update_access_key(
            A,
            KeyHolder::User("erin2"),
            &key.info.access_key_id,
            KeyStatus::Inactive,
        )
        .unwrap();
        let keys = iam
            .list_access_keys(A, KeyHolder::User("erin2"), ListOptions::default())
            .unwrap();
        assert_eq!(keys.items[0].status, KeyStatus::Inactive);
        assert_eq!(
            iam.access_key_owner(A, &key.info.access_key_id).unwrap(),
            Some("erin2".to_string())
        );
        assert!(
            iam.access_key_owner("999988887777", &key.info.access_key_id)
                .is_err()
        );
    }

    #[test]
    fn user_lifecycle() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        let u = iam
            .create_user(
                A,
                NewUser {
                    path: Some("/dev/"),
                    ..NewUser::named("Bob")
                },
                42,
            )
            .unwrap();
        assert!(u.id.starts_with("AIDA") && u.id.len() == 21);
        assert_eq!(u.arn(), format!("arn:aws:iam::{A}:user/dev/Bob"));
        assert!(matches!(
            iam.create_user(A, NewUser::named("bob"), 43),
            Err(IamError::UserExists(n)) if n == "bob"
        ));
        assert_eq!(iam.get_user(A, "BOB").unwrap(), u);
        // Another account is another namespace.
        assert!(matches!(
            iam.get_user("999988887777", "Bob"),
            Err(IamError::NoSuchUser(_))
        ));
        let page = iam
            .list_users(A, Some("/dev/"), ListOptions::default())
            .unwrap();
        assert_eq!(page.items, vec![u.clone()]);
        assert!(
            iam.list_users(A, Some("/prod/"), ListOptions::default())
                .unwrap()
                .items
                .is_empty()
        );
        iam.delete_user(A, "bob").unwrap();
        assert!(matches!(
            iam.delete_user(A, "bob"),
            Err(IamError::NoSuchUser(n)) if n == "bob"
        ));
    }

    #[test]
    fn invalid_input_writes_nothing() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        assert!(matches!(
            iam.create_user(A, NewUser::named("bob smith"), 1),
            Err(IamError::InvalidName(NameField::UserName))
        ));
        assert!(matches!(
            iam.create_user(
                A,
                NewUser {
                    path: Some("dev"),
                    ..NewUser::named("bob")
                },
                1
            ),
            Err(IamError::InvalidPath)
        ));
        assert!(matches!(
            iam.create_user(
                A,
                NewUser {
                    permissions_boundary: Some("arn:aws:iam::111122223333:policy/none"),
                    ..NewUser::named("bob")
                },
                1
            ),
            Err(IamError::BoundaryNotAttachable(_))
        ));
        assert!(
            iam.list_users(A, None, ListOptions::default())
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[test]
    fn access_keys_resolve_to_the_user_and_die_with_it() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        let u = iam
            .create_user(
                A,
                NewUser {
                    path: Some("/team/"),
                    ..NewUser::named("bob")
                },
                1,
            )
            .unwrap();
        let k1 = iam.create_access_key(A, KeyHolder::User("BOB"), 2).unwrap();
        assert_eq!(k1.info.user_name.as_deref(), Some("bob"));
        assert!(k1.info.access_key_id.starts_with("AKIA"));
        let resolved = iam
            .resolve_access_key(&k1.info.access_key_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            resolved.principal,
            Principal::User {
                account: A.into(),
                name: "bob".into(),
                id: u.id.clone(),
                path: "/team/".into(),
            }
        );
        assert_eq!(resolved.secret.as_str(), k1.secret_access_key.as_str());
        let k2 = iam.create_access_key(A, KeyHolder::User("bob"), 3).unwrap();
        assert!(matches!(
            iam.create_access_key(A, KeyHolder::User("bob"), 4),
            Err(IamError::AccessKeyQuota)
        ));
        let listed = iam
            .list_access_keys(A, KeyHolder::User("bob"), ListOptions::default())
            .unwrap();
        assert_eq!(listed.items.len(), 2);
        assert!(matches!(
            iam.delete_user(A, "bob"),
            Err(IamError::DeleteConflict(DeleteConflict::AccessKeys))
        ));
        // A key of another holder is not found through this one.
        assert!(matches!(
            iam.delete_access_key(A, KeyHolder::Root, &k1.info.access_key_id),
            Err(IamError::NoSuchAccessKey(_))
        ));
        for k in [&k1, &k2] {
            iam.delete_access_key(A, KeyHolder::User("bob"), &k.info.access_key_id)
                .unwrap();
        }
        assert!(
            iam.resolve_access_key(&k1.info.access_key_id)
                .unwrap()
                .is_none()
        );
        iam.delete_user(A, "bob").unwrap();
    }

    #[test]
    fn a_key_whose_user_is_gone_resolves_to_nothing() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("bob"), 1).unwrap();
        let k = iam.create_access_key(A, KeyHolder::User("bob"), 2).unwrap();
        // Only reachable if a user record disappears underneath its keys.
        store
            .write(|tx| tx.delete(USERS, &entity::key(A, "bob")).map(|_| ()))
            .unwrap();
        assert!(
            iam.resolve_access_key(&k.info.access_key_id)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn root_keys_through_the_api() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_account(A, 1).unwrap();
        let k = iam.create_access_key(A, KeyHolder::Root, 2).unwrap();
        assert_eq!(k.info.user_name, None);
        assert!(matches!(
            iam.create_access_key(A, KeyHolder::Root, 3),
            Err(IamError::AccessKeyQuota)
        ));
        let listed = iam
            .list_access_keys(A, KeyHolder::Root, ListOptions::default())
            .unwrap();
        assert_eq!(listed.items.len(), 2);
        iam.delete_access_key(A, KeyHolder::Root, &k.info.access_key_id)
            .unwrap();
    }

    #[test]
    fn inline_policies_and_their_quota() {
        let (store, rk) = setup();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("bob"), 1).unwrap();
        iam.put_user_policy(A, "bob", "Self", DOC).unwrap();
        let (user, p) = iam.get_user_policy(A, "BOB", "self").unwrap();
        assert_eq!((user.as_str(), p.name.as_str()), ("bob", "Self"));
        assert_eq!(p.document, DOC);
        assert!(matches!(
            iam.put_user_policy(A, "bob", "bad", r#"{"Statement":[]"#),
            Err(IamError::MalformedPolicy(_))
        ));
        assert!(matches!(
            iam.delete_user(A, "bob"),
            Err(IamError::DeleteConflict(DeleteConflict::InlinePolicies))
        ));
        // Replacing a policy does not count the old text against the quota.
        let padded = DOC.replace(
            "sts:GetCallerIdentity",
            &format!("sts:{}", "A".repeat(1900)),
        );
        iam.put_user_policy(A, "bob", "self", &padded).unwrap();
        assert!(matches!(
            iam.put_user_policy(A, "bob", "second", DOC),
            Err(IamError::UserPolicyTooLarge(n)) if n == "bob"
        ));
        assert_eq!(
            iam.list_user_policies(A, "bob", ListOptions::default())
                .unwrap()
                .items,
            vec!["self".to_string()]
        );
        iam.delete_inline_policy(EntityKind::User, A, "bob", "SELF")
            .unwrap();
        assert!(matches!(
            iam.delete_inline_policy(EntityKind::User, A, "bob", "self"),
            Err(IamError::NoSuchUserPolicy(n)) if n == "self"
        ));
        iam.delete_user(A, "bob").unwrap();
    }
}
