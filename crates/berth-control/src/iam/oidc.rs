//! OpenID Connect identity providers: each call authorised on the provider's ARN.

use berth_iam::oidc::NewOidcProvider;
pub use berth_iam::oidc::OidcProvider;

use super::{ListTagsOutput, Paging, Tag};
use crate::authz::{Check, authorize};
use crate::{Ctx, Error};

#[derive(Debug, Clone, Default)]
pub struct CreateOpenIdConnectProviderInput {
    pub url: String,
    pub client_id_list: Vec<String>,
    pub thumbprint_list: Vec<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct CreateOpenIdConnectProviderOutput {
    pub provider: OidcProvider,
}

/// The calls that name one provider and nothing else.
#[derive(Debug, Clone, Default)]
pub struct OpenIdConnectProviderArnInput {
    pub open_id_connect_provider_arn: String,
}

#[derive(Debug, Clone)]
pub struct GetOpenIdConnectProviderOutput {
    pub provider: OidcProvider,
}

#[derive(Debug, Clone, Default)]
pub struct ListOpenIdConnectProvidersOutput {
    pub arns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OpenIdConnectClientIdInput {
    pub open_id_connect_provider_arn: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateOpenIdConnectProviderThumbprintInput {
    pub open_id_connect_provider_arn: String,
    pub thumbprint_list: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TagOpenIdConnectProviderInput {
    pub open_id_connect_provider_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagOpenIdConnectProviderInput {
    pub open_id_connect_provider_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListOpenIdConnectProviderTagsInput {
    pub open_id_connect_provider_arn: String,
    pub paging: Paging,
}

fn check(ctx: &Ctx<'_>, action: &str, arn: &str) -> Result<(), Error> {
    authorize(ctx, &Check::new(action, arn))
}

pub fn create_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: CreateOpenIdConnectProviderInput,
) -> Result<CreateOpenIdConnectProviderOutput, Error> {
    let issuer = input
        .url
        .strip_prefix("https://")
        .unwrap_or(&input.url)
        .trim_end_matches('/');
    let arn = format!("arn:aws:iam::{}:oidc-provider/{issuer}", ctx.account());
    let mut c = Check::new("iam:CreateOpenIDConnectProvider", &arn);
    if !input.tags.is_empty() {
        c = c.with_contexts(vec![(
            "aws:TagKeys".to_string(),
            input.tags.iter().map(|t| t.key.clone()).collect(),
        )]);
    }
    authorize(ctx, &c)?;
    let provider = ctx.control.iam().create_oidc_provider(
        ctx.account(),
        NewOidcProvider {
            url: &input.url,
            client_ids: input.client_id_list,
            thumbprints: input.thumbprint_list,
            tags: input.tags,
        },
        ctx.now_secs(),
    )?;
    Ok(CreateOpenIdConnectProviderOutput { provider })
}

pub fn get_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: OpenIdConnectProviderArnInput,
) -> Result<GetOpenIdConnectProviderOutput, Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:GetOpenIDConnectProvider", arn)?;
    Ok(GetOpenIdConnectProviderOutput {
        provider: ctx.control.iam().get_oidc_provider(ctx.account(), arn)?,
    })
}

pub fn list_open_id_connect_providers(
    ctx: &Ctx<'_>,
    _input: super::ListOpenIdConnectProvidersInput,
) -> Result<ListOpenIdConnectProvidersOutput, Error> {
    check(ctx, "iam:ListOpenIDConnectProviders", "*")?;
    Ok(ListOpenIdConnectProvidersOutput {
        arns: ctx
            .control
            .iam()
            .list_oidc_providers(ctx.account())?
            .iter()
            .map(OidcProvider::arn)
            .collect(),
    })
}

pub fn delete_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: OpenIdConnectProviderArnInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:DeleteOpenIDConnectProvider", arn)?;
    Ok(ctx.control.iam().delete_oidc_provider(ctx.account(), arn)?)
}

pub fn add_client_id_to_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: OpenIdConnectClientIdInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:AddClientIDToOpenIDConnectProvider", arn)?;
    Ok(ctx
        .control
        .iam()
        .add_oidc_client_id(ctx.account(), arn, &input.client_id)?)
}

pub fn remove_client_id_from_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: OpenIdConnectClientIdInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:RemoveClientIDFromOpenIDConnectProvider", arn)?;
    Ok(ctx
        .control
        .iam()
        .remove_oidc_client_id(ctx.account(), arn, &input.client_id)?)
}

pub fn update_open_id_connect_provider_thumbprint(
    ctx: &Ctx<'_>,
    input: UpdateOpenIdConnectProviderThumbprintInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:UpdateOpenIDConnectProviderThumbprint", arn)?;
    Ok(ctx
        .control
        .iam()
        .set_oidc_thumbprints(ctx.account(), arn, input.thumbprint_list)?)
}

pub fn tag_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: TagOpenIdConnectProviderInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    let keys = input.tags.iter().map(|t| t.key.clone()).collect();
    authorize(
        ctx,
        &Check::new("iam:TagOpenIDConnectProvider", arn)
            .with_contexts(vec![("aws:TagKeys".to_string(), keys)]),
    )?;
    Ok(ctx
        .control
        .iam()
        .tag_oidc_provider(ctx.account(), arn, input.tags)?)
}

pub fn untag_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: UntagOpenIdConnectProviderInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    authorize(
        ctx,
        &Check::new("iam:UntagOpenIDConnectProvider", arn)
            .with_contexts(vec![("aws:TagKeys".to_string(), input.tag_keys.clone())]),
    )?;
    Ok(ctx
        .control
        .iam()
        .untag_oidc_provider(ctx.account(), arn, &input.tag_keys)?)
}

pub fn list_open_id_connect_provider_tags(
    ctx: &Ctx<'_>,
    input: ListOpenIdConnectProviderTagsInput,
) -> Result<ListTagsOutput, Error> {
    let arn = &input.open_id_connect_provider_arn;
    check(ctx, "iam:ListOpenIDConnectProviderTags", arn)?;
    let p = ctx.control.iam().get_oidc_provider(ctx.account(), arn)?;
    Ok(ListTagsOutput {
        tags: berth_iam::page_of(p.tags, input.paging.options()),
    })
}
