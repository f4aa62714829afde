//! IAM's service last accessed data on the wire: GenerateServiceLastAccessedDetails,
//! GetServiceLastAccessedDetails(+WithEntities), ListPoliciesGrantingServiceAccess.

use berth_control::iam::{
    self as op, AccessJob, GenerateServiceLastAccessedDetailsInput,
    GenerateServiceLastAccessedDetailsOutput, GetServiceLastAccessedDetailsInput,
    GetServiceLastAccessedDetailsOutput, GetServiceLastAccessedDetailsWithEntitiesInput,
    GetServiceLastAccessedDetailsWithEntitiesOutput, ListPoliciesGrantingServiceAccessInput,
    ListPoliciesGrantingServiceAccessOutput,
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
