//! GetAccountAuthorizationDetails on the Query protocol. Policy documents go out URL-encoded,
//! as AWS returns them in this operation.

use berth_control::iam::{
    self as op, AuthorizationDetail, GetAccountAuthorizationDetailsInput,
    GetAccountAuthorizationDetailsOutput, InlinePolicy,
};

use super::{
    FromQuery, Input, PolicyView, RoleView, boundary_xml, decode, group_fields,
    instance_profile_fields, policy_fields, tags_xml, url_encode, user_fields, version_fields,
};
use crate::error::WireError;
use crate::services::query::{ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    match action {
        "GetAccountAuthorizationDetails" => Some(call(params, |i| {
            op::get_account_authorization_details(ctx, i)
        })),
        _ => None,
    }
}

/// `EntityType`'s values.
const ENTITY_TYPES: &[&str] = &[
    "User",
    "Role",
    "Group",
    "LocalManagedPolicy",
    "AWSManagedPolicy",
];

impl Input<'_> {
    fn entity_filter(&mut self) -> Vec<String> {
        let items: Vec<String> = self
            .params
            .list("Filter")
            .into_iter()
            .map(str::to_string)
            .collect();
        for (n, f) in items.iter().enumerate() {
            if !ENTITY_TYPES.contains(&f.as_str()) {
                self.fail(
                    &format!("filter.{}.member", n + 1),
                    "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
                );
            }
        }
        items
    }
}

impl FromQuery for GetAccountAuthorizationDetailsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| GetAccountAuthorizationDetailsInput {
            filter: i.entity_filter(),
            paging: i.paging(),
        })
    }
}

fn inline_list_xml(out: &mut String, name: &str, policies: &[InlinePolicy]) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for p in policies {
        out.push_str("<member>");
        element(out, "PolicyName", &p.name);
        element(out, "PolicyDocument", &url_encode(&p.document));
        out.push_str("</member>");
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn attached_xml(out: &mut String, arns: &[String]) {
    out.push_str("<AttachedManagedPolicies>");
    for arn in arns {
        out.push_str("<member>");
        element(out, "PolicyName", arn.rsplit('/').next().unwrap_or(arn));
        element(out, "PolicyArn", arn);
        out.push_str("</member>");
    }
    out.push_str("</AttachedManagedPolicies>");
}

fn list_of<'a>(
    out: &mut String,
    name: &str,
    items: impl Iterator<Item = &'a AuthorizationDetail>,
    write: impl Fn(&mut String, &AuthorizationDetail),
) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for d in items {
        out.push_str("<member>");
        write(out, d);
        out.push_str("</member>");
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

impl ToXml for GetAccountAuthorizationDetailsOutput {
    fn to_xml(&self, out: &mut String) {
        let items = &self.details.items;
        list_of(
            out,
            "UserDetailList",
            items
                .iter()
                .filter(|d| matches!(d, AuthorizationDetail::User(_))),
            |out, d| {
                if let AuthorizationDetail::User(u) = d {
                    user_fields(out, u, false);
                    inline_list_xml(out, "UserPolicyList", &u.inline_policies);
                    out.push_str("<GroupList>");
                    for g in &u.groups {
                        element(out, "member", g);
                    }
                    out.push_str("</GroupList>");
                    attached_xml(out, &u.attached_policies);
                    boundary_xml(out, u.permissions_boundary.as_deref());
                    if !u.tags.is_empty() {
                        tags_xml(out, &u.tags);
                    }
                }
            },
        );
        list_of(
            out,
            "GroupDetailList",
            items
                .iter()
                .filter(|d| matches!(d, AuthorizationDetail::Group(_))),
            |out, d| {
                if let AuthorizationDetail::Group(g) = d {
                    group_fields(out, g);
                    inline_list_xml(out, "GroupPolicyList", &g.inline_policies);
                    attached_xml(out, &g.attached_policies);
                }
            },
        );
        list_of(
            out,
            "RoleDetailList",
            items
                .iter()
                .filter(|d| matches!(d, AuthorizationDetail::Role(..))),
            |out, d| {
                if let AuthorizationDetail::Role(r, profiles) = d {
                    // Path, names, ARN, dates and the trust policy as the other role views.
                    super::role_fields(out, r, RoleView::List);
                    out.push_str("<InstanceProfileList>");
                    for p in profiles {
                        out.push_str("<member>");
                        instance_profile_fields(out, p);
                        out.push_str("</member>");
                    }
                    out.push_str("</InstanceProfileList>");
                    inline_list_xml(out, "RolePolicyList", &r.inline_policies);
                    attached_xml(out, &r.attached_policies);
                    boundary_xml(out, r.permissions_boundary.as_deref());
                    if !r.tags.is_empty() {
                        tags_xml(out, &r.tags);
                    }
                    // berth does not track role use; AWS sends the element empty for an unused role.
                    out.push_str("<RoleLastUsed></RoleLastUsed>");
                }
            },
        );
        list_of(
            out,
            "Policies",
            items
                .iter()
                .filter(|d| matches!(d, AuthorizationDetail::Policy(_))),
            |out, d| {
                if let AuthorizationDetail::Policy(info) = d {
                    policy_fields(out, info, PolicyView::List);
                    if let Some(desc) = &info.policy.description {
                        element(out, "Description", desc);
                    }
                    out.push_str("<PolicyVersionList>");
                    for v in info.policy.all_versions() {
                        out.push_str("<member>");
                        version_fields(out, &v, true);
                        out.push_str("</member>");
                    }
                    out.push_str("</PolicyVersionList>");
                }
            },
        );
        element(
            out,
            "IsTruncated",
            if self.details.is_truncated() {
                "true"
            } else {
                "false"
            },
        );
        if let Some(m) = &self.details.marker {
            element(out, "Marker", m);
        }
    }
}
