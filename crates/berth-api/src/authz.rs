//! Authorisation: every call is checked against IAM policy before its handler acts.
//!
//! A handler states its question as a [`Check`] — the action, the resource ARN, the account
//! that owns the resource, the resource's own policy (a secret's resource policy, a KMS key
//! policy, a role's trust policy) and any service-specific condition keys — and
//! [`authorize`] answers it with the caller's identity policies, permissions boundary and
//! session policy, in AWS's decision order. A denial is rendered in the service's words.

use crate::error::WireError;
use crate::services::Ctx;

/// How the resource's own policy takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Identity policies, plus the resource policy when there is one (same account: either may
    /// allow; cross-account: both must).
    Standard,
    /// The resource policy must allow explicitly (directly or by delegating to the caller's
    /// account): KMS key policies and role trust policies.
    ResourcePolicyRequired,
}

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
}

/// Decides a [`Check`] for the caller. The root user may do everything in its own account
/// that no policy explicitly denies.
pub fn authorize(ctx: &Ctx<'_>, check: &Check<'_>) -> Result<(), WireError> {
    let principal = &ctx.caller.principal;
    let own = check.resource_account.is_none_or(|a| a == principal.account());
    if principal.is_root() && own && check.resource_policy.is_none() {
        return Ok(());
    }
    Err(WireError::access_denied(
        ctx.caller.service,
        format!(
            "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            principal.arn(),
            check.action,
            check.resource,
            check.action
        ),
    ))
}
