//! IAM's policy simulator on the Query protocol: SimulatePrincipalPolicy, SimulateCustomPolicy,
//! GetContextKeysForPrincipalPolicy, GetContextKeysForCustomPolicy.

use berth_control::iam::{
    self as op, ContextEntry, EvaluationResult, GetContextKeysForCustomPolicyInput,
    GetContextKeysForPolicyOutput, GetContextKeysForPrincipalPolicyInput, MatchedStatement,
    Position, ResourceSpecificResult, SimulateCustomPolicyInput, SimulatePolicyOutput,
    SimulatePrincipalPolicyInput,
};

use super::{Input, POLICY_DOCUMENT_MAX, POLICY_DOCUMENT_PATTERN, decode, page_xml};
use crate::error::WireError;
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

/// The simulator's operations; `None` for any other.
pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    let p = params;
    Some(match action {
        "SimulatePrincipalPolicy" => call(p, |i| op::simulate_principal_policy(ctx, i)),
        "SimulateCustomPolicy" => call(p, |i| op::simulate_custom_policy(ctx, i)),
        "GetContextKeysForCustomPolicy" => {
            call(p, |i| op::get_context_keys_for_custom_policy(ctx, i))
        }
        "GetContextKeysForPrincipalPolicy" => {
            call(p, |i| op::get_context_keys_for_principal_policy(ctx, i))
        }
        _ => return None,
    })
}

/// The `ContextKeyTypeEnum` values.
const CONTEXT_KEY_TYPES: &[&str] = &[
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
];

impl Input<'_> {
    /// A list of policy documents (`SimulationPolicyListType`), each checked as
    /// `policyDocumentType`.
    fn documents(&mut self, name: &str, member: &str, required: bool) -> Vec<String> {
        let docs: Vec<String> = self
            .params
            .list(name)
            .into_iter()
            .map(str::to_string)
            .collect();
        if required && docs.is_empty() && self.opt(name).is_none() {
            self.required(name, member);
        }
        for (n, d) in docs.iter().enumerate() {
            let m = format!("{member}.{}.member", n + 1);
            self.length(&m, d, 1, POLICY_DOCUMENT_MAX);
            if !d
                .chars()
                .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
            {
                self.fail(
                    &m,
                    &format!(
                        "Member must satisfy regular expression pattern: {POLICY_DOCUMENT_PATTERN}"
                    ),
                );
            }
        }
        docs
    }

    /// A list of strings, each with length bounds.
    fn strings(
        &mut self,
        name: &str,
        member: &str,
        min: usize,
        max: usize,
        required: bool,
    ) -> Vec<String> {
        let items: Vec<String> = self
            .params
            .list(name)
            .into_iter()
            .map(str::to_string)
            .collect();
        if required && items.is_empty() && self.opt(name).is_none() {
            self.required(name, member);
        }
        for (n, v) in items.iter().enumerate() {
            self.length(&format!("{member}.{}.member", n + 1), v, min, max);
        }
        items
    }

    /// `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}`.
    fn context_entries(&mut self) -> Vec<ContextEntry> {
        let count = self.params.members("ContextEntries").len();
        let mut entries = Vec::with_capacity(count);
        for n in 1..=count {
            let head = format!("ContextEntries.member.{n}");
            let name = self.opt(&format!("{head}.ContextKeyName"));
            if let Some(k) = name {
                self.length(
                    &format!("contextEntries.{n}.member.contextKeyName"),
                    k,
                    5,
                    256,
                );
            }
            let key_type = self.opt(&format!("{head}.ContextKeyType"));
            if key_type.is_some_and(|t| !CONTEXT_KEY_TYPES.contains(&t)) {
                self.fail(
                    &format!("contextEntries.{n}.member.contextKeyType"),
                    "Member must satisfy enum value set",
                );
            }
            let values = self
                .params
                .list(&format!("{head}.ContextKeyValues"))
                .into_iter()
                .map(str::to_string)
                .collect();
            entries.push(ContextEntry {
                context_key_name: name.map(str::to_string),
                context_key_values: values,
                context_key_type: key_type.map(str::to_string),
            });
        }
        entries
    }

    fn resource_name(&mut self, name: &str, member: &str) -> Option<String> {
        self.string(name, member, 1, 2048)
    }
}

impl FromQuery for SimulatePrincipalPolicyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| SimulatePrincipalPolicyInput {
            policy_source_arn: i.required_arn("PolicySourceArn", "policySourceArn"),
            policy_input_list: i.documents("PolicyInputList", "policyInputList", false),
            permissions_boundary_policy_input_list: i.documents(
                "PermissionsBoundaryPolicyInputList",
                "permissionsBoundaryPolicyInputList",
                false,
            ),
            action_names: i.strings("ActionNames", "actionNames", 3, 128, true),
            resource_arns: i.strings("ResourceArns", "resourceArns", 1, 2048, false),
            resource_policy: i
                .opt("ResourcePolicy")
                .is_some()
                .then(|| i.document("ResourcePolicy", "resourcePolicy")),
            resource_owner: i.resource_name("ResourceOwner", "resourceOwner"),
            caller_arn: i.resource_name("CallerArn", "callerArn"),
            context_entries: i.context_entries(),
            resource_handling_option: i.string(
                "ResourceHandlingOption",
                "resourceHandlingOption",
                1,
                64,
            ),
            paging: i.paging(),
        })
    }
}

impl FromQuery for SimulateCustomPolicyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| SimulateCustomPolicyInput {
            policy_input_list: i.documents("PolicyInputList", "policyInputList", true),
            permissions_boundary_policy_input_list: i.documents(
                "PermissionsBoundaryPolicyInputList",
                "permissionsBoundaryPolicyInputList",
                false,
            ),
            action_names: i.strings("ActionNames", "actionNames", 3, 128, true),
            resource_arns: i.strings("ResourceArns", "resourceArns", 1, 2048, false),
            resource_policy: i
                .opt("ResourcePolicy")
                .is_some()
                .then(|| i.document("ResourcePolicy", "resourcePolicy")),
            resource_owner: i.resource_name("ResourceOwner", "resourceOwner"),
            caller_arn: i.resource_name("CallerArn", "callerArn"),
            context_entries: i.context_entries(),
            resource_handling_option: i.string(
                "ResourceHandlingOption",
                "resourceHandlingOption",
                1,
                64,
            ),
            paging: i.paging(),
        })
    }
}

impl FromQuery for GetContextKeysForCustomPolicyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetContextKeysForCustomPolicyInput {
            policy_input_list: i.documents("PolicyInputList", "policyInputList", true),
        })
    }
}

impl FromQuery for GetContextKeysForPrincipalPolicyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetContextKeysForPrincipalPolicyInput {
            policy_source_arn: i.required_arn("PolicySourceArn", "policySourceArn"),
            policy_input_list: i.documents("PolicyInputList", "policyInputList", false),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------

fn position_xml(out: &mut String, name: &str, p: Option<Position>) {
    let Some(p) = p else { return };
    out.push('<');
    out.push_str(name);
    out.push('>');
    element(out, "Line", &p.line.to_string());
    element(out, "Column", &p.column.to_string());
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn statements_xml(out: &mut String, statements: &[MatchedStatement]) {
    out.push_str("<MatchedStatements>");
    for s in statements {
        out.push_str("<member>");
        element(out, "SourcePolicyId", &s.source_policy_id);
        element(out, "SourcePolicyType", s.source_policy_type.as_str());
        position_xml(out, "StartPosition", s.start_position);
        position_xml(out, "EndPosition", s.end_position);
        out.push_str("</member>");
    }
    out.push_str("</MatchedStatements>");
}

fn keys_xml(out: &mut String, name: &str, keys: &[String]) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for k in keys {
        element(out, "member", k);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn boundary_detail_xml(out: &mut String, allowed: Option<bool>) {
    if let Some(a) = allowed {
        out.push_str("<PermissionsBoundaryDecisionDetail>");
        element(
            out,
            "AllowedByPermissionsBoundary",
            if a { "true" } else { "false" },
        );
        out.push_str("</PermissionsBoundaryDecisionDetail>");
    }
}

fn resource_result_xml(out: &mut String, r: &ResourceSpecificResult) {
    out.push_str("<member>");
    element(out, "EvalResourceName", &r.eval_resource_name);
    element(
        out,
        "EvalResourceDecision",
        r.eval_resource_decision.as_str(),
    );
    statements_xml(out, &r.matched_statements);
    keys_xml(out, "MissingContextValues", &r.missing_context_values);
    boundary_detail_xml(out, r.allowed_by_permissions_boundary);
    out.push_str("</member>");
}

fn result_xml(out: &mut String, r: &EvaluationResult) {
    out.push_str("<member>");
    element(out, "EvalActionName", &r.eval_action_name);
    element(out, "EvalResourceName", &r.eval_resource_name);
    element(out, "EvalDecision", r.eval_decision.as_str());
    statements_xml(out, &r.matched_statements);
    keys_xml(out, "MissingContextValues", &r.missing_context_values);
    boundary_detail_xml(out, r.allowed_by_permissions_boundary);
    if !r.resource_specific_results.is_empty() {
        out.push_str("<ResourceSpecificResults>");
        for rr in &r.resource_specific_results {
            resource_result_xml(out, rr);
        }
        out.push_str("</ResourceSpecificResults>");
    }
    out.push_str("</member>");
}

impl ToXml for SimulatePolicyOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "EvaluationResults",
            &self.evaluation_results,
            result_xml,
        );
    }
}

impl ToXml for GetContextKeysForPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        keys_xml(out, "ContextKeyNames", &self.context_key_names);
    }
}
