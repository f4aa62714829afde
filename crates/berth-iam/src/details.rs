//! GetAccountAuthorizationDetails: every user, group and role of an account with its policies,
//! and the managed policies with all their versions, read in one snapshot.

use berth_store::{StoreExt, scan_json};

use crate::entity::{self, INSTANCE_PROFILES, POLICIES};
use crate::policies::{usage_counts, with_counts};
use crate::{
    Group, Iam, IamError, InstanceProfile, InstanceProfileInfo, ManagedPolicy, PolicyInfo, Role,
    User,
};

/// Which kinds of entity to include (`Filter`'s `EntityType`s); all of them by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailsFilter {
    pub users: bool,
    pub groups: bool,
    pub roles: bool,
    pub local_policies: bool,
    pub aws_policies: bool,
}

impl Default for DetailsFilter {
    fn default() -> Self {
        DetailsFilter {
            users: true,
            groups: true,
            roles: true,
            local_policies: true,
            aws_policies: true,
        }
    }
}

/// One entry of the answer, in the order AWS lists them: users, groups, roles, policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationDetail {
    User(User),
    Group(Group),
    /// A role with the instance profiles that hold it.
    Role(Role, Vec<InstanceProfileInfo>),
    /// A customer managed policy, or an AWS managed policy the account uses.
    Policy(PolicyInfo),
}

impl Iam<'_> {
    /// The account's users, groups and roles (each by name) and its managed policies: its own,
    /// then the AWS managed policies attached to, or bounding, one of its entities.
    pub fn account_authorization_details(
        &self,
        account: &str,
        filter: DetailsFilter,
    ) -> Result<Vec<AuthorizationDetail>, IamError> {
        self.store.read(|tx| {
            let prefix = entity::account_prefix(account);
            let mut out = Vec::new();
            if filter.users {
                out.extend(
                    scan_json::<User>(tx, entity::USERS, &prefix)?
                        .into_iter()
                        .map(|(_, u)| AuthorizationDetail::User(u)),
                );
            }
            if filter.groups {
                out.extend(
                    scan_json::<Group>(tx, entity::GROUPS, &prefix)?
                        .into_iter()
                        .map(|(_, g)| AuthorizationDetail::Group(g)),
                );
            }
            if filter.roles {
                let roles: Vec<Role> = scan_json::<Role>(tx, entity::ROLES, &prefix)?
                    .into_iter()
                    .map(|(_, r)| r)
                    .collect();
                let profiles: Vec<InstanceProfile> =
                    scan_json::<InstanceProfile>(tx, INSTANCE_PROFILES, &prefix)?
                        .into_iter()
                        .map(|(_, p)| p)
                        .collect();
                let role_named = |name: &str| {
                    roles
                        .iter()
                        .find(|r| r.name.eq_ignore_ascii_case(name))
                        .cloned()
                };
                for r in &roles {
                    let held: Vec<InstanceProfileInfo> = profiles
                        .iter()
                        .filter(|p| p.roles.iter().any(|n| n.eq_ignore_ascii_case(&r.name)))
                        .map(|p| InstanceProfileInfo {
                            profile: p.clone(),
                            roles: p.roles.iter().filter_map(|n| role_named(n)).collect(),
                        })
                        .collect();
                    out.push(AuthorizationDetail::Role(r.clone(), held));
                }
            }
            if filter.local_policies || filter.aws_policies {
                let counts = usage_counts(tx, account)?;
                if filter.local_policies {
                    out.extend(
                        scan_json::<ManagedPolicy>(tx, POLICIES, &prefix)?
                            .into_iter()
                            .map(|(_, p)| AuthorizationDetail::Policy(with_counts(p, &counts))),
                    );
                }
                if filter.aws_policies {
                    out.extend(
                        crate::aws_managed_policies()
                            .iter()
                            .filter(|p| counts.contains_key(&p.arn))
                            .map(|p| AuthorizationDetail::Policy(with_counts(p.clone(), &counts))),
                    );
                }
            }
            Ok(out)
        })
    }
}
