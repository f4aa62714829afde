//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
//!
//! A grant allows its operations to its grantee on its key on its own: no key policy or IAM
//! policy needs to allow them, and an explicit `Deny` in either still refuses
//! ([`super::authorize_key`]).

use berth_kms::{EncryptionContext, GRANT_OPERATIONS, GrantConstraints, KmsError, NewGrant};
use serde::{Deserialize, Serialize};

use super::{
    Empty, authorize_key, authorize_key_with, check_grant_tokens, dry_run, is_caller, kms,
    limit_of, required, resolve,
};
use crate::{Ctx, Error};

/// `GrantConstraints` as the wire gives and answers it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraintsWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<EncryptionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<EncryptionContext>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantInput {
    pub key_id: Option<String>,
    pub grantee_principal: Option<String>,
    pub retiring_principal: Option<String>,
    pub operations: Option<Vec<String>>,
    pub constraints: Option<GrantConstraintsWire>,
    pub grant_tokens: Option<Vec<String>>,
    pub name: Option<String>,
    pub dry_run: Option<bool>,
    pub grantee_service_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantOutput {
    pub grant_token: String,
    pub grant_id: String,
}

fn validation(m: String) -> Error {
    KmsError::Validation(m).into()
}

/// The model's `PrincipalIdType`: 1–256 characters of `[\w+=,.@:/-]`.
fn check_principal(value: &str, member: &str) -> Result<(), Error> {
    let ok = value
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c));
    if value.is_empty() || value.chars().count() > 256 || !ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$"
        )));
    }
    Ok(())
}

fn check_operations(ops: &[String]) -> Result<(), Error> {
    if ops.is_empty() || ops.len() > GRANT_OPERATIONS.len() {
        return Err(validation(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        if !GRANT_OPERATIONS.contains(&op.as_str()) {
            return Err(validation(format!(
                "1 validation error detected: Value '{op}' at 'operations.{}.member' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                i + 1,
                GRANT_OPERATIONS.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), Error> {
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    if name.is_empty() || name.len() > 256 || !ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    Ok(())
}

pub fn create_grant(ctx: &Ctx<'_>, input: CreateGrantInput) -> Result<CreateGrantOutput, Error> {
    let key_id = required(input.key_id.as_deref(), "keyId")?;
    let mut operations = required(input.operations, "operations")?;
    check_operations(&operations)?;
    check_grant_tokens(input.grant_tokens.as_deref())?;
    if let Some(n) = &input.name {
        check_name(n)?;
    }
    let (grantee, grantee_is_service) =
        match (input.grantee_principal, input.grantee_service_principal) {
            (Some(p), None) => {
                check_principal(&p, "granteePrincipal")?;
                (p, false)
            }
            (None, Some(s)) => {
                check_principal(&s, "granteeServicePrincipal")?;
                (s, true)
            }
            // AWS's text for this case is not known to berth.
            _ => {
                return Err(validation(
                "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both"
                    .into(),
            ));
            }
        };
    let (retiring, retiring_is_service) = match (
        input.retiring_principal,
        input.retiring_service_principal,
    ) {
        (Some(p), None) => {
            check_principal(&p, "retiringPrincipal")?;
            (Some(p), false)
        }
        (None, Some(s)) => {
            check_principal(&s, "retiringServicePrincipal")?;
            (Some(s), true)
        }
        (None, None) => (None, false),
        // AWS's text for this case is not known to berth.
        _ => {
            return Err(validation(
                    "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both".into(),
                ));
        }
    };
    let wire = input.constraints.unwrap_or_default();
    let constraints = GrantConstraints {
        subset: wire.encryption_context_subset,
        equals: wire.encryption_context_equals,
    };
    let key = resolve(ctx, key_id)?;
    // The condition keys AWS documents for CreateGrant.
    let one = |k: &str, v: &str| (k.to_string(), vec![v.to_string()]);
    let mut extra = vec![
        one("kms:GranteePrincipal", &grantee),
        one("kms:GrantIsForAWSResource", "false"),
        ("kms:GrantOperations".to_string(), operations.clone()),
    ];
    if let Some(r) = &retiring {
        extra.push(one("kms:RetiringPrincipal", r));
    }
    let mut types = Vec::new();
    if constraints.subset.is_some() {
        types.push("EncryptionContextSubset".to_string());
    }
    if constraints.equals.is_some() {
        types.push("EncryptionContextEquals".to_string());
    }
    if !types.is_empty() {
        extra.push(("kms:GrantConstraintType".to_string(), types));
    }
    if let Err(denied) = authorize_key_with(ctx, "kms:CreateGrant", &key, None, extra) {
        // A grant that allows CreateGrant lets its grantee make grants of no more operations
        // and with constraints at least as strict.
        let parent = kms(ctx).grants_of(&key)?.into_iter().find(|g| {
            is_caller(ctx, &g.grantee)
                && g.operations.iter().any(|o| o == "CreateGrant")
                && operations.iter().all(|o| g.operations.contains(o))
                && g.admits_child(&constraints)
        });
        if parent.is_none() || !matches!(denied, Error::AccessDenied(_)) {
            return Err(denied);
        }
    }
    key.check_usable()?;
    dry_run(input.dry_run, &[&key])?;
    operations.dedup();
    let (grant, token) = kms(ctx).create_grant(
        &key,
        NewGrant {
            name: input.name,
            grantee,
            grantee_is_service,
            retiring,
            retiring_is_service,
            operations,
            constraints,
        },
        ctx.now_secs(),
    )?;
    Ok(CreateGrantOutput {
        grant_token: token,
        grant_id: grant.grant_id,
    })
}

/// A grant as ListGrants and ListRetirableGrants answer it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    pub key_id: String,
    pub grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub creation_date: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grantee_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grantee_service_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_service_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraintsWire>,
}

impl From<berth_kms::Grant> for GrantListEntry {
    fn from(g: berth_kms::Grant) -> GrantListEntry {
        let (gp, gs) = if g.grantee_is_service {
            (None, Some(g.grantee))
        } else {
            (Some(g.grantee), None)
        };
        let (rp, rs) = match (g.retiring, g.retiring_is_service) {
            (Some(r), true) => (None, Some(r)),
            (r, _) => (r, None),
        };
        GrantListEntry {
            key_id: g.key_arn,
            grant_id: g.grant_id,
            name: g.name,
            creation_date: g.created,
            grantee_principal: gp,
            grantee_service_principal: gs,
            retiring_principal: rp,
            retiring_service_principal: rs,
            issuing_account: g.issuing_account,
            operations: g.operations,
            constraints: (!g.constraints.is_empty()).then_some(GrantConstraintsWire {
                encryption_context_subset: g.constraints.subset,
                encryption_context_equals: g.constraints.equals,
            }),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsInput {
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub key_id: Option<String>,
    pub grant_id: Option<String>,
    pub grantee_principal: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsOutput {
    pub grants: Vec<GrantListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

pub fn list_grants(ctx: &Ctx<'_>, input: ListGrantsInput) -> Result<ListGrantsOutput, Error> {
    let limit = limit_of(input.limit, 50, 100)?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:ListGrants", &key, None, &[])?;
    let page = kms(ctx).list_grants(
        &key,
        input.grant_id.as_deref(),
        input.grantee_principal.as_deref(),
        limit,
        input.marker.as_deref(),
    )?;
    Ok(ListGrantsOutput {
        grants: page.items.into_iter().map(Into::into).collect(),
        truncated: page.next_marker.is_some(),
        next_marker: page.next_marker,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsInput {
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub retiring_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
}

pub fn list_retirable_grants(
    ctx: &Ctx<'_>,
    input: ListRetirableGrantsInput,
) -> Result<ListGrantsOutput, Error> {
    let limit = limit_of(input.limit, 50, 100)?;
    let principal = match (&input.retiring_principal, &input.retiring_service_principal) {
        (Some(p), _) | (None, Some(p)) => p.clone(),
        (None, None) => required(None::<String>, "retiringPrincipal")?,
    };
    check_principal(&principal, "retiringPrincipal")?;
    ctx.authorize("kms:ListRetirableGrants", "*")?;
    let page = kms(ctx).list_retirable_grants(
        &ctx.caller.region,
        &principal,
        limit,
        input.marker.as_deref(),
    )?;
    Ok(ListGrantsOutput {
        grants: page.items.into_iter().map(Into::into).collect(),
        truncated: page.next_marker.is_some(),
        next_marker: page.next_marker,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantInput {
    pub grant_token: Option<String>,
    pub key_id: Option<String>,
    pub grant_id: Option<String>,
    pub dry_run: Option<bool>,
}

fn check_grant_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 128 {
        return Err(KmsError::InvalidGrantId(format!("Invalid grant ID {id}")).into());
    }
    Ok(())
}

/// RetireGrant: by the grant's retiring principal, its grantee when it allows RetireGrant,
/// the account the grant was made in (its root user), or a principal the key's policy (and,
/// by delegation, IAM) allows `kms:RetireGrant`.
pub fn retire_grant(ctx: &Ctx<'_>, input: RetireGrantInput) -> Result<Empty, Error> {
    let k = kms(ctx);
    let grant = match (&input.grant_token, &input.key_id, &input.grant_id) {
        (Some(token), _, _) => {
            check_grant_tokens(Some(std::slice::from_ref(token)))?;
            k.grant_by_token(token)?
        }
        (None, Some(key_id), Some(grant_id)) => {
            check_grant_id(grant_id)?;
            let key = resolve(ctx, key_id)?;
            k.grant(&key, grant_id)?
        }
        // AWS's text for this case is not known to berth.
        _ => {
            return Err(validation(
                "Either GrantToken or both KeyId and GrantId must be specified".into(),
            ));
        }
    };
    let p = &ctx.caller.principal;
    let retiring =
        !grant.retiring_is_service && grant.retiring.as_deref().is_some_and(|r| is_caller(ctx, r));
    let grantee = !grant.grantee_is_service
        && is_caller(ctx, &grant.grantee)
        && grant.operations.iter().any(|o| o == "RetireGrant");
    let issuer = p.is_root() && grant.issuing_account == p.arn();
    if !(retiring || grantee || issuer) {
        let key = resolve(ctx, &grant.key_arn)?;
        authorize_key(ctx, "kms:RetireGrant", &key, None, &[])?;
    }
    if input.dry_run == Some(true) {
        return Err(Error::DryRun);
    }
    k.delete_grant(&grant)?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantInput {
    pub key_id: Option<String>,
    pub grant_id: Option<String>,
    pub dry_run: Option<bool>,
}

pub fn revoke_grant(ctx: &Ctx<'_>, input: RevokeGrantInput) -> Result<Empty, Error> {
    let key_id = required(input.key_id.as_deref(), "keyId")?;
    let grant_id = required(input.grant_id.as_deref(), "grantId")?;
    check_grant_id(grant_id)?;
    let key = resolve(ctx, key_id)?;
    authorize_key(ctx, "kms:RevokeGrant", &key, None, &[])?;
    let k = kms(ctx);
    let grant = k.grant(&key, grant_id)?;
    if input.dry_run == Some(true) {
        return Err(Error::DryRun);
    }
    k.delete_grant(&grant)?;
    Ok(Empty {})
}
