//! Policy validation errors.
//!
//! [`PolicyError::message`] is the text AWS returns with a
//! `MalformedPolicyDocument` error (the API layer adds the code); the
//! location and [`PolicyError::detail`] are berth's own diagnostics.

use std::fmt;

/// Message for anything the policy grammar does not accept.
pub const MSG_SYNTAX: &str = "Syntax errors in policy.";
/// Message when a `2012-10-17` version is required (see
/// [`ParseOptions::require_version_2012`](crate::ParseOptions::require_version_2012)).
pub const MSG_VERSION: &str = "Policy document must be version 2012-10-17 or greater.";
/// Message for documents IAM's older parser refuses (an `Effect` not written
/// exactly `Allow`/`Deny`, an unparseable date in a `Date...` condition, an
/// ARN with an empty service or too few segments).
pub const MSG_LEGACY: &str = "The policy failed legacy parsing";
/// Message for two statements with the same non-empty `Sid`.
pub const MSG_DUPLICATE_SID: &str = "Statement IDs (SID) in a single policy must be unique.";
/// Message for a statement without `Action`/`NotAction` (or an empty list).
pub const MSG_MISSING_ACTIONS: &str = "Policy statement must contain actions.";
/// Message for an identity-type statement without `Resource`/`NotResource`.
pub const MSG_MISSING_RESOURCES: &str = "Policy statement must contain resources.";
/// Message for a `Principal`/`NotPrincipal` in an identity, boundary or
/// session policy.
pub const MSG_PRINCIPAL_NOT_ALLOWED: &str = "Policy document should not specify a principal.";
/// Message for a resource-policy statement without a principal.
///
/// Unsure: this is the wording S3 uses; Secrets Manager and KMS may word it
/// differently.
pub const MSG_MISSING_PRINCIPAL: &str = "Missing required field Principal";
/// Message for a role trust policy statement without a principal, as IAM
/// returned it for `CreateRole` (observed 2019; may have changed since).
pub const MSG_TRUST_MISSING_PRINCIPAL: &str = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!";
/// Message for an action without a service prefix.
pub const MSG_ACTION_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
/// Message for an action with more than one colon.
pub const MSG_ACTION_COLON: &str = "Actions/Condition can contain only one colon.";
/// Message for a trust policy whose actions are not STS actions.
///
/// Unsure: wording recalled from IAM, not confirmed from a primary source.
pub const MSG_TRUST_ACTIONS: &str = "AssumeRole policy may only specify STS AssumeRole actions.";
/// Message for a `Sid` with characters other than `[0-9A-Za-z]` in an IAM
/// policy.
///
/// Unsure: wording recalled from IAM, not confirmed from a primary source.
pub const MSG_SID_CHARS: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";

/// What kind of rule a document broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// Not JSON, or not the policy grammar (unknown field, wrong type,
    /// unknown condition operator, bad `Version` or `Effect` value, ...).
    Syntax,
    /// `Version` is missing or `2008-10-17` where `2012-10-17` is required.
    VersionTooOld,
    /// Refused by IAM's legacy parser.
    LegacyParsing,
    /// Two statements share a `Sid`.
    DuplicateSid,
    /// A `Sid` with characters IAM does not allow.
    InvalidSid,
    /// A statement has no actions.
    MissingActions,
    /// A statement has no resources.
    MissingResources,
    /// A resource is not `*` or a valid ARN pattern.
    InvalidResource,
    /// An action is malformed.
    InvalidAction,
    /// A principal appears where none is allowed.
    PrincipalNotAllowed,
    /// A principal is required but missing.
    MissingPrincipal,
    /// A principal value is not valid.
    InvalidPrincipal,
    /// A field that this kind of policy may not contain.
    ProhibitedField,
    /// A trust policy names a non-STS action.
    InvalidTrustAction,
}

/// A document that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    message: String,
    statement: Option<usize>,
    field: Option<String>,
    detail: Option<String>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind, message: impl Into<String>) -> Self {
        PolicyError {
            kind,
            message: message.into(),
            statement: None,
            field: None,
            detail: None,
        }
    }

    pub(crate) fn syntax(detail: impl Into<String>) -> Self {
        PolicyError::new(PolicyErrorKind::Syntax, MSG_SYNTAX).with_detail(detail)
    }

    pub(crate) fn at(mut self, statement: Option<usize>, field: Option<&str>) -> Self {
        self.statement = statement;
        self.field = field.map(str::to_owned);
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The error IAM gives for a principal it cannot resolve, e.g.
    /// `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:role/gone"`.
    ///
    /// `principal_type` is the `Principal` map key (`AWS`, `Service`,
    /// `Federated`, `CanonicalUser`); IAM prints it upper-cased. The IAM layer
    /// uses this when a trust policy names a user or role that does not exist.
    pub fn invalid_principal(principal_type: &str, value: &str) -> Self {
        PolicyError::new(
            PolicyErrorKind::InvalidPrincipal,
            format!(
                "Invalid principal in policy: \"{}\":\"{}\"",
                principal_type.to_ascii_uppercase(),
                value
            ),
        )
    }

    /// The category of the error.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// AWS's message for `MalformedPolicyDocument`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Zero-based index of the statement at fault, when known.
    pub fn statement(&self) -> Option<usize> {
        self.statement
    }

    /// The element at fault (`Action`, `Resource`, `Condition`, ...), when known.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// berth's own description of the problem (lowercase), when there is one.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// A one-line description for logs: the AWS message followed by the
    /// location and detail, e.g.
    /// `Syntax errors in policy. (statement 1, field Effect: unknown effect "Permit")`.
    pub fn diagnostic(&self) -> String {
        let mut loc = Vec::new();
        if let Some(i) = self.statement {
            loc.push(format!("statement {i}"));
        }
        if let Some(f) = &self.field {
            loc.push(format!("field {f}"));
        }
        let mut out = self.message.clone();
        match (loc.is_empty(), &self.detail) {
            (true, None) => {}
            (true, Some(d)) => out.push_str(&format!(" ({d})")),
            (false, None) => out.push_str(&format!(" ({})", loc.join(", "))),
            (false, Some(d)) => out.push_str(&format!(" ({}: {d})", loc.join(", "))),
        }
        out
    }
}
