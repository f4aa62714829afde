//! The `awslogs` log driver of a task's container, as berth runs it.
//!
//! The container runs with Docker's `json-file` driver, so dockerd keeps its output while the
//! container exists (an agent restart loses nothing). Before the container starts, the log
//! group (with `awslogs-create-group`) and the stream are created through berth's API, signed
//! with the task's execution-role credentials, as Docker's awslogs driver does when the
//! container starts on ECS: a refusal there fails the container's start. Then a shipper
//! follows the container's output (`docker logs --follow --timestamps`, stdout and stderr in
//! Docker's order) and sends it with PutLogEvents, in batches of at most 10,000 events and
//! 1 MiB (AWS's limits), at least every second ([`FLUSH_INTERVAL`]; Docker's driver flushes
//! every 5 s). A refused batch does not stop the container: its events are dropped and the
//! agent's log says why.
//!
//! **The stream is the checkpoint.** A shipper that starts following a container which ran
//! before (an agent restart, a break in Docker's stream) reads the stream's last events and
//! resumes after them: Docker's timestamps are nanoseconds and CloudWatch's milliseconds, so it
//! skips the events before the last shipped millisecond and, at that millisecond, as many
//! events as the stream already has there ([`Resume`]). Output written before a restart is
//! shipped exactly once, provided Docker's timestamps of one container do not go backwards
//! across the last shipped millisecond.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Duration;

use berth_ecs::AgentTask;
use berth_ecs::agent::AgentContainer;
use regex_lite::Regex;
use serde_json::{Value, json};

use crate::api::{ApiError, Credentials};
use crate::control::TaskControl;
use crate::runtime::{ContainerRuntime, LogConfig, LogLine};

/// The log driver's name in `logConfiguration.logDriver`.
pub const DRIVER: &str = "awslogs";
/// How often the shipper sends what it has (and closes a pending multi-line event).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// PutLogEvents' limits: events, bytes (messages plus 26 bytes each).
pub const MAX_BATCH_EVENTS: usize = 10_000;
pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
/// The longest message of one event (256 KiB with its overhead); longer ones are split, as
/// Docker's driver splits them.
pub const MAX_MESSAGE_BYTES: usize = 262_144 - EVENT_OVERHEAD;
/// A batch spans at most 24 hours.
const MAX_SPAN_MS: i64 = 86_400_000;
/// How long the end of a task waits for its shippers to send the rest.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a batch is tried when berth cannot be reached.
const PUT_ATTEMPTS: u32 = 5;

/// The options berth knows (Docker's awslogs options, ECS's `awslogs-stream-prefix`, and
/// Docker's generic `mode` / `max-buffer-size`).
const KNOWN_OPTIONS: [&str; 16] = [
    "awslogs-region",
    "awslogs-endpoint",
    "awslogs-group",
    "awslogs-create-group",
    "awslogs-create-stream",
    "awslogs-stream",
    "awslogs-stream-prefix",
    "awslogs-datetime-format",
    "awslogs-multiline-pattern",
    "awslogs-credentials-endpoint",
    "awslogs-force-flush-interval-seconds",
    "awslogs-max-buffered-events",
    "awslogs-format",
    "tag",
    "mode",
    "max-buffer-size",
];

/// A container's awslogs settings, from its `logConfiguration`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub group: String,
    /// `awslogs-region`, or the task's region.
    pub region: String,
    pub prefix: Option<String>,
    /// `awslogs-stream` (Docker's option; ECS sets it from the prefix).
    pub stream: Option<String>,
    pub create_group: bool,
    /// The start of a multi-line event (`awslogs-multiline-pattern`, or
    /// `awslogs-datetime-format` as a pattern), anchored at the line's start.
    pub multiline: Option<Regex>,
}

impl Settings {
    /// The stream's name: `prefix/container-name/task-id` (as ECS names it), else
    /// `awslogs-stream`, else the container's Docker ID (as Docker names it).
    pub fn stream_name(&self, container: &str, task_arn: &str, docker_id: &str) -> String {
        match (&self.prefix, &self.stream) {
            (Some(p), _) => format!("{p}/{container}/{}", task_id(task_arn)),
            (None, Some(s)) => s.clone(),
            (None, None) => docker_id.to_string(),
        }
    }
}

fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// The region of an ARN (`arn:aws:ecs:<region>:…`).
fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

fn log_configuration(c: &AgentContainer) -> Option<&Value> {
    c.definition
        .extra
        .get("logConfiguration")
        .filter(|l| l.is_object())
}

/// Whether the container uses the awslogs driver.
pub fn uses_awslogs(c: &AgentContainer) -> bool {
    log_configuration(c)
        .and_then(|l| l.get("logDriver"))
        .and_then(Value::as_str)
        == Some(DRIVER)
}

/// The driver Docker runs the container with: `json-file` for awslogs (berth ships the
/// output), any other driver with its options as they are (the values of `secretOptions` are
/// added once fetched); `None` without a `logConfiguration` (the daemon's default) and for
/// `awsfirelens`, which needs a log router berth does not run.
pub fn docker_driver(log_configuration: Option<&Value>) -> Option<LogConfig> {
    let l = log_configuration?;
    let driver = l.get("logDriver").and_then(Value::as_str)?;
    if driver == DRIVER {
        return Some(LogConfig {
            driver: "json-file".to_string(),
            options: Default::default(),
        });
    }
    if driver == "awsfirelens" {
        return None;
    }
    Some(LogConfig {
        driver: driver.to_string(),
        options: options(l)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

fn options(l: &Value) -> Vec<(&str, &str)> {
    l.get("options")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// A container's awslogs settings; `None` when it does not use awslogs. The error is Docker's
/// refusal of the options (the container cannot be created), in its words.
pub fn settings(task: &AgentTask, c: &AgentContainer) -> Option<Result<Settings, String>> {
    if !uses_awslogs(c) {
        return None;
    }
    let l = log_configuration(c)?;
    Some(parse_settings(&options(l), arn_region(&task.task_arn)))
}

/// Parses awslogs options (`task_region` when `awslogs-region` is not given).
pub fn parse_settings(opts: &[(&str, &str)], task_region: &str) -> Result<Settings, String> {
    let get = |k: &str| opts.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    if let Some((k, _)) = opts.iter().find(|(k, _)| !KNOWN_OPTIONS.contains(k)) {
        // Docker's words for an option its driver does not know.
        return Err(format!("unknown log opt '{k}' for awslogs log driver"));
    }
    let Some(group) = get("awslogs-group").filter(|g| !g.is_empty()) else {
        return Err("must specify a value for log opt 'awslogs-group'".to_string());
    };
    let create_group = match get("awslogs-create-group") {
        None => false,
        Some(v) => parse_bool(v)
            .ok_or_else(|| format!("invalid value for log opt 'awslogs-create-group': {v}"))?,
    };
    if let Some(mode) = get("mode")
        && !matches!(mode, "blocking" | "non-blocking")
    {
        return Err(format!("logger: unknown mode: {mode}"));
    }
    let datetime = get("awslogs-datetime-format");
    let pattern = get("awslogs-multiline-pattern");
    let multiline = match (datetime, pattern) {
        (Some(_), Some(_)) => {
            return Err(
                "you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"
                    .to_string(),
            );
        }
        (Some(f), None) => Some(anchored(&datetime_pattern(f))?),
        (None, Some(p)) => Some(anchored(p)?),
        (None, None) => None,
    };
    Ok(Settings {
        group: group.to_string(),
        region: get("awslogs-region")
            .filter(|r| !r.is_empty())
            .unwrap_or(task_region)
            .to_string(),
        prefix: get("awslogs-stream-prefix")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        stream: get("awslogs-stream")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        create_group,
        multiline,
    })
}

/// Go's `strconv.ParseBool`, which Docker reads boolean options with.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})"))
        .map_err(|e| format!("awslogs could not parse multiline pattern key: {e}"))
}

/// `awslogs-datetime-format` (strftime) as a pattern: each directive becomes what it matches,
/// the rest is kept as it is (a pattern, as Docker reads it).
pub fn datetime_pattern(format: &str) -> String {
    const MONTHS: &str = "(?:Jan|January|Feb|February|Mar|March|Apr|April|May|Jun|June|Jul|July|Aug|August|Sep|September|Oct|October|Nov|November|Dec|December)";
    const DAYS: &str =
        "(?:Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday|Sun|Sunday)";
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let piece = match d {
            'a' | 'A' => DAYS,
            'b' | 'B' => MONTHS,
            'd' => "(?:0[1-9]|[12][0-9]|3[01])",
            'f' => "[0-9]{6}",
            'H' => "(?:[01][0-9]|2[0-3])",
            'I' => "(?:0[0-9]|1[0-2])",
            'j' => "(?:00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])",
            'L' => "\\.[0-9]{3}",
            'm' => "(?:0[1-9]|1[0-2])",
            'M' => "[0-5][0-9]",
            'p' => "[AP]M",
            'S' => "[0-5][0-9]",
            'U' | 'W' => "(?:[0-4][0-9]|5[0-3])",
            'w' => "[0-6]",
            'y' => "[0-9]{2}",
            'Y' => "[0-9]{4}",
            'z' => "[+-][0-9]{4}",
            'Z' => "[A-Z]{1,4}T",
            '%' => "%",
            other => {
                out.push('%');
                out.push(other);
                continue;
            }
        };
        out.push_str(piece);
    }
    out
}

/// One event to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

fn millis(nanos: i128) -> i64 {
    i64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(0)
}

/// Splits a message longer than [`MAX_MESSAGE_BYTES`] at character boundaries.
fn split_long(message: &str) -> Vec<String> {
    if message.len() <= MAX_MESSAGE_BYTES {
        return vec![message.to_string()];
    }
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let mut end = rest.len().min(MAX_MESSAGE_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head.to_string());
        rest = tail;
    }
    out
}

/// Lines into events: one a line, or, with a multi-line pattern, a line that matches starts an
/// event and the lines after it that do not are added to it (joined with `\n`), as Docker's
/// driver groups them. An event's time is its first line's. Empty lines are not events
/// (CloudWatch Logs refuses empty messages).
#[derive(Debug)]
pub struct Grouper {
    pattern: Option<Regex>,
    pending: Option<(i64, String)>,
}

impl Grouper {
    pub fn new(pattern: Option<Regex>) -> Grouper {
        Grouper {
            pattern,
            pending: None,
        }
    }

    /// The events `line` completes.
    pub fn push(&mut self, line: &LogLine) -> Vec<LogEvent> {
        let ts = millis(line.nanos);
        let Some(pattern) = &self.pattern else {
            if line.text.is_empty() {
                return Vec::new();
            }
            return event(ts, &line.text);
        };
        let mut out = Vec::new();
        if pattern.is_match(&line.text) {
            out.extend(self.flush());
            self.pending = Some((ts, line.text.clone()));
        } else {
            match &mut self.pending {
                Some((_, text)) => {
                    text.push('\n');
                    text.push_str(&line.text);
                    if text.len() >= MAX_MESSAGE_BYTES {
                        out.extend(self.flush());
                    }
                }
                None if !line.text.is_empty() => self.pending = Some((ts, line.text.clone())),
                None => {}
            }
        }
        out
    }

    /// The pending multi-line event, if any.
    pub fn flush(&mut self) -> Vec<LogEvent> {
        match self.pending.take() {
            Some((ts, text)) if !text.is_empty() => event(ts, &text),
            _ => Vec::new(),
        }
    }

    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }
}

fn event(ts: i64, text: &str) -> Vec<LogEvent> {
    split_long(text)
        .into_iter()
        .map(|message| LogEvent {
            timestamp_ms: ts,
            message,
        })
        .collect()
}

/// Where a stream stands: its last event's millisecond and how many of its events carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub last_ms: i64,
    pub at_last: usize,
}

impl Cursor {
    /// From a stream's last events' timestamps (oldest first); `None` for an empty stream.
    pub fn from_tail(timestamps: &[u64]) -> Option<Cursor> {
        let last = *timestamps.iter().max()?;
        Some(Cursor {
            last_ms: i64::try_from(last).unwrap_or(i64::MAX),
            at_last: timestamps.iter().filter(|t| **t == last).count(),
        })
    }

    /// An event was shipped.
    pub fn advance(&mut self, ts_ms: i64) {
        if ts_ms == self.last_ms {
            self.at_last += 1;
        } else if ts_ms > self.last_ms {
            self.last_ms = ts_ms;
            self.at_last = 1;
        }
    }

    /// Where Docker's output is read from to resume after this cursor (whole seconds).
    pub fn since_secs(&self) -> i64 {
        self.last_ms.div_euclid(1000)
    }
}

/// What a resumed follow skips: the events before the cursor's millisecond, and at it as many
/// as the stream already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    last_ms: i64,
    remaining: usize,
}

impl Resume {
    pub fn after(cursor: Cursor) -> Resume {
        Resume {
            last_ms: cursor.last_ms,
            remaining: cursor.at_last,
        }
    }

    /// Whether an event at `ts_ms` (read again in Docker's order) is new.
    pub fn is_new(&mut self, ts_ms: i64) -> bool {
        if ts_ms < self.last_ms {
            return false;
        }
        if ts_ms == self.last_ms && self.remaining > 0 {
            self.remaining -= 1;
            return false;
        }
        true
    }
}

/// Events waiting to be sent, within PutLogEvents' limits.
#[derive(Debug, Default)]
pub struct Batch {
    events: Vec<LogEvent>,
    bytes: usize,
}

impl Batch {
    /// Whether `e` still fits (count, bytes, and a 24-hour span).
    pub fn fits(&self, e: &LogEvent) -> bool {
        let span_ok = self
            .events
            .first()
            .is_none_or(|f| (e.timestamp_ms - f.timestamp_ms).abs() < MAX_SPAN_MS);
        self.events.len() < MAX_BATCH_EVENTS
            && self.bytes + e.message.len() + EVENT_OVERHEAD <= MAX_BATCH_BYTES
            && span_ok
    }

    pub fn push(&mut self, e: LogEvent) {
        self.bytes += e.message.len() + EVENT_OVERHEAD;
        self.events.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// The events in time order (PutLogEvents requires it; Docker's order within one
    /// millisecond is kept), emptying the batch.
    pub fn take(&mut self) -> Vec<LogEvent> {
        self.bytes = 0;
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|e| e.timestamp_ms);
        events
    }
}

/// Where a container's output goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub task_arn: String,
    pub container: String,
    pub region: String,
    pub group: String,
    pub stream: String,
    /// The execution role's credentials (`None`: the runner's own).
    pub creds: Option<ExecutionCredentials>,
    pub multiline: Option<Regex>,
}

impl Target {
    /// The credentials to sign the next call with: the freshest the task's polls brought.
    fn signing(&self) -> Option<Credentials> {
        self.creds.as_ref().map(ExecutionCredentials::current)
    }
}

/// A task's execution-role credentials as its shippers sign with them. A role session expires
/// (an hour); the control plane hands out a fresh one with every poll before that (an agent's
/// poll answers at least every 20 seconds, and brings a session with more than 5 minutes
/// left), [`refresh_execution_credentials`] puts it here, and the next call is signed with it
/// — as the ECS agent holds the execution role's credentials under one id, replaced by each
/// refresh ACS pushes, and Docker's awslogs driver fetches them again from the agent when the
/// ones it holds expire. AWS does not document how long before expiry ACS pushes new ones.
#[derive(Clone)]
pub struct ExecutionCredentials {
    held: Arc<Mutex<Held>>,
}

impl std::fmt::Debug for ExecutionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = lock(&self.held);
        f.debug_struct("ExecutionCredentials")
            .field("access_key_id", &h.creds.access_key_id)
            .field("expires", &h.expires)
            .finish()
    }
}

struct Held {
    creds: Credentials,
    /// Unix seconds; `None` when the expiration does not parse (then any newer set replaces it).
    expires: Option<u64>,
}

impl Held {
    fn of(rc: &berth_ecs::RoleCredentials) -> Held {
        Held {
            creds: Credentials::new(
                &rc.access_key_id,
                &rc.secret_access_key,
                Some(&rc.session_token),
            ),
            expires: berth_core::time::parse_iso8601(&rc.expiration),
        }
    }

    /// Whether `fresh` should replace these: another session that does not expire earlier.
    fn replaced_by(&self, fresh: &Held) -> bool {
        fresh.creds.access_key_id != self.creds.access_key_id
            && match (self.expires, fresh.expires) {
                (Some(held), Some(new)) => new >= held,
                _ => true,
            }
    }
}

impl ExecutionCredentials {
    /// The freshest credentials held for the task.
    pub fn current(&self) -> Credentials {
        lock(&self.held).creds.clone()
    }

    /// When they expire (Unix seconds), if known.
    pub fn expires(&self) -> Option<u64> {
        lock(&self.held).expires
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Credentials only: a value left by a panicking thread is still a whole one.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The execution-role credentials held for running tasks, by task ARN. An entry lives while a
/// shipper of the task holds it (weak here), so the map holds the tasks this process ships for.
static HELD: LazyLock<Mutex<HashMap<String, Weak<Mutex<Held>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The task's execution-role credentials for its shippers, if it has them: the ones held for
/// the task already when they are fresher than the task's.
pub fn execution_credentials(task: &AgentTask) -> Option<ExecutionCredentials> {
    let fresh = Held::of(task.execution_role_credentials.as_ref()?);
    let mut map = lock(&HELD);
    if let Some(held) = map.get(&task.task_arn).and_then(Weak::upgrade) {
        {
            let mut h = lock(&held);
            if h.replaced_by(&fresh) {
                *h = fresh;
            }
        }
        return Some(ExecutionCredentials { held });
    }
    let held = Arc::new(Mutex::new(fresh));
    map.insert(task.task_arn.clone(), Arc::downgrade(&held));
    Some(ExecutionCredentials { held })
}

/// A poll's execution-role credentials for `task`: they replace those its shippers hold when
/// they are another session that expires no earlier. Entries no shipper holds any more go.
pub fn refresh_execution_credentials(task: &AgentTask) {
    let mut map = lock(&HELD);
    map.retain(|_, w| w.strong_count() > 0);
    let Some(rc) = task.execution_role_credentials.as_ref() else {
        return;
    };
    if let Some(held) = map.get(&task.task_arn).and_then(Weak::upgrade) {
        let fresh = Held::of(rc);
        let mut h = lock(&held);
        if h.replaced_by(&fresh) {
            tracing::debug!(task = %task.task_arn, "awslogs: the execution role's credentials are renewed");
            *h = fresh;
        }
    }
}

/// The message when a task on Fargate has no execution-role credentials for awslogs.
const NO_CREDENTIALS: &str = "no execution role credentials for the awslogs driver";

/// Creates the log group (with `awslogs-create-group`) and the stream before the container
/// starts, as Docker's driver does: CreateLogStream; when the group does not exist and may be
/// created, CreateLogGroup, then CreateLogStream again. An existing group or stream is fine.
/// The error is the container's start failure in ECS's words: on an instance, dockerd's
/// (`CannotStartContainerError: Error response from daemon: failed to initialize logging
/// driver: failed to create Cloudwatch log stream: <the SDK's error>`, as ECS reports a log
/// driver that cannot start); on Fargate, which tries once more, its
/// `ResourceInitializationError: failed to validate logger args: create stream has been
/// retried 1 times: …` (both as AWS users have reported them; the words for a failed
/// CreateLogGroup are Docker's `failed to create Cloudwatch log group: …` in the same place,
/// which berth has not seen reported by ECS).
pub async fn prepare<C: TaskControl>(
    control: &C,
    target: &Target,
    create_group: bool,
    fargate: bool,
) -> Result<(), String> {
    if fargate && target.creds.is_none() {
        return Err(format!("ResourceInitializationError: {NO_CREDENTIALS}"));
    }
    let mut result = create(control, target, create_group).await;
    if fargate && result.is_err() {
        result = create(control, target, create_group).await;
    }
    result.map_err(|why| {
        if fargate {
            format!(
                "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: {why}"
            )
        } else {
            format!(
                "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: {why}"
            )
        }
    })
}

async fn create<C: TaskControl>(
    control: &C,
    target: &Target,
    create_group: bool,
) -> Result<(), String> {
    let signing = target.signing();
    let creds = signing.as_ref();
    let stream_input = json!({ "logGroupName": target.group, "logStreamName": target.stream });
    let stream = |input: Value| control.logs_call("CreateLogStream", input, &target.region, creds);
    let first = stream(stream_input.clone()).await;
    let err = match first {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => return Ok(()),
        Err(e) => e,
    };
    if create_group && err.code() == Some("ResourceNotFoundException") {
        let group = control
            .logs_call(
                "CreateLogGroup",
                json!({ "logGroupName": target.group }),
                &target.region,
                creds,
            )
            .await;
        match group {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
            Err(e) => {
                return Err(format!(
                    "failed to create Cloudwatch log group: {}",
                    e.sdk_style()
                ));
            }
        }
        return match stream(stream_input).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(format!(
                "failed to create Cloudwatch log stream: {}",
                e.sdk_style()
            )),
        };
    }
    Err(format!(
        "failed to create Cloudwatch log stream: {}",
        err.sdk_style()
    ))
}

/// Reads where the stream stands (`None`: empty, or it cannot be read: then everything Docker
/// has is shipped, and the log says so).
async fn read_cursor<C: TaskControl>(control: &C, target: &Target) -> Option<Cursor> {
    let signing = target.signing();
    let tail = |limit| {
        control.log_tail(
            &target.task_arn,
            &target.region,
            &target.group,
            &target.stream,
            limit,
            signing.as_ref(),
        )
    };
    let mut found = tail(100).await;
    // Every one of the last 100 at the same millisecond: count them all.
    if let Ok(ts) = &found
        && ts.len() == 100
        && ts.first() == ts.last()
    {
        found = tail(10_000).await;
    }
    match found {
        Ok(ts) => Cursor::from_tail(&ts),
        Err(e) => {
            tracing::warn!(task = %target.task_arn, container = %target.container, error = %e,
                "awslogs: the stream's last events cannot be read; shipping the container's whole output");
            None
        }
    }
}

/// Ships a container's output to its stream until the container has stopped and everything is
/// sent. `resume`: the container ran before this shipper (its stream is read for where to
/// go on); a container started by this run ships from its first line.
pub async fn ship<R: ContainerRuntime, C: TaskControl>(
    runtime: Arc<R>,
    control: Arc<C>,
    target: Target,
    docker_id: String,
    resume: bool,
) {
    let mut cursor = if resume {
        read_cursor(control.as_ref(), &target).await
    } else {
        None
    };
    let mut refusals = 0u64;
    let mut breaks = 0u32;
    loop {
        let since = cursor.map(|c| c.since_secs()).unwrap_or(0);
        let mut skip = cursor.map(Resume::after);
        let mut lines = runtime.follow_logs(&docker_id, since);
        let mut grouper = Grouper::new(target.multiline.clone());
        let mut batch = Batch::default();
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut idle_ticks = 0u32;
        let mut broke = false;
        loop {
            tokio::select! {
                line = lines.recv() => match line {
                    Some(Ok(l)) => {
                        idle_ticks = 0;
                        for e in grouper.push(&l) {
                            add(&mut batch, e, &mut skip, &control, &target, &mut cursor, &mut refusals).await;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::debug!(task = %target.task_arn, container = %target.container, error = %e, "awslogs: docker's log stream broke");
                        broke = true;
                        break;
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    idle_ticks += 1;
                    // A multi-line event with no line for a whole interval is complete.
                    if idle_ticks >= 2 && grouper.has_pending() {
                        for e in grouper.flush() {
                            add(&mut batch, e, &mut skip, &control, &target, &mut cursor, &mut refusals).await;
                        }
                    }
                    send(&mut batch, &control, &target, &mut cursor, &mut refusals).await;
                }
            }
        }
        if !broke {
            for e in grouper.flush() {
                add(
                    &mut batch,
                    e,
                    &mut skip,
                    &control,
                    &target,
                    &mut cursor,
                    &mut refusals,
                )
                .await;
            }
        }
        send(&mut batch, &control, &target, &mut cursor, &mut refusals).await;
        if !broke {
            return;
        }
        // Docker's stream broke (a daemon restart, a long follow's timeout): follow again
        // from the cursor, while the container is there.
        breaks += 1;
        let gone = matches!(
            runtime.inspect(&docker_id).await,
            Err(crate::runtime::RuntimeError::NotFound(_))
        );
        if gone || breaks > 300 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if cursor.is_none() {
            cursor = read_cursor(control.as_ref(), &target).await;
        }
    }
}

async fn add<C: TaskControl>(
    batch: &mut Batch,
    e: LogEvent,
    skip: &mut Option<Resume>,
    control: &Arc<C>,
    target: &Target,
    cursor: &mut Option<Cursor>,
    refusals: &mut u64,
) {
    if let Some(s) = skip
        && !s.is_new(e.timestamp_ms)
    {
        return;
    }
    if !batch.fits(&e) {
        send(batch, control, target, cursor, refusals).await;
    }
    batch.push(e);
}

/// Sends the batch (PutLogEvents), retrying while berth cannot be reached; a refusal drops it.
async fn send<C: TaskControl>(
    batch: &mut Batch,
    control: &Arc<C>,
    target: &Target,
    cursor: &mut Option<Cursor>,
    refusals: &mut u64,
) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let events = batch.take();
    let input = json!({
        "logGroupName": target.group,
        "logStreamName": target.stream,
        "logEvents": events
            .iter()
            .map(|e| json!({ "timestamp": e.timestamp_ms, "message": e.message }))
            .collect::<Vec<_>>(),
    });
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    let outcome = loop {
        // Each attempt signs with the freshest credentials held for the task.
        let signing = target.signing();
        match control
            .logs_call(
                "PutLogEvents",
                input.clone(),
                &target.region,
                signing.as_ref(),
            )
            .await
        {
            Err(ApiError::Transport(m)) if attempt < PUT_ATTEMPTS => {
                tracing::debug!(task = %target.task_arn, attempt, error = %m, "awslogs: PutLogEvents failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            other => break other,
        }
    };
    match outcome {
        Ok(out) => {
            if let Some(info) = out.get("rejectedLogEventsInfo") {
                tracing::warn!(task = %target.task_arn, container = %target.container, rejected = %info, "awslogs: CloudWatch Logs rejected some events");
            }
        }
        Err(e) => {
            *refusals += 1;
            // The first refusal, then every hundredth: the reason (codes and ARNs, never
            // credentials), and what is lost.
            if *refusals == 1 || (*refusals).is_multiple_of(100) {
                tracing::warn!(
                    task = %target.task_arn,
                    container = %target.container,
                    log_group = %target.group,
                    log_stream = %target.stream,
                    events = count,
                    refusals = *refusals,
                    error = %e,
                    "awslogs: PutLogEvents refused; the events are dropped"
                );
            }
        }
    }
    // Sent or dropped, these events are behind the follow now.
    let c = cursor.get_or_insert(Cursor {
        last_ms: i64::MIN,
        at_last: 0,
    });
    for e in &events {
        c.advance(e.timestamp_ms);
    }
}

#[cfg(test)]
#[path = "awslogs_tests.rs"]
mod tests;
