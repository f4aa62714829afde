//! Amazon CloudWatch Logs (JSON 1.1, target prefix `Logs_20140328`, signing name `logs`): each
//! operation's typed input is decoded from the body, its use case in `berth_control::logs`
//! runs, and its typed output is encoded.

use berth_control::logs as uc;

use crate::error::WireError;
use crate::services::Ctx;
use crate::services::json::call;

/// Runs one operation on the request body; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, body: &[u8]) -> Option<Result<Vec<u8>, WireError>> {
    Some(match operation {
        "CreateLogGroup" => call(body, |i| uc::create_log_group(ctx, i)),
        "DeleteLogGroup" => call(body, |i| uc::delete_log_group(ctx, i)),
        "DescribeLogGroups" => call(body, |i| uc::describe_log_groups(ctx, i)),
        "PutRetentionPolicy" => call(body, |i| uc::put_retention_policy(ctx, i)),
        "DeleteRetentionPolicy" => call(body, |i| uc::delete_retention_policy(ctx, i)),
        "CreateLogStream" => call(body, |i| uc::create_log_stream(ctx, i)),
        "DeleteLogStream" => call(body, |i| uc::delete_log_stream(ctx, i)),
        "DescribeLogStreams" => call(body, |i| uc::describe_log_streams(ctx, i)),
        "PutLogEvents" => call(body, |i| uc::put_log_events(ctx, i)),
        "GetLogEvents" => call(body, |i| uc::get_log_events(ctx, i)),
        "FilterLogEvents" => call(body, |i| uc::filter_log_events(ctx, i)),
        "TagResource" => call(body, |i| uc::tag_resource(ctx, i)),
        "UntagResource" => call(body, |i| uc::untag_resource(ctx, i)),
        "ListTagsForResource" => call(body, |i| uc::list_tags_for_resource(ctx, i)),
        "TagLogGroup" => call(body, |i| uc::tag_log_group(ctx, i)),
        "UntagLogGroup" => call(body, |i| uc::untag_log_group(ctx, i)),
        "ListTagsLogGroup" => call(body, |i| uc::list_tags_log_group(ctx, i)),
        _ => return None,
    })
}
