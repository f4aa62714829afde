//! Authorisation: every call is checked against IAM policy before its handler acts.
//!
//! A handler states its question as a [`Check`] — the action, the resource ARN, the account
//! that owns the resource, the resource's own policy (a secret's resource policy, a KMS key
//! policy, a role's trust policy) and any service-specific condition keys — and
//! [`authorize`] answers it with the caller's identity policies, permissions boundary and
//! session policy, in AWS's decision order (`berth_iam::authz::decide`, on the policy engine of
//! `berth-policy`). A denial is [`Error::AccessDenied`] with AWS's message.

use berth_iam::authz::{IdentityDocuments, Question};
use berth_policy::{Context, PolicyKind};

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
/// those fixed for the caller's session, plus the check's own.
pub fn request_context(ctx: &Ctx<'_>, extra: &[(String, Vec<String>)]) -> Context {
    let session_keys = ctx
        .caller
        .session
        .as_ref()
        .map(|s| s.context.as_slice())
        .unwrap_or_default();
    berth_iam::authz::request_context(
        &ctx.caller.principal,
        &ctx.caller.region,
        ctx.now,
        ctx.caller.source_ip,
        session_keys,
        extra,
    )
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

/// Decides a [`Check`] for the caller.
pub fn authorize(ctx: &Ctx<'_>, check: &Check<'_>) -> Result<(), Error> {
    let principal = &ctx.caller.principal;
    let own = check
        .resource_account
        .is_none_or(|a| a == principal.account());
    // The root user in its own account with no resource policy in play: nothing can deny it.
    if principal.is_root() && own && check.resource_policy.is_none() {
        return Ok(());
    }
    let docs = identity_documents(ctx)?;
    let context = request_context(ctx, &check.context);
    let verdict = berth_iam::authz::decide(
        &Question {
            principal,
            action: check.action,
            resource: check.resource,
            resource_account: check.resource_account,
            resource_policy: check.resource_policy,
            resource_policy_kind: if check.action.eq_ignore_ascii_case("sts:AssumeRole") {
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
