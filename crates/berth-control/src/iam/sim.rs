//! IAM's policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the context keys
//! a set of policies names (GetContextKeysForPrincipalPolicy, GetContextKeysForCustomPolicy).
//!
//! A simulation runs berth's own policy engine (`berth_policy::explain`, the engine every
//! request is authorised with) on the documents given or stored, for each action and resource,
//! and reports the decision, the statements that decided (located in their policy's text), the
//! condition keys the request lacked and what the permissions boundary said.
//!
//! What AWS does not document and berth chose: a managed policy's `SourcePolicyId` is its
//! name; documents given in the request are `PolicyInputList.N` and
//! `PermissionsBoundaryPolicyInputList.N` of type `none`, the resource policy is
//! `ResourcePolicy` of type `resource`; with `ResourceArns`, one result for each action and
//! resource, its `ResourceSpecificResults` holding that resource; a request document that does
//! not parse is `InvalidInput` with the engine's `MalformedPolicyDocument` text; at most one
//! permissions boundary document is taken. Service control policies are not simulated.

use std::sync::Arc;

use berth_iam::simulate::{SimulationSubject, SourceDocument};
use berth_policy::{
    Context, ContextValue, Decision, Mode, Policy, PolicyKind, PolicySet, Source, StatementSpan,
};

pub use berth_iam::simulate::SourceType;
pub use berth_policy::Position;

use super::{EntityKind, Page, Paging};
use crate::authz::{Check, authorize};
use crate::{Ctx, Error};

/// `ContextEntry`: a key of the simulated request with its values and their type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextEntry {
    pub context_key_name: Option<String>,
    pub context_key_values: Vec<String>,
    /// `string`, `stringList`, `numeric`, … (the model's enum); absent means `string`.
    pub context_key_type: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SimulatePrincipalPolicyInput {
    pub policy_source_arn: String,
    pub policy_input_list: Vec<String>,
    pub permissions_boundary_policy_input_list: Vec<String>,
    pub action_names: Vec<String>,
    pub resource_arns: Vec<String>,
    pub resource_policy: Option<String>,
    pub resource_owner: Option<String>,
    pub caller_arn: Option<String>,
    pub context_entries: Vec<ContextEntry>,
    pub resource_handling_option: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct SimulateCustomPolicyInput {
    pub policy_input_list: Vec<String>,
    pub permissions_boundary_policy_input_list: Vec<String>,
    pub action_names: Vec<String>,
    pub resource_arns: Vec<String>,
    pub resource_policy: Option<String>,
    pub resource_owner: Option<String>,
    pub caller_arn: Option<String>,
    pub context_entries: Vec<ContextEntry>,
    pub resource_handling_option: Option<String>,
    pub paging: Paging,
}

/// `SimulatePolicyResponse`.
#[derive(Debug, Clone)]
pub struct SimulatePolicyOutput {
    pub evaluation_results: Page<EvaluationResult>,
}

/// `PolicyEvaluationDecisionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalDecision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl EvalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }

    fn of(d: &Decision) -> EvalDecision {
        match d {
            Decision::Allowed { .. } => EvalDecision::Allowed,
            Decision::ExplicitDeny { .. } => EvalDecision::ExplicitDeny,
            Decision::ImplicitDeny { .. } => EvalDecision::ImplicitDeny,
        }
    }
}

/// `Statement`: a statement that decided, located in its policy's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    pub source_policy_id: String,
    pub source_policy_type: SourceType,
    pub start_position: Option<Position>,
    pub end_position: Option<Position>,
}

/// `EvaluationResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationResult {
    pub eval_action_name: String,
    pub eval_resource_name: String,
    pub eval_decision: EvalDecision,
    pub matched_statements: Vec<MatchedStatement>,
    pub missing_context_values: Vec<String>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, with a boundary.
    pub allowed_by_permissions_boundary: Option<bool>,
    pub resource_specific_results: Vec<ResourceSpecificResult>,
}

/// `ResourceSpecificResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpecificResult {
    pub eval_resource_name: String,
    pub eval_resource_decision: EvalDecision,
    pub matched_statements: Vec<MatchedStatement>,
    pub missing_context_values: Vec<String>,
    pub allowed_by_permissions_boundary: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct GetContextKeysForCustomPolicyInput {
    pub policy_input_list: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GetContextKeysForPrincipalPolicyInput {
    pub policy_source_arn: String,
    pub policy_input_list: Vec<String>,
}

/// `GetContextKeysForPolicyResponse`.
#[derive(Debug, Clone, Default)]
pub struct GetContextKeysForPolicyOutput {
    pub context_key_names: Vec<String>,
}

// ---------------------------------------------------------------------------------------------

/// A document of the simulation: its label, its parsed form and where its statements are.
struct Labelled {
    id: String,
    source_type: SourceType,
    policy: Arc<Policy>,
    spans: Vec<StatementSpan>,
    keys: Vec<Vec<String>>,
}

fn label(doc: SourceDocument, kind: PolicyKind, strict: bool) -> Result<Option<Labelled>, Error> {
    match berth_policy::parse(&doc.document, kind) {
        Ok(p) => Ok(Some(Labelled {
            spans: berth_policy::statement_spans(&doc.document),
            keys: berth_policy::statement_condition_keys(&doc.document),
            id: doc.id,
            source_type: doc.source_type,
            policy: Arc::new(p),
        })),
        Err(e) if strict => Err(Error::InvalidInput(e.message().to_string())),
        // A stored document that no longer parses counts as absent, as in authorisation.
        Err(_) => Ok(None),
    }
}

fn given(list: &[String], name: &str) -> Vec<SourceDocument> {
    list.iter()
        .enumerate()
        .map(|(i, d)| SourceDocument {
            id: format!("{name}.{}", i + 1),
            source_type: SourceType::None,
            document: d.clone(),
        })
        .collect()
}

/// What one simulation evaluates.
struct Simulation {
    identity: Vec<Labelled>,
    boundary: Option<Labelled>,
    resource: Option<Labelled>,
    principal: berth_policy::Principal,
    context: Context,
    default_owner: String,
}

impl Simulation {
    fn statement(&self, source: Source, index: usize) -> Option<&Labelled> {
        match source {
            Source::Identity(i) => self.identity.get(i),
            Source::Resource => self.resource.as_ref(),
            Source::Boundary => self.boundary.as_ref(),
            Source::Session => None,
        }
        .filter(|l| index < l.policy.statements().len())
    }

    fn run(&self, action: &str, resource: &str) -> ResourceSpecificResult {
        let owner = berth_core::Arn::parse(resource)
            .ok()
            .map(|a| a.account)
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| self.default_owner.clone());
        let identity: Vec<&Policy> = self.identity.iter().map(|l| l.policy.as_ref()).collect();
        let set = PolicySet {
            identity: &identity,
            resource: self.resource.as_ref().map(|l| l.policy.as_ref()),
            boundary: self.boundary.as_ref().map(|l| l.policy.as_ref()),
            session: None,
        };
        let request = berth_policy::Request {
            principal: &self.principal,
            action,
            resource,
            resource_account: Some(&owner),
            context: &self.context,
        };
        let e = berth_policy::explain(&request, &set, Mode::Standard);
        let matched_statements = e
            .matched
            .iter()
            .filter_map(|at| {
                let l = self.statement(at.source, at.index)?;
                let span = l.spans.get(at.index);
                Some(MatchedStatement {
                    source_policy_id: l.id.clone(),
                    source_policy_type: l.source_type,
                    start_position: span.map(|s| s.start),
                    end_position: span.map(|s| s.end),
                })
            })
            .collect();
        let mut missing_context_values: Vec<String> = Vec::new();
        for (at, key) in &e.missing {
            let written = self
                .statement(at.source, at.index)
                .and_then(|l| l.keys.get(at.index))
                .and_then(|keys| keys.iter().find(|k| k.eq_ignore_ascii_case(key)))
                .cloned()
                .unwrap_or_else(|| key.clone());
            if !missing_context_values
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&written))
            {
                missing_context_values.push(written);
            }
        }
        ResourceSpecificResult {
            eval_resource_name: resource.to_string(),
            eval_resource_decision: EvalDecision::of(&e.decision),
            matched_statements,
            missing_context_values,
            allowed_by_permissions_boundary: e.boundary_allows,
        }
    }
}

/// At most 64 characters of what a caller sent, for a message.
fn short(v: &str) -> String {
    v.chars().take(64).collect()
}

/// The request's context keys, their values checked against their declared type.
fn context_of(entries: &[ContextEntry]) -> Result<Context, Error> {
    let mut c = Context::with_capacity(entries.len());
    for e in entries {
        let Some(name) = e.context_key_name.as_deref() else {
            continue;
        };
        let kind = e.context_key_type.as_deref().unwrap_or("string");
        let base = kind.strip_suffix("List").unwrap_or(kind);
        let mut values = Vec::with_capacity(e.context_key_values.len());
        for v in &e.context_key_values {
            let ok = match base {
                "numeric" => v.trim().parse::<f64>().is_ok(),
                "boolean" => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
                "ip" => v.parse::<std::net::IpAddr>().is_ok() || v.contains('/'),
                "date" => berth_core::time::parse_policy_date(v).is_some(),
                _ => true,
            };
            if !ok {
                // AWS's wording for a value of the wrong type is not known.
                return Err(Error::InvalidInput(format!(
                    "context key {name} has a value that is not of type {kind}: {}",
                    short(v)
                )));
            }
            values.push(if base == "binary" {
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(v) {
                    Ok(bytes) => ContextValue::Binary(bytes),
                    Err(_) => {
                        return Err(Error::InvalidInput(format!(
                            "context key {name} has a value that is not base64"
                        )));
                    }
                }
            } else {
                ContextValue::String(v.clone())
            });
        }
        c.insert_multi(name, values);
    }
    Ok(c)
}

/// A user, group or role ARN of the caller's account: its kind and name.
fn entity_of(ctx: &Ctx<'_>, arn: &str) -> Result<(EntityKind, String), Error> {
    let invalid = || Error::InvalidInput(format!("Invalid ARN: {}", short(arn)));
    let parsed = berth_core::Arn::parse(arn).map_err(|_| invalid())?;
    if parsed.service != "iam" || !parsed.region.is_empty() {
        return Err(invalid());
    }
    let (kind, rest) = if let Some(r) = parsed.resource.strip_prefix("user/") {
        (EntityKind::User, r)
    } else if let Some(r) = parsed.resource.strip_prefix("role/") {
        (EntityKind::Role, r)
    } else if let Some(r) = parsed.resource.strip_prefix("group/") {
        (EntityKind::Group, r)
    } else {
        return Err(invalid());
    };
    let name = rest.rsplit('/').next().unwrap_or(rest).to_string();
    if name.is_empty() {
        return Err(invalid());
    }
    if parsed.account != ctx.account() {
        // Entities of other accounts are not visible.
        return Err(not_found(kind, &name));
    }
    Ok((kind, name))
}

fn not_found(kind: EntityKind, name: &str) -> Error {
    let name = name.to_string();
    Error::Iam(match kind {
        EntityKind::User => berth_iam::IamError::NoSuchUser(name),
        EntityKind::Role => berth_iam::IamError::NoSuchRole(name),
        EntityKind::Group => berth_iam::IamError::NoSuchGroup(name),
    })
}

/// The entity's stored documents; an ARN whose path is not the entity's is not found.
fn subject(ctx: &Ctx<'_>, arn: &str) -> Result<(EntityKind, SimulationSubject), Error> {
    let (kind, name) = entity_of(ctx, arn)?;
    let s = ctx
        .control
        .iam()
        .simulation_subject(ctx.account(), kind, &name)?;
    if s.arn != arn {
        return Err(not_found(kind, &name));
    }
    Ok((kind, s))
}

/// The simulated caller given as `CallerArn`: an IAM user's ARN.
fn caller_principal(arn: &str) -> Result<berth_policy::Principal, Error> {
    match berth_policy::Principal::from_arn(arn) {
        Some(p) if p.kind == berth_policy::PrincipalKind::User => Ok(p),
        // AWS's wording is not known; it accepts only a user's ARN here.
        _ => Err(Error::InvalidInput(format!(
            "CallerArn must be the ARN of an IAM user: {}",
            short(arn)
        ))),
    }
}

/// The account `ResourceOwner` names (an account id or `arn:aws:iam::ACCOUNT:root`).
fn owner_account(owner: &str) -> String {
    match berth_core::Arn::parse(owner) {
        Ok(a) if !a.account.is_empty() => a.account,
        _ => owner.to_string(),
    }
}

struct Common<'a> {
    boundary_list: &'a [String],
    action_names: &'a [String],
    resource_arns: &'a [String],
    resource_policy: Option<&'a str>,
    resource_owner: Option<&'a str>,
    context_entries: &'a [ContextEntry],
    paging: &'a Paging,
}

fn simulate(
    identity: Vec<Labelled>,
    stored_boundary: Option<Labelled>,
    principal: berth_policy::Principal,
    account: &str,
    c: Common<'_>,
) -> Result<SimulatePolicyOutput, Error> {
    if c.boundary_list.len() > 1 {
        return Err(Error::InvalidInput(
            "only one permissions boundary policy can be simulated".into(),
        ));
    }
    let boundary = match given(c.boundary_list, "PermissionsBoundaryPolicyInputList")
        .into_iter()
        .next()
    {
        Some(doc) => label(doc, PolicyKind::Boundary, true)?,
        None => stored_boundary,
    };
    let resource = match c.resource_policy {
        Some(doc) => label(
            SourceDocument {
                id: "ResourcePolicy".into(),
                source_type: SourceType::Resource,
                document: doc.to_string(),
            },
            PolicyKind::Resource,
            true,
        )?,
        None => None,
    };
    let sim = Simulation {
        identity,
        boundary,
        resource,
        principal,
        context: context_of(c.context_entries)?,
        default_owner: c
            .resource_owner
            .map(owner_account)
            .unwrap_or_else(|| account.to_string()),
    };
    let mut results = Vec::new();
    for action in c.action_names {
        if c.resource_arns.is_empty() {
            let r = sim.run(action, "*");
            results.push(EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: r.eval_resource_name,
                eval_decision: r.eval_resource_decision,
                matched_statements: r.matched_statements,
                missing_context_values: r.missing_context_values,
                allowed_by_permissions_boundary: r.allowed_by_permissions_boundary,
                resource_specific_results: Vec::new(),
            });
            continue;
        }
        for resource in c.resource_arns {
            let r = sim.run(action, resource);
            results.push(EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: r.eval_resource_name.clone(),
                eval_decision: r.eval_resource_decision,
                matched_statements: r.matched_statements.clone(),
                missing_context_values: r.missing_context_values.clone(),
                allowed_by_permissions_boundary: r.allowed_by_permissions_boundary,
                resource_specific_results: vec![r],
            });
        }
    }
    Ok(SimulatePolicyOutput {
        evaluation_results: berth_iam::page_of(results, c.paging.options()),
    })
}

/// The most evaluation results one simulation computes (actions × resources); AWS's own limit
/// is not documented.
const MAX_EVALUATIONS: usize = 10_000;

fn check_size(actions: usize, resources: usize) -> Result<(), Error> {
    if actions.saturating_mul(resources.max(1)) > MAX_EVALUATIONS {
        return Err(Error::InvalidInput(format!(
            "a simulation may evaluate at most {MAX_EVALUATIONS} action and resource pairs"
        )));
    }
    Ok(())
}

pub fn simulate_principal_policy(
    ctx: &Ctx<'_>,
    input: SimulatePrincipalPolicyInput,
) -> Result<SimulatePolicyOutput, Error> {
    authorize(
        ctx,
        &Check::new("iam:SimulatePrincipalPolicy", &input.policy_source_arn),
    )?;
    check_size(input.action_names.len(), input.resource_arns.len())?;
    let (kind, s) = subject(ctx, &input.policy_source_arn)?;
    let mut identity = Vec::new();
    for doc in s.documents {
        identity.extend(label(doc, PolicyKind::Identity, false)?);
    }
    for doc in given(&input.policy_input_list, "PolicyInputList") {
        identity.extend(label(doc, PolicyKind::Identity, true)?);
    }
    let stored_boundary = match s.boundary {
        Some(b) => label(b, PolicyKind::Boundary, false)?,
        None => None,
    };
    let account = ctx.account().to_string();
    let principal = match (&input.caller_arn, kind) {
        (Some(arn), _) => caller_principal(arn)?,
        (None, EntityKind::Role) => berth_policy::Principal::assumed_role(&account, &s.arn, &s.arn),
        (None, _) => berth_policy::Principal::user(&account, &s.arn),
    };
    simulate(
        identity,
        stored_boundary,
        principal,
        &account,
        Common {
            boundary_list: &input.permissions_boundary_policy_input_list,
            action_names: &input.action_names,
            resource_arns: &input.resource_arns,
            resource_policy: input.resource_policy.as_deref(),
            resource_owner: input.resource_owner.as_deref(),
            context_entries: &input.context_entries,
            paging: &input.paging,
        },
    )
}

pub fn simulate_custom_policy(
    ctx: &Ctx<'_>,
    input: SimulateCustomPolicyInput,
) -> Result<SimulatePolicyOutput, Error> {
    authorize(ctx, &Check::new("iam:SimulateCustomPolicy", "*"))?;
    check_size(input.action_names.len(), input.resource_arns.len())?;
    let mut identity = Vec::new();
    for doc in given(&input.policy_input_list, "PolicyInputList") {
        identity.extend(label(doc, PolicyKind::Identity, true)?);
    }
    let account = ctx.account().to_string();
    let principal = match &input.caller_arn {
        Some(arn) => caller_principal(arn)?,
        // No caller named: a user of the account that no resource policy names.
        None => berth_policy::Principal::user(&account, ""),
    };
    simulate(
        identity,
        None,
        principal,
        &account,
        Common {
            boundary_list: &input.permissions_boundary_policy_input_list,
            action_names: &input.action_names,
            resource_arns: &input.resource_arns,
            resource_policy: input.resource_policy.as_deref(),
            resource_owner: input.resource_owner.as_deref(),
            context_entries: &input.context_entries,
            paging: &input.paging,
        },
    )
}

/// The condition keys of `docs`, each once (case-insensitively), in document order.
fn context_keys<'a>(
    docs: impl IntoIterator<Item = &'a str>,
    strict: bool,
) -> Result<Vec<String>, Error> {
    let mut keys: Vec<String> = Vec::new();
    for doc in docs {
        if let Err(e) = berth_policy::parse(doc, PolicyKind::Identity) {
            if strict {
                return Err(Error::InvalidInput(e.message().to_string()));
            }
            continue;
        }
        for k in berth_policy::statement_condition_keys(doc)
            .into_iter()
            .flatten()
        {
            if !keys.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                keys.push(k);
            }
        }
    }
    Ok(keys)
}

pub fn get_context_keys_for_custom_policy(
    ctx: &Ctx<'_>,
    input: GetContextKeysForCustomPolicyInput,
) -> Result<GetContextKeysForPolicyOutput, Error> {
    authorize(ctx, &Check::new("iam:GetContextKeysForCustomPolicy", "*"))?;
    Ok(GetContextKeysForPolicyOutput {
        context_key_names: context_keys(input.policy_input_list.iter().map(String::as_str), true)?,
    })
}

pub fn get_context_keys_for_principal_policy(
    ctx: &Ctx<'_>,
    input: GetContextKeysForPrincipalPolicyInput,
) -> Result<GetContextKeysForPolicyOutput, Error> {
    authorize(
        ctx,
        &Check::new(
            "iam:GetContextKeysForPrincipalPolicy",
            &input.policy_source_arn,
        ),
    )?;
    context_keys(input.policy_input_list.iter().map(String::as_str), true)?;
    let (_, s) = subject(ctx, &input.policy_source_arn)?;
    let stored = s
        .documents
        .iter()
        .chain(s.boundary.as_ref())
        .map(|d| d.document.as_str());
    let given = input.policy_input_list.iter().map(String::as_str);
    Ok(GetContextKeysForPolicyOutput {
        context_key_names: context_keys(stored.chain(given), false)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use berth_iam::{NewUser, Principal};

    use super::*;
    use crate::testing::caller;

    const A: &str = "111122223333";

    fn allow(action: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
        )
    }

    #[test]
    fn a_users_groups_take_part_and_cross_account_needs_the_resource_policy() {
        let control = crate::testing::control();
        let iam = control.iam();
        iam.create_user(A, NewUser::named("ann"), 0).unwrap();
        iam.create_group(A, "ops", None, 0).unwrap();
        iam.add_user_to_group(A, "ops", "ann").unwrap();
        iam.put_inline_policy(EntityKind::Group, A, "ops", "g", &allow("s3:*"))
            .unwrap();
        let root = caller(Principal::Root { account: A.into() });
        let ctx = control.ctx(&root, "r");
        let run = |resource_owner: Option<&str>| {
            simulate_principal_policy(
                &ctx,
                SimulatePrincipalPolicyInput {
                    policy_source_arn: format!("arn:aws:iam::{A}:user/ann"),
                    action_names: vec!["s3:GetObject".into(), "ec2:RunInstances".into()],
                    resource_arns: vec!["arn:aws:s3:::b/k".into()],
                    resource_owner: resource_owner.map(str::to_string),
                    ..Default::default()
                },
            )
            .unwrap()
            .evaluation_results
            .items
        };
        let r = run(None);
        assert_eq!(r[0].eval_decision, EvalDecision::Allowed);
        assert_eq!(
            r[0].matched_statements
                .iter()
                .map(|m| (m.source_policy_id.as_str(), m.source_policy_type))
                .collect::<Vec<_>>(),
            [("g", SourceType::Group)]
        );
        assert_eq!(
            r[0].matched_statements[0].start_position,
            Some(Position {
                line: 1,
                column: 39
            })
        );
        assert_eq!(r[1].eval_decision, EvalDecision::ImplicitDeny);
        assert_eq!(r[0].resource_specific_results.len(), 1);
        // A bucket of another account, with no bucket policy: denied.
        let r = run(Some("444455556666"));
        assert_eq!(r[0].eval_decision, EvalDecision::ImplicitDeny);

        let e = simulate_principal_policy(
            &ctx,
            SimulatePrincipalPolicyInput {
                policy_source_arn: format!("arn:aws:iam::{A}:policy/nope"),
                action_names: vec!["s3:GetObject".into()],
                ..Default::default()
            },
        )
        .err();
        assert!(matches!(e, Some(Error::InvalidInput(_))), "{e:?}");
        let e = get_context_keys_for_principal_policy(
            &ctx,
            GetContextKeysForPrincipalPolicyInput {
                policy_source_arn: format!("arn:aws:iam::{A}:user/nobody"),
                policy_input_list: Vec::new(),
            },
        )
        .err();
        assert!(
            matches!(&e, Some(Error::Iam(berth_iam::IamError::NoSuchUser(n))) if n == "nobody"),
            "{e:?}"
        );
    }
}
