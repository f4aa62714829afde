//! The STS use cases: who the caller is, and assuming a role.

mod federation;
mod tokens;

pub use federation::*;
pub use tokens::*;

use berth_iam::sts::{self, Session};

/// STS's own checks of its input, for the wire decoder.
pub use berth_iam::sts::{StsError, validate_policy_arns, validate_session_name};

use crate::authz::{Check, Mode, authorize};
use crate::{Ctx, Error};

/// GetCallerIdentity takes no members.
#[derive(Debug, Clone, Default)]
pub struct GetCallerIdentityInput;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCallerIdentityOutput {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

/// An AssumeRole request whose members meet the model's constraints (the ARN's length, the
/// session name's length and characters, the duration a number, at most ten policy ARNs).
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub role_session_name: String,
    pub duration_seconds: Option<i64>,
    /// The inline session policy, verbatim.
    pub policy: Option<String>,
    /// The managed session policies' ARNs (at most ten, each of the model's length).
    pub policy_arns: Vec<String>,
    pub external_id: Option<String>,
}

/// The temporary credentials and the assumed-role user they act as.
pub struct AssumeRoleOutput {
    pub session: Session,
}

/// GetCallerIdentity needs no permission: AWS answers it even under an explicit deny.
pub fn get_caller_identity(
    ctx: &Ctx<'_>,
    _input: GetCallerIdentityInput,
) -> Result<GetCallerIdentityOutput, Error> {
    let id = ctx.caller.principal.caller_identity();
    Ok(GetCallerIdentityOutput {
        user_id: id.user_id,
        account: id.account,
        arn: id.arn,
    })
}

/// Issues a session of the role if its trust policy (and the caller's own policies, for a
/// caller of the role's account) allow `sts:AssumeRole`. A role that does not exist, or that
/// the caller may not assume, is refused alike, naming neither reason.
pub fn assume_role(ctx: &Ctx<'_>, input: AssumeRoleInput) -> Result<AssumeRoleOutput, Error> {
    let role_arn = input.role_arn.as_str();
    let session_name = input.role_session_name.as_str();
    let principal = &ctx.caller.principal;
    let denied = || {
        Error::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            principal.arn()
        ))
    };
    if principal.is_root() {
        return Err(Error::AccessDenied(
            "Roles may not be assumed by root accounts.".into(),
        ));
    }
    // A federated user may not assume roles (AWS's words for it are not confirmed).
    if matches!(principal, berth_iam::Principal::FederatedUser { .. }) {
        return Err(denied());
    }
    // arn:aws:iam::ACCOUNT:role/PATH/NAME
    let parsed = berth_core::Arn::parse(role_arn)
        .map_err(|_| Error::Validation(format!("{role_arn} is invalid")))?;
    let Some(resource) = parsed.resource.strip_prefix("role/") else {
        return Err(denied());
    };
    if parsed.service != "iam" || !berth_core::ids::is_account_id(&parsed.account) {
        return Err(denied());
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    let role = ctx
        .control
        .iam()
        .role_info(&parsed.account, name)?
        .filter(|r| r.arn() == role_arn)
        .ok_or_else(denied)?;
    let mut check = Check::new("sts:AssumeRole", role_arn)
        .owned_by(&role.account)
        .with_resource_policy(Some(&role.trust_policy), Mode::ResourcePolicyRequired)
        .with_context("sts:RoleSessionName", session_name);
    if let Some(external_id) = &input.external_id {
        check = check.with_context("sts:ExternalId", external_id.as_str());
    }
    // AWS's AssumeRole denial names no policy type.
    authorize(ctx, &check).map_err(|_| denied())?;
    let chained = ctx.caller.session.is_some();
    let duration =
        sts::validate_duration(input.duration_seconds, role.max_session_duration, chained)?;
    let session = ctx.control.iam().issue_session(
        &role,
        session_name,
        duration,
        sts::SessionPolicies {
            inline: input.policy.as_deref(),
            arns: &input.policy_arns,
        },
        Vec::new(),
        ctx.now_secs(),
    )?;
    Ok(AssumeRoleOutput { session })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use berth_core::RootKey;
    use berth_iam::{NewRole, Principal};
    use berth_store::SqliteStore;

    use super::*;
    use crate::Control;

    use crate::testing::caller;

    const ACCOUNT: &str = "111122223333";

    fn assume(role_arn: &str) -> AssumeRoleInput {
        AssumeRoleInput {
            role_arn: role_arn.into(),
            role_session_name: "s1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn roles_are_assumed_as_their_trust_policy_allows() {
        let control = Control::new(
            Arc::new(SqliteStore::in_memory().unwrap()),
            RootKey::generate(),
            0,
        );
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let role = control
            .iam()
            .create_role(ACCOUNT, NewRole::new("deployer", &trust), 0)
            .unwrap();
        let user = control
            .iam()
            .create_user(ACCOUNT, berth_iam::NewUser::named("carol"), 0)
            .unwrap();
        control
            .iam()
            .put_user_policy(
                ACCOUNT,
                "carol",
                "assume",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
            )
            .unwrap();

        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = control.ctx(&root, "r1");
        let e = assume_role(&ctx, assume(&role.arn())).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m == "Roles may not be assumed by root accounts."),
            "{e:?}"
        );
        let id = get_caller_identity(&ctx, GetCallerIdentityInput).unwrap();
        assert_eq!(id.arn, format!("arn:aws:iam::{ACCOUNT}:root"));

        let carol = caller(Principal::User {
            account: ACCOUNT.into(),
            name: user.name.clone(),
            id: user.id.clone(),
            path: user.path.clone(),
        });
        let ctx = control.ctx(&carol, "r2");
        let out = assume_role(&ctx, assume(&role.arn())).unwrap();
        assert_eq!(
            out.session.arn,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s1")
        );
        let missing = format!("arn:aws:iam::{ACCOUNT}:role/nobody");
        let e = assume_role(&ctx, assume(&missing)).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m.ends_with(&format!("sts:AssumeRole on resource: {missing}"))),
            "{e:?}"
        );
        let e = assume_role(&ctx, assume("not-an-arn-but-long-enough")).err();
        assert!(
            matches!(&e, Some(Error::Validation(m)) if m == "not-an-arn-but-long-enough is invalid"),
            "{e:?}"
        );
    }
}
