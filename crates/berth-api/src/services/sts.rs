//! AWS Security Token Service (Query protocol, version 2011-06-15).

use berth_iam::sts::{self, StsError};

use crate::error::WireError;
use crate::services::{Ctx, QueryParams};
use crate::xml::element;
use berth_control::authz::{Check, Mode};

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    match action {
        "GetCallerIdentity" => Some(Ok(get_caller_identity(ctx))),
        "AssumeRole" => Some(assume_role(ctx, params)),
        _ => None,
    }
}

/// GetCallerIdentity needs no permission: AWS answers it even under an explicit deny.
fn get_caller_identity(ctx: &Ctx<'_>) -> String {
    let id = ctx.caller.principal.caller_identity();
    let mut out = String::new();
    element(&mut out, "Arn", &id.arn);
    element(&mut out, "UserId", &id.user_id);
    element(&mut out, "Account", &id.account);
    out
}

fn required<'p>(params: &'p QueryParams, name: &str, member: &str) -> Result<&'p str, WireError> {
    params.get(name).ok_or_else(|| {
        WireError::client(
            "ValidationError",
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

fn assume_role(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    let session_name = required(params, "RoleSessionName", "roleSessionName")?;
    if role_arn.len() < 20 {
        return Err(WireError::client(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
            ),
        ));
    }
    sts::validate_session_name(session_name).map_err(WireError::from)?;
    let duration = match params.get("DurationSeconds") {
        None => None,
        Some(d) => Some(d.parse::<i64>().map_err(|_| {
            WireError::client(
                "ValidationError",
                format!("1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"),
            )
        })?),
    };
    let principal = &ctx.caller.principal;
    let denied = || {
        WireError::from(berth_control::Error::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            principal.arn()
        )))
    };
    if principal.is_root() {
        return Err(berth_control::Error::AccessDenied(
            "Roles may not be assumed by root accounts.".into(),
        )
        .into());
    }
    // arn:aws:iam::ACCOUNT:role/PATH/NAME
    let parsed = berth_core::Arn::parse(role_arn)
        .map_err(|_| WireError::client("ValidationError", format!("{role_arn} is invalid")))?;
    let Some(resource) = parsed.resource.strip_prefix("role/") else {
        return Err(denied());
    };
    if parsed.service != "iam" || !berth_core::ids::is_account_id(&parsed.account) {
        return Err(denied());
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    let role = ctx
        .control
        .iam()
        .role_info(&parsed.account, name)?
        .filter(|r| r.arn() == role_arn)
        .ok_or_else(denied)?;
    let mut check = Check::new("sts:AssumeRole", role_arn)
        .owned_by(&role.account)
        .with_resource_policy(Some(&role.trust_policy), Mode::ResourcePolicyRequired)
        .with_context("sts:RoleSessionName", session_name);
    if let Some(external_id) = params.get("ExternalId") {
        check = check.with_context("sts:ExternalId", external_id);
    }
    // AWS's AssumeRole denial names no policy type.
    berth_control::authz::authorize(ctx, &check)
        .map_err(WireError::from)
        .map_err(|_| denied())?;
    let chained = ctx.caller.session.is_some();
    let duration = sts::validate_duration(duration, role.max_session_duration, chained)?;
    let session = ctx.control.iam().issue_session(
        &role,
        session_name,
        duration,
        params.get("Policy"),
        Vec::new(),
        ctx.now_secs(),
    )?;
    let mut out = String::from("<Credentials>");
    element(&mut out, "AccessKeyId", &session.access_key_id);
    element(&mut out, "SecretAccessKey", &session.secret_access_key);
    element(&mut out, "SessionToken", &session.session_token);
    element(
        &mut out,
        "Expiration",
        &berth_core::time::iso8601(session.expiration),
    );
    out.push_str("</Credentials><AssumedRoleUser>");
    element(&mut out, "AssumedRoleId", &session.assumed_role_id);
    element(&mut out, "Arn", &session.arn);
    out.push_str("</AssumedRoleUser>");
    if let Some(size) = session.packed_policy_size {
        element(&mut out, "PackedPolicySize", &size.to_string());
    }
    Ok(out)
}

impl From<StsError> for WireError {
    fn from(e: StsError) -> WireError {
        crate::error::sts_error(e)
    }
}
