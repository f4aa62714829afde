//! SAML identity providers on the Query protocol.

use berth_control::iam::{
    self as op, CreateSamlProviderInput, GetSamlProviderOutput, ListSamlProviderTagsInput,
    ListSamlProvidersOutput, SamlProviderArnInput, SamlProviderArnOutput, TagSamlProviderInput,
    UntagSamlProviderInput, UpdateSamlProviderInput,
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
        "CreateSAMLProvider" => call(p, |i| op::create_saml_provider(ctx, i)),
        "GetSAMLProvider" => call(p, |i| op::get_saml_provider(ctx, i)),
        "UpdateSAMLProvider" => call(p, |i| op::update_saml_provider(ctx, i)),
        "DeleteSAMLProvider" => call(p, |i| op::delete_saml_provider(ctx, i)),
        "TagSAMLProvider" => call(p, |i| op::tag_saml_provider(ctx, i)),
        "UntagSAMLProvider" => call(p, |i| op::untag_saml_provider(ctx, i)),
        "ListSAMLProviderTags" => call(p, |i| op::list_saml_provider_tags(ctx, i)),
        _ => return None,
    })
}

/// `SAMLMetadataDocumentType`: 1000 to 10,000,000 characters.
const METADATA_MAX: usize = 10_000_000;

impl Input<'_> {
    fn saml_arn(&mut self) -> String {
        self.required_arn("SAMLProviderArn", "sAMLProviderArn")
    }

    fn metadata(&mut self, required: bool) -> Option<String> {
        if required {
            Some(self.required_string(
                "SAMLMetadataDocument",
                "sAMLMetadataDocument",
                1000,
                METADATA_MAX,
            ))
        } else {
            self.string(
                "SAMLMetadataDocument",
                "sAMLMetadataDocument",
                1000,
                METADATA_MAX,
            )
        }
    }

    /// `Name`: 1–128 characters of `[\w._-]`.
    fn saml_name(&mut self) -> String {
        let name = self.required_string("Name", "name", 1, 128);
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            self.fail(
                "name",
                "Member must satisfy regular expression pattern: [\\w._-]+",
            );
        }
        name
    }
}

impl FromQuery for CreateSamlProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| CreateSamlProviderInput {
            saml_metadata_document: i.metadata(true).unwrap_or_default(),
            name: i.saml_name(),
            tags: i.tags(false),
        })
    }
}

impl FromQuery for SamlProviderArnInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| SamlProviderArnInput {
            saml_provider_arn: i.saml_arn(),
        })
    }
}

impl FromQuery for UpdateSamlProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| UpdateSamlProviderInput {
            saml_metadata_document: i.metadata(false),
            saml_provider_arn: i.saml_arn(),
        })
    }
}

impl FromQuery for TagSamlProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| TagSamlProviderInput {
            saml_provider_arn: i.saml_arn(),
            tags: i.tags(true),
        })
    }
}

impl FromQuery for UntagSamlProviderInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| UntagSamlProviderInput {
            saml_provider_arn: i.saml_arn(),
            tag_keys: i.tag_keys(),
        })
    }
}

impl FromQuery for ListSamlProviderTagsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| ListSamlProviderTagsInput {
            saml_provider_arn: i.saml_arn(),
            paging: i.paging(),
        })
    }
}

/// `ValidUntil` from the metadata's attribute, when it reads as a date.
fn valid_until(out: &mut String, v: Option<&str>) {
    let secs = v
        .and_then(berth_core::time::parse_policy_date)
        .and_then(|nanos| u64::try_from(nanos / 1_000_000_000).ok());
    if let Some(s) = secs {
        date(out, "ValidUntil", s);
    }
}

impl ToXml for SamlProviderArnOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "SAMLProviderArn", &self.provider.arn());
        if self.with_tags && !self.provider.tags.is_empty() {
            tags_xml(out, &self.provider.tags);
        }
    }
}

impl ToXml for GetSamlProviderOutput {
    fn to_xml(&self, out: &mut String) {
        let p = &self.provider;
        element(out, "SAMLMetadataDocument", &p.metadata);
        date(out, "CreateDate", p.created_at);
        valid_until(out, p.valid_until.as_deref());
        tags_xml(out, &p.tags);
    }
}

impl ToXml for ListSamlProvidersOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<SAMLProviderList>");
        for p in &self.providers {
            out.push_str("<member>");
            element(out, "Arn", &p.arn());
            valid_until(out, p.valid_until.as_deref());
            date(out, "CreateDate", p.created_at);
            out.push_str("</member>");
        }
        out.push_str("</SAMLProviderList>");
    }
}
