//! Instance profiles: the container through which an EC2 instance is given a role (at most one).

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::entity::{
    self, INSTANCE_PROFILES, ListOptions, NameField, Page, Tag, check_distinct_tags,
    check_entity_path, check_name, check_new_name, merge_tags, paginate, remove_tags, under,
};
use crate::policies;
use crate::{DeleteConflict, Iam, IamError, Role};

/// The most roles one instance profile holds.
pub const ROLES_PER_INSTANCE_PROFILE: usize = 1;

/// An instance profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub account: String,
    pub name: String,
    /// `AIPA…`
    pub id: String,
    pub path: String,
    pub created_at: u64,
    /// Names of the roles it holds (at most [`ROLES_PER_INSTANCE_PROFILE`]).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceProfile {
    pub fn arn(&self) -> String {
        crate::entity::iam_arn(&self.account, "instance-profile", &self.path, &self.name)
    }
}

/// An instance profile with its roles' records, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceProfileInfo {
    pub profile: InstanceProfile,
    pub roles: Vec<Role>,
}

fn load(tx: &dyn Tx, account: &str, name: &str) -> Result<InstanceProfile, IamError> {
    check_name(NameField::InstanceProfileName, name)?;
    get_json(tx, INSTANCE_PROFILES, &entity::key(account, name))?
        .ok_or_else(|| IamError::NoSuchInstanceProfile(name.to_string()))
}

/// The instance profile `profile` and the role `role`, each or its `NoSuchEntity` error.
fn load_with_role(
    tx: &dyn Tx,
    account: &str,
    profile: &str,
    role: &str,
) -> Result<(InstanceProfile, Role), IamError> {
    let p = load(tx, account, profile)?;
    let role: Role = policies::load(tx, account, role)?;
    Ok((p, role))
}

fn store(tx: &dyn Tx, p: &InstanceProfile) -> Result<(), IamError> {
    put_json(tx, INSTANCE_PROFILES, &entity::key(&p.account, &p.name), p)?;
    Ok(())
}

fn holds(p: &InstanceProfile, role: &str) -> bool {
    p.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
}

/// The account's instance profiles that hold the role named `role`.
pub(crate) fn holding(
    tx: &dyn Tx,
    account: &str,
    role: &str,
) -> Result<Vec<InstanceProfile>, IamError> {
    Ok(
        scan_json::<InstanceProfile>(tx, INSTANCE_PROFILES, &entity::account_prefix(account))?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| holds(p, role))
            .collect(),
    )
}

/// The profile with its roles' current records (a role that is gone is left out).
fn with_roles(tx: &dyn Tx, profile: InstanceProfile) -> Result<InstanceProfileInfo, IamError> {
    let mut roles = Vec::new();
    for name in &profile.roles {
        if let Some(r) = get_json::<Role>(tx, entity::ROLES, &entity::key(&profile.account, name))?
        {
            roles.push(r);
        }
    }
    Ok(InstanceProfileInfo { profile, roles })
}

impl Iam<'_> {
    /// Creates an instance profile; fails if one of that name (in any case) exists.
    pub fn create_instance_profile(
        &self,
        account: &str,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
        now: u64,
    ) -> Result<InstanceProfile, IamError> {
        check_new_name(NameField::InstanceProfileName, name)?;
        let path = path.unwrap_or("/");
        check_entity_path(path)?;
        check_distinct_tags(&tags)?;
        self.store.write(|tx| {
            let key = entity::key(account, name);
            if get_json::<InstanceProfile>(tx, INSTANCE_PROFILES, &key)?.is_some() {
                return Err(IamError::InstanceProfileExists(name.to_string()));
            }
            let profile = InstanceProfile {
                account: account.to_string(),
                name: name.to_string(),
                id: entity::unique_id("AIPA"),
                path: path.to_string(),
                created_at: now,
                roles: Vec::new(),
                tags,
            };
            store(tx, &profile)?;
            Ok(profile)
        })
    }

    /// The instance profile, if it exists (an invalid name finds nothing).
    pub fn find_instance_profile(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<InstanceProfile>, IamError> {
        if check_name(NameField::InstanceProfileName, name).is_err() {
            return Ok(None);
        }
        self.store.read(|tx| {
            Ok(get_json(
                tx,
                INSTANCE_PROFILES,
                &entity::key(account, name),
            )?)
        })
    }

    pub fn get_instance_profile(
        &self,
        account: &str,
        name: &str,
    ) -> Result<InstanceProfileInfo, IamError> {
        self.store
            .read(|tx| with_roles(tx, load(tx, account, name)?))
    }

    /// Instance profiles whose path starts with `path_prefix`, by name.
    pub fn list_instance_profiles(
        &self,
        account: &str,
        path_prefix: Option<&str>,
        opts: ListOptions<'_>,
    ) -> Result<Page<InstanceProfileInfo>, IamError> {
        self.store.read(|tx| {
            let mut items = Vec::new();
            for (_, p) in scan_json::<InstanceProfile>(
                tx,
                INSTANCE_PROFILES,
                &entity::account_prefix(account),
            )? {
                if under(&p.path, path_prefix) {
                    items.push((p.name.to_ascii_lowercase(), with_roles(tx, p)?));
                }
            }
            Ok(paginate(items, opts))
        })
    }

    /// The instance profiles that hold a role, by name.
    pub fn list_instance_profiles_for_role(
        &self,
        account: &str,
        role: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<InstanceProfileInfo>, IamError> {
        self.store.read(|tx| {
            let role: Role = policies::load(tx, account, role)?;
            let mut items = Vec::new();
            for p in holding(tx, account, &role.name)? {
                items.push((p.name.to_ascii_lowercase(), with_roles(tx, p)?));
            }
            Ok(paginate(items, opts))
        })
    }

    /// Deletes an instance profile that holds no role.
    pub fn delete_instance_profile(&self, account: &str, name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let p = load(tx, account, name)?;
            if !p.roles.is_empty() {
                return Err(IamError::DeleteConflict(
                    DeleteConflict::InstanceProfileRoles,
                ));
            }
            tx.delete(INSTANCE_PROFILES, &entity::key(account, &p.name))?;
            Ok(())
        })
    }

    /// Puts a role in an instance profile (which holds at most one).
    pub fn add_role_to_instance_profile(
        &self,
        account: &str,
        profile: &str,
        role: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (mut p, role) = load_with_role(tx, account, profile, role)?;
            // Adding the role a profile already holds is refused the same way (the quota is
            // one role, whichever it is).
            if p.roles.len() >= ROLES_PER_INSTANCE_PROFILE {
                return Err(IamError::InstanceProfileRoleQuota);
            }
            p.roles.push(role.name);
            store(tx, &p)
        })
    }

    pub fn remove_role_from_instance_profile(
        &self,
        account: &str,
        profile: &str,
        role: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let (mut p, role) = load_with_role(tx, account, profile, role)?;
            if !holds(&p, &role.name) {
                // AWS's answer for a role the profile does not hold is not documented; berth
                // answers as for a role that is not there.
                return Err(IamError::NoSuchRole(role.name));
            }
            p.roles.retain(|r| !r.eq_ignore_ascii_case(&role.name));
            store(tx, &p)
        })
    }

    pub fn tag_instance_profile(
        &self,
        account: &str,
        name: &str,
        tags: Vec<Tag>,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut p = load(tx, account, name)?;
            merge_tags(&mut p.tags, tags)?;
            store(tx, &p)
        })
    }

    pub fn untag_instance_profile(
        &self,
        account: &str,
        name: &str,
        keys: &[String],
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut p = load(tx, account, name)?;
            remove_tags(&mut p.tags, keys);
            store(tx, &p)
        })
    }

    /// An instance profile's tags, in the order they were added.
    pub fn list_instance_profile_tags(
        &self,
        account: &str,
        name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<Tag>, IamError> {
        let p = self.store.read(|tx| load(tx, account, name))?;
        Ok(page_in_order(p.tags, opts))
    }
}

/// Pages items in the order given; the marker is the index of the first item not returned.
pub fn page_in_order<T>(items: Vec<T>, opts: ListOptions<'_>) -> Page<T> {
    let keyed = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:08}"), t))
        .collect();
    paginate(keyed, opts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewRole;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn a_profile_holds_one_role_and_keeps_it_from_deletion() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let p = iam
            .create_instance_profile(A, "web", Some("/app/"), Vec::new(), 3)
            .unwrap();
        assert!(p.id.starts_with("AIPA") && p.id.len() == 21);
        assert_eq!(
            p.arn(),
            format!("arn:aws:iam::{A}:instance-profile/app/web")
        );
        assert!(matches!(
            iam.create_instance_profile(A, "WEB", None, Vec::new(), 3),
            Err(IamError::InstanceProfileExists(_))
        ));
        iam.create_role(A, NewRole::new("r1", TRUST), 3).unwrap();
        iam.create_role(A, NewRole::new("r2", TRUST), 3).unwrap();
        iam.add_role_to_instance_profile(A, "web", "r1").unwrap();
        for role in ["r1", "r2"] {
            assert!(matches!(
                iam.add_role_to_instance_profile(A, "web", role),
                Err(IamError::InstanceProfileRoleQuota)
            ));
        }
        let got = iam.get_instance_profile(A, "web").unwrap();
        assert_eq!(got.roles.len(), 1);
        assert_eq!(got.roles[0].name, "r1");
        let for_role = iam
            .list_instance_profiles_for_role(A, "R1", ListOptions::default())
            .unwrap();
        assert_eq!(for_role.items.len(), 1);
        assert!(matches!(
            iam.delete_role(A, "r1"),
            Err(IamError::DeleteConflict(
                DeleteConflict::InstanceProfileRoles
            ))
        ));
        assert!(matches!(
            iam.delete_instance_profile(A, "web"),
            Err(IamError::DeleteConflict(
                DeleteConflict::InstanceProfileRoles
            ))
        ));
        assert!(matches!(
            iam.remove_role_from_instance_profile(A, "web", "r2"),
            Err(IamError::NoSuchRole(_))
        ));
        iam.remove_role_from_instance_profile(A, "web", "r1")
            .unwrap();
        iam.delete_role(A, "r1").unwrap();
        iam.delete_instance_profile(A, "web").unwrap();
        assert!(matches!(
            iam.get_instance_profile(A, "web"),
            Err(IamError::NoSuchInstanceProfile(_))
        ));
    }

    #[test]
    fn profile_tags() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_instance_profile(A, "web", None, Vec::new(), 3)
            .unwrap();
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        iam.tag_instance_profile(A, "web", vec![t("a", "1"), t("b", "2"), t("c", "3")])
            .unwrap();
        iam.untag_instance_profile(A, "web", &["B".into(), "zz".into()])
            .unwrap();
        let page = iam
            .list_instance_profile_tags(
                A,
                "web",
                ListOptions {
                    marker: None,
                    max_items: 1,
                },
            )
            .unwrap();
        assert_eq!(page.items, vec![t("a", "1")]);
        let rest = iam
            .list_instance_profile_tags(
                A,
                "web",
                ListOptions {
                    marker: page.marker.as_deref(),
                    max_items: 10,
                },
            )
            .unwrap();
        assert_eq!(rest.items, vec![t("c", "3")]);
        assert!(!rest.is_truncated());
    }
}
