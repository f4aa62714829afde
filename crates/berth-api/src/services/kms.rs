//! AWS Key Management Service (JSON 1.1, target prefix `TrentService`).

use serde_json::Value;

use crate::error::WireError;
use crate::services::Ctx;

/// Runs one operation; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, input: Value) -> Option<Result<Value, WireError>> {
    let _ = (ctx, input);
    match operation {
        _ => None,
    }
}
