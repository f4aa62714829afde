//! IAM's account-wide operations on the wire: the credential report (base64 CSV), the
//! account's properties, and the answers of an account outside any organization, without
//! outbound web identity federation, delegation requests or role templates.

use base64::Engine;
use berth_control::iam::{self as op, *};

use super::{date, decode};
use crate::error::WireError;
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

/// The operations of this module; `None` for any other.
pub(super) fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    p: &QueryParams,
) -> Option<Result<String, WireError>> {
    Some(match action {
        "GenerateCredentialReport" => call(p, |i| op::generate_credential_report(ctx, i)),
        "GetCredentialReport" => call(p, |i| op::get_credential_report(ctx, i)),
        "GetAccountProperties" => call(p, |i| op::get_account_properties(ctx, i)),
        "ListOrganizationsFeatures" => call(p, |i| op::list_organizations_features(ctx, i)),
        "EnableOrganizationsRootCredentialsManagement" => call(p, |i| {
            op::enable_organizations_root_credentials_management(ctx, i)
        }),
        "DisableOrganizationsRootCredentialsManagement" => call(p, |i| {
            op::disable_organizations_root_credentials_management(ctx, i)
        }),
        "EnableOrganizationsRootSessions" => {
            call(p, |i| op::enable_organizations_root_sessions(ctx, i))
        }
        "DisableOrganizationsRootSessions" => {
            call(p, |i| op::disable_organizations_root_sessions(ctx, i))
        }
        "GetOutboundWebIdentityFederationInfo" => {
            call(p, |i| op::get_outbound_web_identity_federation_info(ctx, i))
        }
        "DisableOutboundWebIdentityFederation" => {
            call(p, |i| op::disable_outbound_web_identity_federation(ctx, i))
        }
        "ListDelegationRequests" => call(p, |i| op::list_delegation_requests(ctx, i)),
        "GetDelegationRequest" => call(p, |i| op::get_delegation_request(ctx, i)),
        "AcceptDelegationRequest" => call(p, |i| op::accept_delegation_request(ctx, i)),
        "AssociateDelegationRequest" => call(p, |i| op::associate_delegation_request(ctx, i)),
        "RejectDelegationRequest" => call(p, |i| op::reject_delegation_request(ctx, i)),
        "SendDelegationToken" => call(p, |i| op::send_delegation_token(ctx, i)),
        "UpdateDelegationRequest" => call(p, |i| op::update_delegation_request(ctx, i)),
        "GetHumanReadableSummary" => call(p, |i| op::get_human_readable_summary(ctx, i)),
        "GetRoleTemplateVersion" => call(p, |i| op::get_role_template_version(ctx, i)),
        _ => return super::access::dispatch(ctx, action, p),
    })
}

impl FromQuery for NoInput {
    fn from_query(_: &QueryParams) -> Result<Self, WireError> {
        Ok(NoInput {})
    }
}

from_query! {
    |i| DelegationRequestIdInput {
        delegation_request_id: {
            let v = i.required_string("DelegationRequestId", "delegationRequestId", 16, 128);
            if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                i.fail("delegationRequestId", "Member must satisfy regular expression pattern: [\\w-]+");
            }
            v
        },
    }

    |i| ListDelegationRequestsInput {
        owner_id: i.string("OwnerId", "ownerId", 20, 2048),
        paging: i.paging(),
    }

    |i| GetHumanReadableSummaryInput {
        entity_arn: {
            let arn = i.required_arn("EntityArn", "entityArn");
            i.string("Locale", "locale", 2, 12);
            arn
        },
    }

    |i| GetRoleTemplateVersionInput {
        template_arn: {
            let arn = i.required_arn("TemplateArn", "templateArn");
            i.int("MinorVersion", "minorVersion", i64::MIN, i64::MAX);
            arn
        },
    }
}

impl ToXml for GenerateCredentialReportOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "State", self.state);
        element(out, "Description", self.description);
    }
}

impl ToXml for GetCredentialReportOutput {
    fn to_xml(&self, out: &mut String) {
        let content = base64::engine::general_purpose::STANDARD.encode(&self.report.csv);
        element(out, "Content", &content);
        element(out, "ReportFormat", "text/csv");
        date(out, "GeneratedTime", self.report.generated_at);
    }
}

impl ToXml for GetAccountPropertiesOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<Properties>");
        for (k, v) in &self.properties {
            out.push_str("<entry>");
            element(out, "key", k);
            element(out, "value", v);
            out.push_str("</entry>");
        }
        out.push_str("</Properties>");
    }
}

impl ToXml for ListDelegationRequestsOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<DelegationRequests/>");
        element(out, "isTruncated", "false");
    }
}
