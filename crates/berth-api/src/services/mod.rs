//! One module per AWS service: decode the operation's input, call the domain, encode the output.

pub mod ecs;
pub mod kms;
pub mod secretsmanager;
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

impl Ctx<'_> {
    /// The caller's account: the namespace the request acts in (with `caller.region`).
    pub fn account(&self) -> &str {
        self.caller.principal.account()
    }

    /// Seconds since the Unix epoch at the time the request arrived.
    pub fn now_secs(&self) -> u64 {
        self.now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Authorises `action` (e.g. `iam:CreateUser`) on `resource` (an ARN, or `*`) for the caller,
    /// with identity policies only. Every handler calls this (or [`crate::authz`]'s fuller
    /// forms) before it acts.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), WireError> {
        crate::authz::authorize(self, &crate::authz::Check::new(action, resource))
    }
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
    match ctx.caller.service {
        Service::Ecs => ecs::dispatch(ctx, operation, input),
        Service::SecretsManager => secretsmanager::dispatch(ctx, operation, input),
        Service::Kms => kms::dispatch(ctx, operation, input),
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
