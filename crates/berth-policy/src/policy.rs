//! Policy documents: parsing, validation and the compiled form.

use berth_core::time;

use crate::condition::{Base, CondValue, Condition, Operator};
use crate::error::{
    MSG_ACTION_COLON, MSG_ACTION_VENDOR, MSG_DUPLICATE_SID, MSG_LEGACY, MSG_MISSING_ACTIONS,
    MSG_MISSING_PRINCIPAL, MSG_MISSING_RESOURCES, MSG_PRINCIPAL_NOT_ALLOWED, MSG_SID_CHARS,
    MSG_TRUST_ACTIONS, MSG_TRUST_MISSING_PRINCIPAL, MSG_VERSION, PolicyError, PolicyErrorKind,
};
use crate::json::Json;
use crate::pattern::{ArnPattern, Glob};

/// Message IAM gives when a role trust policy is not JSON at all.
pub const MSG_TRUST_INVALID_JSON: &str = "This policy contains invalid Json";

/// What a policy document is attached to; decides which elements it must
/// and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity-based policy (inline or managed) of a user, group or role.
    /// No `Principal`; `Resource` required.
    Identity,
    /// A resource-based policy (Secrets Manager resource policy, KMS key
    /// policy). `Principal` or `NotPrincipal` required.
    Resource,
    /// A role trust policy. `Principal` required; no `NotPrincipal`, no
    /// `Resource`; only `sts:` actions.
    Trust,
    /// A permissions boundary (same rules as [`PolicyKind::Identity`]).
    Boundary,
    /// A session policy passed to `AssumeRole` (same rules as
    /// [`PolicyKind::Identity`]).
    Session,
}

impl PolicyKind {
    fn is_identity_like(self) -> bool {
        matches!(
            self,
            PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session
        )
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// Options for [`parse_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Refuse a missing `Version` or `2008-10-17` with
    /// `Policy document must be version 2012-10-17 or greater.` — IAM does
    /// this for managed policies (`CreatePolicy`, `CreatePolicyVersion`).
    pub require_version_2012: bool,
}

/// A parsed, validated policy document.
///
/// Patterns are compiled at parse time; [`Policy::text`] keeps the document
/// exactly as it was given (the APIs return documents verbatim).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    text: String,
    kind: PolicyKind,
    version: Option<String>,
    id: Option<String>,
    statements: Vec<Statement>,
}

impl Policy {
    /// The document as given to [`parse`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The kind it was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The `Version` element, if present.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Whether policy variables (`${...}`) are interpreted: only with
    /// `"Version": "2012-10-17"`.
    pub fn supports_variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }

    /// The `Id` element, if present.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Every `AWS` principal (in `Principal` or `NotPrincipal`) written as a
    /// user, role, assumed-role or federated-user ARN, in document order —
    /// what IAM resolves to unique IDs (and refuses with
    /// [`PolicyError::invalid_principal`] when the entity does not exist).
    /// Account IDs, account root ARNs and `*` are not listed.
    pub fn principal_arns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for st in &self.statements {
            if let Some(block) = &st.principal {
                for p in &block.spec().aws {
                    if let AwsPrincipal::Arn(a) = p {
                        out.push(a.as_str());
                    }
                }
            }
        }
        out
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    pub(crate) principal: Option<PrincipalBlock>,
    pub(crate) actions: Option<ActionBlock>,
    pub(crate) resources: Option<ResourceBlock>,
    pub(crate) conditions: Vec<Condition>,
}

impl Statement {
    /// The `Sid`, if present.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The `Effect`.
    pub fn effect(&self) -> Effect {
        self.effect
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalBlock {
    Principal(PrincipalSpec),
    NotPrincipal(PrincipalSpec),
}

impl PrincipalBlock {
    fn spec(&self) -> &PrincipalSpec {
        match self {
            PrincipalBlock::Principal(s) | PrincipalBlock::NotPrincipal(s) => s,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrincipalSpec {
    /// `"Principal": "*"`.
    pub(crate) any: bool,
    pub(crate) aws: Vec<AwsPrincipal>,
    pub(crate) service: Vec<String>,
    pub(crate) federated: Vec<String>,
    pub(crate) canonical: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AwsPrincipal {
    /// `"AWS": "*"`.
    Any,
    /// `"AWS": "111122223333"` or `arn:aws:iam::111122223333:root`.
    Account(String),
    /// A user, role, assumed-role or federated-user ARN.
    Arn(String),
    /// A unique ID (`AIDA...`, `AROA...`) as IAM stores a deleted principal.
    UniqueId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActionBlock {
    Action(Vec<Glob>),
    NotAction(Vec<Glob>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceBlock {
    Resource(Vec<ArnPattern>),
    NotResource(Vec<ArnPattern>),
}

/// Parses and validates `doc` as a policy of `kind`.
///
/// The error's [`PolicyError::message`] is AWS's `MalformedPolicyDocument`
/// message; see the crate documentation for the list.
pub fn parse(doc: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    parse_with(doc, kind, &ParseOptions::default())
}

/// [`parse`] with options.
pub fn parse_with(doc: &str, kind: PolicyKind, opts: &ParseOptions) -> Result<Policy, PolicyError> {
    let json = Json::parse(doc).map_err(|e| {
        let err = PolicyError::syntax(format!("invalid json: {e}"));
        if kind == PolicyKind::Trust {
            PolicyError::new(PolicyErrorKind::Syntax, MSG_TRUST_INVALID_JSON)
                .with_detail(format!("invalid json: {e}"))
        } else {
            err
        }
    })?;
    let raw = read_raw(&json)?;
    validate(&raw, kind, opts)?;
    let variables = raw.version.as_deref() == Some("2012-10-17");
    let statements = raw
        .statements
        .iter()
        .map(|st| compile_statement(st, variables))
        .collect();
    Ok(Policy {
        text: doc.to_owned(),
        kind,
        version: raw.version,
        id: raw.id,
        statements,
    })
}

// ---------------------------------------------------------------------------
// Syntax: JSON tree to a raw statement list.

struct RawPolicy {
    version: Option<String>,
    id: Option<String>,
    statements: Vec<RawStatement>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Negation {
    Plain,
    Not,
}

struct RawStatement {
    sid: Option<String>,
    effect: String,
    principal: Option<(Negation, RawPrincipal)>,
    action: Option<(Negation, Vec<String>)>,
    resource: Option<(Negation, Vec<String>)>,
    conditions: Vec<RawCondition>,
}

enum RawPrincipal {
    Star,
    Map(Vec<(String, Vec<String>)>),
}

struct RawCondition {
    op: Operator,
    entries: Vec<(String, Vec<String>)>,
}

const TOP_FIELDS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_FIELDS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser"];

fn syntax_at(i: usize, field: &str, detail: impl Into<String>) -> PolicyError {
    PolicyError::syntax(detail).at(Some(i), Some(field))
}

fn read_raw(json: &Json) -> Result<RawPolicy, PolicyError> {
    let Json::Object(top) = json else {
        return Err(PolicyError::syntax(format!(
            "policy document is {}, not an object",
            json.type_name()
        )));
    };
    let mut version = None;
    let mut id = None;
    let mut statement = None;
    for (k, v) in top {
        match k.as_str() {
            "Version" => match v.as_str() {
                Some(s @ ("2012-10-17" | "2008-10-17")) => version = Some(s.to_owned()),
                Some(s) => {
                    return Err(PolicyError::syntax(format!("unsupported version \"{s}\""))
                        .at(None, Some("Version")));
                }
                None => {
                    return Err(
                        PolicyError::syntax("version must be a string").at(None, Some("Version"))
                    );
                }
            },
            "Id" => match v.as_str() {
                Some(s) => id = Some(s.to_owned()),
                None => {
                    return Err(PolicyError::syntax("id must be a string").at(None, Some("Id")));
                }
            },
            "Statement" => statement = Some(v),
            other => {
                return Err(PolicyError::syntax(format!(
                    "unknown top-level field \"{other}\" (expected one of {})",
                    TOP_FIELDS.join(", ")
                ))
                .at(None, Some(other)));
            }
        }
    }
    let statements: Vec<&Json> = match statement {
        None => return Err(PolicyError::syntax("missing field \"Statement\"")),
        Some(Json::Array(items)) if items.is_empty() => {
            return Err(PolicyError::syntax("statement list is empty").at(None, Some("Statement")));
        }
        Some(Json::Array(items)) => items.iter().collect(),
        Some(obj @ Json::Object(_)) => vec![obj],
        Some(other) => {
            return Err(PolicyError::syntax(format!(
                "statement is {}, not an object or array",
                other.type_name()
            ))
            .at(None, Some("Statement")));
        }
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(i, s)| read_statement(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RawPolicy {
        version,
        id,
        statements,
    })
}

fn string_list(i: usize, field: &str, v: &Json) -> Result<Vec<String>, PolicyError> {
    match v {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.clone()),
                other => Err(syntax_at(
                    i,
                    field,
                    format!("list item is {}, not a string", other.type_name()),
                )),
            })
            .collect(),
        other => Err(syntax_at(
            i,
            field,
            format!(
                "value is {}, not a string or list of strings",
                other.type_name()
            ),
        )),
    }
}

fn read_statement(i: usize, json: &Json) -> Result<RawStatement, PolicyError> {
    let Json::Object(members) = json else {
        return Err(PolicyError::syntax(format!(
            "statement is {}, not an object",
            json.type_name()
        ))
        .at(Some(i), None));
    };
    let mut st = RawStatement {
        sid: None,
        effect: String::new(),
        principal: None,
        action: None,
        resource: None,
        conditions: Vec::new(),
    };
    let mut effect = None;
    for (k, v) in members {
        let field = k.as_str();
        match field {
            "Sid" => match v.as_str() {
                Some(s) => st.sid = Some(s.to_owned()),
                None => return Err(syntax_at(i, field, "sid must be a string")),
            },
            "Effect" => match v.as_str() {
                Some(s) => effect = Some(s.to_owned()),
                None => return Err(syntax_at(i, field, "effect must be a string")),
            },
            "Principal" | "NotPrincipal" => {
                if st.principal.is_some() {
                    return Err(syntax_at(i, field, "both Principal and NotPrincipal"));
                }
                let neg = if field == "Principal" {
                    Negation::Plain
                } else {
                    Negation::Not
                };
                st.principal = Some((neg, read_principal(i, field, v)?));
            }
            "Action" | "NotAction" => {
                if st.action.is_some() {
                    return Err(syntax_at(i, field, "both Action and NotAction"));
                }
                let neg = if field == "Action" {
                    Negation::Plain
                } else {
                    Negation::Not
                };
                st.action = Some((neg, string_list(i, field, v)?));
            }
            "Resource" | "NotResource" => {
                if st.resource.is_some() {
                    return Err(syntax_at(i, field, "both Resource and NotResource"));
                }
                let neg = if field == "Resource" {
                    Negation::Plain
                } else {
                    Negation::Not
                };
                st.resource = Some((neg, string_list(i, field, v)?));
            }
            "Condition" => st.conditions = read_conditions(i, v)?,
            other => {
                return Err(syntax_at(
                    i,
                    other,
                    format!(
                        "unknown statement field \"{other}\" (expected one of {})",
                        STATEMENT_FIELDS.join(", ")
                    ),
                ));
            }
        }
    }
    match effect {
        None => return Err(PolicyError::syntax("missing field \"Effect\"").at(Some(i), None)),
        Some(e) if e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny") => {
            st.effect = e;
        }
        Some(e) => {
            return Err(syntax_at(
                i,
                "Effect",
                format!("effect \"{e}\" is neither Allow nor Deny"),
            ));
        }
    }
    Ok(st)
}

fn read_principal(i: usize, field: &str, v: &Json) -> Result<RawPrincipal, PolicyError> {
    match v {
        Json::String(s) if s == "*" => Ok(RawPrincipal::Star),
        Json::String(s) => Err(syntax_at(
            i,
            field,
            format!("principal \"{s}\" is neither \"*\" nor a map"),
        )),
        Json::Object(members) => {
            if members.is_empty() {
                return Err(syntax_at(i, field, "principal map is empty"));
            }
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                if !PRINCIPAL_TYPES.contains(&k.as_str()) {
                    return Err(syntax_at(
                        i,
                        field,
                        format!(
                            "unknown principal type \"{k}\" (expected one of {})",
                            PRINCIPAL_TYPES.join(", ")
                        ),
                    ));
                }
                let values = string_list(i, field, v)?;
                if values.is_empty() {
                    return Err(syntax_at(
                        i,
                        field,
                        format!("principal list \"{k}\" is empty"),
                    ));
                }
                out.push((k.clone(), values));
            }
            Ok(RawPrincipal::Map(out))
        }
        other => Err(syntax_at(
            i,
            field,
            format!("principal is {}, not \"*\" or a map", other.type_name()),
        )),
    }
}

fn condition_value(i: usize, v: &Json) -> Result<String, PolicyError> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.clone()),
        other => Err(syntax_at(
            i,
            "Condition",
            format!("condition value is {}", other.type_name()),
        )),
    }
}

fn read_conditions(i: usize, v: &Json) -> Result<Vec<RawCondition>, PolicyError> {
    let Json::Object(ops) = v else {
        return Err(syntax_at(
            i,
            "Condition",
            format!("condition is {}, not an object", v.type_name()),
        ));
    };
    let mut out = Vec::new();
    for (name, block) in ops {
        let Json::Object(keys) = block else {
            return Err(syntax_at(
                i,
                "Condition",
                format!(
                    "condition \"{name}\" is {}, not an object",
                    block.type_name()
                ),
            ));
        };
        let mut entries = Vec::with_capacity(keys.len());
        for (key, value) in keys {
            let values = match value {
                Json::Array(items) => items
                    .iter()
                    .map(|item| condition_value(i, item))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![condition_value(i, other)?],
            };
            entries.push((key.clone(), values));
        }
        match Operator::parse(name) {
            Some(op) => out.push(RawCondition { op, entries }),
            // IAM accepts an unknown operator with an empty block (and
            // ignores it); with keys it is a syntax error.
            None if entries.is_empty() => {}
            None => {
                return Err(syntax_at(
                    i,
                    "Condition",
                    format!("unknown condition operator \"{name}\""),
                ));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Validation, in the order IAM reports problems.

fn err_at(kind: PolicyErrorKind, msg: impl Into<String>, i: usize, field: &str) -> PolicyError {
    PolicyError::new(kind, msg).at(Some(i), Some(field))
}

fn validate(raw: &RawPolicy, kind: PolicyKind, opts: &ParseOptions) -> Result<(), PolicyError> {
    if opts.require_version_2012 && raw.version.as_deref() != Some("2012-10-17") {
        return Err(
            PolicyError::new(PolicyErrorKind::VersionTooOld, MSG_VERSION).at(None, Some("Version")),
        );
    }

    // Elements this kind of policy may not have, or must have.
    for (i, st) in raw.statements.iter().enumerate() {
        if kind == PolicyKind::Trust {
            if let Some((neg, _)) = &st.resource {
                let field = if *neg == Negation::Plain {
                    "Resource"
                } else {
                    "NotResource"
                };
                return Err(err_at(
                    PolicyErrorKind::ProhibitedField,
                    format!("Has prohibited field {field}"),
                    i,
                    field,
                ));
            }
            if let Some((Negation::Not, _)) = &st.principal {
                return Err(err_at(
                    PolicyErrorKind::ProhibitedField,
                    "Has prohibited field NotPrincipal",
                    i,
                    "NotPrincipal",
                ));
            }
        }
    }
    for (i, st) in raw.statements.iter().enumerate() {
        match (&st.principal, kind) {
            (Some((neg, _)), k) if k.is_identity_like() => {
                let field = if *neg == Negation::Plain {
                    "Principal"
                } else {
                    "NotPrincipal"
                };
                return Err(err_at(
                    PolicyErrorKind::PrincipalNotAllowed,
                    MSG_PRINCIPAL_NOT_ALLOWED,
                    i,
                    field,
                ));
            }
            (None, PolicyKind::Resource) => {
                return Err(PolicyError::new(
                    PolicyErrorKind::MissingPrincipal,
                    MSG_MISSING_PRINCIPAL,
                )
                .at(Some(i), None));
            }
            (None, PolicyKind::Trust) => {
                return Err(PolicyError::new(
                    PolicyErrorKind::MissingPrincipal,
                    MSG_TRUST_MISSING_PRINCIPAL,
                )
                .at(Some(i), None));
            }
            _ => {}
        }
    }

    // Legacy parsing: exact-case effect, parseable dates, ARN shape.
    for (i, st) in raw.statements.iter().enumerate() {
        if st.effect != "Allow" && st.effect != "Deny" {
            return Err(
                err_at(PolicyErrorKind::LegacyParsing, MSG_LEGACY, i, "Effect").with_detail(
                    format!("effect \"{}\" must be written Allow or Deny", st.effect),
                ),
            );
        }
        for c in &st.conditions {
            if !c.op.base.is_date() {
                continue;
            }
            for (key, values) in &c.entries {
                if let Some(bad) = values.iter().find(|v| time::parse_policy_date(v).is_none()) {
                    return Err(
                        err_at(PolicyErrorKind::LegacyParsing, MSG_LEGACY, i, "Condition")
                            .with_detail(format!("\"{bad}\" for key \"{key}\" is not a date")),
                    );
                }
            }
        }
    }
    let mut resource_error: Option<PolicyError> = None;
    for (i, st) in raw.statements.iter().enumerate() {
        let Some((neg, list)) = &st.resource else {
            continue;
        };
        let field = if *neg == Negation::Plain {
            "Resource"
        } else {
            "NotResource"
        };
        for r in list {
            if resource_error.is_none()
                && let Some(msg) = resource_format_error(r)
            {
                resource_error = Some(err_at(PolicyErrorKind::InvalidResource, msg, i, field));
            }
        }
        if resource_error.is_none()
            && let Some(bad) = list.iter().find(|r| !legacy_resource_ok(r))
        {
            return Err(err_at(PolicyErrorKind::LegacyParsing, MSG_LEGACY, i, field)
                .with_detail(format!("resource \"{bad}\" is not a valid arn")));
        }
    }

    // Sids: IAM's rules. Resource policies (KMS key policies, Secrets
    // Manager) are not held to them — AWS's own key policy for
    // `aws/secretsmanager` repeats a Sid and uses spaces.
    let mut seen: Vec<&str> = Vec::new();
    for (i, st) in raw.statements.iter().enumerate() {
        if kind == PolicyKind::Resource {
            break;
        }
        if let Some(sid) = st.sid.as_deref().filter(|s| !s.is_empty()) {
            if seen.contains(&sid) {
                return Err(
                    err_at(PolicyErrorKind::DuplicateSid, MSG_DUPLICATE_SID, i, "Sid")
                        .with_detail(format!("sid \"{sid}\" is used twice")),
                );
            }
            seen.push(sid);
        }
    }
    if kind != PolicyKind::Resource {
        for (i, st) in raw.statements.iter().enumerate() {
            if let Some(sid) = &st.sid
                && !sid.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(err_at(PolicyErrorKind::InvalidSid, MSG_SID_CHARS, i, "Sid"));
            }
        }
    }

    // Required elements.
    for (i, st) in raw.statements.iter().enumerate() {
        if st.action.as_ref().is_none_or(|(_, l)| l.is_empty()) {
            return Err(
                PolicyError::new(PolicyErrorKind::MissingActions, MSG_MISSING_ACTIONS)
                    .at(Some(i), Some("Action")),
            );
        }
    }
    if kind.is_identity_like() {
        for (i, st) in raw.statements.iter().enumerate() {
            if st.resource.as_ref().is_none_or(|(_, l)| l.is_empty()) {
                return Err(PolicyError::new(
                    PolicyErrorKind::MissingResources,
                    MSG_MISSING_RESOURCES,
                )
                .at(Some(i), Some("Resource")));
            }
        }
    }
    if let Some(e) = resource_error {
        return Err(e);
    }

    // Action format.
    for (i, st) in raw.statements.iter().enumerate() {
        if let Some((neg, list)) = &st.action {
            let field = if *neg == Negation::Plain {
                "Action"
            } else {
                "NotAction"
            };
            for a in list {
                if let Some(msg) = action_format_error(a) {
                    return Err(err_at(PolicyErrorKind::InvalidAction, msg, i, field)
                        .with_detail(format!("action \"{a}\"")));
                }
            }
        }
    }

    // Principal values.
    for (i, st) in raw.statements.iter().enumerate() {
        if let Some((neg, RawPrincipal::Map(entries))) = &st.principal {
            let field = if *neg == Negation::Plain {
                "Principal"
            } else {
                "NotPrincipal"
            };
            for (ty, values) in entries {
                for v in values {
                    if !principal_value_ok(ty, v) {
                        return Err(PolicyError::invalid_principal(ty, v).at(Some(i), Some(field)));
                    }
                }
            }
        }
    }

    // Trust policies only grant STS actions.
    if kind == PolicyKind::Trust {
        for (i, st) in raw.statements.iter().enumerate() {
            if let Some((_, list)) = &st.action
                && let Some(a) = list.iter().find(|a| !is_sts_action(a))
            {
                return Err(err_at(
                    PolicyErrorKind::InvalidTrustAction,
                    MSG_TRUST_ACTIONS,
                    i,
                    "Action",
                )
                .with_detail(format!("action \"{a}\"")));
            }
        }
    }
    Ok(())
}

fn is_sts_action(a: &str) -> bool {
    a.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sts:"))
}

/// IAM's ARN format checks for `Resource`/`NotResource` values.
fn resource_format_error(r: &str) -> Option<String> {
    if r == "*" {
        return None;
    }
    let Some((_, after_prefix)) = r.split_once(':') else {
        return Some(format!("Resource {r} must be in ARN format or \"*\"."));
    };
    let (partition, after_partition) = match after_prefix.split_once(':') {
        Some((p, rest)) => (p, Some(rest)),
        None => (after_prefix, None),
    };
    if partition != "aws" && partition != "*" {
        let rest: Vec<&str> = after_partition.unwrap_or("").split(':').collect();
        let seg = |n: usize| -> String {
            match rest.get(n) {
                Some(s) if n > 0 || !s.is_empty() || rest.len() > 1 => (*s).to_owned(),
                _ => "*".to_owned(),
            }
        };
        let last = if rest.len() > 3 {
            rest[3..].join(":")
        } else {
            "*".to_owned()
        };
        return Some(format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{}:{}:{}:{last}\".",
            seg(0),
            seg(1),
            seg(2)
        ));
    }
    let Some(after_partition) = after_partition else {
        return Some(
            "Resource vendor must be fully qualified and cannot contain regexes.".to_owned(),
        );
    };
    let (service, after_service) = match after_partition.split_once(':') {
        Some((s, rest)) => (s, rest),
        None => (after_partition, ""),
    };
    if !after_service.starts_with(':') {
        match service {
            "iam" => {
                return Some(format!(
                    "IAM resource {r} cannot contain region information."
                ));
            }
            "s3" => return Some(format!("Resource {r} can not contain region information.")),
            _ => {}
        }
    }
    if service == "iam" {
        let resource_part = after_service.splitn(3, ':').nth(2).unwrap_or("");
        const IAM_PREFIXES: &[&str] = &[
            "user/",
            "federated-user/",
            "role/",
            "group/",
            "instance-profile/",
            "mfa/",
            "server-certificate/",
            "policy/",
            "sms-mfa/",
            "saml-provider/",
            "oidc-provider/",
            "report/",
            "access-report/",
        ];
        let ok = resource_part.starts_with('*')
            || resource_part == "root"
            || IAM_PREFIXES.iter().any(|p| resource_part.starts_with(p));
        if !ok {
            return Some(format!(
                "IAM resource path must either be \"*\" or start with {}.",
                IAM_PREFIXES.join(", ")
            ));
        }
    }
    None
}

/// IAM's legacy parser: enough colons for an ARN with an empty segment, and
/// a non-empty service.
fn legacy_resource_ok(r: &str) -> bool {
    if r == "*" {
        return true;
    }
    let colons = r.matches(':').count();
    (colons >= 5 || !r.contains("::")) && r.split(':').nth(2).is_some_and(|s| !s.is_empty())
}

fn action_format_error(a: &str) -> Option<String> {
    if a == "*" {
        return None;
    }
    let mut parts = a.split(':');
    let vendor = parts.next().unwrap_or("");
    match (parts.next(), parts.next()) {
        (None, _) => Some(MSG_ACTION_VENDOR.to_owned()),
        (Some(_), Some(_)) => Some(MSG_ACTION_COLON.to_owned()),
        (Some(_), None) => {
            let valid = vendor == "*"
                || vendor
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            (!valid).then(|| format!("Vendor {vendor} is not valid"))
        }
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses an `AWS` principal value; `None` when IAM would refuse it.
pub(crate) fn parse_aws_principal(v: &str) -> Option<AwsPrincipal> {
    if v == "*" {
        return Some(AwsPrincipal::Any);
    }
    if is_account_id(v) {
        return Some(AwsPrincipal::Account(v.to_owned()));
    }
    if let Some(rest) = v.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts.as_slice() else {
            return None;
        };
        if !partition.starts_with("aws") || !region.is_empty() || !is_account_id(account) {
            return None;
        }
        if resource.contains(['*', '?']) {
            return None;
        }
        let named = |prefix: &str, min_parts: usize| {
            resource.strip_prefix(prefix).is_some_and(|name| {
                let pieces: Vec<&str> = name.split('/').collect();
                pieces.len() >= min_parts && pieces.iter().all(|p| !p.is_empty())
            })
        };
        let ok = match *service {
            "iam" if *resource == "root" => {
                return Some(AwsPrincipal::Account((*account).to_owned()));
            }
            "iam" => named("user/", 1) || named("role/", 1),
            "sts" => named("assumed-role/", 2) || named("federated-user/", 1),
            _ => false,
        };
        return ok.then(|| AwsPrincipal::Arn(v.to_owned()));
    }
    let unique_id = v.len() >= 16
        && v.len() <= 128
        && v.starts_with('A')
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    unique_id.then(|| AwsPrincipal::UniqueId(v.to_owned()))
}

fn principal_value_ok(ty: &str, v: &str) -> bool {
    match ty {
        "AWS" => parse_aws_principal(v).is_some(),
        "Service" => {
            let base = v
                .strip_suffix(".amazonaws.com")
                .or_else(|| v.strip_suffix(".amazonaws.com.cn"));
            base.is_some_and(|b| {
                !b.is_empty()
                    && b.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            })
        }
        _ => !v.is_empty() && !v.contains(char::is_whitespace),
    }
}

// ---------------------------------------------------------------------------
// Compilation.

fn compile_principal(p: &RawPrincipal) -> PrincipalSpec {
    let mut spec = PrincipalSpec::default();
    match p {
        RawPrincipal::Star => spec.any = true,
        RawPrincipal::Map(entries) => {
            for (ty, values) in entries {
                for v in values {
                    match ty.as_str() {
                        "AWS" => {
                            if let Some(a) = parse_aws_principal(v) {
                                spec.aws.push(a);
                            }
                        }
                        "Service" => spec.service.push(v.clone()),
                        "Federated" => spec.federated.push(v.clone()),
                        _ => spec.canonical.push(v.clone()),
                    }
                }
            }
        }
    }
    spec
}

fn compile_statement(st: &RawStatement, variables: bool) -> Statement {
    let effect = if st.effect == "Deny" {
        Effect::Deny
    } else {
        Effect::Allow
    };
    let principal = st.principal.as_ref().map(|(neg, p)| {
        let spec = compile_principal(p);
        match neg {
            Negation::Plain => PrincipalBlock::Principal(spec),
            Negation::Not => PrincipalBlock::NotPrincipal(spec),
        }
    });
    let actions = st.action.as_ref().map(|(neg, list)| {
        let globs = list.iter().map(|a| Glob::new(a, true, false)).collect();
        match neg {
            Negation::Plain => ActionBlock::Action(globs),
            Negation::Not => ActionBlock::NotAction(globs),
        }
    });
    let resources = st.resource.as_ref().map(|(neg, list)| {
        let pats = list.iter().map(|r| ArnPattern::new(r, variables)).collect();
        match neg {
            Negation::Plain => ResourceBlock::Resource(pats),
            Negation::Not => ResourceBlock::NotResource(pats),
        }
    });
    let mut conditions = Vec::new();
    for c in &st.conditions {
        // Variables are interpreted only by string, ARN and Bool operators.
        let vars = variables
            && matches!(
                c.op.base,
                Base::StringEquals
                    | Base::StringEqualsIgnoreCase
                    | Base::StringLike
                    | Base::Arn
                    | Base::Bool
            );
        for (key, values) in &c.entries {
            conditions.push(Condition {
                op: c.op,
                key: key.to_lowercase(),
                values: values
                    .iter()
                    .map(|v| CondValue::compile(c.op.base, v, vars))
                    .collect(),
            });
        }
    }
    Statement {
        sid: st.sid.clone(),
        effect,
        principal,
        actions,
        resources,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_principals() {
        assert_eq!(parse_aws_principal("*"), Some(AwsPrincipal::Any));
        assert_eq!(
            parse_aws_principal("111122223333"),
            Some(AwsPrincipal::Account("111122223333".into()))
        );
        assert_eq!(
            parse_aws_principal("arn:aws:iam::111122223333:root"),
            Some(AwsPrincipal::Account("111122223333".into()))
        );
        for ok in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/path/alice",
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:sts::111122223333:assumed-role/R/sess",
            "arn:aws:sts::111122223333:federated-user/bob",
        ] {
            assert_eq!(
                parse_aws_principal(ok),
                Some(AwsPrincipal::Arn(ok.into())),
                "{ok}"
            );
        }
        for bad in [
            "xyz",
            "11112222333",
            "arn:aws:iam::111122223333:user/*",
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:iam:us-east-1:111122223333:user/a",
            "arn:aws:sts::111122223333:assumed-role/R",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::1111:user/a",
        ] {
            assert_eq!(parse_aws_principal(bad), None, "{bad}");
        }
        assert!(matches!(
            parse_aws_principal("AROAEXAMPLEID12345678"),
            Some(AwsPrincipal::UniqueId(_))
        ));
    }

    #[test]
    fn resource_formats() {
        assert_eq!(resource_format_error("*"), None);
        assert_eq!(resource_format_error("arn:aws:s3:::b"), None);
        assert_eq!(resource_format_error("arn:aws:fdsasf"), None);
        assert_eq!(
            resource_format_error("a:bsdfdsafsad").as_deref(),
            Some(
                "Partition \"bsdfdsafsad\" is not valid for resource \"arn:bsdfdsafsad:*:*:*:*\"."
            )
        );
        assert_eq!(
            resource_format_error("a:b:cadfsdf").as_deref(),
            Some("Partition \"b\" is not valid for resource \"arn:b:cadfsdf:*:*:*\".")
        );
        assert_eq!(
            resource_format_error("a:b:c:d:e:f:g:h").as_deref(),
            Some("Partition \"b\" is not valid for resource \"arn:b:c:d:e:f:g:h\".")
        );
        assert_eq!(
            resource_format_error("aws:s3:::example_bucket").as_deref(),
            Some("Partition \"s3\" is not valid for resource \"arn:s3:::example_bucket:*\".")
        );
        assert_eq!(
            resource_format_error("arn:aws").as_deref(),
            Some("Resource vendor must be fully qualified and cannot contain regexes.")
        );
        assert_eq!(resource_format_error("arn:aws:iam:::user/x"), None);
        assert!(resource_format_error("arn:aws:iam:::example_bucket").is_some());
        assert!(legacy_resource_ok("arn:aws:fdsasf"));
        assert!(!legacy_resource_ok("arn:aws:s3::example_bucket"));
        assert!(!legacy_resource_ok("arn:aws::::example_bucket"));
        assert!(!legacy_resource_ok("arn:aws::fdsasf"));
    }

    #[test]
    fn action_formats() {
        assert_eq!(action_format_error("*"), None);
        assert_eq!(action_format_error("s3:Get*"), None);
        assert_eq!(action_format_error("iam: asdf safdsf af "), None);
        assert_eq!(
            action_format_error("invalid").as_deref(),
            Some(MSG_ACTION_VENDOR)
        );
        assert_eq!(action_format_error("").as_deref(), Some(MSG_ACTION_VENDOR));
        assert_eq!(
            action_format_error("s3:List:Bucket").as_deref(),
            Some(MSG_ACTION_COLON)
        );
        assert_eq!(
            action_format_error("a a:ListBucket").as_deref(),
            Some("Vendor a a is not valid")
        );
    }
}
