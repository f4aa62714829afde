//! AWS Systems Manager Parameter Store (JSON 1.1, target prefix `AmazonSSM`): each
//! operation's typed input is decoded from the body, its use case in `berth_control::ssm`
//! runs, and its typed output is encoded.

use berth_control::ssm as uc;

use crate::error::WireError;
use crate::services::Ctx;
use crate::services::json::call;

/// Runs one operation on the request body; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, body: &[u8]) -> Option<Result<Vec<u8>, WireError>> {
    Some(match operation {
        "PutParameter" => call(body, |i| uc::put_parameter(ctx, i)),
        "GetParameter" => call(body, |i| uc::get_parameter(ctx, i)),
        "GetParameters" => call(body, |i| uc::get_parameters(ctx, i)),
        "GetParametersByPath" => call(body, |i| uc::get_parameters_by_path(ctx, i)),
        "GetParameterHistory" => call(body, |i| uc::get_parameter_history(ctx, i)),
        "DescribeParameters" => call(body, |i| uc::describe_parameters(ctx, i)),
        "DeleteParameter" => call(body, |i| uc::delete_parameter(ctx, i)),
        "DeleteParameters" => call(body, |i| uc::delete_parameters(ctx, i)),
        "LabelParameterVersion" => call(body, |i| uc::label_parameter_version(ctx, i)),
        "UnlabelParameterVersion" => call(body, |i| uc::unlabel_parameter_version(ctx, i)),
        "AddTagsToResource" => call(body, |i| uc::add_tags_to_resource(ctx, i)),
        "RemoveTagsFromResource" => call(body, |i| uc::remove_tags_from_resource(ctx, i)),
        "ListTagsForResource" => call(body, |i| uc::list_tags_for_resource(ctx, i)),
        _ => return None,
    })
}
