//! AWS Secrets Manager (JSON 1.1, target prefix `secretsmanager`): each operation's typed
//! input is decoded from the body, its use case in `berth_control::secretsmanager` runs, and
//! its typed output is encoded (GetSecretValue's straight into bytes, like every other).

use berth_control::secretsmanager::{self as uc, BatchGetSecretValueOutput, GetSecretValueOutput};
use serde::Serialize;

use crate::error::WireError;
use crate::services::Ctx;
use crate::services::json::{call, decode, encode};

/// Runs one operation on the request body; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, body: &[u8]) -> Option<Result<Vec<u8>, WireError>> {
    Some(match operation {
        "CreateSecret" => call(body, |i| uc::create_secret(ctx, i)),
        "GetSecretValue" => call(body, |i| uc::get_secret_value(ctx, i)),
        "BatchGetSecretValue" => batch_get_secret_value(ctx, body),
        "PutSecretValue" => call(body, |i| uc::put_secret_value(ctx, i)),
        "UpdateSecret" => call(body, |i| uc::update_secret(ctx, i)),
        "UpdateSecretVersionStage" => call(body, |i| uc::update_secret_version_stage(ctx, i)),
        "DescribeSecret" => call(body, |i| uc::describe_secret(ctx, i)),
        "ListSecrets" => call(body, |i| uc::list_secrets(ctx, i)),
        "ListSecretVersionIds" => call(body, |i| uc::list_secret_version_ids(ctx, i)),
        "DeleteSecret" => call(body, |i| uc::delete_secret(ctx, i)),
        "RestoreSecret" => call(body, |i| uc::restore_secret(ctx, i)),
        "PutResourcePolicy" => call(body, |i| uc::put_resource_policy(ctx, i)),
        "GetResourcePolicy" => call(body, |i| uc::get_resource_policy(ctx, i)),
        "DeleteResourcePolicy" => call(body, |i| uc::delete_resource_policy(ctx, i)),
        "ValidateResourcePolicy" => call(body, |i| uc::validate_resource_policy(ctx, i)),
        "TagResource" => call(body, |i| uc::tag_resource(ctx, i)),
        "UntagResource" => call(body, |i| uc::untag_resource(ctx, i)),
        "GetRandomPassword" => call(body, |i| uc::get_random_password(ctx, i)),
        "RotateSecret" => call(body, |i| uc::rotate_secret(ctx, i)),
        "CancelRotateSecret" => call(body, |i| uc::cancel_rotate_secret(ctx, i)),
        "ReplicateSecretToRegions" => call(body, |i| uc::replicate_secret_to_regions(ctx, i)),
        "RemoveRegionsFromReplication" => {
            call(body, |i| uc::remove_regions_from_replication(ctx, i))
        }
        "StopReplicationToReplica" => call(body, |i| uc::stop_replication_to_replica(ctx, i)),
        "ListResourcePolicies" => call(body, |i| uc::list_resource_policies(ctx, i)),
        "AssociateCrossAccountReplica" => {
            call(body, |i| uc::associate_cross_account_replica(ctx, i))
        }
        "DisassociateCrossAccountReplica" => {
            call(body, |i| uc::disassociate_cross_account_replica(ctx, i))
        }
        _ => return None,
    })
}

/// One secret BatchGetSecretValue could not read, in AWS's words (`APIErrorType`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiError {
    secret_id: String,
    error_code: String,
    message: String,
}

/// BatchGetSecretValue's answer on the wire: each failure gets its AWS code here.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetSecretValueWire {
    secret_values: Vec<GetSecretValueOutput>,
    errors: Vec<ApiError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl From<BatchGetSecretValueOutput> for BatchGetSecretValueWire {
    fn from(out: BatchGetSecretValueOutput) -> Self {
        BatchGetSecretValueWire {
            secret_values: out.secret_values,
            errors: out
                .errors
                .into_iter()
                .map(|e| {
                    let w = WireError::from(e.error);
                    ApiError {
                        secret_id: e.secret_id,
                        error_code: w.code,
                        message: w.message.unwrap_or_default(),
                    }
                })
                .collect(),
            next_token: out.next_token,
        }
    }
}

fn batch_get_secret_value(ctx: &Ctx<'_>, body: &[u8]) -> Result<Vec<u8>, WireError> {
    let output = uc::batch_get_secret_value(ctx, decode(body)?)?;
    encode(&BatchGetSecretValueWire::from(output))
}
