//! One module per AWS service: decode the operation's typed input, call its use case in
//! `berth-control`, encode its typed output.

pub mod ecs;
pub mod iam;
pub mod json;
pub mod kms;
pub mod logs;
pub mod query;
pub mod secretsmanager;
pub mod ssm;
pub mod sts;

use crate::error::WireError;
use crate::protocol::Service;

pub use berth_control::Ctx;
pub use query::{Member, QueryParams};

/// Runs a JSON 1.1 operation and writes its answer; `None` when the caller's service has no
/// such operation.
pub fn json_dispatch(
    ctx: &Ctx<'_>,
    service: Service,
    operation: &str,
    body: &[u8],
) -> Option<Result<Vec<u8>, WireError>> {
    match service {
        Service::Ecs => ecs::dispatch(ctx, operation, body),
        Service::SecretsManager => secretsmanager::dispatch(ctx, operation, body),
        Service::Kms => kms::dispatch(ctx, operation, body),
        Service::Ssm => ssm::dispatch(ctx, operation, body),
        Service::Logs => logs::dispatch(ctx, operation, body),
        Service::Iam | Service::Sts => None,
    }
}

/// Runs a Query operation, returning the inner XML of its `<OpResult>`; `None` when unknown.
pub fn query_dispatch(
    ctx: &Ctx<'_>,
    service: Service,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    match service {
        Service::Sts => sts::dispatch(ctx, action, params),
        // GetSessionToken's credentials opened without an MFA code do not reach IAM: AWS
        // refuses their token there.
        Service::Iam
            if ctx.caller.is_user_session() && ctx.caller.mfa_authenticated_at.is_none() =>
        {
            Some(Err(WireError::new(
                axum::http::StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                crate::error::INVALID_TOKEN,
            )))
        }
        Service::Iam => iam::dispatch(ctx, action, params),
        _ => None,
    }
}
