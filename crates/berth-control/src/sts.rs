//! The STS use cases: who the caller is, and assuming a role.

mod federation;
mod tokens;

pub use federation::jwks::Jwks;
pub use federation::*;
pub use tokens::*;

use berth_iam::SessionInfo;
use berth_iam::SessionMfa;
use berth_iam::sts::{self, Session};

/// STS's own checks of its input, for the wire decoder.
pub use berth_iam::sts::{
    StsError, validate_policy_arns, validate_session_name, validate_session_tags,
    validate_source_identity,
};

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
    /// The session tags, key -> value, as given (at most 50).
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` to pass on to a chained session.
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    /// The MFA device's serial number (a virtual device's ARN) and its current code.
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
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
    let caller_session = ctx.caller.session.as_ref();
    let (tags, transitive_tag_keys) =
        sts::session_tags(&input.tags, &input.transitive_tag_keys, caller_session)?;
    let source_identity = source_identity(caller_session, input.source_identity.as_deref())?;
    let mfa_now = match (&input.serial_number, &input.token_code) {
        (None, None) => None,
        (serial, code) => Some(check_mfa(ctx, serial.as_deref(), code.as_deref())?),
    };
    let mut keys: Vec<(String, Vec<String>)> =
        vec![("sts:RoleSessionName".into(), vec![session_name.into()])];
    if let Some(external_id) = &input.external_id {
        keys.push(("sts:ExternalId".into(), vec![external_id.clone()]));
    }
    keys.extend(request_tag_keys(&input.tags));
    if !input.transitive_tag_keys.is_empty() {
        keys.push((
            "sts:TransitiveTagKeys".into(),
            input.transitive_tag_keys.clone(),
        ));
    }
    if let Some(source) = &source_identity {
        keys.push(("sts:SourceIdentity".into(), vec![source.clone()]));
    }
    if let Some(at) = mfa_now {
        // The code was checked just now, for this very call.
        keys.push(("aws:MultiFactorAuthPresent".into(), vec!["true".into()]));
        keys.push((
            "aws:MultiFactorAuthAge".into(),
            vec![ctx.now_secs().saturating_sub(at).to_string()],
        ));
    }
    let trust_check = |action: &'static str| {
        Check::new(action, role_arn)
            .owned_by(&role.account)
            .with_resource_policy(Some(&role.trust_policy), Mode::ResourcePolicyRequired)
            .with_contexts(keys.clone())
    };
    // AWS's AssumeRole denial names no policy type.
    authorize(ctx, &trust_check("sts:AssumeRole")).map_err(|_| denied())?;
    // Session tags (passed or inherited) need `sts:TagSession`, a source identity
    // `sts:SetSourceIdentity`, both of the trust policy.
    for (needed, action) in [
        (!tags.is_empty(), "sts:TagSession"),
        (source_identity.is_some(), "sts:SetSourceIdentity"),
    ] {
        if needed {
            authorize(ctx, &trust_check(action)).map_err(|_| {
                Error::AccessDenied(format!(
                    "User: {} is not authorized to perform: {action} on resource: {role_arn}",
                    principal.arn()
                ))
            })?;
        }
    }
    let chained = caller_session.is_some();
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
        sts::SessionExtras {
            context: Vec::new(),
            tags,
            transitive_tag_keys,
            source_identity,
            // berth carries an MFA sign-in of the calling credentials into the session.
            mfa_authenticated_at: mfa_now.or(ctx.caller.mfa_authenticated_at),
        },
        ctx.now_secs(),
    )?;
    Ok(AssumeRoleOutput { session })
}

/// The condition keys of session tags passed in a request: `aws:RequestTag/<key>` for each,
/// and `aws:TagKeys` listing their keys; none when no tag is passed.
pub(crate) fn request_tag_keys(tags: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<(String, Vec<String>)> = tags
        .iter()
        .map(|(k, v)| (format!("aws:RequestTag/{k}"), vec![v.clone()]))
        .collect();
    keys.push((
        "aws:TagKeys".into(),
        tags.iter().map(|(k, _)| k.clone()).collect(),
    ));
    keys
}

/// The source identity of a new session: the calling session's, which a chained call may not
/// change, or the one passed.
fn source_identity(
    caller: Option<&SessionInfo>,
    passed: Option<&str>,
) -> Result<Option<String>, Error> {
    match (caller.and_then(|s| s.source_identity.as_deref()), passed) {
        (Some(set), Some(new)) if set != new => Err(Error::AccessDenied(
            // AWS's words for this refusal are not established here.
            format!("the source identity {set} of the calling session cannot be changed"),
        )),
        (Some(set), _) => Ok(Some(set.to_string())),
        (None, new) => Ok(new.map(str::to_string)),
    }
}

/// AWS's refusal of an MFA serial number that is not the calling user's device.
const MFA_UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";
/// AWS's refusal of a wrong (or already used) MFA code.
const MFA_WRONG_CODE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";

/// Checks the caller's MFA code (`SerialNumber`, `TokenCode`) against the IAM user's virtual
/// MFA device; the time it was checked. Only an IAM user's own credentials carry a device.
pub(crate) fn check_mfa(
    ctx: &Ctx<'_>,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<u64, Error> {
    let now = ctx.now_secs();
    let (Some(serial), berth_iam::Principal::User { account, name, .. }) =
        (serial, &ctx.caller.principal)
    else {
        return Err(Error::AccessDenied(MFA_UNKNOWN_DEVICE.into()));
    };
    let Some(code) = code else {
        return Err(Error::AccessDenied(MFA_WRONG_CODE.into()));
    };
    match ctx
        .control
        .iam()
        .check_session_mfa(account, name, serial, code, now)?
    {
        SessionMfa::Passed => Ok(now),
        SessionMfa::NotTheUsers => Err(Error::AccessDenied(MFA_UNKNOWN_DEVICE.into())),
        SessionMfa::WrongCode => Err(Error::AccessDenied(MFA_WRONG_CODE.into())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use berth_iam::{NewRole, Principal};

    use super::*;

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
        let control = crate::testing::control();
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

        let carol = crate::testing::user_caller(&user);
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

    #[test]
    fn session_tags_need_tag_session_and_pass_along_a_chain() {
        let control = crate::testing::control();
        let carol_arn = format!("arn:aws:iam::{ACCOUNT}:user/carol");
        let trust = |actions: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{carol_arn}","arn:aws:iam::{ACCOUNT}:role/tagged"]}},"Action":{actions}}}]}}"#
            )
        };
        let iam = control.iam();
        let plain = iam
            .create_role(
                ACCOUNT,
                NewRole::new("plain", &trust(r#""sts:AssumeRole""#)),
                0,
            )
            .unwrap();
        let tagged = iam
            .create_role(
                ACCOUNT,
                NewRole::new("tagged", &trust(r#"["sts:AssumeRole","sts:TagSession"]"#)),
                0,
            )
            .unwrap();
        let user = iam
            .create_user(ACCOUNT, berth_iam::NewUser::named("carol"), 0)
            .unwrap();
        let all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        iam.put_user_policy(ACCOUNT, "carol", "assume", all)
            .unwrap();
        iam.put_role_policy(ACCOUNT, "tagged", "assume", all)
            .unwrap();
        let carol = crate::testing::user_caller(&user);
        let ctx = control.ctx(&carol, "r1");
        let with_tags = |arn: String, tags: &[(&str, &str)], transitive: &[&str]| AssumeRoleInput {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            transitive_tag_keys: transitive.iter().map(|k| k.to_string()).collect(),
            ..assume(&arn)
        };
        let e = assume_role(&ctx, with_tags(plain.arn(), &[("team", "a")], &[])).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m == &format!("User: {carol_arn} is not authorized to perform: sts:TagSession on resource: {}", plain.arn())),
            "{e:?}"
        );
        let out = assume_role(
            &ctx,
            with_tags(tagged.arn(), &[("Team", "a"), ("env", "dev")], &["team"]),
        )
        .unwrap();
        assert!(out.session.packed_policy_size.is_some());
        let key = control
            .signing_key(
                &out.session.access_key_id,
                "us-east-1",
                Some(&out.session.session_token),
                control.now(),
            )
            .ok()
            .unwrap();
        let info = key.caller.session.clone().unwrap();
        assert_eq!(info.transitive_tag_keys, ["team"]);
        assert!(
            info.context
                .contains(&("aws:PrincipalTag/env".into(), "dev".into()))
        );
        // The chained session inherits the transitive tag only, and may not pass it again.
        let ctx = control.ctx(&key.caller, "r2");
        let e = assume_role(&ctx, with_tags(tagged.arn(), &[("team", "b")], &[])).err();
        assert!(
            matches!(e, Some(Error::Sts(StsError::InvalidParameterValue(_)))),
            "{e:?}"
        );
        let chained = assume_role(&ctx, assume(&tagged.arn())).unwrap();
        let key = control
            .signing_key(
                &chained.session.access_key_id,
                "us-east-1",
                Some(&chained.session.session_token),
                control.now(),
            )
            .ok()
            .unwrap();
        let info = key.caller.session.unwrap();
        assert_eq!(info.tags, [("Team".to_string(), "a".to_string())]);
        assert_eq!(key.caller.mfa_authenticated_at, None);
    }
}
