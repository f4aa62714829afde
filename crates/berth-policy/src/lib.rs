//! berth-policy: an AWS IAM policy engine — parsing, validation and
//! evaluation of policy documents, with no I/O.
//!
//! ```
//! use berth_policy::{parse, evaluate, Context, Mode, PolicyKind, PolicySet, Principal, Request};
//!
//! let inline = parse(
//!     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!         "Action":"secretsmanager:GetSecretValue",
//!         "Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:db-??????"}]}"#,
//!     PolicyKind::Identity,
//! )
//! .unwrap();
//! let alice = Principal::user("111122223333", "arn:aws:iam::111122223333:user/alice");
//! let ctx = Context::new();
//! let req = Request {
//!     principal: &alice,
//!     action: "secretsmanager:GetSecretValue",
//!     resource: "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
//!     resource_account: Some("111122223333"),
//!     context: &ctx,
//! };
//! let set = PolicySet { identity: &[&inline], ..PolicySet::default() };
//! assert!(evaluate(&req, &set, Mode::Standard).is_allowed());
//! ```
//!
//! # Validation messages
//!
//! [`PolicyError::message`] carries AWS's `MalformedPolicyDocument` text:
//!
//! | condition | message |
//! |---|---|
//! | not JSON; unknown or duplicate field; wrong type; bad `Version`; `Effect` not allow/deny; unknown condition operator; bad `Principal` shape | `Syntax errors in policy.` |
//! | trust policy that is not JSON | `This policy contains invalid Json` |
//! | `Version` not 2012-10-17 with [`ParseOptions::require_version_2012`] | `Policy document must be version 2012-10-17 or greater.` |
//! | `Effect` not exactly `Allow`/`Deny`; unparseable date; ARN with empty service or too few segments | `The policy failed legacy parsing` |
//! | repeated `Sid` (all kinds but [`PolicyKind::Resource`]) | `Statement IDs (SID) in a single policy must be unique.` |
//! | `Sid` not alphanumeric (all kinds but [`PolicyKind::Resource`]) | `Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*` |
//! | no `Action`/`NotAction` | `Policy statement must contain actions.` |
//! | no `Resource`/`NotResource` (identity, boundary, session) | `Policy statement must contain resources.` |
//! | resource without a colon | `Resource X must be in ARN format or "*".` |
//! | partition other than `aws` | `Partition "X" is not valid for resource "arn:X:...".` |
//! | `arn:aws` alone | `Resource vendor must be fully qualified and cannot contain regexes.` |
//! | IAM/S3 ARN with a region | `IAM resource X cannot contain region information.` / `Resource X can not contain region information.` |
//! | IAM ARN with an unknown resource type | `IAM resource path must either be "*" or start with user/, federated-user/, ...` |
//! | action without `service:` | `Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.` |
//! | action with two colons | `Actions/Condition can contain only one colon.` |
//! | bad service prefix | `Vendor X is not valid` |
//! | principal in identity/boundary/session policy | `Policy document should not specify a principal.` |
//! | resource policy statement without principal | `Missing required field Principal` |
//! | trust policy statement without principal | `Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!` |
//! | malformed principal value | `Invalid principal in policy: "AWS":"xyz"` (type upper-cased: `"SERVICE"`) |
//! | `Resource`/`NotResource`/`NotPrincipal` in a trust policy | `Has prohibited field Resource` |
//! | non-STS action in a trust policy | `AssumeRole policy may only specify STS AssumeRole actions.` |
//!
//! The order of checks follows IAM's (syntax, version, prohibited and
//! required principals, legacy parsing, Sids, actions present, resources
//! present, resource format, action format, principal values, trust actions),
//! so a document with several faults gets the message IAM would give first.
//! [`PolicyError::statement`], [`PolicyError::field`] and
//! [`PolicyError::detail`] locate the fault for logs.
//!
//! Wording not confirmed from AWS itself (closest known wording used):
//! `Missing required field Principal` (S3's wording, used for Secrets Manager
//! and KMS resource policies), the trust-policy "no principals" message
//! (observed from IAM in 2019), `Has prohibited field NotPrincipal`,
//! `AssumeRole policy may only specify STS AssumeRole actions.` and the
//! alphanumeric-Sid message. An unknown condition operator is
//! `Syntax errors in policy.` (IAM has no dedicated message for it).
//!
//! # Evaluation
//!
//! [`evaluate`] implements AWS's policy evaluation logic for identity-based
//! policies, one resource-based policy, a permissions boundary and a session
//! policy (SCPs and RCPs are out of scope); see its documentation for the
//! decision order. Points where AWS documents nothing precise and berth
//! chose:
//!
//! * A resource policy naming `"*"` (or matching through `NotPrincipal`) is
//!   treated like one naming the role ARN: it needs no identity-based policy
//!   in the same account, but a permissions boundary or session policy that
//!   is present must also allow.
//! * `NotPrincipal` excludes a caller only when every identity in its chain
//!   is listed (account; role, for a session; the user or session ARN), as
//!   the documentation recommends listing them all.
//! * Resource and `Arn...` patterns with fewer than six ARN segments match
//!   their last segment against the rest of the value (`arn:aws:s3:*`).
//! * Policy variables are substituted anywhere in a `Resource`, not only
//!   after the fifth colon.

#![forbid(unsafe_code)]

mod condition;
mod context;
mod error;
mod eval;
mod explain;
mod json;
mod layout;
mod pattern;
mod policy;

pub use context::{Context, ContextValue};
pub use error::{
    MSG_ACTION_COLON, MSG_ACTION_VENDOR, MSG_DUPLICATE_SID, MSG_LEGACY, MSG_MISSING_ACTIONS,
    MSG_MISSING_PRINCIPAL, MSG_MISSING_RESOURCES, MSG_PRINCIPAL_NOT_ALLOWED, MSG_SID_CHARS,
    MSG_SYNTAX, MSG_TRUST_ACTIONS, MSG_TRUST_MISSING_PRINCIPAL, MSG_VERSION, PolicyError,
    PolicyErrorKind,
};
pub use eval::{
    AllowedBy, Decision, Mode, PolicySet, PolicyType, Principal, PrincipalKind, Request, evaluate,
};
pub use explain::{Explanation, Source, StatementAt, explain};
pub use layout::{Position, StatementSpan, statement_condition_keys, statement_spans};
pub use policy::{
    Effect, MSG_TRUST_INVALID_JSON, ParseOptions, Policy, PolicyKind, Statement, parse, parse_with,
};
