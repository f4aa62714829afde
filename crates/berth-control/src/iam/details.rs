//! GetAccountAuthorizationDetails: a snapshot of the account's IAM configuration.

pub use berth_iam::{AuthorizationDetail, DetailsFilter, InlinePolicy};

use super::{Page, Paging};
use crate::authz::{Check, authorize};
use crate::{Ctx, Error};

/// `Filter`: the `EntityType`s to include; empty means all.
#[derive(Debug, Clone, Default)]
pub struct GetAccountAuthorizationDetailsInput {
    /// `User`, `Role`, `Group`, `LocalManagedPolicy`, `AWSManagedPolicy` (checked by the
    /// decoder against the model's enum).
    pub filter: Vec<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct GetAccountAuthorizationDetailsOutput {
    /// The entries of this page, users first, then groups, roles and policies.
    pub details: Page<AuthorizationDetail>,
}

pub fn get_account_authorization_details(
    ctx: &Ctx<'_>,
    input: GetAccountAuthorizationDetailsInput,
) -> Result<GetAccountAuthorizationDetailsOutput, Error> {
    authorize(ctx, &Check::new("iam:GetAccountAuthorizationDetails", "*"))?;
    let filter = if input.filter.is_empty() {
        DetailsFilter::default()
    } else {
        let has = |t: &str| input.filter.iter().any(|f| f == t);
        DetailsFilter {
            users: has("User"),
            groups: has("Group"),
            roles: has("Role"),
            local_policies: has("LocalManagedPolicy"),
            aws_policies: has("AWSManagedPolicy"),
        }
    };
    let all = ctx
        .control
        .iam()
        .account_authorization_details(ctx.account(), filter)?;
    Ok(GetAccountAuthorizationDetailsOutput {
        details: berth_iam::page_of(all, input.paging.options()),
    })
}
