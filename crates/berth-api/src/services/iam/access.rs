//! IAM's service last accessed data on the wire: GenerateServiceLastAccessedDetails,
//! GetServiceLastAccessedDetails(+WithEntities), ListPoliciesGrantingServiceAccess.

use berth_control::iam::{
    self as op, AccessJob, GenerateServiceLastAccessedDetailsInput,
    GenerateServiceLastAccessedDetailsOutput, GetServiceLastAccessedDetailsInput,
    GetServiceLastAccessedDetailsOutput, GetServiceLastAccessedDetailsWithEntitiesInput,
    GetServiceLastAccessedDetailsWithEntitiesOutput, ListPoliciesGrantingServiceAccessInput,
    ListPoliciesGrantingServiceAccessOutput,
};
use berth_control::iam::{
    AcquireRoleInput, CreateDelegationRequestInput, GenerateOrganizationsAccessReportInput,
    GetOrganizationsAccessReportInput, PutAccountPropertiesInput,
    SetSecurityTokenServicePreferencesInput, UpdateOpenIdConnectProviderInput,
};

use super::{Input, date, decode};
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
        "GenerateServiceLastAccessedDetails" => {
            call(p, |i| op::generate_service_last_accessed_details(ctx, i))
        }
        "GetServiceLastAccessedDetails" => {
            call(p, |i| op::get_service_last_accessed_details(ctx, i))
        }
        "GetServiceLastAccessedDetailsWithEntities" => call(p, |i| {
            op::get_service_last_accessed_details_with_entities(ctx, i)
        }),
        "ListPoliciesGrantingServiceAccess" => {
            call(p, |i| op::list_policies_granting_service_access(ctx, i))
        }
        "SetSecurityTokenServicePreferences" => {
            call(p, |i| op::set_security_token_service_preferences(ctx, i))
        }
        "GenerateOrganizationsAccessReport" => {
            call(p, |i| op::generate_organizations_access_report(ctx, i))
        }
        "GetOrganizationsAccessReport" => call(p, |i| op::get_organizations_access_report(ctx, i)),
        "PutAccountProperties" => call(p, |i| op::put_account_properties(ctx, i)),
        "EnableOutboundWebIdentityFederation" => {
            call(p, |i| op::enable_outbound_web_identity_federation(ctx, i))
        }
        "AcquireRole" => call(p, |i| op::acquire_role(ctx, i)),
        "CreateDelegationRequest" => call(p, |i| op::create_delegation_request(ctx, i)),
        "UpdateOpenIDConnectProvider" => call(p, |i| op::update_open_id_connect_provider(ctx, i)),
        _ => return None,
    })
}

impl Input<'_> {
    /// `JobId`: 36 characters.
    fn job_id(&mut self) -> String {
        self.required_string("JobId", "jobId", 36, 36)
    }

    /// A `serviceNamespaceType` value at `member`.
    fn namespace(&mut self, member: &str, v: &str) {
        self.length(member, v, 1, 64);
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.fail(
                member,
                "Member must satisfy regular expression pattern: [\\w-]*",
            );
        }
    }
}

impl FromQuery for GenerateServiceLastAccessedDetailsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GenerateServiceLastAccessedDetailsInput {
            arn: i.required_arn("Arn", "arn"),
            action_level: i.one_of(
                "Granularity",
                "granularity",
                &["SERVICE_LEVEL", "ACTION_LEVEL"],
            ) == Some("ACTION_LEVEL"),
        })
    }
}

impl FromQuery for GetServiceLastAccessedDetailsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetServiceLastAccessedDetailsInput {
            job_id: i.job_id(),
            paging: i.paging(),
        })
    }
}

impl FromQuery for GetServiceLastAccessedDetailsWithEntitiesInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetServiceLastAccessedDetailsWithEntitiesInput {
            job_id: i.job_id(),
            service_namespace: {
                let ns = i.required_string("ServiceNamespace", "serviceNamespace", 1, 64);
                i.namespace("serviceNamespace", &ns);
                ns
            },
            paging: i.paging(),
        })
    }
}

impl FromQuery for ListPoliciesGrantingServiceAccessInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| ListPoliciesGrantingServiceAccessInput {
            marker: i.paging().marker,
            arn: i.required_arn("Arn", "arn"),
            service_namespaces: {
                let list: Vec<String> = i
                    .params
                    .list("ServiceNamespaces")
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if list.is_empty() {
                    i.required("ServiceNamespaces", "serviceNamespaces");
                } else if list.len() > 200 {
                    i.fail(
                        "serviceNamespaces",
                        "Member must have length less than or equal to 200",
                    );
                }
                for (n, ns) in list.iter().enumerate().take(200) {
                    i.namespace(&format!("serviceNamespaces.{}.member", n + 1), ns);
                }
                list
            },
        })
    }
}

impl Input<'_> {
    /// A required member checked against the model's pattern: `ok` says whether it matches.
    fn matching(&mut self, name: &str, member: &str, pattern: &str, ok: impl Fn(&str) -> bool) {
        if let Some(v) = self.opt(name)
            && !ok(v)
        {
            self.fail(
                member,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }
}

/// `[a-z0-9]` characters, `min` to `max` of them.
fn lower_alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `^o-[0-9a-z]{10,32}\/r-[0-9a-z]{4,32}[0-9a-z-\/]*`
fn organizations_entity_path(v: &str) -> bool {
    let Some(rest) = v.strip_prefix("o-") else {
        return false;
    };
    let Some((org, rest)) = rest.split_once("/r-") else {
        return false;
    };
    let root_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    lower_alnum(org, 10, 32)
        && root_len >= 4
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'/')
}

impl FromQuery for SetSecurityTokenServicePreferencesInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| SetSecurityTokenServicePreferencesInput {
            global_endpoint_token_version: {
                let v = i.required("GlobalEndpointTokenVersion", "globalEndpointTokenVersion");
                i.one_of(
                    "GlobalEndpointTokenVersion",
                    "globalEndpointTokenVersion",
                    &["v1Token", "v2Token"],
                );
                v.to_string()
            },
        })
    }
}

impl FromQuery for GenerateOrganizationsAccessReportInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GenerateOrganizationsAccessReportInput {
            entity_path: {
                let v = i.required_string("EntityPath", "entityPath", 19, 427);
                i.matching(
                    "EntityPath",
                    "entityPath",
                    "^o-[0-9a-z]{10,32}\\/r-[0-9a-z]{4,32}[0-9a-z-\\/]*",
                    organizations_entity_path,
                );
                i.matching(
                    "OrganizationsPolicyId",
                    "organizationsPolicyId",
                    "^p-[0-9a-zA-Z_]{8,128}$",
                    |v| {
                        v.strip_prefix("p-").is_some_and(|r| {
                            (8..=128).contains(&r.len())
                                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        })
                    },
                );
                v
            },
        })
    }
}

impl FromQuery for GetOrganizationsAccessReportInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetOrganizationsAccessReportInput {
            job_id: {
                let id = i.job_id();
                i.paging();
                i.one_of(
                    "SortKey",
                    "sortKey",
                    &[
                        "SERVICE_NAMESPACE_ASCENDING",
                        "SERVICE_NAMESPACE_DESCENDING",
                        "LAST_AUTHENTICATED_TIME_ASCENDING",
                        "LAST_AUTHENTICATED_TIME_DESCENDING",
                    ],
                );
                id
            },
        })
    }
}

/// The most entries of a Query map berth reads (the model gives `accountPropertiesMapType` no
/// bound).
const MAX_MAP_ENTRIES: usize = 100;

impl FromQuery for PutAccountPropertiesInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| PutAccountPropertiesInput {
            properties: {
                let mut props = Vec::new();
                for n in 1..=MAX_MAP_ENTRIES {
                    let Some(key) = i.opt(&format!("Properties.entry.{n}.key")) else {
                        break;
                    };
                    let value = i.opt(&format!("Properties.entry.{n}.value")).unwrap_or("");
                    i.length("properties.key", key, 1, 50);
                    let mut chars = key.bytes();
                    let ok = chars.next().is_some_and(|b| b.is_ascii_alphabetic())
                        && chars.all(|b| {
                            b.is_ascii_alphanumeric() || b == b'/' || b == b'_' || b == b'-'
                        });
                    if !ok {
                        i.fail(
                            "properties.key",
                            "Member must satisfy regular expression pattern: ^[A-Za-z][A-Za-z0-9/_-]*$",
                        );
                    }
                    i.length("properties.value", value, 1, 1024);
                    props.push((key.to_string(), value.to_string()));
                }
                if props.is_empty() {
                    i.required("Properties", "properties");
                }
                props
            },
        })
    }
}

impl FromQuery for AcquireRoleInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| AcquireRoleInput {
            template_arn: {
                let arn = i.required_arn("TemplateArn", "templateArn");
                i.int(
                    "TemplateMinorVersion",
                    "templateMinorVersion",
                    i64::MIN,
                    i64::MAX,
                );
                arn
            },
        })
    }
}

impl FromQuery for CreateDelegationRequestInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| CreateDelegationRequestInput {
            owner_account_id: {
                let owner = i.opt("OwnerAccountId").map(str::to_string);
                i.matching("OwnerAccountId", "ownerAccountId", "\\d{12}", |v| {
                    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
                });
                i.required_string("Description", "description", 0, 1000);
                i.string("RequestMessage", "requestMessage", 0, 200);
                i.required_string("RequestorWorkflowId", "requestorWorkflowId", 5, 400);
                i.string("RedirectUrl", "redirectUrl", 1, 255);
                i.required_string("NotificationChannel", "notificationChannel", 2, 400);
                i.required("SessionDuration", "sessionDuration");
                i.int("SessionDuration", "sessionDuration", 300, 43200);
                owner
            },
        })
    }
}

impl FromQuery for UpdateOpenIdConnectProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| UpdateOpenIdConnectProviderInput {
            open_id_connect_provider_arn: i
                .required_arn("OpenIDConnectProviderArn", "openIDConnectProviderArn"),
            context_provider: i.opt("ContextProvider.SubjectSourceKey").is_some(),
            identity_center_instance_arn: i.string(
                "IdentityCenterInstanceArn",
                "identityCenterInstanceArn",
                1,
                1224,
            ),
            remove_context_provider: i.boolean("RemoveContextProvider"),
            remove_identity_center_instance: i.boolean("RemoveIdentityCenterInstance"),
        })
    }
}

impl ToXml for GenerateServiceLastAccessedDetailsOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "JobId", &self.job_id);
    }
}

/// The members every Get answer of a job starts with.
fn job_head(out: &mut String, job: &AccessJob) {
    element(out, "JobStatus", "COMPLETED");
    date(out, "JobCreationDate", job.created);
    date(out, "JobCompletionDate", job.created);
}

fn marker_xml(out: &mut String, marker: Option<&String>) {
    element(
        out,
        "IsTruncated",
        if marker.is_some() { "true" } else { "false" },
    );
    if let Some(m) = marker {
        element(out, "Marker", m);
    }
}

impl ToXml for GetServiceLastAccessedDetailsOutput {
    fn to_xml(&self, out: &mut String) {
        job_head(out, &self.job);
        element(
            out,
            "JobType",
            if self.job.action_level {
                "ACTION_LEVEL"
            } else {
                "SERVICE_LEVEL"
            },
        );
        out.push_str("<ServicesLastAccessed>");
        for s in &self.services {
            out.push_str("<member>");
            element(out, "ServiceName", &s.name);
            element(out, "ServiceNamespace", &s.namespace);
            if let Some(l) = &s.last {
                date(out, "LastAuthenticated", l.time);
                element(out, "LastAuthenticatedEntity", &l.entity_arn);
                element(out, "LastAuthenticatedRegion", &l.region);
            }
            element(
                out,
                "TotalAuthenticatedEntities",
                &s.total_entities.to_string(),
            );
            if self.job.action_level && !s.actions.is_empty() {
                out.push_str("<TrackedActionsLastAccessed>");
                for a in &s.actions {
                    out.push_str("<member>");
                    element(out, "ActionName", &a.name);
                    element(out, "LastAccessedEntity", &a.last.entity_arn);
                    date(out, "LastAccessedTime", a.last.time);
                    element(out, "LastAccessedRegion", &a.last.region);
                    out.push_str("</member>");
                }
                out.push_str("</TrackedActionsLastAccessed>");
            }
            out.push_str("</member>");
        }
        out.push_str("</ServicesLastAccessed>");
        marker_xml(out, self.marker.as_ref());
    }
}

impl ToXml for GetServiceLastAccessedDetailsWithEntitiesOutput {
    fn to_xml(&self, out: &mut String) {
        job_head(out, &self.job);
        out.push_str("<EntityDetailsList>");
        for (e, last) in &self.entities {
            out.push_str("<member><EntityInfo>");
            element(out, "Arn", &e.arn);
            element(out, "Name", &e.name);
            element(out, "Type", &e.kind);
            element(out, "Id", &e.id);
            element(out, "Path", &e.path);
            out.push_str("</EntityInfo>");
            if let Some(t) = last {
                date(out, "LastAuthenticated", *t);
            }
            out.push_str("</member>");
        }
        out.push_str("</EntityDetailsList>");
        marker_xml(out, self.marker.as_ref());
    }
}

impl ToXml for ListPoliciesGrantingServiceAccessOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<PoliciesGrantingServiceAccess>");
        for entry in &self.entries {
            out.push_str("<member>");
            element(out, "ServiceNamespace", &entry.namespace);
            out.push_str("<Policies>");
            for p in &entry.policies {
                out.push_str("<member>");
                element(out, "PolicyName", &p.name);
                element(
                    out,
                    "PolicyType",
                    if p.arn.is_some() { "MANAGED" } else { "INLINE" },
                );
                if let Some(arn) = &p.arn {
                    element(out, "PolicyArn", arn);
                }
                if let Some((kind, name)) = &p.holder {
                    element(out, "EntityType", kind);
                    element(out, "EntityName", name);
                }
                out.push_str("</member>");
            }
            out.push_str("</Policies>");
            out.push_str("</member>");
        }
        out.push_str("</PoliciesGrantingServiceAccess>");
        element(out, "IsTruncated", "false");
    }
}
