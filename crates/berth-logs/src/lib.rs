//! berth-logs: CloudWatch Logs' domain — log groups, log streams, their events, retention and
//! filter patterns — as plain Rust over the `Store` trait (`now` is an argument, in epoch
//! milliseconds).
//!
//! Storage, table by table (keys are ASCII; names that may hold any character are hex-encoded,
//! which keeps byte order and prefixes):
//! - `logs_groups`: `{account}/{region}/{name}` → [`Group`] (JSON).
//! - `logs_streams`: `{group id:016x}/{hex(name)}` → [`Stream`] (JSON); `logs_streams_time`:
//!   `{group id:016x}/{last event:016x}/{hex(name)}` for DescribeLogStreams by LastEventTime;
//!   `logs_stream_ids`: `{stream id:016x}` → the stream's group and name.
//! - `logs_events`: `{stream id:016x}{position:024x}` → ingestion time (8 bytes, big-endian)
//!   and the message; a position is `timestamp << 32 | sequence`, so GetLogEvents is a range
//!   scan of one stream in time order.
//!   Each event is stored once: FilterLogEvents merges the group's streams' events in the order
//!   (timestamp, stream id, sequence), reading each stream from the page's start.
//! - `logs_group_time`: not written; rows a store holds from before are removed with their
//!   events (retention, deleted streams and groups).
//! - `logs_gone`: streams and groups deleted whose events are still being removed, a bounded
//!   number of rows at a time ([`Logs::sweep`]). Ids are never reused, so nothing of a deleted
//!   stream is ever visible again.
//!
//! Retention: events older than the group's retention are hidden from every read at once
//! (GetLogEvents, FilterLogEvents), and removed from the store a bounded number at a time when
//! their stream is written to.

mod error;
pub mod filter;
#[cfg(test)]
mod tests;

pub use error::{LogsError, constraint};
pub use filter::Pattern;

use std::collections::BTreeMap;

use berth_store::{Store, StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};

const GROUPS: &str = "logs_groups";
const STREAMS: &str = "logs_streams";
const STREAMS_BY_TIME: &str = "logs_streams_time";
const STREAM_IDS: &str = "logs_stream_ids";
const EVENTS: &str = "logs_events";
const GROUP_TIME: &str = "logs_group_time";
const META: &str = "logs_meta";
const GONE: &str = "logs_gone";
const NEXT_ID: &str = "next_id";

/// At most this many events in one PutLogEvents batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// At most this many bytes in one batch: each message's UTF-8 bytes plus [`EVENT_OVERHEAD`].
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// The bytes AWS counts for each event on top of its message.
pub const EVENT_OVERHEAD: usize = 26;
/// A page of GetLogEvents or FilterLogEvents holds at most this many bytes, counted as a batch.
pub const MAX_PAGE_BYTES: usize = 1_048_576;
/// At most this many events in a page, and the default.
pub const MAX_PAGE_EVENTS: usize = 10_000;
/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;
/// Events older than this are refused (`tooOldLogEventEndIndex`).
pub const TOO_OLD_MS: u64 = 14 * DAY_MS;
/// Events further ahead than this are refused (`tooNewLogEventStartIndex`).
pub const TOO_NEW_MS: u64 = 2 * 3_600_000;
/// The accepted events of one batch span at most this long.
pub const MAX_SPAN_MS: u64 = DAY_MS;
/// The retention periods AWS allows, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Rows read per store call while paging events.
const CHUNK: usize = 256;
/// FilterLogEvents reads at most this many index rows per call, then answers with a nextToken.
const FILTER_SCAN_BUDGET: usize = 50_000;
/// Expired events a PutLogEvents removes from its stream, at most.
const RETENTION_SWEEP: usize = 64;
/// The largest timestamp berth stores (AWS's are `long`s; negative ones are refused).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// A log group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The bytes of the messages stored in the group's streams.
    #[serde(default)]
    pub stored_bytes: u64,
}

impl Group {
    /// `logGroupArn`: `arn:aws:logs:<region>:<account>:log-group:<name>`.
    pub fn arn(&self) -> String {
        group_arn(&self.region, &self.account, &self.name)
    }

    /// The oldest timestamp the group's retention keeps (0 without retention).
    pub fn cutoff(&self, now_ms: u64) -> u64 {
        self.retention_days
            .map(|d| now_ms.saturating_sub(u64::from(d) * DAY_MS))
            .unwrap_or(0)
    }
}

/// A log group's ARN as `logGroupArn` and TagResource name it.
pub fn group_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{name}")
}

/// A log stream's ARN.
pub fn stream_arn(region: &str, account: &str, group: &str, stream: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}")
}

/// A log stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stream {
    pub id: u64,
    pub group_id: u64,
    pub name: String,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ingestion: Option<u64>,
    /// The sequence number of the stream's next event (from 1).
    pub next_seq: u32,
    #[serde(default)]
    pub stored_bytes: u64,
}

impl Stream {
    /// The stream's sequence token as PutLogEvents and DescribeLogStreams show it (AWS ignores
    /// the token a caller sends; it still hands one out).
    pub fn upload_sequence_token(&self) -> String {
        format!(
            "{:056}",
            (u128::from(self.id) << 32) | u128::from(self.next_seq)
        )
    }
}

/// Where a stream points from the id its events carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StreamId {
    group_id: u64,
    name: String,
}

/// One event as a read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub timestamp: u64,
    pub ingestion: u64,
    pub message: String,
    /// The stream's name (FilterLogEvents).
    pub stream: String,
    /// AWS's 56-digit event id.
    pub event_id: String,
}

/// What PutLogEvents refused of a batch (indexes into it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejected {
    pub too_new_start: Option<usize>,
    pub too_old_end: Option<usize>,
    pub expired_end: Option<usize>,
}

impl Rejected {
    pub fn is_empty(&self) -> bool {
        *self == Rejected::default()
    }
}

/// PutLogEvents' outcome.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub next_sequence_token: String,
    pub rejected: Rejected,
}

/// A GetLogEvents token: a gap between two events of a stream, and the direction to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Events after the gap, oldest first.
    Forward(u128),
    /// Events before the gap, newest first (answered oldest first).
    Backward(u128),
}

impl Token {
    /// Parses AWS's shape: `f/<56 digits>/s` or `b/<56 digits>/s`.
    pub fn parse(text: &str) -> Result<Token, LogsError> {
        let invalid = || LogsError::InvalidParameter("The specified nextToken is invalid.".into());
        let (dir, rest) = text.split_at_checked(2).ok_or_else(invalid)?;
        let digits = rest.strip_suffix("/s").ok_or_else(invalid)?;
        if digits.len() != 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let gap: u128 = digits.parse().map_err(|_| invalid())?;
        match dir {
            "f/" => Ok(Token::Forward(gap)),
            "b/" => Ok(Token::Backward(gap)),
            _ => Err(invalid()),
        }
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Forward(g) => write!(f, "f/{g:056}/s"),
            Token::Backward(g) => write!(f, "b/{g:056}/s"),
        }
    }
}

/// GetLogEvents' question.
#[derive(Debug, Clone, Default)]
pub struct GetQuery {
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub token: Option<Token>,
    pub from_head: bool,
    pub limit: Option<usize>,
}

/// A page of GetLogEvents.
#[derive(Debug, Clone)]
pub struct GetPage {
    pub events: Vec<Event>,
    pub forward: Token,
    pub backward: Token,
}

/// FilterLogEvents' question.
#[derive(Debug, Clone, Default)]
pub struct FilterQuery {
    pub stream_names: Option<Vec<String>>,
    pub stream_prefix: Option<String>,
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub pattern: Pattern,
    pub token: Option<String>,
    pub limit: Option<usize>,
}

/// A page of FilterLogEvents.
#[derive(Debug, Clone)]
pub struct FilterPage {
    pub events: Vec<Event>,
    pub next_token: Option<String>,
}

/// DescribeLogStreams' question.
#[derive(Debug, Clone, Default)]
pub struct StreamQuery {
    pub prefix: Option<String>,
    pub by_last_event: bool,
    pub descending: bool,
    pub token: Option<String>,
    pub limit: usize,
}

fn group_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn stream_key(group_id: u64, name: &str) -> String {
    format!("{group_id:016x}/{}", hex::encode(name))
}

fn by_time_key(group_id: u64, last: u64, name: &str) -> String {
    format!("{group_id:016x}/{last:016x}/{}", hex::encode(name))
}

fn position(timestamp: u64, seq: u32) -> u128 {
    (u128::from(timestamp) << 32) | u128::from(seq)
}

fn event_key(stream_id: u64, pos: u128) -> String {
    format!("{stream_id:016x}{pos:024x}")
}

fn index_key(group_id: u64, timestamp: u64, stream_id: u64, seq: u32) -> String {
    format!("{group_id:016x}{timestamp:016x}{stream_id:016x}{seq:08x}")
}

fn event_id(stream_id: u64, pos: u128) -> String {
    format!("{stream_id:020}{pos:036}")
}

/// The position an event key names.
fn key_position(key: &str) -> Result<u128, LogsError> {
    key.get(16..)
        .and_then(|h| u128::from_str_radix(h, 16).ok())
        .ok_or_else(|| LogsError::Corrupt(format!("event key {key}")))
}

/// An index key's timestamp, stream id and sequence (after the group id).
fn index_parts(key: &str) -> Option<(u64, u64, u32)> {
    let ts = u64::from_str_radix(key.get(16..32)?, 16).ok()?;
    let sid = u64::from_str_radix(key.get(32..48)?, 16).ok()?;
    let seq = u32::from_str_radix(key.get(48..56)?, 16).ok()?;
    Some((ts, sid, seq))
}

fn encode_event(ingestion: u64, message: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + message.len());
    v.extend_from_slice(&ingestion.to_be_bytes());
    v.extend_from_slice(message.as_bytes());
    v
}

fn decode_event(value: &[u8]) -> Result<(u64, String), LogsError> {
    let (head, message) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| LogsError::Corrupt("short event".into()))?;
    Ok((
        u64::from_be_bytes(*head),
        String::from_utf8_lossy(message).into_owned(),
    ))
}

/// The bytes an event counts for in a batch or a page.
pub fn event_size(message: &str) -> usize {
    message.len() + EVENT_OVERHEAD
}

/// Checks a log group name (`member` as the input names it) against the model.
pub fn validate_group_name(member: &str, name: &str) -> Result<(), LogsError> {
    let len = name.chars().count();
    if len < 1 {
        return Err(constraint(
            name,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if len > 512 {
        return Err(constraint(
            name,
            member,
            "Member must have length less than or equal to 512",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
    {
        return Err(constraint(
            name,
            member,
            r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// Checks a log stream name (or prefix) against the model.
pub fn validate_stream_name(member: &str, name: &str) -> Result<(), LogsError> {
    let len = name.chars().count();
    if len < 1 {
        return Err(constraint(
            name,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if len > 512 {
        return Err(constraint(
            name,
            member,
            "Member must have length less than or equal to 512",
        ));
    }
    if name.contains([':', '*']) {
        return Err(constraint(
            name,
            member,
            "Member must satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(())
}

/// Checks a retention period against AWS's allowed values.
pub fn validate_retention(days: i64) -> Result<u32, LogsError> {
    match u32::try_from(days) {
        Ok(d) if RETENTION_DAYS.contains(&d) => Ok(d),
        _ => {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
            Err(constraint(
                &days.to_string(),
                "retentionInDays",
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

fn invalid_token() -> LogsError {
    LogsError::InvalidParameter("The specified nextToken is invalid.".into())
}

fn next_id(tx: &dyn Tx) -> Result<u64, LogsError> {
    let current = match tx.get(META, NEXT_ID)? {
        None => 1,
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| LogsError::Corrupt("next id".into()))?,
    };
    tx.put(META, NEXT_ID, (current + 1).to_string().as_bytes())?;
    Ok(current)
}

fn load_group(tx: &dyn Tx, account: &str, region: &str, name: &str) -> Result<Group, LogsError> {
    get_json::<Group>(tx, GROUPS, &group_key(account, region, name))?
        .ok_or(LogsError::GroupNotFound)
}

fn load_stream(tx: &dyn Tx, group: &Group, name: &str) -> Result<Stream, LogsError> {
    get_json::<Stream>(tx, STREAMS, &stream_key(group.id, name))?.ok_or(LogsError::StreamNotFound)
}

fn save_group(tx: &dyn Tx, group: &Group) -> Result<(), LogsError> {
    put_json(
        tx,
        GROUPS,
        &group_key(&group.account, &group.region, &group.name),
        group,
    )?;
    Ok(())
}

/// The CloudWatch Logs domain over a store.
pub struct Logs<'s> {
    store: &'s dyn Store,
}

impl<'s> Logs<'s> {
    pub fn new(store: &'s dyn Store) -> Logs<'s> {
        Logs { store }
    }

    /// Creates a log group (its name already validated).
    pub fn create_group(
        &self,
        account: &str,
        region: &str,
        name: &str,
        tags: BTreeMap<String, String>,
        now_ms: u64,
    ) -> Result<Group, LogsError> {
        self.store.write(|tx| {
            let key = group_key(account, region, name);
            if tx.get(GROUPS, &key)?.is_some() {
                return Err(LogsError::GroupExists);
            }
            let group = Group {
                id: next_id(tx)?,
                account: account.into(),
                region: region.into(),
                name: name.into(),
                created_ms: now_ms,
                retention_days: None,
                tags,
                stored_bytes: 0,
            };
            save_group(tx, &group)?;
            Ok(group)
        })
    }

    /// The log group `name`.
    pub fn group(&self, account: &str, region: &str, name: &str) -> Result<Group, LogsError> {
        self.store.read(|tx| load_group(tx, account, region, name))
    }

    /// Deletes a log group; its streams and events go with it ([`Logs::sweep`]).
    pub fn delete_group(&self, account: &str, region: &str, name: &str) -> Result<(), LogsError> {
        self.store.write(|tx| {
            let group = load_group(tx, account, region, name)?;
            tx.delete(GROUPS, &group_key(account, region, name))?;
            tx.put(GONE, &format!("g{:016x}", group.id), b"")?;
            Ok(())
        })
    }

    /// Changes a log group with `change`.
    pub fn update_group(
        &self,
        account: &str,
        region: &str,
        name: &str,
        change: impl FnOnce(&mut Group) -> Result<(), LogsError>,
    ) -> Result<Group, LogsError> {
        self.store.write(|tx| {
            let mut group = load_group(tx, account, region, name)?;
            change(&mut group)?;
            save_group(tx, &group)?;
            Ok(group)
        })
    }

    /// A page of the region's log groups in name order, after the group named by `token`;
    /// the token of the next page when there is one.
    pub fn list_groups(
        &self,
        account: &str,
        region: &str,
        prefix: Option<&str>,
        pattern: Option<&str>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Group>, Option<String>), LogsError> {
        let base = group_key(account, region, "");
        let scan_prefix = format!("{base}{}", prefix.unwrap_or(""));
        let mut after = match token {
            None => None,
            Some(t) => {
                let name = hex::decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(invalid_token)?;
                Some(format!("{base}{name}"))
            }
        };
        self.store.read(|tx| {
            let mut out: Vec<Group> = Vec::new();
            loop {
                let rows = tx.scan_range(GROUPS, &scan_prefix, after.as_deref(), false, CHUNK)?;
                let full = rows.len() == CHUNK;
                for (key, value) in rows {
                    let group: Group = serde_json::from_slice(&value)
                        .map_err(|e| LogsError::Corrupt(e.to_string()))?;
                    after = Some(key);
                    if pattern.is_some_and(|p| !group.name.contains(p)) {
                        continue;
                    }
                    if out.len() == limit {
                        let next = out.last().map(|g| hex::encode(&g.name));
                        return Ok((out, next));
                    }
                    out.push(group);
                }
                if !full {
                    return Ok((out, None));
                }
            }
        })
    }

    /// Creates a log stream in a group.
    pub fn create_stream(
        &self,
        account: &str,
        region: &str,
        group_name: &str,
        name: &str,
        now_ms: u64,
    ) -> Result<Stream, LogsError> {
        self.store.write(|tx| {
            let group = load_group(tx, account, region, group_name)?;
            let key = stream_key(group.id, name);
            if tx.get(STREAMS, &key)?.is_some() {
                return Err(LogsError::StreamExists);
            }
            let stream = Stream {
                id: next_id(tx)?,
                group_id: group.id,
                name: name.into(),
                created_ms: now_ms,
                first_event: None,
                last_event: None,
                last_ingestion: None,
                next_seq: 1,
                stored_bytes: 0,
            };
            put_json(tx, STREAMS, &key, &stream)?;
            tx.put(STREAMS_BY_TIME, &by_time_key(group.id, 0, name), b"")?;
            put_json(
                tx,
                STREAM_IDS,
                &format!("{:016x}", stream.id),
                &StreamId {
                    group_id: group.id,
                    name: name.into(),
                },
            )?;
            Ok(stream)
        })
    }

    /// The log stream `name` of `group`.
    pub fn stream(&self, group: &Group, name: &str) -> Result<Stream, LogsError> {
        self.store.read(|tx| load_stream(tx, group, name))
    }

    /// Deletes a log stream; its events go with it ([`Logs::sweep`]).
    pub fn delete_stream(
        &self,
        account: &str,
        region: &str,
        group_name: &str,
        name: &str,
    ) -> Result<(), LogsError> {
        self.store.write(|tx| {
            let mut group = load_group(tx, account, region, group_name)?;
            let stream = load_stream(tx, &group, name)?;
            forget_stream(tx, &stream)?;
            group.stored_bytes = group.stored_bytes.saturating_sub(stream.stored_bytes);
            save_group(tx, &group)
        })
    }

    /// A page of a group's streams, by name or by last event time.
    pub fn list_streams(
        &self,
        group: &Group,
        q: &StreamQuery,
    ) -> Result<(Vec<Stream>, Option<String>), LogsError> {
        let valid = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'/');
        if q.token.as_deref().is_some_and(|t| !valid(t)) {
            return Err(invalid_token());
        }
        let base = format!("{:016x}/", group.id);
        let (table, prefix) = if q.by_last_event {
            (STREAMS_BY_TIME, base.clone())
        } else {
            let p = q.prefix.as_deref().map(hex::encode).unwrap_or_default();
            (STREAMS, format!("{base}{p}"))
        };
        let after = q.token.as_deref().map(|t| format!("{base}{t}"));
        let limit = q.limit.max(1);
        self.store.read(|tx| {
            let rows = tx.scan_range(
                table,
                &prefix,
                after.as_deref(),
                q.descending,
                limit.saturating_add(1),
            )?;
            let more = rows.len() > limit;
            let mut out = Vec::with_capacity(limit);
            let mut last_key = None;
            for (key, value) in rows.into_iter().take(limit) {
                let stream: Stream = if q.by_last_event {
                    let name = key
                        .rsplit('/')
                        .next()
                        .and_then(|h| hex::decode(h).ok())
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| LogsError::Corrupt(format!("stream index {key}")))?;
                    load_stream(tx, group, &name)?
                } else {
                    serde_json::from_slice(&value).map_err(|e| LogsError::Corrupt(e.to_string()))?
                };
                out.push(stream);
                last_key = Some(key);
            }
            let next = if more {
                last_key.and_then(|k| k.strip_prefix(&base).map(str::to_string))
            } else {
                None
            };
            Ok((out, next))
        })
    }

    /// Stores a batch of `(timestamp, message)` events, which has passed [`check_batch`].
    pub fn put_events(
        &self,
        account: &str,
        region: &str,
        group_name: &str,
        stream_name: &str,
        events: &[(u64, String)],
        now_ms: u64,
    ) -> Result<PutOutcome, LogsError> {
        self.store.write(|tx| {
            let mut group = load_group(tx, account, region, group_name)?;
            let mut stream = load_stream(tx, &group, stream_name)?;
            let cutoff = group.cutoff(now_ms);
            let too_old = now_ms.saturating_sub(TOO_OLD_MS);
            let too_new = now_ms.saturating_add(TOO_NEW_MS);
            let mut rejected = Rejected::default();
            let mut accepted: Vec<&(u64, String)> = Vec::with_capacity(events.len());
            for (i, event) in events.iter().enumerate() {
                let ts = event.0;
                if ts < too_old {
                    rejected.too_old_end = Some(i);
                } else if ts < cutoff {
                    rejected.expired_end = Some(i);
                } else if ts > too_new {
                    rejected.too_new_start.get_or_insert(i);
                } else {
                    accepted.push(event);
                }
            }
            if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
                && last.0 - first.0 > MAX_SPAN_MS
            {
                return Err(LogsError::InvalidParameter(
                    "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
                        .into(),
                ));
            }
            let old_last = stream.last_event;
            let mut bytes = 0u64;
            for (ts, message) in &accepted {
                let seq = stream.next_seq;
                stream.next_seq = seq.checked_add(1).ok_or_else(|| {
                    LogsError::InvalidParameter("the log stream holds as many events as berth can store".into())
                })?;
                tx.put(
                    EVENTS,
                    &event_key(stream.id, position(*ts, seq)),
                    &encode_event(now_ms, message),
                )?;
                bytes += message.len() as u64;
                stream.first_event = Some(stream.first_event.map_or(*ts, |f| f.min(*ts)));
                stream.last_event = Some(stream.last_event.map_or(*ts, |l| l.max(*ts)));
            }
            if !accepted.is_empty() {
                stream.last_ingestion = Some(now_ms);
                stream.stored_bytes += bytes;
                group.stored_bytes += bytes;
                if stream.last_event != old_last {
                    tx.delete(
                        STREAMS_BY_TIME,
                        &by_time_key(group.id, old_last.unwrap_or(0), &stream.name),
                    )?;
                    tx.put(
                        STREAMS_BY_TIME,
                        &by_time_key(group.id, stream.last_event.unwrap_or(0), &stream.name),
                    b"",
                    )?;
                }
            }
            if cutoff > 0 {
                let freed = expire(tx, &group, &mut stream, cutoff)?;
                group.stored_bytes = group.stored_bytes.saturating_sub(freed);
            }
            put_json(tx, STREAMS, &stream_key(group.id, &stream.name), &stream)?;
            save_group(tx, &group)?;
            Ok(PutOutcome {
                next_sequence_token: stream.upload_sequence_token(),
                rejected,
            })
        })
    }

    /// A page of one stream's events.
    pub fn get_events(
        &self,
        group: &Group,
        stream: &Stream,
        q: &GetQuery,
        now_ms: u64,
    ) -> Result<GetPage, LogsError> {
        let lo_ts = q.start.unwrap_or(0).max(group.cutoff(now_ms));
        // Gaps: the range holds the events whose position p has lower < p <= upper.
        let lower = position(lo_ts, 0);
        let upper = match q.end {
            Some(end) => position(end.min(MAX_TIMESTAMP), 0).saturating_sub(1),
            None => position(MAX_TIMESTAMP, u32::MAX),
        };
        let limit = q.limit.unwrap_or(MAX_PAGE_EVENTS).clamp(1, MAX_PAGE_EVENTS);
        let (forward, gap) = match q.token {
            Some(Token::Forward(g)) => (true, g),
            Some(Token::Backward(g)) => (false, g),
            None if q.from_head => (true, lower),
            None => (false, upper),
        };
        let sid = stream.id;
        let prefix = format!("{sid:016x}");
        self.store.read(|tx| {
            let mut events: Vec<(u128, Event)> = Vec::new();
            let mut bytes = 0usize;
            if forward {
                let mut cursor = gap.max(lower).min(upper);
                'scan: loop {
                    let want = CHUNK.min(limit - events.len());
                    let rows =
                        tx.scan_range(EVENTS, &prefix, Some(&event_key(sid, cursor)), false, want)?;
                    let n = rows.len();
                    for (key, value) in rows {
                        let pos = key_position(&key)?;
                        if pos > upper {
                            break 'scan;
                        }
                        let event = read_event(sid, pos, &value, &stream.name)?;
                        bytes += event_size(&event.message);
                        if bytes > MAX_PAGE_BYTES && !events.is_empty() {
                            break 'scan;
                        }
                        events.push((pos, event));
                        cursor = pos;
                        if events.len() >= limit {
                            break 'scan;
                        }
                    }
                    if n < want {
                        break;
                    }
                }
            } else {
                let mut cursor = gap.min(upper);
                'scan: loop {
                    if cursor <= lower {
                        break;
                    }
                    let want = CHUNK.min(limit - events.len());
                    let rows = tx.scan_range(
                        EVENTS,
                        &prefix,
                        Some(&event_key(sid, cursor + 1)),
                        true,
                        want,
                    )?;
                    let n = rows.len();
                    for (key, value) in rows {
                        let pos = key_position(&key)?;
                        if pos <= lower {
                            break 'scan;
                        }
                        let event = read_event(sid, pos, &value, &stream.name)?;
                        bytes += event_size(&event.message);
                        if bytes > MAX_PAGE_BYTES && !events.is_empty() {
                            break 'scan;
                        }
                        events.push((pos, event));
                        cursor = pos - 1;
                        if events.len() >= limit {
                            break 'scan;
                        }
                    }
                    if n < want {
                        break;
                    }
                }
                events.reverse();
            }
            let (forward_token, backward_token) = match (events.first(), events.last()) {
                (Some((first, _)), Some((last, _))) => {
                    (Token::Forward(*last), Token::Backward(first - 1))
                }
                _ if forward => (Token::Forward(gap), Token::Backward(gap)),
                _ => (
                    Token::Forward(if q.token.is_some() { gap } else { lower }),
                    Token::Backward(gap),
                ),
            };
            Ok(GetPage {
                events: events.into_iter().map(|(_, e)| e).collect(),
                forward: forward_token,
                backward: backward_token,
            })
        })
    }

    /// A page of a group's events in time order, across its streams: a merge of the streams'
    /// own time-ordered events (each event is stored once, in its stream), in the order
    /// (timestamp, stream id, sequence) that the page token names.
    pub fn filter_events(
        &self,
        group: &Group,
        q: &FilterQuery,
        now_ms: u64,
    ) -> Result<FilterPage, LogsError> {
        let lo = q.start.unwrap_or(0).max(group.cutoff(now_ms));
        let hi = q.end.unwrap_or(MAX_TIMESTAMP);
        let limit = q.limit.unwrap_or(MAX_PAGE_EVENTS).clamp(1, MAX_PAGE_EVENTS);
        let prefix = format!("{:016x}", group.id);
        let resume = match q.token.as_deref() {
            None => None,
            Some(t) => {
                if t.len() != 40 || !t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(invalid_token());
                }
                Some(index_parts(&format!("{prefix}{t}")).ok_or_else(invalid_token)?)
            }
        };
        let empty = || FilterPage {
            events: Vec::new(),
            next_token: None,
        };
        if lo > hi {
            return Ok(empty());
        }
        self.store.read(|tx| {
            let mut cursors: Vec<Cursor> = Vec::new();
            let stream_prefix = format!("{prefix}/");
            let mut after: Option<String> = None;
            loop {
                let rows =
                    tx.scan_range(STREAMS, &stream_prefix, after.as_deref(), false, CHUNK)?;
                let n = rows.len();
                for (key, value) in rows {
                    let stream: Stream = serde_json::from_slice(&value)
                        .map_err(|e| LogsError::Corrupt(e.to_string()))?;
                    after = Some(key);
                    let (Some(first), Some(last)) = (stream.first_event, stream.last_event) else {
                        continue;
                    };
                    let wanted = q
                        .stream_names
                        .as_ref()
                        .is_none_or(|ns| ns.contains(&stream.name))
                        && q.stream_prefix
                            .as_deref()
                            .is_none_or(|p| stream.name.starts_with(p));
                    if !wanted || last < lo || first > hi {
                        continue;
                    }
                    cursors.push(Cursor::new(stream, lo, resume));
                }
                if n < CHUNK {
                    break;
                }
            }
            let mut heap = std::collections::BinaryHeap::new();
            for (i, c) in cursors.iter_mut().enumerate() {
                if let Some(head) = c.head(tx)? {
                    heap.push(std::cmp::Reverse((head, i)));
                }
            }
            let mut events = Vec::new();
            let mut bytes = 0usize;
            let mut scanned = 0usize;
            let mut last: Option<(u64, u64, u32)> = None;
            let token = |p: (u64, u64, u32)| format!("{:016x}{:016x}{:08x}", p.0, p.1, p.2);
            while let Some(std::cmp::Reverse((head, i))) = heap.pop() {
                if head.0 > hi {
                    break;
                }
                let Some(c) = cursors.get_mut(i) else { break };
                let Some((pos, value)) = c.take() else { break };
                let event = read_event(c.stream.id, pos, &value, &c.stream.name)?;
                if q.pattern.matches(&event.message) {
                    bytes += event_size(&event.message);
                    if bytes > MAX_PAGE_BYTES && !events.is_empty() {
                        return Ok(FilterPage {
                            events,
                            next_token: last.map(token),
                        });
                    }
                    events.push(event);
                }
                last = Some(head);
                scanned += 1;
                if let Some(next) = c.head(tx)? {
                    heap.push(std::cmp::Reverse((next, i)));
                }
                if events.len() >= limit || scanned >= FILTER_SCAN_BUDGET {
                    let more = heap
                        .peek()
                        .is_some_and(|std::cmp::Reverse((h, _))| h.0 <= hi);
                    return Ok(FilterPage {
                        events,
                        next_token: if more { last.map(token) } else { None },
                    });
                }
            }
            Ok(FilterPage {
                events,
                next_token: None,
            })
        })
    }

    /// Whether deleted streams or groups still have rows to remove.
    pub fn has_garbage(&self) -> Result<bool, LogsError> {
        self.store
            .read(|tx| Ok(!tx.scan_range(GONE, "", None, false, 1)?.is_empty()))
    }

    /// Removes up to about `budget` rows of deleted streams and groups, in one write.
    pub fn sweep(&self, budget: usize) -> Result<usize, LogsError> {
        self.store.write(|tx| {
            let mut removed = 0usize;
            for (key, value) in tx.scan_range(GONE, "", None, false, 16)? {
                if removed >= budget {
                    break;
                }
                let id = key
                    .get(1..)
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| LogsError::Corrupt(format!("gone {key}")))?;
                if key.starts_with('g') {
                    let streams = tx.scan_range(
                        STREAMS,
                        &format!("{id:016x}/"),
                        None,
                        false,
                        budget - removed,
                    )?;
                    if streams.is_empty() {
                        tx.delete(GONE, &key)?;
                    }
                    for (_, v) in streams {
                        let stream: Stream = serde_json::from_slice(&v)
                            .map_err(|e| LogsError::Corrupt(e.to_string()))?;
                        forget_stream(tx, &stream)?;
                        removed += 1;
                    }
                } else {
                    let group_id = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                        .ok_or_else(|| LogsError::Corrupt(format!("gone {key}")))?;
                    let want = budget - removed;
                    let rows = tx.scan_range(EVENTS, &format!("{id:016x}"), None, false, want)?;
                    if rows.len() < want {
                        tx.delete(GONE, &key)?;
                    }
                    for (k, _) in rows {
                        delete_event(tx, group_id, id, &k)?;
                        removed += 1;
                    }
                }
            }
            Ok(removed)
        })
    }
}

/// Removes a stream's records and marks its events for [`Logs::sweep`].
fn forget_stream(tx: &dyn Tx, stream: &Stream) -> Result<(), LogsError> {
    tx.delete(STREAMS, &stream_key(stream.group_id, &stream.name))?;
    tx.delete(
        STREAMS_BY_TIME,
        &by_time_key(
            stream.group_id,
            stream.last_event.unwrap_or(0),
            &stream.name,
        ),
    )?;
    tx.delete(STREAM_IDS, &format!("{:016x}", stream.id))?;
    tx.put(
        GONE,
        &format!("s{:016x}", stream.id),
        format!("{:016x}", stream.group_id).as_bytes(),
    )?;
    Ok(())
}

/// Deletes one event (by its key) and its row in the group's time index.
fn delete_event(tx: &dyn Tx, group_id: u64, stream_id: u64, key: &str) -> Result<(), LogsError> {
    let pos = key_position(key)?;
    let ts = u64::try_from(pos >> 32).map_err(|_| LogsError::Corrupt(key.into()))?;
    let seq =
        u32::try_from(pos & u128::from(u32::MAX)).map_err(|_| LogsError::Corrupt(key.into()))?;
    tx.delete(EVENTS, key)?;
    tx.delete(GROUP_TIME, &index_key(group_id, ts, stream_id, seq))?;
    Ok(())
}

/// Removes up to [`RETENTION_SWEEP`] of a stream's events older than `cutoff`; returns the
/// message bytes freed.
fn expire(tx: &dyn Tx, group: &Group, stream: &mut Stream, cutoff: u64) -> Result<u64, LogsError> {
    let prefix = format!("{:016x}", stream.id);
    let mut freed = 0u64;
    for (key, value) in tx.scan_range(EVENTS, &prefix, None, false, RETENTION_SWEEP)? {
        let pos = key_position(&key)?;
        if pos >> 32 >= u128::from(cutoff) {
            break;
        }
        freed += value.len().saturating_sub(8) as u64;
        delete_event(tx, group.id, stream.id, &key)?;
    }
    stream.stored_bytes = stream.stored_bytes.saturating_sub(freed);
    Ok(freed)
}

/// The name of the live stream of `group` whose id is `sid`, if it still exists.
/// One stream's events in FilterLogEvents' merge: read a few at a time, from where the page
/// starts (the page token's place in the order (timestamp, stream id, sequence), else `lo`).
struct Cursor {
    stream: Stream,
    /// The last key read (scans continue after it).
    after: Option<String>,
    buffered: std::collections::VecDeque<(u128, Vec<u8>)>,
    done: bool,
}

/// Rows a merge cursor reads at a time.
const CURSOR_CHUNK: usize = 32;

impl Cursor {
    fn new(stream: Stream, lo: u64, resume: Option<(u64, u64, u32)>) -> Cursor {
        let id = stream.id;
        // The first position to read, inclusive.
        let start = match resume {
            Some((ts, sid, seq)) if ts >= lo => {
                if id < sid {
                    position(ts.saturating_add(1), 0)
                } else if id == sid {
                    position(ts, seq).saturating_add(1)
                } else {
                    position(ts, 0)
                }
            }
            _ => position(lo, 0),
        };
        Cursor {
            stream,
            after: start.checked_sub(1).map(|p| event_key(id, p)),
            buffered: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// The next event's place in the merge order, reading more when needed.
    fn head(&mut self, tx: &dyn Tx) -> Result<Option<(u64, u64, u32)>, LogsError> {
        if self.buffered.is_empty() && !self.done {
            let prefix = format!("{:016x}", self.stream.id);
            let rows =
                tx.scan_range(EVENTS, &prefix, self.after.as_deref(), false, CURSOR_CHUNK)?;
            self.done = rows.len() < CURSOR_CHUNK;
            for (key, value) in rows {
                let pos = key_position(&key)?;
                self.after = Some(key);
                self.buffered.push_back((pos, value));
            }
        }
        Ok(self.buffered.front().map(|(pos, _)| {
            (
                u64::try_from(pos >> 32).unwrap_or(u64::MAX),
                self.stream.id,
                (pos & 0xffff_ffff) as u32,
            )
        }))
    }

    fn take(&mut self) -> Option<(u128, Vec<u8>)> {
        self.buffered.pop_front()
    }
}

fn read_event(sid: u64, pos: u128, value: &[u8], stream: &str) -> Result<Event, LogsError> {
    let (ingestion, message) = decode_event(value)?;
    Ok(Event {
        timestamp: u64::try_from(pos >> 32).unwrap_or(u64::MAX),
        ingestion,
        message,
        stream: stream.to_string(),
        event_id: event_id(sid, pos),
    })
}

/// Checks a PutLogEvents batch against AWS's rules that need no stored state: 1 to 10,000
/// events, no empty message, at most 1,048,576 bytes (each message's UTF-8 bytes plus 26), in
/// chronological order.
pub fn check_batch(events: &[(u64, String)]) -> Result<(), LogsError> {
    if events.is_empty() {
        return Err(constraint(
            "[]",
            "logEvents",
            "Member must have length greater than or equal to 1",
        ));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}"
        )));
    }
    let mut total = 0usize;
    let mut previous = 0u64;
    for (i, (ts, message)) in events.iter().enumerate() {
        if message.is_empty() {
            return Err(constraint(
                "",
                &format!("logEvents.{}.member.message", i + 1),
                "Member must have length greater than or equal to 1",
            ));
        }
        if *ts < previous {
            return Err(LogsError::InvalidParameter(
                "Log events in a single PutLogEvents request must be in chronological order."
                    .into(),
            ));
        }
        previous = *ts;
        total += event_size(message);
    }
    if total > MAX_BATCH_BYTES {
        return Err(LogsError::InvalidParameter(format!(
            "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    Ok(())
}
