//! AWS Security Token Service (Query protocol, version 2011-06-15).

use crate::error::WireError;
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    _params: &QueryParams,
) -> Option<Result<String, WireError>> {
    match action {
        "GetCallerIdentity" => Some(Ok(get_caller_identity(ctx))),
        _ => None,
    }
}

fn get_caller_identity(ctx: &Ctx<'_>) -> String {
    let id = ctx.caller.principal.caller_identity();
    let mut out = String::new();
    element(&mut out, "Arn", &id.arn);
    element(&mut out, "UserId", &id.user_id);
    element(&mut out, "Account", &id.account);
    out
}
