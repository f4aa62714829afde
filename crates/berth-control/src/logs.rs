//! Amazon CloudWatch Logs: one function per operation.
//!
//! Each use case authorises its action on the ARN AWS names in its denials — a log group's
//! actions on `arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:` (so a policy's
//! `log-group:<group>:*` matches them), a stream's on
//! `…:log-group:<group>:log-stream:<stream>`, DescribeLogGroups on `…:log-group::log-stream:`,
//! the ARN-based tag operations on the log group's ARN as given — before it reads or writes,
//! then acts through `berth_logs`. Failed model constraints are `InvalidParameterException`,
//! as CloudWatch Logs answers them.

use std::collections::BTreeMap;

use berth_logs::{
    FilterQuery, GetQuery, Group, Logs, LogsError, Pattern, Stream, StreamQuery, Token,
};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::authz::{self, Check};
use crate::{Ctx, Error};

/// Rows of deleted streams and groups a call removes after it answers its own question.
const SWEEP_BUDGET: usize = 2_000;

fn logs<'c>(ctx: &'c Ctx<'_>) -> Logs<'c> {
    Logs::new(ctx.control.store.as_ref())
}

fn now_ms(ctx: &Ctx<'_>) -> u64 {
    u64::try_from(berth_core::time::epoch_nanos(ctx.now) / 1_000_000).unwrap_or(0)
}

fn required<T>(value: Option<T>, member: &str) -> Result<T, Error> {
    value.ok_or_else(|| {
        LogsError::InvalidParameter(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
        .into()
    })
}

fn invalid(message: &str) -> Error {
    LogsError::InvalidParameter(message.to_string()).into()
}

/// The resource a log group's actions are authorised on.
fn group_resource(ctx: &Ctx<'_>, group: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{group}:log-stream:",
        ctx.caller.region,
        ctx.account()
    )
}

fn authorize(ctx: &Ctx<'_>, action: &str, resource: &str) -> Result<(), Error> {
    authz::authorize(ctx, &Check::new(action, resource))
}

fn authorize_group(ctx: &Ctx<'_>, action: &str, group: &str) -> Result<(), Error> {
    authorize(ctx, action, &group_resource(ctx, group))
}

fn authorize_stream(ctx: &Ctx<'_>, action: &str, group: &str, stream: &str) -> Result<(), Error> {
    let arn = berth_logs::stream_arn(&ctx.caller.region, ctx.account(), group, stream);
    authorize(ctx, action, &arn)
}

/// The log group named by an ARN of the caller's account and region (`…:log-group:<name>`,
/// with or without AWS's trailing `:*`).
fn name_from_arn<'a>(ctx: &Ctx<'_>, arn: &'a str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let rest = rest
        .strip_prefix(ctx.caller.region.as_str())?
        .strip_prefix(':')?;
    let rest = rest
        .strip_prefix(ctx.account())?
        .strip_prefix(":log-group:")?;
    Some(rest.strip_suffix(":*").unwrap_or(rest))
}

/// The log group an operation names by `logGroupName` or `logGroupIdentifier` (a name or an
/// ARN), exactly one of them.
fn group_name(
    ctx: &Ctx<'_>,
    name: Option<String>,
    identifier: Option<String>,
) -> Result<String, Error> {
    let name = match (name, identifier) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "logGroupName and logGroupIdentifier are mutually exclusive: give one",
            ));
        }
        (None, None) => {
            return Err(invalid(
                "either logGroupName or logGroupIdentifier must be given",
            ));
        }
        (Some(n), None) => n,
        (None, Some(id)) if id.starts_with("arn:") => match name_from_arn(ctx, &id) {
            Some(n) => n.to_string(),
            None => return Err(LogsError::GroupNotFound.into()),
        },
        (None, Some(id)) => id,
    };
    berth_logs::validate_group_name("logGroupName", &name)?;
    Ok(name)
}

fn group(ctx: &Ctx<'_>, name: &str) -> Result<Group, Error> {
    Ok(logs(ctx).group(ctx.account(), &ctx.caller.region, name)?)
}

/// Removes a bounded number of rows of deleted streams and groups, when there are any.
fn sweep(ctx: &Ctx<'_>) -> Result<(), Error> {
    let l = logs(ctx);
    if l.has_garbage()? {
        l.sweep(SWEEP_BUDGET)?;
    }
    Ok(())
}

fn check_limit(limit: Option<i64>, max: i64) -> Result<Option<usize>, Error> {
    match limit {
        None => Ok(None),
        Some(l) if l < 1 => Err(berth_logs::constraint(
            &l.to_string(),
            "limit",
            "Member must have value greater than or equal to 1",
        )
        .into()),
        Some(l) if l > max => Err(berth_logs::constraint(
            &l.to_string(),
            "limit",
            &format!("Member must have value less than or equal to {max}"),
        )
        .into()),
        Some(l) => Ok(usize::try_from(l).ok()),
    }
}

fn timestamp(value: Option<i64>, member: &str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(t) => u64::try_from(t).map(Some).map_err(|_| {
            berth_logs::constraint(
                &t.to_string(),
                member,
                "Member must have value greater than or equal to 0",
            )
            .into()
        }),
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tags.is_empty() || tags.len() > 50 {
        return Err(berth_logs::constraint(
            &format!("{} tags", tags.len()),
            "tags",
            "Member must have length between 1 and 50",
        )
        .into());
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:") {
            return Err(invalid(&format!("the tag key {k:?} is not valid")));
        }
        if v.chars().count() > 256 {
            return Err(invalid(&format!(
                "the value of tag {k:?} is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- log groups

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroupInput {
    pub log_group_name: Option<String>,
    pub kms_key_id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub log_group_class: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
}

/// The empty answer of the operations that return nothing.
#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn create_log_group(ctx: &Ctx<'_>, input: CreateLogGroupInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:CreateLogGroup", &name)?;
    if let Some(tags) = &input.tags {
        authorize_group(ctx, "logs:TagResource", &name).map_err(|e| match e {
            Error::AccessDenied(_) => Error::AccessDenied(format!(
                "User with accountId: {} is not authorized to perform CreateLogGroup with Tags. An additional permission \"logs:TagResource\" is required.",
                ctx.account()
            )),
            e => e,
        })?;
        check_tags(tags)?;
    }
    if input.kms_key_id.is_some() {
        return Err(invalid(
            "berth does not encrypt log groups with a KMS key (kmsKeyId)",
        ));
    }
    match input.log_group_class.as_deref() {
        None | Some("STANDARD") => {}
        Some(c @ ("INFREQUENT_ACCESS" | "DELIVERY")) => {
            return Err(invalid(&format!(
                "berth serves only STANDARD log groups, not {c}"
            )));
        }
        Some(c) => {
            return Err(berth_logs::constraint(
                c,
                "logGroupClass",
                "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]",
            )
            .into());
        }
    }
    if input.deletion_protection_enabled == Some(true) {
        return Err(invalid(
            "berth does not offer deletion protection for log groups",
        ));
    }
    logs(ctx).create_group(
        ctx.account(),
        &ctx.caller.region,
        &name,
        input.tags.unwrap_or_default(),
        now_ms(ctx),
    )?;
    Ok(Empty {})
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupNameInput {
    pub log_group_name: Option<String>,
}

pub fn delete_log_group(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:DeleteLogGroup", &name)?;
    logs(ctx).delete_group(ctx.account(), &ctx.caller.region, &name)?;
    sweep(ctx)?;
    Ok(Empty {})
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsInput {
    pub account_identifiers: Option<Vec<IgnoredAny>>,
    pub log_group_name_prefix: Option<String>,
    pub log_group_name_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub include_linked_accounts: Option<bool>,
    pub log_group_class: Option<String>,
    pub log_group_identifiers: Option<Vec<IgnoredAny>>,
}

/// A log group as DescribeLogGroups shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupOutput {
    pub log_group_name: String,
    pub creation_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
    pub metric_filter_count: u32,
    /// The group's ARN with AWS's trailing `:*`.
    pub arn: String,
    pub stored_bytes: u64,
    pub log_group_class: &'static str,
    pub log_group_arn: String,
}

impl From<Group> for LogGroupOutput {
    fn from(g: Group) -> LogGroupOutput {
        let arn = g.arn();
        LogGroupOutput {
            arn: format!("{arn}:*"),
            log_group_arn: arn,
            log_group_name: g.name,
            creation_time: g.created_ms,
            retention_in_days: g.retention_days,
            metric_filter_count: 0,
            stored_bytes: g.stored_bytes,
            log_group_class: "STANDARD",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsOutput {
    pub log_groups: Vec<LogGroupOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn describe_log_groups(
    ctx: &Ctx<'_>,
    input: DescribeLogGroupsInput,
) -> Result<DescribeLogGroupsOutput, Error> {
    let resource = format!(
        "arn:aws:logs:{}:{}:log-group::log-stream:",
        ctx.caller.region,
        ctx.account()
    );
    authorize(ctx, "logs:DescribeLogGroups", &resource)?;
    if input.account_identifiers.is_some()
        || input.include_linked_accounts == Some(true)
        || input.log_group_identifiers.is_some()
    {
        return Err(invalid(
            "berth has no cross-account observability: accountIdentifiers, includeLinkedAccounts and logGroupIdentifiers are not supported",
        ));
    }
    if let Some(p) = &input.log_group_name_prefix {
        berth_logs::validate_group_name("logGroupNamePrefix", p)?;
    }
    if let Some(p) = &input.log_group_name_pattern {
        if !p.is_empty() {
            berth_logs::validate_group_name("logGroupNamePattern", p)?;
        }
        if input.log_group_name_prefix.is_some() {
            return Err(invalid(
                "logGroupNamePrefix and logGroupNamePattern are mutually exclusive: give one",
            ));
        }
    }
    let limit = check_limit(input.limit, 50)?.unwrap_or(50);
    if input
        .log_group_class
        .as_deref()
        .is_some_and(|c| c != "STANDARD")
    {
        return Ok(DescribeLogGroupsOutput {
            log_groups: Vec::new(),
            next_token: None,
        });
    }
    let (groups, next_token) = logs(ctx).list_groups(
        ctx.account(),
        &ctx.caller.region,
        input.log_group_name_prefix.as_deref(),
        input
            .log_group_name_pattern
            .as_deref()
            .filter(|p| !p.is_empty()),
        input.next_token.as_deref(),
        limit,
    )?;
    Ok(DescribeLogGroupsOutput {
        log_groups: groups.into_iter().map(LogGroupOutput::from).collect(),
        next_token,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyInput {
    pub log_group_name: Option<String>,
    pub retention_in_days: Option<i64>,
}

pub fn put_retention_policy(ctx: &Ctx<'_>, input: PutRetentionPolicyInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    let days = required(input.retention_in_days, "retentionInDays")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:PutRetentionPolicy", &name)?;
    let days = berth_logs::validate_retention(days)?;
    logs(ctx).update_group(ctx.account(), &ctx.caller.region, &name, |g| {
        g.retention_days = Some(days);
        Ok(())
    })?;
    Ok(Empty {})
}

pub fn delete_retention_policy(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:DeleteRetentionPolicy", &name)?;
    logs(ctx).update_group(ctx.account(), &ctx.caller.region, &name, |g| {
        g.retention_days = None;
        Ok(())
    })?;
    Ok(Empty {})
}

// ---------------------------------------------------------------- tags

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    pub resource_arn: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceInput {
    pub resource_arn: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TagsOutput {
    pub tags: BTreeMap<String, String>,
}

/// The log group a tag operation's `resourceArn` names, authorised for `action` on that ARN.
fn tagged_group(ctx: &Ctx<'_>, arn: Option<String>, action: &str) -> Result<String, Error> {
    let arn = required(arn, "resourceArn")?;
    authorize(ctx, action, &arn)?;
    match name_from_arn(ctx, &arn) {
        Some(name) if berth_logs::validate_group_name("resourceArn", name).is_ok() => {
            Ok(name.to_string())
        }
        _ => Err(LogsError::GroupNotFound.into()),
    }
}

fn update_tags(
    ctx: &Ctx<'_>,
    name: &str,
    change: impl FnOnce(&mut BTreeMap<String, String>),
) -> Result<(), Error> {
    logs(ctx).update_group(ctx.account(), &ctx.caller.region, name, |g| {
        change(&mut g.tags);
        if g.tags.len() > 50 {
            return Err(LogsError::InvalidParameter(
                "a log group has at most 50 tags".into(),
            ));
        }
        Ok(())
    })?;
    Ok(())
}

pub fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<Empty, Error> {
    let name = tagged_group(ctx, input.resource_arn, "logs:TagResource")?;
    let tags = required(input.tags, "tags")?;
    check_tags(&tags)?;
    update_tags(ctx, &name, |t| t.extend(tags))?;
    Ok(Empty {})
}

pub fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<Empty, Error> {
    let name = tagged_group(ctx, input.resource_arn, "logs:UntagResource")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    update_tags(ctx, &name, |t| {
        for k in &keys {
            t.remove(k);
        }
    })?;
    Ok(Empty {})
}

pub fn list_tags_for_resource(
    ctx: &Ctx<'_>,
    input: ListTagsForResourceInput,
) -> Result<TagsOutput, Error> {
    let name = tagged_group(ctx, input.resource_arn, "logs:ListTagsForResource")?;
    Ok(TagsOutput {
        tags: group(ctx, &name)?.tags,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupInput {
    pub log_group_name: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupInput {
    pub log_group_name: Option<String>,
    pub tags: Option<Vec<String>>,
}

pub fn tag_log_group(ctx: &Ctx<'_>, input: TagLogGroupInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:TagLogGroup", &name)?;
    let tags = required(input.tags, "tags")?;
    check_tags(&tags)?;
    update_tags(ctx, &name, |t| t.extend(tags))?;
    Ok(Empty {})
}

pub fn untag_log_group(ctx: &Ctx<'_>, input: UntagLogGroupInput) -> Result<Empty, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:UntagLogGroup", &name)?;
    let keys = required(input.tags, "tags")?;
    update_tags(ctx, &name, |t| {
        for k in &keys {
            t.remove(k);
        }
    })?;
    Ok(Empty {})
}

pub fn list_tags_log_group(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<TagsOutput, Error> {
    let name = required(input.log_group_name, "logGroupName")?;
    berth_logs::validate_group_name("logGroupName", &name)?;
    authorize_group(ctx, "logs:ListTagsLogGroup", &name)?;
    Ok(TagsOutput {
        tags: group(ctx, &name)?.tags,
    })
}

// ---------------------------------------------------------------- log streams

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamInput {
    pub log_group_name: Option<String>,
    pub log_stream_name: Option<String>,
}

fn stream_names(input: LogStreamInput) -> Result<(String, String), Error> {
    let group = required(input.log_group_name, "logGroupName")?;
    let stream = required(input.log_stream_name, "logStreamName")?;
    berth_logs::validate_group_name("logGroupName", &group)?;
    berth_logs::validate_stream_name("logStreamName", &stream)?;
    Ok((group, stream))
}

pub fn create_log_stream(ctx: &Ctx<'_>, input: LogStreamInput) -> Result<Empty, Error> {
    let (group, stream) = stream_names(input)?;
    authorize_stream(ctx, "logs:CreateLogStream", &group, &stream)?;
    logs(ctx).create_stream(
        ctx.account(),
        &ctx.caller.region,
        &group,
        &stream,
        now_ms(ctx),
    )?;
    Ok(Empty {})
}

pub fn delete_log_stream(ctx: &Ctx<'_>, input: LogStreamInput) -> Result<Empty, Error> {
    let (group, stream) = stream_names(input)?;
    authorize_stream(ctx, "logs:DeleteLogStream", &group, &stream)?;
    logs(ctx).delete_stream(ctx.account(), &ctx.caller.region, &group, &stream)?;
    sweep(ctx)?;
    Ok(Empty {})
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name_prefix: Option<String>,
    pub order_by: Option<String>,
    pub descending: Option<bool>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// A log stream as DescribeLogStreams shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamOutput {
    pub log_stream_name: String,
    pub creation_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_event_timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ingestion_time: Option<u64>,
    pub upload_sequence_token: String,
    pub arn: String,
    /// Always 0: AWS deprecated the member for streams and reports zero.
    pub stored_bytes: u64,
}

fn stream_output(ctx: &Ctx<'_>, group: &str, s: Stream) -> LogStreamOutput {
    LogStreamOutput {
        arn: berth_logs::stream_arn(&ctx.caller.region, ctx.account(), group, &s.name),
        upload_sequence_token: s.upload_sequence_token(),
        log_stream_name: s.name,
        creation_time: s.created_ms,
        first_event_timestamp: s.first_event,
        last_event_timestamp: s.last_event,
        last_ingestion_time: s.last_ingestion,
        stored_bytes: 0,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsOutput {
    pub log_streams: Vec<LogStreamOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn describe_log_streams(
    ctx: &Ctx<'_>,
    input: DescribeLogStreamsInput,
) -> Result<DescribeLogStreamsOutput, Error> {
    let name = group_name(ctx, input.log_group_name, input.log_group_identifier)?;
    authorize_group(ctx, "logs:DescribeLogStreams", &name)?;
    if let Some(p) = &input.log_stream_name_prefix {
        berth_logs::validate_stream_name("logStreamNamePrefix", p)?;
    }
    let by_last_event = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(o) => {
            return Err(berth_logs::constraint(
                o,
                "orderBy",
                "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
            )
            .into());
        }
    };
    if by_last_event && input.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let limit = check_limit(input.limit, 50)?.unwrap_or(50);
    let g = group(ctx, &name)?;
    let (streams, next_token) = logs(ctx).list_streams(
        &g,
        &StreamQuery {
            prefix: input.log_stream_name_prefix,
            by_last_event,
            descending: input.descending.unwrap_or(false),
            token: input.next_token,
            limit,
        },
    )?;
    Ok(DescribeLogStreamsOutput {
        log_streams: streams
            .into_iter()
            .map(|s| stream_output(ctx, &name, s))
            .collect(),
        next_token,
    })
}

// ---------------------------------------------------------------- events

/// An event as PutLogEvents receives it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEvent {
    pub timestamp: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsInput {
    pub log_group_name: Option<String>,
    pub log_stream_name: Option<String>,
    pub log_events: Option<Vec<InputLogEvent>>,
    /// Accepted and ignored, as AWS does.
    pub sequence_token: Option<IgnoredAny>,
    pub entity: Option<IgnoredAny>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedLogEventsInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_old_log_event_end_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_log_event_end_index: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsOutput {
    pub next_sequence_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_log_events_info: Option<RejectedLogEventsInfo>,
}

pub fn put_log_events(
    ctx: &Ctx<'_>,
    input: PutLogEventsInput,
) -> Result<PutLogEventsOutput, Error> {
    let (group, stream) = stream_names(LogStreamInput {
        log_group_name: input.log_group_name,
        log_stream_name: input.log_stream_name,
    })?;
    let raw = required(input.log_events, "logEvents")?;
    authorize_stream(ctx, "logs:PutLogEvents", &group, &stream)?;
    let mut events = Vec::with_capacity(raw.len().min(berth_logs::MAX_BATCH_EVENTS + 1));
    for (i, e) in raw.into_iter().enumerate() {
        let member = format!("logEvents.{}.member", i + 1);
        let ts = required(e.timestamp, &format!("{member}.timestamp"))?;
        let ts = timestamp(Some(ts), &format!("{member}.timestamp"))?.unwrap_or(0);
        events.push((ts, required(e.message, &format!("{member}.message"))?));
    }
    berth_logs::check_batch(&events)?;
    let out = logs(ctx).put_events(
        ctx.account(),
        &ctx.caller.region,
        &group,
        &stream,
        &events,
        now_ms(ctx),
    )?;
    sweep(ctx)?;
    let r = out.rejected;
    Ok(PutLogEventsOutput {
        next_sequence_token: out.next_sequence_token,
        rejected_log_events_info: (!r.is_empty()).then_some(RejectedLogEventsInfo {
            too_new_log_event_start_index: r.too_new_start,
            too_old_log_event_end_index: r.too_old_end,
            expired_log_event_end_index: r.expired_end,
        }),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub start_from_head: Option<bool>,
    pub unmask: Option<bool>,
}

/// An event as GetLogEvents answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputLogEvent {
    pub timestamp: u64,
    pub message: String,
    pub ingestion_time: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsOutput {
    pub events: Vec<OutputLogEvent>,
    pub next_forward_token: String,
    pub next_backward_token: String,
}

pub fn get_log_events(
    ctx: &Ctx<'_>,
    input: GetLogEventsInput,
) -> Result<GetLogEventsOutput, Error> {
    let name = group_name(ctx, input.log_group_name, input.log_group_identifier)?;
    let stream = required(input.log_stream_name, "logStreamName")?;
    berth_logs::validate_stream_name("logStreamName", &stream)?;
    authorize_stream(ctx, "logs:GetLogEvents", &name, &stream)?;
    if input.unmask == Some(true) {
        authorize_group(ctx, "logs:Unmask", &name)?;
    }
    let limit = check_limit(input.limit, 10_000)?;
    let token = input.next_token.as_deref().map(Token::parse).transpose()?;
    let query = GetQuery {
        start: timestamp(input.start_time, "startTime")?,
        end: timestamp(input.end_time, "endTime")?,
        token,
        from_head: input.start_from_head.unwrap_or(false),
        limit,
    };
    let g = group(ctx, &name)?;
    let l = logs(ctx);
    let s = l.stream(&g, &stream)?;
    let page = l.get_events(&g, &s, &query, now_ms(ctx))?;
    Ok(GetLogEventsOutput {
        events: page
            .events
            .into_iter()
            .map(|e| OutputLogEvent {
                timestamp: e.timestamp,
                message: e.message,
                ingestion_time: e.ingestion,
            })
            .collect(),
        next_forward_token: page.forward.to_string(),
        next_backward_token: page.backward.to_string(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_names: Option<Vec<String>>,
    pub log_stream_name_prefix: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub filter_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    /// Ignored, as AWS ignores it: events are always interleaved.
    pub interleaved: Option<bool>,
    pub unmask: Option<bool>,
}

/// An event as FilterLogEvents answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilteredLogEvent {
    pub log_stream_name: String,
    pub timestamp: u64,
    pub message: String,
    pub ingestion_time: u64,
    pub event_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchedLogStream {
    pub log_stream_name: String,
    pub searched_completely: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsOutput {
    pub events: Vec<FilteredLogEvent>,
    pub searched_log_streams: Vec<SearchedLogStream>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn filter_log_events(
    ctx: &Ctx<'_>,
    input: FilterLogEventsInput,
) -> Result<FilterLogEventsOutput, Error> {
    let name = group_name(ctx, input.log_group_name, input.log_group_identifier)?;
    authorize_group(ctx, "logs:FilterLogEvents", &name)?;
    if input.unmask == Some(true) {
        authorize_group(ctx, "logs:Unmask", &name)?;
    }
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive: give one",
        ));
    }
    if let Some(names) = &input.log_stream_names {
        if names.is_empty() || names.len() > 100 {
            return Err(berth_logs::constraint(
                &format!("{} names", names.len()),
                "logStreamNames",
                "Member must have length between 1 and 100",
            )
            .into());
        }
        for n in names {
            berth_logs::validate_stream_name("logStreamNames.member", n)?;
        }
    }
    if let Some(p) = &input.log_stream_name_prefix {
        berth_logs::validate_stream_name("logStreamNamePrefix", p)?;
    }
    let pattern = Pattern::parse(input.filter_pattern.as_deref().unwrap_or(""))?;
    let limit = check_limit(input.limit, 10_000)?;
    let g = group(ctx, &name)?;
    let query = FilterQuery {
        stream_names: input.log_stream_names,
        stream_prefix: input.log_stream_name_prefix,
        start: timestamp(input.start_time, "startTime")?,
        end: timestamp(input.end_time, "endTime")?,
        pattern,
        token: input.next_token,
        limit,
    };
    let page = logs(ctx).filter_events(&g, &query, now_ms(ctx))?;
    let complete = page.next_token.is_none();
    Ok(FilterLogEventsOutput {
        events: page
            .events
            .into_iter()
            .map(|e| FilteredLogEvent {
                log_stream_name: e.stream,
                timestamp: e.timestamp,
                message: e.message,
                ingestion_time: e.ingestion,
                event_id: e.event_id,
            })
            .collect(),
        searched_log_streams: query
            .stream_names
            .unwrap_or_default()
            .into_iter()
            .map(|n| SearchedLogStream {
                log_stream_name: n,
                searched_completely: complete,
            })
            .collect(),
        next_token: page.next_token,
    })
}

/// The timestamps of a log stream's last `limit` events, oldest first: how berth's own log
/// shipper (the awslogs driver of its Fargate capacity) reads where a stream stands before it
/// ships after it. It is berth acting for itself, as AWS's Fargate platform does, so no caller
/// is authorised; a missing group or stream has no events.
pub fn stream_tail(
    control: &crate::Control,
    account: &str,
    region: &str,
    group: &str,
    stream: &str,
    limit: usize,
) -> Result<Vec<u64>, Error> {
    let l = Logs::new(control.store.as_ref());
    let g = match l.group(account, region, group) {
        Ok(g) => g,
        Err(LogsError::GroupNotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let s = match l.stream(&g, stream) {
        Ok(s) => s,
        Err(LogsError::StreamNotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let now = u64::try_from(berth_core::time::epoch_nanos(control.now()) / 1_000_000).unwrap_or(0);
    let query = GetQuery {
        from_head: false,
        limit: Some(limit.clamp(1, 10_000)),
        ..Default::default()
    };
    let page = l.get_events(&g, &s, &query, now)?;
    Ok(page.events.iter().map(|e| e.timestamp).collect())
}
