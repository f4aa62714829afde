//! The IAM use cases of the account as a whole: the credential report, the account's
//! properties, and what an account answers that is not in an organization, has not enabled
//! outbound web identity federation, and has no delegation requests or role templates.

use berth_iam::{CredError, IamError, ReportState};

use super::Paging;
use crate::{Ctx, Error};

// The domain's records, as the outputs carry them.
pub use berth_iam::CredentialReport;

/// An operation without members (GenerateCredentialReport, GetCredentialReport,
/// GetAccountProperties, the Organizations features, outbound federation).
#[derive(Debug, Clone, Default)]
pub struct NoInput {}

#[derive(Debug, Clone)]
pub struct GenerateCredentialReportOutput {
    /// `COMPLETE`: berth makes the report at once.
    pub state: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Clone)]
pub struct GetCredentialReportOutput {
    pub report: CredentialReport,
}

/// GetAccountProperties: the account's properties (berth's accounts have none set).
#[derive(Debug, Clone)]
pub struct GetAccountPropertiesOutput {
    pub properties: Vec<(String, String)>,
}

/// GetDelegationRequest and the calls that act on one request (`Notes` and
/// `DelegationPermissionCheck` change nothing: no request is found).
#[derive(Debug, Clone, Default)]
pub struct DelegationRequestIdInput {
    pub delegation_request_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListDelegationRequestsInput {
    pub owner_id: Option<String>,
    pub paging: Paging,
}

/// ListDelegationRequests: berth's accounts have none.
#[derive(Debug, Clone)]
pub struct ListDelegationRequestsOutput {}

#[derive(Debug, Clone, Default)]
pub struct GetHumanReadableSummaryInput {
    pub entity_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetRoleTemplateVersionInput {
    pub template_arn: String,
}

pub fn generate_credential_report(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<GenerateCredentialReportOutput, Error> {
    ctx.authorize("iam:GenerateCredentialReport", "*")?;
    let state = ctx
        .control
        .iam()
        .generate_credential_report(ctx.account(), ctx.now_secs())?;
    // AWS's descriptions are not confirmed; these are berth's.
    let description = match state {
        ReportState::Generated => "a new credential report was generated",
        ReportState::Fresh => "the credential report is less than four hours old and is kept",
    };
    Ok(GenerateCredentialReportOutput {
        state: "COMPLETE",
        description,
    })
}

pub fn get_credential_report(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<GetCredentialReportOutput, Error> {
    ctx.authorize("iam:GetCredentialReport", "*")?;
    let report = ctx.control.iam().credential_report(ctx.account())?;
    Ok(GetCredentialReportOutput { report })
}

pub fn get_account_properties(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<GetAccountPropertiesOutput, Error> {
    ctx.authorize("iam:GetAccountProperties", "*")?;
    Ok(GetAccountPropertiesOutput {
        properties: Vec::new(),
    })
}

/// The centralized root access features: a berth account is in no organization.
fn organizations(ctx: &Ctx<'_>, action: &str) -> Result<(), Error> {
    ctx.authorize(action, "*")?;
    Err(IamError::from(CredError::OrganizationNotFound).into())
}

pub fn list_organizations_features(ctx: &Ctx<'_>, _input: NoInput) -> Result<(), Error> {
    organizations(ctx, "iam:ListOrganizationsFeatures")
}

pub fn enable_organizations_root_credentials_management(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<(), Error> {
    organizations(ctx, "iam:EnableOrganizationsRootCredentialsManagement")
}

pub fn disable_organizations_root_credentials_management(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<(), Error> {
    organizations(ctx, "iam:DisableOrganizationsRootCredentialsManagement")
}

pub fn enable_organizations_root_sessions(ctx: &Ctx<'_>, _input: NoInput) -> Result<(), Error> {
    organizations(ctx, "iam:EnableOrganizationsRootSessions")
}

pub fn disable_organizations_root_sessions(ctx: &Ctx<'_>, _input: NoInput) -> Result<(), Error> {
    organizations(ctx, "iam:DisableOrganizationsRootSessions")
}

/// Outbound web identity federation is not enabled in a berth account (and berth cannot
/// enable it).
pub fn get_outbound_web_identity_federation_info(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<(), Error> {
    ctx.authorize("iam:GetOutboundWebIdentityFederationInfo", "*")?;
    Err(IamError::from(CredError::OutboundFederationDisabled).into())
}

pub fn disable_outbound_web_identity_federation(
    ctx: &Ctx<'_>,
    _input: NoInput,
) -> Result<(), Error> {
    ctx.authorize("iam:DisableOutboundWebIdentityFederation", "*")?;
    Err(IamError::from(CredError::OutboundFederationDisabled).into())
}

pub fn list_delegation_requests(
    ctx: &Ctx<'_>,
    _input: ListDelegationRequestsInput,
) -> Result<ListDelegationRequestsOutput, Error> {
    ctx.authorize("iam:ListDelegationRequests", "*")?;
    Ok(ListDelegationRequestsOutput {})
}

/// A call on one delegation request: authorised on its ARN, then not found (berth's accounts
/// have none: CreateDelegationRequest, which a partner's account calls, makes none; see
/// `access.rs`).
fn delegation_request(
    ctx: &Ctx<'_>,
    action: &str,
    input: DelegationRequestIdInput,
) -> Result<(), Error> {
    let arn = format!(
        "arn:aws:iam::{}:delegation-request/{}",
        ctx.account(),
        input.delegation_request_id
    );
    ctx.authorize(action, &arn)?;
    Err(IamError::from(CredError::NoSuchDelegationRequest(
        input.delegation_request_id,
    ))
    .into())
}

pub fn get_delegation_request(ctx: &Ctx<'_>, input: DelegationRequestIdInput) -> Result<(), Error> {
    delegation_request(ctx, "iam:GetDelegationRequest", input)
}

pub fn accept_delegation_request(
    ctx: &Ctx<'_>,
    input: DelegationRequestIdInput,
) -> Result<(), Error> {
    delegation_request(ctx, "iam:AcceptDelegationRequest", input)
}

pub fn associate_delegation_request(
    ctx: &Ctx<'_>,
    input: DelegationRequestIdInput,
) -> Result<(), Error> {
    delegation_request(ctx, "iam:AssociateDelegationRequest", input)
}

pub fn reject_delegation_request(
    ctx: &Ctx<'_>,
    input: DelegationRequestIdInput,
) -> Result<(), Error> {
    delegation_request(ctx, "iam:RejectDelegationRequest", input)
}

pub fn send_delegation_token(ctx: &Ctx<'_>, input: DelegationRequestIdInput) -> Result<(), Error> {
    delegation_request(ctx, "iam:SendDelegationToken", input)
}

pub fn update_delegation_request(
    ctx: &Ctx<'_>,
    input: DelegationRequestIdInput,
) -> Result<(), Error> {
    delegation_request(ctx, "iam:UpdateDelegationRequest", input)
}

pub fn get_human_readable_summary(
    ctx: &Ctx<'_>,
    input: GetHumanReadableSummaryInput,
) -> Result<(), Error> {
    ctx.authorize("iam:GetHumanReadableSummary", &input.entity_arn)?;
    Err(IamError::from(CredError::NoSummary(input.entity_arn)).into())
}

pub fn get_role_template_version(
    ctx: &Ctx<'_>,
    input: GetRoleTemplateVersionInput,
) -> Result<(), Error> {
    ctx.authorize("iam:GetRoleTemplateVersion", &input.template_arn)?;
    Err(IamError::from(CredError::NoSuchRoleTemplate(input.template_arn)).into())
}
