//! One module per AWS service: decode the operation's input, call the domain, encode the output.

pub mod ecs;
pub mod iam;
pub mod json;
pub mod kms;
pub mod query;
pub mod secretsmanager;
mod sorted_json;
pub mod sts;

use crate::error::WireError;
use crate::protocol::Service;

pub use berth_control::Ctx;
pub use query::{Member, QueryParams};

/// Runs a JSON 1.1 operation and writes its answer; `None` when the caller's service has no
/// such operation. Secrets Manager and KMS decode their typed inputs from the body and write
/// their typed outputs straight into bytes; the others are built as a `Value` (whose members
/// come out sorted by name) and then written.
pub fn json_dispatch(
    ctx: &Ctx<'_>,
    service: Service,
    operation: &str,
    body: &[u8],
) -> Option<Result<Vec<u8>, WireError>> {
    match service {
        Service::SecretsManager => return secretsmanager::dispatch(ctx, operation, body),
        Service::Kms => return kms::dispatch(ctx, operation, body),
        _ => {}
    }
    let input = match json::value(body) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    let output = match service {
        Service::Ecs if operation == "DescribeTasks" => {
            return Some(ecs::describe_tasks_json(ctx, &input));
        }
        Service::Ecs => ecs::dispatch(ctx, operation, input),
        Service::SecretsManager | Service::Kms | Service::Iam | Service::Sts => None,
    }?;
    Some(output.and_then(|v| json_bytes(&v)))
}

/// `value` as compact JSON (what `Value`'s `Display` writes), straight into bytes.
pub(crate) fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(value).map_err(|e| WireError::internal(&e))
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
        Service::Iam => iam::dispatch(ctx, action, params),
        _ => None,
    }
}
