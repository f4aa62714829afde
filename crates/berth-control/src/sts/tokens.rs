//! GetSessionToken, GetAccessKeyInfo and DecodeAuthorizationMessage.

use berth_iam::Principal;
use berth_iam::user_sessions::{self, SessionHolder, UserSession};

use crate::authz::{Check, authorize};
use crate::{Caller, Ctx, Error};

/// GetSessionToken's members, the model's constraints checked by the decoder.
#[derive(Debug, Clone, Default)]
pub struct GetSessionTokenInput {
    /// 900–129600.
    pub duration_seconds: Option<u32>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
}

pub struct GetSessionTokenOutput {
    pub credentials: UserSession,
}

#[derive(Debug, Clone, Default)]
pub struct GetAccessKeyInfoInput {
    pub access_key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAccessKeyInfoOutput {
    pub account: String,
}

#[derive(Debug, Clone, Default)]
pub struct DecodeAuthorizationMessageInput {
    pub encoded_message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeAuthorizationMessageOutput {
    pub decoded_message: String,
}

impl Caller {
    /// Whether the caller signs with GetSessionToken's temporary credentials: an `ASIA…` key
    /// that carries no role session.
    pub fn is_user_session(&self) -> bool {
        self.session.is_none() && self.access_key_id.starts_with("ASIA")
    }
}

/// The refusal of an STS call made with GetSessionToken's credentials (only AssumeRole and
/// GetCallerIdentity take them). AWS's words for GetSessionToken; for the other operations
/// berth says the same of them.
fn no_session_credentials(operation: &str) -> Error {
    Error::AccessDenied(format!("Cannot call {operation} with session credentials"))
}

/// Temporary credentials of the calling user (or root user) that act as it. AWS requires no
/// permission for it; role sessions and session credentials may not call it. With
/// `SerialNumber` and `TokenCode` the code is checked against the user's virtual MFA device
/// and the session then carries `aws:MultiFactorAuthPresent` (the root user has no device
/// in berth, so its MFA members are refused).
pub fn get_session_token(
    ctx: &Ctx<'_>,
    input: GetSessionTokenInput,
) -> Result<GetSessionTokenOutput, Error> {
    let holder = match &ctx.caller.principal {
        _ if ctx.caller.session.is_some() || ctx.caller.is_user_session() => {
            return Err(no_session_credentials("GetSessionToken"));
        }
        Principal::Root { .. } => SessionHolder::Root,
        Principal::User { name, .. } => SessionHolder::User(name),
        Principal::AssumedRole { .. } | Principal::FederatedUser { .. } => {
            return Err(no_session_credentials("GetSessionToken"));
        }
    };
    let mfa = match (&input.serial_number, &input.token_code) {
        (None, None) => None,
        (serial, code) => Some(super::check_mfa(ctx, serial.as_deref(), code.as_deref())?),
    };
    let duration = user_sessions::session_duration(holder, input.duration_seconds);
    let credentials = ctx.control.iam().issue_user_session(
        ctx.account(),
        holder,
        duration,
        mfa,
        ctx.now_secs(),
    )?;
    Ok(GetSessionTokenOutput { credentials })
}

/// The account an access key id belongs to. berth knows the accounts of the keys it issued;
/// AWS reads the account out of any key id, which berth's ids do not carry.
pub fn get_access_key_info(
    ctx: &Ctx<'_>,
    input: GetAccessKeyInfoInput,
) -> Result<GetAccessKeyInfoOutput, Error> {
    if ctx.caller.is_user_session() {
        return Err(no_session_credentials("GetAccessKeyInfo"));
    }
    authorize(ctx, &Check::new("sts:GetAccessKeyInfo", "*"))?;
    match ctx.control.iam().access_key_account(&input.access_key_id)? {
        Some(account) => Ok(GetAccessKeyInfoOutput { account }),
        // berth's own words: AWS answers an account for any well-formed key id.
        None => Err(Error::Validation(format!(
            "berth did not issue the access key {}",
            input.access_key_id
        ))),
    }
}

/// berth never encodes authorization messages (its denials carry their reason in clear), so
/// any message is one it cannot decode.
pub fn decode_authorization_message(
    ctx: &Ctx<'_>,
    _input: DecodeAuthorizationMessageInput,
) -> Result<DecodeAuthorizationMessageOutput, Error> {
    if ctx.caller.is_user_session() {
        return Err(no_session_credentials("DecodeAuthorizationMessage"));
    }
    authorize(ctx, &Check::new("sts:DecodeAuthorizationMessage", "*"))?;
    Err(Error::InvalidAuthorizationMessage)
}

/// GetFederationToken's members, the model's constraints checked by the decoder.
#[derive(Debug, Clone, Default)]
pub struct GetFederationTokenInput {
    /// 2–32 characters of `[\w+=,.@-]`.
    pub name: String,
    /// The inline policy, verbatim.
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    /// 900–129600.
    pub duration_seconds: Option<u32>,
    /// The session tags, key -> value, as given (at most 50, the model's limits checked).
    pub tags: Vec<(String, String)>,
}

pub struct GetFederationTokenOutput {
    pub credentials: UserSession,
    /// `ACCOUNT:Name`
    pub federated_user_id: String,
    /// `arn:aws:sts::ACCOUNT:federated-user/Name`
    pub arn: String,
    pub packed_policy_size: Option<u32>,
}

/// Credentials of a federated user named `name`, asked for by an IAM user: it may do what
/// both the asking user's policies and the policies passed here allow; with no policy passed,
/// nothing. Authorised as `sts:GetFederationToken` on the federated user's ARN; session tags
/// (keys unique in any case) need `sts:TagSession` on it as well, both checks seeing the
/// tags as `aws:RequestTag/<key>` and `aws:TagKeys`. The federated user's
/// `aws:PrincipalTag/<key>` keys are the asking user's tags, each replaced by a session tag
/// of the same key.
pub fn get_federation_token(
    ctx: &Ctx<'_>,
    input: GetFederationTokenInput,
) -> Result<GetFederationTokenOutput, Error> {
    let account = ctx.account().to_string();
    let arn = format!("arn:aws:sts::{account}:federated-user/{}", input.name);
    let holder = match &ctx.caller.principal {
        _ if ctx.caller.session.is_some() || ctx.caller.is_user_session() => {
            return Err(no_session_credentials("GetFederationToken"));
        }
        // berth's own refusal: AWS lets the root user federate (with the root user's
        // permissions, which berth's engine does not give a federated user).
        Principal::Root { .. } => {
            return Err(Error::AccessDenied(
                "berth issues federation tokens to IAM users only".into(),
            ));
        }
        Principal::User { name, .. } => SessionHolder::User(name),
        Principal::AssumedRole { .. } | Principal::FederatedUser { .. } => {
            return Err(no_session_credentials("GetFederationToken"));
        }
    };
    // No transitive keys: a federated user cannot assume a role, so there is no chain.
    let (tags, _) = berth_iam::sts::session_tags(&input.tags, &[], None)?;
    let keys = super::request_tag_keys(&tags);
    authorize(
        ctx,
        &Check::new("sts:GetFederationToken", &arn).with_contexts(keys.clone()),
    )?;
    if !tags.is_empty() {
        // The resource AWS names for `sts:TagSession` here is not established: berth checks
        // it on the federated user's ARN, as `sts:GetFederationToken`.
        authorize(ctx, &Check::new("sts:TagSession", &arn).with_contexts(keys))?;
    }
    let duration = user_sessions::session_duration(holder, input.duration_seconds);
    let user_name = match holder {
        SessionHolder::User(n) => n.to_string(),
        SessionHolder::Root => String::new(),
    };
    let (credentials, packed_policy_size) = ctx.control.iam().issue_federation_session(
        &account,
        &user_name,
        &input.name,
        duration,
        berth_iam::sts::SessionPolicies {
            inline: input.policy.as_deref(),
            arns: &input.policy_arns,
        },
        tags,
        ctx.now_secs(),
    )?;
    Ok(GetFederationTokenOutput {
        credentials,
        federated_user_id: format!("{account}:{}", input.name),
        arn,
        packed_policy_size,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use berth_iam::{NewUser, Tag};

    use super::*;

    const ACCOUNT: &str = "111122223333";

    fn t(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn federation_tags_need_tag_session_and_override_the_users_tags() {
        let control = crate::testing::control();
        let iam = control.iam();
        let mut new = NewUser::named("carol");
        new.tags = vec![
            Tag {
                key: "Team".into(),
                value: "user".into(),
            },
            Tag {
                key: "cost".into(),
                value: "1".into(),
            },
        ];
        let user = iam.create_user(ACCOUNT, new, 0).unwrap();
        // The user may federate, and read users only as a member of the `session` team.
        let policy = |tag_session: bool| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sts:GetFederationToken"{}],"Resource":"*","Condition":{{"StringEquals":{{"aws:RequestTag/team":"session"}}}}}},{{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalTag/team":"session","aws:PrincipalTag/cost":"1"}}}}}}]}}"#,
                if tag_session {
                    r#","sts:TagSession""#
                } else {
                    ""
                }
            )
        };
        iam.put_user_policy(ACCOUNT, "carol", "p", &policy(false))
            .unwrap();
        let carol = crate::testing::user_caller(&user);
        let ctx = control.ctx(&carol, "r1");
        let input = |tags: Vec<(String, String)>| {
            GetFederationTokenInput {
            name: "fed".into(),
            policy: Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                    .into(),
            ),
            tags,
            ..Default::default()
        }
        };
        let e = get_federation_token(&ctx, input(vec![t("team", "session")])).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m.contains("sts:TagSession")),
            "{e:?}"
        );
        iam.put_user_policy(ACCOUNT, "carol", "p", &policy(true))
            .unwrap();
        let ctx = control.ctx(&carol, "r2");
        let e = get_federation_token(&ctx, input(vec![t("team", "a"), t("TEAM", "b")])).err();
        assert!(
            matches!(&e, Some(Error::Sts(super::super::StsError::InvalidParameterValue(m))) if m.starts_with("Duplicate tag keys")),
            "{e:?}"
        );
        // The condition on `aws:RequestTag/team` holds the request to its value.
        let e = get_federation_token(&ctx, input(vec![t("team", "other")])).err();
        assert!(matches!(&e, Some(Error::AccessDenied(_))), "{e:?}");
        let out = get_federation_token(&ctx, input(vec![t("team", "session")])).unwrap();
        assert!(out.packed_policy_size.is_some());
        let key = control
            .signing_key(
                &out.credentials.access_key_id,
                "us-east-1",
                Some(&out.credentials.session_token),
                control.now(),
            )
            .ok()
            .unwrap();
        let docs = iam.identity_policies(&key.caller.principal).unwrap();
        assert_eq!(
            docs.principal_tags,
            [
                t("aws:PrincipalTag/cost", "1"),
                t("aws:PrincipalTag/team", "session")
            ]
        );
        let fed = control.ctx(&key.caller, "r3");
        authorize(&fed, &Check::new("iam:GetUser", "*")).unwrap();
    }
}
