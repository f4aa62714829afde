//! SAML identity providers: each call authorised on the provider's ARN.

pub use berth_iam::saml::SamlProvider;

use super::{ListTagsOutput, Paging, Tag};
use crate::authz::{Check, authorize};
use crate::{Ctx, Error};

#[derive(Debug, Clone, Default)]
pub struct CreateSamlProviderInput {
    pub saml_metadata_document: String,
    pub name: String,
    pub tags: Vec<Tag>,
}

/// CreateSAMLProvider's and UpdateSAMLProvider's answer.
#[derive(Debug, Clone)]
pub struct SamlProviderArnOutput {
    pub provider: SamlProvider,
    /// Whether the answer lists the provider's tags (CreateSAMLProvider's does).
    pub with_tags: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SamlProviderArnInput {
    pub saml_provider_arn: String,
}

#[derive(Debug, Clone)]
pub struct GetSamlProviderOutput {
    pub provider: SamlProvider,
}

#[derive(Debug, Clone, Default)]
pub struct ListSamlProvidersOutput {
    pub providers: Vec<SamlProvider>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateSamlProviderInput {
    pub saml_metadata_document: Option<String>,
    pub saml_provider_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct TagSamlProviderInput {
    pub saml_provider_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagSamlProviderInput {
    pub saml_provider_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListSamlProviderTagsInput {
    pub saml_provider_arn: String,
    pub paging: Paging,
}

fn tag_keys(tags: &[Tag]) -> Vec<(String, Vec<String>)> {
    vec![(
        "aws:TagKeys".to_string(),
        tags.iter().map(|t| t.key.clone()).collect(),
    )]
}

pub fn create_saml_provider(
    ctx: &Ctx<'_>,
    input: CreateSamlProviderInput,
) -> Result<SamlProviderArnOutput, Error> {
    let arn = format!(
        "arn:aws:iam::{}:saml-provider/{}",
        ctx.account(),
        input.name
    );
    let mut check = Check::new("iam:CreateSAMLProvider", &arn);
    if !input.tags.is_empty() {
        check = check.with_contexts(tag_keys(&input.tags));
    }
    authorize(ctx, &check)?;
    let provider = ctx.control.iam().create_saml_provider(
        ctx.account(),
        &input.name,
        &input.saml_metadata_document,
        input.tags,
        ctx.now_secs(),
    )?;
    Ok(SamlProviderArnOutput {
        provider,
        with_tags: true,
    })
}

pub fn get_saml_provider(
    ctx: &Ctx<'_>,
    input: SamlProviderArnInput,
) -> Result<GetSamlProviderOutput, Error> {
    let arn = &input.saml_provider_arn;
    authorize(ctx, &Check::new("iam:GetSAMLProvider", arn))?;
    Ok(GetSamlProviderOutput {
        provider: ctx.control.iam().get_saml_provider(ctx.account(), arn)?,
    })
}

pub fn list_saml_providers(
    ctx: &Ctx<'_>,
    _input: super::ListSamlProvidersInput,
) -> Result<ListSamlProvidersOutput, Error> {
    authorize(ctx, &Check::new("iam:ListSAMLProviders", "*"))?;
    Ok(ListSamlProvidersOutput {
        providers: ctx.control.iam().list_saml_providers(ctx.account())?,
    })
}

/// Replaces the metadata document (the other members of UpdateSAMLProvider, assertion
/// encryption and private keys, are not kept by berth and are ignored).
pub fn update_saml_provider(
    ctx: &Ctx<'_>,
    input: UpdateSamlProviderInput,
) -> Result<SamlProviderArnOutput, Error> {
    let arn = &input.saml_provider_arn;
    authorize(ctx, &Check::new("iam:UpdateSAMLProvider", arn))?;
    let iam = ctx.control.iam();
    let provider = match &input.saml_metadata_document {
        Some(doc) => iam.set_saml_metadata(ctx.account(), arn, doc)?,
        None => iam.get_saml_provider(ctx.account(), arn)?,
    };
    Ok(SamlProviderArnOutput {
        provider,
        with_tags: false,
    })
}

pub fn delete_saml_provider(ctx: &Ctx<'_>, input: SamlProviderArnInput) -> Result<(), Error> {
    let arn = &input.saml_provider_arn;
    authorize(ctx, &Check::new("iam:DeleteSAMLProvider", arn))?;
    Ok(ctx.control.iam().delete_saml_provider(ctx.account(), arn)?)
}

pub fn tag_saml_provider(ctx: &Ctx<'_>, input: TagSamlProviderInput) -> Result<(), Error> {
    let arn = &input.saml_provider_arn;
    authorize(
        ctx,
        &Check::new("iam:TagSAMLProvider", arn).with_contexts(tag_keys(&input.tags)),
    )?;
    Ok(ctx
        .control
        .iam()
        .tag_saml_provider(ctx.account(), arn, input.tags)?)
}

pub fn untag_saml_provider(ctx: &Ctx<'_>, input: UntagSamlProviderInput) -> Result<(), Error> {
    let arn = &input.saml_provider_arn;
    authorize(
        ctx,
        &Check::new("iam:UntagSAMLProvider", arn)
            .with_contexts(vec![("aws:TagKeys".to_string(), input.tag_keys.clone())]),
    )?;
    Ok(ctx
        .control
        .iam()
        .untag_saml_provider(ctx.account(), arn, &input.tag_keys)?)
}

pub fn list_saml_provider_tags(
    ctx: &Ctx<'_>,
    input: ListSamlProviderTagsInput,
) -> Result<ListTagsOutput, Error> {
    let arn = &input.saml_provider_arn;
    authorize(ctx, &Check::new("iam:ListSAMLProviderTags", arn))?;
    let p = ctx.control.iam().get_saml_provider(ctx.account(), arn)?;
    Ok(ListTagsOutput {
        tags: berth_iam::page_of(p.tags, input.paging.options()),
    })
}
