//! One module per AWS service: decode the operation's input, call the domain, encode the output.

pub mod sts;

use std::time::SystemTime;

use crate::auth::Caller;
use crate::error::WireError;
use crate::protocol::Service;
use crate::server::ApiState;

/// What a service handler is given about the call.
pub struct Ctx<'a> {
    pub state: &'a ApiState,
    pub caller: &'a Caller,
    pub request_id: &'a str,
    pub now: SystemTime,
}

/// A Query request's parameters, in order (lists arrive as `Name.member.N`).
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: &[u8]) -> QueryParams {
        QueryParams(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs a JSON 1.1 operation; `None` when the caller's service has no such operation.
pub fn json_dispatch(
    ctx: &Ctx<'_>,
    operation: &str,
    input: serde_json::Value,
) -> Option<Result<serde_json::Value, WireError>> {
    let _ = (operation, input);
    match ctx.caller.service {
        // ECS, Secrets Manager and KMS operations arrive with their own issues.
        Service::Ecs | Service::SecretsManager | Service::Kms => None,
        Service::Iam | Service::Sts => None,
    }
}

/// Runs a Query operation, returning the inner XML of its `<OpResult>`; `None` when unknown.
pub fn query_dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    match ctx.caller.service {
        Service::Sts => sts::dispatch(ctx, action, params),
        _ => None,
    }
}
