//! OpenID Connect identity providers on the Query protocol.

use berth_control::iam::{
    self as op, CreateOpenIdConnectProviderInput, CreateOpenIdConnectProviderOutput,
    GetOpenIdConnectProviderOutput, ListOpenIdConnectProviderTagsInput,
    ListOpenIdConnectProvidersOutput, OpenIdConnectClientIdInput, OpenIdConnectProviderArnInput,
    TagOpenIdConnectProviderInput, UntagOpenIdConnectProviderInput,
    UpdateOpenIdConnectProviderThumbprintInput,
};

use super::{FromQuery, Input, date, decode, tags_xml};
use crate::error::WireError;
use crate::services::query::{ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    let p = params;
    Some(match action {
        "CreateOpenIDConnectProvider" => call(p, |i| op::create_open_id_connect_provider(ctx, i)),
        "GetOpenIDConnectProvider" => call(p, |i| op::get_open_id_connect_provider(ctx, i)),
        "DeleteOpenIDConnectProvider" => call(p, |i| op::delete_open_id_connect_provider(ctx, i)),
        "AddClientIDToOpenIDConnectProvider" => {
            call(p, |i| op::add_client_id_to_open_id_connect_provider(ctx, i))
        }
        "RemoveClientIDFromOpenIDConnectProvider" => call(p, |i| {
            op::remove_client_id_from_open_id_connect_provider(ctx, i)
        }),
        "UpdateOpenIDConnectProviderThumbprint" => call(p, |i| {
            op::update_open_id_connect_provider_thumbprint(ctx, i)
        }),
        "TagOpenIDConnectProvider" => call(p, |i| op::tag_open_id_connect_provider(ctx, i)),
        "UntagOpenIDConnectProvider" => call(p, |i| op::untag_open_id_connect_provider(ctx, i)),
        "ListOpenIDConnectProviderTags" => {
            call(p, |i| op::list_open_id_connect_provider_tags(ctx, i))
        }
        _ => return None,
    })
}

impl Input<'_> {
    fn provider_arn(&mut self) -> String {
        self.required_arn("OpenIDConnectProviderArn", "openIDConnectProviderArn")
    }

    /// A list of strings of `min`–`max` characters each.
    fn string_list(&mut self, name: &str, member: &str, min: usize, max: usize) -> Vec<String> {
        let items: Vec<String> = self
            .params
            .list(name)
            .into_iter()
            .map(str::to_string)
            .collect();
        for (n, v) in items.iter().enumerate() {
            self.length(&format!("{member}.{}.member", n + 1), v, min, max);
        }
        items
    }

    fn client_id(&mut self) -> String {
        self.required_string("ClientID", "clientID", 1, 255)
    }
}

impl FromQuery for CreateOpenIdConnectProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| CreateOpenIdConnectProviderInput {
            url: i.required_string("Url", "url", 1, 255),
            client_id_list: i.string_list("ClientIDList", "clientIDList", 1, 255),
            thumbprint_list: i.string_list("ThumbprintList", "thumbprintList", 40, 40),
            tags: i.tags(false),
        })
    }
}

impl FromQuery for OpenIdConnectProviderArnInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| OpenIdConnectProviderArnInput {
            open_id_connect_provider_arn: i.provider_arn(),
        })
    }
}

impl FromQuery for OpenIdConnectClientIdInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| OpenIdConnectClientIdInput {
            open_id_connect_provider_arn: i.provider_arn(),
            client_id: i.client_id(),
        })
    }
}

impl FromQuery for UpdateOpenIdConnectProviderThumbprintInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            let arn = i.provider_arn();
            if i.params.list("ThumbprintList").is_empty() && i.opt("ThumbprintList").is_none() {
                i.required("ThumbprintList", "thumbprintList");
            }
            UpdateOpenIdConnectProviderThumbprintInput {
                open_id_connect_provider_arn: arn,
                thumbprint_list: i.string_list("ThumbprintList", "thumbprintList", 40, 40),
            }
        })
    }
}

impl FromQuery for TagOpenIdConnectProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| TagOpenIdConnectProviderInput {
            open_id_connect_provider_arn: i.provider_arn(),
            tags: i.tags(true),
        })
    }
}

impl FromQuery for UntagOpenIdConnectProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| UntagOpenIdConnectProviderInput {
            open_id_connect_provider_arn: i.provider_arn(),
            tag_keys: i.tag_keys(),
        })
    }
}

impl FromQuery for ListOpenIdConnectProviderTagsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| ListOpenIdConnectProviderTagsInput {
            open_id_connect_provider_arn: i.provider_arn(),
            paging: i.paging(),
        })
    }
}

fn members(out: &mut String, name: &str, items: &[String]) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for v in items {
        element(out, "member", v);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

impl ToXml for CreateOpenIdConnectProviderOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "OpenIDConnectProviderArn", &self.provider.arn());
        if !self.provider.tags.is_empty() {
            tags_xml(out, &self.provider.tags);
        }
    }
}

impl ToXml for GetOpenIdConnectProviderOutput {
    fn to_xml(&self, out: &mut String) {
        let p = &self.provider;
        element(out, "Url", &p.url);
        members(out, "ClientIDList", &p.client_ids);
        members(out, "ThumbprintList", &p.thumbprints);
        date(out, "CreateDate", p.created_at);
        tags_xml(out, &p.tags);
    }
}

impl ToXml for ListOpenIdConnectProvidersOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<OpenIDConnectProviderList>");
        for arn in &self.arns {
            out.push_str("<member>");
            element(out, "Arn", arn);
            out.push_str("</member>");
        }
        out.push_str("</OpenIDConnectProviderList>");
    }
}
