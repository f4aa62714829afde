//! Authorisation: every call is checked against IAM policy before its handler acts.
//!
//! A handler states its question as a [`Check`] — the action, the resource ARN, the account
//! that owns the resource, the resource's own policy (a secret's resource policy, a KMS key
//! policy, a role's trust policy) and any service-specific condition keys — and
//! [`authorize`] answers it with the caller's identity policies, permissions boundary and
//! session policy, in AWS's decision order (`berth_iam::authz::decide`, on the policy engine of
//! `berth-policy`). A denial is [`Error::AccessDenied`] with AWS's message.

use berth_iam::authz::{IdentityDocuments, Question};
use berth_policy::{Context, ContextValue, PolicyKind};

pub use berth_policy::Mode;

use crate::{Ctx, Error};

/// One authorisation question: may the caller do `action` on `resource`?
#[derive(Debug, Clone)]
pub struct Check<'a> {
    /// `service:Operation`, e.g. `secretsmanager:GetSecretValue`.
    pub action: &'a str,
    /// The resource's ARN, or `*` for calls on no resource (List*).
    pub resource: &'a str,
    /// The account that owns the resource; `None` means the caller's own.
    pub resource_account: Option<&'a str>,
    /// The resource's own policy document, verbatim (secret resource policy, key policy).
    pub resource_policy: Option<&'a str>,
    pub mode: Mode,
    /// Service condition keys for this call, each with one or more string values
    /// (e.g. `kms:ViaService`, `kms:CallerAccount`, `kms:EncryptionContext:SecretARN`).
    pub context: Vec<(String, Vec<String>)>,
    /// The resource as the denial message names it, when not `resource` (Secrets Manager
    /// echoes the `SecretId` as given).
    pub named_as: Option<&'a str>,
}

impl<'a> Check<'a> {
    /// A check with identity policies only, on a resource of the caller's account.
    pub fn new(action: &'a str, resource: &'a str) -> Check<'a> {
        Check {
            action,
            resource,
            resource_account: None,
            resource_policy: None,
            mode: Mode::Standard,
            context: Vec::new(),
            named_as: None,
        }
    }

    /// The resource belongs to `account`.
    pub fn owned_by(mut self, account: &'a str) -> Check<'a> {
        self.resource_account = Some(account);
        self
    }

    /// The resource carries this policy; `mode` says whether it must allow on its own.
    pub fn with_resource_policy(mut self, policy: Option<&'a str>, mode: Mode) -> Check<'a> {
        self.resource_policy = policy;
        self.mode = mode;
        self
    }

    /// Adds a condition key with one value.
    pub fn with_context(mut self, key: &str, value: impl Into<String>) -> Check<'a> {
        self.context.push((key.to_string(), vec![value.into()]));
        self
    }

    /// Adds condition keys with their values.
    pub fn with_contexts(mut self, keys: Vec<(String, Vec<String>)>) -> Check<'a> {
        self.context.extend(keys);
        self
    }

    /// The denial message names the resource this way.
    pub fn named_as(mut self, name: &'a str) -> Check<'a> {
        self.named_as = Some(name);
        self
    }
}

/// The global condition keys of the request (`aws:CurrentTime`, `aws:RequestedRegion`, …) and
/// those fixed for the caller's session (its tags as `aws:PrincipalTag/…`, its source
/// identity), the MFA keys of temporary credentials, plus the check's own.
pub fn request_context(ctx: &Ctx<'_>, extra: &[(String, Vec<String>)]) -> Context {
    let session_keys = ctx
        .caller
        .session
        .as_ref()
        .map(|s| s.context.as_slice())
        .unwrap_or_default();
    let mut context = berth_iam::authz::request_context(
        &ctx.caller.principal,
        &ctx.caller.region,
        ctx.now,
        ctx.caller.source_ip,
        session_keys,
        &[],
    );
    // Temporary credentials carry `aws:MultiFactorAuthPresent`: true with the age of the MFA
    // sign-in when a code opened them, false otherwise. Long-term keys carry neither key.
    if ctx.caller.access_key_id.starts_with("ASIA") {
        match ctx.caller.mfa_authenticated_at {
            Some(at) => {
                context.insert("aws:MultiFactorAuthPresent", ContextValue::Bool(true));
                let age = ctx.now_secs().saturating_sub(at);
                context.insert("aws:MultiFactorAuthAge", ContextValue::Number(age as f64));
            }
            None => {
                context.insert("aws:MultiFactorAuthPresent", ContextValue::Bool(false));
            }
        }
    }
    for (k, values) in extra {
        context.insert_multi(k, values.iter().map(String::as_str));
    }
    context
}

/// The caller's own policy documents (read from the store once per request).
fn identity_documents<'c>(ctx: &'c Ctx<'_>) -> Result<&'c IdentityDocuments, Error> {
    if let Some(docs) = ctx.identity.get() {
        return Ok(docs);
    }
    let mut docs = ctx.control.iam().identity_policies(&ctx.caller.principal)?;
    if let Some(session) = &ctx.caller.session {
        docs.session = session.session_policy.clone();
    }
    Ok(ctx.identity.get_or_init(|| docs))
}

/// The actions a role's trust policy answers (the trust policy is then read as one).
fn is_trust_action(action: &str) -> bool {
    ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action))
}

/// Decides a [`Check`] for the caller.
pub fn authorize(ctx: &Ctx<'_>, check: &Check<'_>) -> Result<(), Error> {
    // Every attempt counts for the service last accessed data, denied ones too.
    ctx.control.access.record(ctx, check.action);
    let principal = &ctx.caller.principal;
    let own = check
        .resource_account
        .is_none_or(|a| a == principal.account());
    // The root user in its own account with no resource policy in play: nothing can deny it.
    if principal.is_root() && own && check.resource_policy.is_none() {
        return Ok(());
    }
    let docs = identity_documents(ctx)?;
    let mut context = request_context(ctx, &check.context);
    // An IAM user's tags are its `aws:PrincipalTag/<key>` keys (a role session's are in its
    // session keys already).
    for (key, value) in &docs.principal_tags {
        context.insert(key, value.as_str());
    }
    let verdict = berth_iam::authz::decide(
        &Question {
            principal,
            action: check.action,
            resource: check.resource,
            resource_account: check.resource_account,
            resource_policy: check.resource_policy,
            resource_policy_kind: if is_trust_action(check.action) {
                PolicyKind::Trust
            } else {
                PolicyKind::Resource
            },
            mode: check.mode,
            context: &context,
        },
        docs,
    );
    for broken in &verdict.broken_documents {
        tracing::warn!(principal = %principal.arn(), error = %broken, "a stored policy no longer parses");
    }
    if verdict.is_allowed() {
        return Ok(());
    }
    let message = verdict.denial_message(
        principal,
        check.action,
        check.named_as.unwrap_or(check.resource),
    );
    tracing::info!(principal = %principal.arn(), action = check.action, resource = check.resource, "access denied");
    Err(Error::AccessDenied(message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use berth_iam::{NewUser, Principal, SessionInfo};
    use berth_policy::ContextValue;

    use super::*;
    use crate::testing::caller;
    use crate::testing::control;
    use crate::{Caller, Control};

    const ACCOUNT: &str = "111122223333";
    const OTHER: &str = "444455556666";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:444455556666:secret:shared-AbCdEf";

    /// The user carol, with `policy` as her one inline policy.
    fn carol(control: &Control, policy: &str) -> Caller {
        let user = control
            .iam()
            .create_user(ACCOUNT, NewUser::named("carol"), 0)
            .unwrap();
        control
            .iam()
            .put_user_policy(ACCOUNT, "carol", "p", policy)
            .unwrap();
        caller(Principal::User {
            account: ACCOUNT.into(),
            name: user.name,
            id: user.id,
            path: user.path,
        })
    }

    #[test]
    fn the_request_context_is_the_callers_and_the_checks() {
        let control = control();
        let mut session = caller(Principal::AssumedRole {
            account: ACCOUNT.into(),
            role_name: "app".into(),
            role_id: "AROAAPP".into(),
            role_path: "/".into(),
            session_name: "s1".into(),
            session_key_id: "ASIAS1".into(),
        });
        session.region = "eu-west-1".into();
        session.source_ip = Some("203.0.113.7".parse().unwrap());
        session.session = Some(SessionInfo {
            role_name: "app".into(),
            role_id: "AROAAPP".into(),
            role_path: "/".into(),
            session_name: "s1".into(),
            session_policy: None,
            context: vec![("aws:SourceAccount".into(), OTHER.into())],
            ..Default::default()
        });
        let ctx = control.ctx(&session, "r1");
        let c = request_context(&ctx, &[("kms:ViaService".into(), vec!["x".into()])]);
        let one = |k: &str| c.get(k).map(<[ContextValue]>::to_vec);
        assert_eq!(
            one("aws:CurrentTime"),
            Some(vec![ContextValue::Date(ctx.now)])
        );
        assert_eq!(one("aws:RequestedRegion"), Some(vec!["eu-west-1".into()]));
        assert_eq!(one("aws:userid"), Some(vec!["AROAAPP:s1".into()]));
        assert_eq!(
            one("aws:SourceIp"),
            Some(vec![ContextValue::Ip("203.0.113.7".parse().unwrap())])
        );
        assert_eq!(one("aws:SourceAccount"), Some(vec![OTHER.into()]));
        assert_eq!(one("kms:ViaService"), Some(vec!["x".into()]));
    }

    #[test]
    fn conditions_on_the_requests_keys_decide() {
        let control = control();
        let mut carol = carol(
            &control,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{
                "IpAddress":{"aws:SourceIp":"203.0.113.0/24"},
                "StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com","aws:RequestedRegion":"us-east-1"}}}]}"#,
        );
        let check = Check::new("secretsmanager:GetSecretValue", "*")
            .with_context("kms:ViaService", "secretsmanager.us-east-1.amazonaws.com");
        carol.source_ip = Some("203.0.113.7".parse().unwrap());
        assert!(authorize(&control.ctx(&carol, "r1"), &check).is_ok());
        carol.source_ip = Some("198.51.100.1".parse().unwrap());
        let e = authorize(&control.ctx(&carol, "r2"), &check).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m.ends_with("because no identity-based policy allows the secretsmanager:GetSecretValue action")),
            "{e:?}"
        );
    }

    #[test]
    fn tag_session_and_source_identity_are_answered_by_the_trust_policy() {
        let control = control();
        let carol = carol(
            &control,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
        );
        // A trust policy has no Resource: read as a resource policy it would not parse.
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/carol"}},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}]}}"#
        );
        let role = format!("arn:aws:iam::{ACCOUNT}:role/app");
        for action in ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"] {
            let check =
                Check::new(action, &role).with_resource_policy(Some(&trust), Mode::Standard);
            let got = authorize(&control.ctx(&carol, "r1"), &check);
            assert!(got.is_ok(), "{action}: {got:?}");
        }
        // Read by the trust policy's rules: a Resource element makes it no trust policy, and it
        // allows nothing (as a resource policy it would).
        let not_trust = trust.replace(r#""Action""#, r#""Resource":"*","Action""#);
        for action in ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"] {
            let check =
                Check::new(action, &role).with_resource_policy(Some(&not_trust), Mode::Standard);
            let got = authorize(&control.ctx(&carol, "r2"), &check);
            assert!(
                matches!(got, Err(Error::AccessDenied(_))),
                "{action}: {got:?}"
            );
        }
    }

    #[test]
    fn a_groups_policies_decide_for_its_members() {
        let control = control();
        let carol = carol(
            &control,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
        );
        let check = Check::new("iam:ListUsers", "*");
        assert!(authorize(&control.ctx(&carol, "r1"), &check).is_ok());
        let iam = control.iam();
        iam.create_group(ACCOUNT, "g", None, 0).unwrap();
        iam.put_group_policy(
            ACCOUNT,
            "g",
            "deny",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#,
        )
        .unwrap();
        iam.add_user_to_group(ACCOUNT, "g", "carol").unwrap();
        // One request reads the documents once: a change within it is seen by the next one.
        let ctx = control.ctx(&carol, "r2");
        let e = authorize(&ctx, &check).err();
        assert!(
            matches!(&e, Some(Error::AccessDenied(m)) if m.ends_with("with an explicit deny in an identity-based policy")),
            "{e:?}"
        );
        iam.remove_user_from_group(ACCOUNT, "g", "carol").unwrap();
        assert!(authorize(&ctx, &check).is_err());
        assert!(authorize(&control.ctx(&carol, "r3"), &check).is_ok());
    }

    #[test]
    fn the_root_user_needs_a_resource_policy_in_another_account() {
        let control = control();
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = control.ctx(&root, "r1");
        let own = Check::new("secretsmanager:GetSecretValue", "*").owned_by(ACCOUNT);
        assert!(authorize(&ctx, &own).is_ok());
        let theirs = Check::new("secretsmanager:GetSecretValue", SECRET).owned_by(OTHER);
        let e = authorize(&ctx, &theirs).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some(format!(
                "User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: secretsmanager:GetSecretValue on resource: {SECRET} because no resource-based policy allows the secretsmanager:GetSecretValue action"
            ))
        );
    }
}
