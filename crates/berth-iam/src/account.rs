//! What IAM says about the account as a whole: its alias and the summary of its entities and
//! quotas.

use berth_store::{StoreExt, get_json, put_json, scan_json};

use crate::entity::{self, GROUPS, INSTANCE_PROFILES, POLICIES, ROLES, USERS};
use crate::keys::{self, KeyOwner};
use crate::{
    Group, Iam, IamError, InstanceProfile, ManagedPolicy, Role, User, groups, policies, roles,
    users,
};

/// Store table of account aliases, keyed by alias (aliases are unique across accounts).
pub(crate) const ALIASES: &str = "iam_account_aliases";
/// Store table of the alias of each account, keyed by account id.
const ALIAS_OF: &str = "iam_account_alias_of";

impl Iam<'_> {
    /// Gives the account an alias. An account has one alias; a new one replaces it (AWS does
    /// not document this case). An alias another account has is refused.
    pub fn create_account_alias(&self, account: &str, alias: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            if let Some(owner) = get_json::<String>(tx, ALIASES, alias)? {
                if owner == account {
                    return Ok(());
                }
                return Err(IamError::AccountAliasExists(alias.to_string()));
            }
            if let Some(old) = get_json::<String>(tx, ALIAS_OF, account)? {
                tx.delete(ALIASES, &old)?;
            }
            put_json(tx, ALIASES, alias, &account.to_string())?;
            put_json(tx, ALIAS_OF, account, &alias.to_string())?;
            Ok(())
        })
    }

    pub fn delete_account_alias(&self, account: &str, alias: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            match get_json::<String>(tx, ALIASES, alias)? {
                Some(owner) if owner == account => {}
                _ => return Err(IamError::NoSuchAccountAlias(alias.to_string())),
            }
            tx.delete(ALIASES, alias)?;
            tx.delete(ALIAS_OF, account)?;
            Ok(())
        })
    }

    /// The account's aliases (none or one).
    pub fn account_aliases(&self, account: &str) -> Result<Vec<String>, IamError> {
        self.store.read(|tx| {
            Ok(get_json::<String>(tx, ALIAS_OF, account)?
                .into_iter()
                .collect())
        })
    }

    /// GetAccountSummary's map: the account's entity counts and IAM's quotas, by the model's
    /// key names. The root user's own password, MFA device and signing certificates are
    /// counted as absent: berth's root user has none of them.
    pub fn account_summary(&self, account: &str) -> Result<Vec<(&'static str, u64)>, IamError> {
        self.store.read(|tx| {
            let prefix = entity::account_prefix(account);
            let count = |n: usize| n as u64;
            let users = count(scan_json::<User>(tx, USERS, &prefix)?.len());
            let groups = count(scan_json::<Group>(tx, GROUPS, &prefix)?.len());
            let roles = count(scan_json::<Role>(tx, ROLES, &prefix)?.len());
            let local: Vec<ManagedPolicy> = scan_json::<ManagedPolicy>(tx, POLICIES, &prefix)?
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            let versions: u64 = local.iter().map(|p| count(p.versions.len().max(1))).sum();
            let profiles =
                count(scan_json::<InstanceProfile>(tx, INSTANCE_PROFILES, &prefix)?.len());
            let root_keys = !keys::ids_of(tx, account, &KeyOwner::Root)?.is_empty();
            let mfa: Vec<MfaView> = scan_json::<MfaView>(tx, crate::mfa::VIRTUAL_MFA, &prefix)?
                .into_iter()
                .map(|(_, d)| d)
                .collect();
            let mfa_in_use = count(mfa.iter().filter(|d| d.user_id.is_some()).count());
            let server_certs = count(tx.scan(crate::certs::SERVER_CERTS, &prefix)?.len());
            let providers = count(
                tx.scan(crate::oidc::TABLE, &prefix)?.len()
                    + tx.scan(crate::saml::TABLE, &prefix)?.len(),
            );
            let token_version = crate::access::token_version(tx, account)?;
            Ok(vec![
                ("Users", users),
                ("UsersQuota", 5000),
                ("Groups", groups),
                ("GroupsQuota", 300),
                ("ServerCertificates", server_certs),
                ("ServerCertificatesQuota", 20),
                (
                    "UserPolicySizeQuota",
                    count(users::USER_INLINE_POLICIES_MAX),
                ),
                (
                    "GroupPolicySizeQuota",
                    count(groups::GROUP_INLINE_POLICIES_MAX),
                ),
                ("GroupsPerUserQuota", count(groups::GROUPS_PER_USER)),
                ("SigningCertificatesPerUserQuota", 2),
                ("AccessKeysPerUserQuota", count(users::ACCESS_KEYS_PER_USER)),
                ("MFADevices", count(mfa.len())),
                ("MFADevicesInUse", mfa_in_use),
                ("AccountMFAEnabled", 0),
                ("AccountAccessKeysPresent", u64::from(root_keys)),
                ("AccountPasswordPresent", 0),
                ("AccountSigningCertificatesPresent", 0),
                (
                    "AttachedPoliciesPerGroupQuota",
                    count(policies::MAX_ATTACHED),
                ),
                (
                    "AttachedPoliciesPerRoleQuota",
                    count(policies::MAX_ATTACHED),
                ),
                (
                    "AttachedPoliciesPerUserQuota",
                    count(policies::MAX_ATTACHED),
                ),
                ("Policies", count(local.len())),
                ("PoliciesQuota", 1500),
                ("PolicySizeQuota", count(policies::MANAGED_POLICY_MAX)),
                ("PolicyVersionsInUse", versions),
                ("PolicyVersionsInUseQuota", 10000),
                (
                    "VersionsPerPolicyQuota",
                    count(policies::MAX_POLICY_VERSIONS),
                ),
                ("GlobalEndpointTokenVersion", token_version),
                ("AssumeRolePolicySizeQuota", count(roles::TRUST_POLICY_MAX)),
                ("InstanceProfiles", profiles),
                ("InstanceProfilesQuota", 1000),
                ("Providers", providers),
                (
                    "RolePolicySizeQuota",
                    count(roles::ROLE_INLINE_POLICIES_MAX),
                ),
                ("Roles", roles),
                ("RolesQuota", 1000),
            ])
        })
    }
}

/// What the summary reads of a virtual MFA device: whether a user has it.
#[derive(serde::Deserialize)]
struct MfaView {
    #[serde(default)]
    user_id: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewUser;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const B: &str = "444455556666";

    #[test]
    fn aliases_are_one_per_account_and_unique() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_account_alias(A, "acme").unwrap();
        assert!(matches!(
            iam.create_account_alias(B, "acme"),
            Err(IamError::AccountAliasExists(_))
        ));
        iam.create_account_alias(A, "acme-2").unwrap();
        assert_eq!(iam.account_aliases(A).unwrap(), vec!["acme-2".to_string()]);
        iam.create_account_alias(B, "acme").unwrap();
        assert!(matches!(
            iam.delete_account_alias(A, "acme"),
            Err(IamError::NoSuchAccountAlias(_))
        ));
        iam.delete_account_alias(A, "acme-2").unwrap();
        assert!(iam.account_aliases(A).unwrap().is_empty());
    }

    #[test]
    fn the_summary_counts_the_accounts_entities() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_account(A, 1).unwrap();
        iam.create_user(A, NewUser::named("a"), 1).unwrap();
        iam.create_user(A, NewUser::named("b"), 1).unwrap();
        iam.create_user(B, NewUser::named("c"), 1).unwrap();
        iam.create_group(A, "g", None, 1).unwrap();
        let summary = iam.account_summary(A).unwrap();
        let get = |k: &str| summary.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("Users"), Some(2));
        assert_eq!(get("Groups"), Some(1));
        assert_eq!(get("Roles"), Some(0));
        assert_eq!(get("AccountAccessKeysPresent"), Some(1));
        assert_eq!(get("AccessKeysPerUserQuota"), Some(2));
    }
}
