//! Task definitions as pure functions: validation in AWS's words, the computed
//! `requiresAttributes` and `compatibilities`, role completion, task-size parsing.

use crate::error::EcsError;
use crate::model::{Attribute, ContainerDefinition, RegisterTaskDefinitionInput};

/// The capability an instance must advertise to run a task with `repositoryCredentials`.
pub const PRIVATE_REGISTRY_CAPABILITY: &str =
    "ecs.capability.private-registry-authentication.secretsmanager";

/// AWS's text for `repositoryCredentials` without an execution role.
pub const PRIVATE_REGISTRY_NEEDS_ROLE: &str = "Private repository authentication requires that the task definition specify a value for executionRoleArn.";

fn client(msg: &str) -> EcsError {
    EcsError::Client(msg.to_string())
}

/// The most container definitions a task definition has (AWS's quota, not adjustable).
pub const MAX_CONTAINERS: usize = 10;

/// AWS's text for more than [`MAX_CONTAINERS`] container definitions.
pub const TOO_MANY_CONTAINERS: &str = "Too many containers.";

/// The largest task definition AWS registers, in bytes (64 KiB).
pub const MAX_DEFINITION_BYTES: usize = 65_536;

/// The task-level CPU AWS accepts outside Fargate: 128 (0.125 vCPU) to 196608 (192 vCPU) units.
pub const TASK_CPU_RANGE: std::ops::RangeInclusive<i64> = 128..=196_608;

/// The least memory (MiB) Docker 20.10 and later gives a container: the smallest container
/// `memory` and `memoryReservation` berth registers.
pub const MIN_CONTAINER_MEMORY: i64 = 6;

/// The longest `stopTimeout` (seconds) a Fargate task has.
pub const FARGATE_MAX_STOP_TIMEOUT: i64 = 120;

/// The most placement constraints a task has (definition and RunTask together).
pub const MAX_PLACEMENT_CONSTRAINTS: usize = 10;

/// The most tags a resource has.
pub const MAX_TAGS: usize = 50;

/// The largest integer the ECS API takes in an `Integer` member.
const INT_MAX: i64 = i32::MAX as i64;

/// TaskDefinition members that RegisterTaskDefinition does not take.
const OUTPUT_ONLY: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "deregisteredAt",
    "deleteRequestedAt",
    "registeredBy",
];

/// `[A-Za-z0-9_-]{1,255}`: the alphabet of family and container names.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Completes a role given as a bare name (or `path/name`) with the account id; an ARN must be an
/// IAM role ARN. AWS answers `Role is not valid` otherwise.
pub fn complete_role(account: &str, role: &str) -> Result<String, EcsError> {
    if let Some(rest) = role.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let ok = parts.len() == 5
            && !parts[0].is_empty()
            && parts[1] == "iam"
            && parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].bytes().all(|b| b.is_ascii_digit())
            && parts[4].strip_prefix("role/").is_some_and(valid_role_path);
        return if ok {
            Ok(role.to_string())
        } else {
            Err(client("Role is not valid"))
        };
    }
    if valid_role_path(role) {
        Ok(format!("arn:aws:iam::{account}:role/{role}"))
    } else {
        Err(client("Role is not valid"))
    }
}

fn valid_role_path(s: &str) -> bool {
    !s.is_empty()
        && !s.ends_with('/')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

/// Parses a task-level CPU value: `1024` or `1 vCPU` (= 1024 units).
pub fn parse_cpu(s: &str) -> Option<i64> {
    parse_size(s, "vcpu")
}

/// Parses a task-level memory value: `2048` (MiB) or `2 GB` (= 2048 MiB).
pub fn parse_memory(s: &str) -> Option<i64> {
    parse_size(s, "gb")
}

fn parse_size(s: &str, unit: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(num) = t.strip_suffix(unit) {
        let v: f64 = num.trim().parse().ok()?;
        let v = v * 1024.0;
        if !v.is_finite() || v <= 0.0 || v > INT_MAX as f64 {
            return None;
        }
        return Some(v.round() as i64);
    }
    let v: i64 = t.parse().ok()?;
    (v > 0 && v <= INT_MAX).then_some(v)
}

/// Whether Fargate has a size for this task CPU (units) and memory (MiB).
pub fn fargate_size_ok(cpu: i64, memory: i64) -> bool {
    let gib = |n: i64| n * 1024;
    let stepped = |lo: i64, hi: i64, step: i64| memory >= lo && memory <= hi && memory % step == 0;
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => stepped(gib(1), gib(4), 1024),
        1024 => stepped(gib(2), gib(8), 1024),
        2048 => stepped(gib(4), gib(16), 1024),
        4096 => stepped(gib(8), gib(30), 1024),
        8192 => stepped(gib(16), gib(60), gib(4)),
        16384 => stepped(gib(32), gib(120), gib(8)),
        _ => false,
    }
}

/// Validates a registration and normalises it in place (roles completed, sizes as numbers,
/// container defaults filled). Messages are AWS's where known.
pub fn validate(account: &str, input: &mut RegisterTaskDefinitionInput) -> Result<(), EcsError> {
    // Members that only the answer carries are computed, never taken from the request (kept,
    // they would also clash with the computed ones).
    for key in OUTPUT_ONLY {
        input.extra.remove(key);
    }
    // AWS measures the definition it is asked to register; berth measures the request's JSON
    // (tags aside). Which serialisation AWS counts is not known to berth.
    let size = definition_bytes(input);
    if size > MAX_DEFINITION_BYTES {
        return Err(client(&format!(
            "Actual length: '{size}'. Max allowed length is '{MAX_DEFINITION_BYTES}' bytes."
        )));
    }
    let family = input.family.as_deref().unwrap_or("");
    if !valid_name(family) {
        return Err(client("Family contains invalid characters."));
    }
    if input.container_definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if input.container_definitions.len() > MAX_CONTAINERS {
        return Err(client(TOO_MANY_CONTAINERS));
    }
    if input.placement_constraints.len() > MAX_PLACEMENT_CONSTRAINTS {
        // AWS documents the limit of 10; its wording for going over it is not known to berth.
        return Err(client(&format!(
            "A task definition can have at most {MAX_PLACEMENT_CONSTRAINTS} placement constraints."
        )));
    }
    // `distinctInstance` is refused in AWS's words; the other messages are berth's.
    crate::placement::parse_constraints(&input.placement_constraints, true)
        .map_err(|m| client(&m))?;
    check_tag_count(input.tags.len())?;
    if let Some(mode) = &input.network_mode
        && !matches!(mode.as_str(), "bridge" | "host" | "awsvpc" | "none")
    {
        // AWS's wording for an unknown network mode is not documented; berth's own.
        return Err(EcsError::InvalidParameter(format!(
            "invalid network mode: {mode}"
        )));
    }
    for c in &input.requires_compatibilities {
        if !matches!(
            c.as_str(),
            "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES"
        ) {
            return Err(EcsError::InvalidParameter(format!(
                "invalid compatibility: {c}"
            )));
        }
    }
    if let Some(role) = input.execution_role_arn.as_deref() {
        input.execution_role_arn = Some(complete_role(account, role)?);
    }
    if let Some(role) = input.task_role_arn.as_deref() {
        input.task_role_arn = Some(complete_role(account, role)?);
    }
    let cpu = match input.cpu.as_deref() {
        Some(s) => Some(
            parse_cpu(s)
                .filter(|c| TASK_CPU_RANGE.contains(c))
                .ok_or_else(|| client("Invalid 'cpu' setting for task."))?,
        ),
        None => None,
    };
    let memory = match input.memory.as_deref() {
        Some(s) => {
            Some(parse_memory(s).ok_or_else(|| client("Invalid 'memory' setting for task."))?)
        }
        None => None,
    };
    input.cpu = cpu.map(|v| v.to_string());
    input.memory = memory.map(|v| v.to_string());

    let fargate = input
        .requires_compatibilities
        .iter()
        .any(|c| c == "FARGATE");
    let mut seen = std::collections::BTreeSet::new();
    for c in &input.container_definitions {
        let name = c.name.as_deref().unwrap_or("");
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !valid_name(name) {
            return Err(client("Container.name contains invalid characters."));
        }
        if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
            return Err(client("Container.image should not be null or empty."));
        }
        if memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
            return Err(client(&format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        if !seen.insert(name.to_string()) {
            // AWS refuses duplicate container names; its exact wording is not known to berth.
            return Err(client(&format!("duplicate container name: {name}")));
        }
        if c.repository_credentials.is_some() && input.execution_role_arn.is_none() {
            return Err(client(PRIVATE_REGISTRY_NEEDS_ROLE));
        }
        crate::secrets::check_registration(c, input.execution_role_arn.is_some())?;
        check_container_numbers(c, fargate)?;
        if let (Some(task), Some(m)) = (memory, c.memory)
            && m > task
        {
            // The wording as reported by users of AWS; not confirmed by berth.
            return Err(client(&format!(
                "The 'memory' setting for container '{name}' is greater than for the task"
            )));
        }
    }
    check_dependencies(&input.container_definitions)?;
    if let Some(task) = memory {
        let reserved = input
            .container_definitions
            .iter()
            .map(|c| c.memory_reservation.unwrap_or(0))
            .fold(0i64, i64::saturating_add);
        if reserved > task {
            return Err(client(
                "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
            ));
        }
    }
    if let Some(task) = cpu {
        let used = input
            .container_definitions
            .iter()
            .map(|c| c.cpu.unwrap_or(0))
            .fold(0i64, i64::saturating_add);
        if used > task {
            // Worded like AWS's memoryReservation message; AWS's own for CPU is not known.
            return Err(client(
                "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
            ));
        }
    }
    if let Some(storage) = input.extra.get("ephemeralStorage")
        && !int_in(storage.get("sizeInGiB"), 21, 200)
    {
        // AWS documents 21-200 GiB; its wording for other sizes is not known to berth.
        return Err(client(
            "Invalid 'ephemeralStorage.sizeInGiB' setting for task.",
        ));
    }

    for v in &input.volumes {
        if let Some(efs) = v.get("efsVolumeConfiguration").filter(|e| e.is_object()) {
            efs_rules(efs)?;
        }
    }

    if input
        .requires_compatibilities
        .iter()
        .any(|c| c == "FARGATE")
    {
        if input.network_mode.as_deref() != Some("awsvpc") {
            return Err(client(
                "Fargate only supports network mode \u{2018}awsvpc\u{2019}.",
            ));
        }
        let Some(cpu) = cpu else {
            return Err(client(
                "Fargate requires that 'cpu' be defined at the task level.",
            ));
        };
        let Some(memory) = memory else {
            return Err(client(
                "Fargate requires that 'memory' be defined at the task level.",
            ));
        };
        if !fargate_size_ok(cpu, memory) {
            return Err(client("No Fargate configuration exists for given values."));
        }
    }
    check_network_mode_rules(input)?;
    if fargate && let Some(member) = fargate_refusal(input) {
        return Err(client(&member));
    }
    for c in &mut input.container_definitions {
        fill_container_defaults(c);
    }
    match input.network_mode.as_deref() {
        Some("awsvpc") | Some("host") => fill_host_ports(input),
        _ => {}
    }
    Ok(())
}

/// AWS's text for a Fargate definition with awslogs and no `awslogs-stream-prefix` (as AWS
/// users have reported it from RegisterTaskDefinition).
pub const FARGATE_AWSLOGS_NEEDS_PREFIX: &str = "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs.";

/// AWS's text for a Fargate definition with awslogs and no execution role.
pub const FARGATE_AWSLOGS_NEEDS_ROLE: &str =
    "Fargate requires task definition to have execution role ARN to support log driver awslogs.";

/// AWS's text for a Fargate definition with an ECR image and no execution role.
pub const FARGATE_ECR_NEEDS_ROLE: &str =
    "Fargate requires task definition to have execution role ARN to support ECR images.";

/// AWS's text for a port mapping whose host port is not its container port under `awsvpc`.
pub const AWSVPC_PORTS_MUST_MATCH: &str =
    "When networkMode=awsvpc, the host ports and container ports in port mappings must match.";

/// AWS's text for `links` under `awsvpc`.
pub const AWSVPC_NO_LINKS: &str = "Links are not supported when networkMode=awsvpc.";

/// AWS's text for `hostname` under `awsvpc`.
pub const AWSVPC_NO_HOSTNAME: &str =
    "hostname is not supported on container when networkMode=awsvpc.";

/// The `awsvpc` rules of every container: host port = container port, no links, no
/// hostname, no extraHosts; and a port mapping needs its container port (or a range).
fn check_network_mode_rules(input: &RegisterTaskDefinitionInput) -> Result<(), EcsError> {
    let awsvpc = input.network_mode.as_deref() == Some("awsvpc");
    for c in &input.container_definitions {
        let x = &c.extra;
        let present = |k: &str| match x.get(k) {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        for m in x
            .get("portMappings")
            .and_then(|v| v.as_array())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let container = m.get("containerPort").and_then(|v| v.as_i64());
            if container.is_none() && m.get("containerPortRange").is_none() {
                // As AWS answers a mapping with only a hostPort.
                return Err(client(&format!(
                    "Invalid 'containerPort' setting for container '{}'.",
                    c.name()
                )));
            }
            if awsvpc
                && let (Some(cp), Some(hp)) =
                    (container, m.get("hostPort").and_then(|v| v.as_i64()))
                && hp != 0
                && hp != cp
            {
                return Err(client(AWSVPC_PORTS_MUST_MATCH));
            }
        }
        if awsvpc && present("links") {
            return Err(client(AWSVPC_NO_LINKS));
        }
        if let Some(mode @ ("host" | "none")) = input.network_mode.as_deref()
            && present("links")
        {
            // Docker links exist on the bridge only; AWS's wording for host and none is not
            // known to berth (this is its awsvpc message).
            return Err(client(&format!(
                "Links are not supported when networkMode={mode}."
            )));
        }
        if awsvpc && present("hostname") {
            return Err(client(AWSVPC_NO_HOSTNAME));
        }
        if awsvpc && present("extraHosts") {
            // AWS documents extraHosts as unsupported under awsvpc; its wording is not known
            // to berth (this follows its hostname message).
            return Err(client(
                "extraHosts is not supported on container when networkMode=awsvpc.",
            ));
        }
    }
    Ok(())
}

/// Under `awsvpc` and `host` a port mapping's host port is its container port: AWS returns it
/// filled in.
fn fill_host_ports(input: &mut RegisterTaskDefinitionInput) {
    for c in &mut input.container_definitions {
        if let Some(serde_json::Value::Array(mappings)) = c.extra.get_mut("portMappings") {
            for m in mappings {
                let Some(cp) = m.get("containerPort").and_then(|v| v.as_i64()) else {
                    continue;
                };
                if let Some(obj) = m.as_object_mut() {
                    let missing = obj
                        .get("hostPort")
                        .is_none_or(|h| h.is_null() || h.as_i64() == Some(0));
                    if missing {
                        obj.insert("hostPort".into(), cp.into());
                    }
                }
            }
        }
    }
}

/// The first member of a definition that Fargate does not take, as AWS's refusal. AWS's own
/// words are known for `ipcMode`, `pidMode` (as reported), and the execution role; the other
/// members follow the `ipcMode` message (AWS's wording for them is not known to berth).
pub fn fargate_refusal(input: &RegisterTaskDefinitionInput) -> Option<String> {
    let not = |member: &str| {
        Some(format!(
            "Tasks using the Fargate launch type do not support {member}."
        ))
    };
    let given = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => true,
    };
    if given(input.extra.get("ipcMode")) {
        return not("ipcMode");
    }
    if let Some(mode) = input.extra.get("pidMode").and_then(|v| v.as_str())
        && mode != "task"
    {
        return Some(format!(
            "Tasks using the Fargate launch type do not support pidMode '{mode}'. The supported value for pidMode is 'task'."
        ));
    }
    if !input.placement_constraints.is_empty() {
        return not("placementConstraints");
    }
    for v in &input.volumes {
        if given(v.get("dockerVolumeConfiguration")) {
            return not("dockerVolumeConfiguration");
        }
        if v.get("host")
            .and_then(|h| h.get("sourcePath"))
            .and_then(|p| p.as_str())
            .is_some_and(|p| !p.is_empty())
        {
            return not("host.sourcePath");
        }
    }
    let role = input.execution_role_arn.is_some();
    for c in &input.container_definitions {
        let x = &c.extra;
        for member in [
            "privileged",
            "links",
            "dnsServers",
            "dnsSearchDomains",
            "extraHosts",
            "dockerSecurityOptions",
            "disableNetworking",
        ] {
            if given(x.get(member)) {
                return not(member);
            }
        }
        if let Some(lp) = x.get("linuxParameters") {
            for member in [
                "devices",
                "sharedMemorySize",
                "tmpfs",
                "maxSwap",
                "swappiness",
            ] {
                if given(lp.get(member)) {
                    return not(&format!("linuxParameters.{member}"));
                }
            }
            let adds = lp
                .get("capabilities")
                .and_then(|c| c.get("add"))
                .and_then(|a| a.as_array());
            for cap in adds.map(Vec::as_slice).unwrap_or(&[]) {
                let cap = cap.as_str().unwrap_or("");
                if !matches!(cap, "SYS_PTRACE" | "CAP_SYS_PTRACE") {
                    // AWS documents CAP_SYS_PTRACE as the one capability a Fargate container
                    // adds; its wording for another is not known to berth.
                    return Some(format!(
                        "Tasks using the Fargate launch type do not support adding capability {cap}. The only capability that can be added is CAP_SYS_PTRACE."
                    ));
                }
            }
        }
        if let Some(reqs) = x.get("resourceRequirements").and_then(|r| r.as_array())
            && reqs
                .iter()
                .any(|r| r.get("type").and_then(|t| t.as_str()) == Some("GPU"))
        {
            return not("GPU resource requirements");
        }
        if !role
            && x.get("logConfiguration")
                .and_then(|l| l.get("logDriver"))
                .and_then(|d| d.as_str())
                == Some("awslogs")
        {
            return Some(FARGATE_AWSLOGS_NEEDS_ROLE.to_string());
        }
        if let Some(log) = x.get("logConfiguration")
            && log.get("logDriver").and_then(|d| d.as_str()) == Some("awslogs")
            && log
                .get("options")
                .and_then(|o| o.get("awslogs-stream-prefix"))
                .and_then(|p| p.as_str())
                .is_none_or(str::is_empty)
        {
            return Some(FARGATE_AWSLOGS_NEEDS_PREFIX.to_string());
        }
        if !role && c.image.as_deref().is_some_and(is_ecr_image) {
            return Some(FARGATE_ECR_NEEDS_ROLE.to_string());
        }
    }
    None
}

/// The size berth counts against [`MAX_DEFINITION_BYTES`]: the request's JSON without tags.
fn definition_bytes(input: &RegisterTaskDefinitionInput) -> usize {
    let mut def = input.clone();
    def.tags.clear();
    serde_json::to_vec(&def)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// More than [`MAX_TAGS`] tags on one resource.
pub fn check_tag_count(n: usize) -> Result<(), EcsError> {
    if n > MAX_TAGS {
        // AWS documents 50 tags per resource; its wording here is not known to berth.
        return Err(EcsError::InvalidParameter(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

/// Whether `v` is absent (or null), or an integer in `lo..=hi`.
fn int_in(v: Option<&serde_json::Value>, lo: i64, hi: i64) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => true,
        Some(v) => v.as_i64().is_some_and(|n| (lo..=hi).contains(&n)),
    }
}

/// The numeric members of a container definition, each in the range AWS documents (or, where
/// AWS documents none, at least zero and at most the API's integer). AWS's wording for these
/// is not known to berth, except where noted; its messages follow the task-level
/// `Invalid 'cpu' setting for task.`
pub fn check_container_numbers(c: &ContainerDefinition, fargate: bool) -> Result<(), EcsError> {
    let name = c.name();
    let invalid = |member: &str| {
        client(&format!(
            "Invalid '{member}' setting for container '{name}'."
        ))
    };
    if c.cpu.is_some_and(|v| !(0..=INT_MAX).contains(&v)) {
        return Err(invalid("cpu"));
    }
    let memory_ok =
        |v: Option<i64>| v.is_none_or(|v| (MIN_CONTAINER_MEMORY..=INT_MAX).contains(&v));
    if !memory_ok(c.memory) {
        return Err(invalid("memory"));
    }
    if !memory_ok(c.memory_reservation) {
        return Err(invalid("memoryReservation"));
    }
    if let (Some(m), Some(r)) = (c.memory, c.memory_reservation)
        && m < r
    {
        return Err(client(&format!(
            "Invalid setting for container '{name}'. 'memory' must be greater than or equal to 'memoryReservation'."
        )));
    }
    let x = &c.extra;
    let stop_max = if fargate {
        FARGATE_MAX_STOP_TIMEOUT
    } else {
        INT_MAX
    };
    let stop_min = if fargate { 2 } else { 0 };
    if !int_in(x.get("stopTimeout"), stop_min, stop_max) {
        return Err(invalid("stopTimeout"));
    }
    if !int_in(x.get("startTimeout"), 0, INT_MAX) {
        return Err(invalid("startTimeout"));
    }
    match x.get("portMappings") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(mappings)) => {
            for m in mappings {
                for member in ["containerPort", "hostPort"] {
                    if m.get(member).is_some_and(serde_json::Value::is_string) {
                        // AWS's JSON protocol refuses a string for an Integer member before
                        // ECS sees it (as its other JSON services answer).
                        return Err(EcsError::Serialization(
                            "STRING_VALUE cannot be converted to Integer".into(),
                        ));
                    }
                }
                if !int_in(m.get("containerPort"), 0, 65_535) {
                    return Err(invalid("containerPort"));
                }
                if !int_in(m.get("hostPort"), 0, 65_535) {
                    return Err(invalid("hostPort"));
                }
            }
        }
        Some(_) => return Err(invalid("portMappings")),
    }
    if let Some(h) = x.get("healthCheck") {
        // AWS documents these ranges (interval 5-300 s, timeout 2-60 s, retries 1-10,
        // startPeriod 0-300 s).
        for (member, lo, hi) in [
            ("interval", 5, 300),
            ("timeout", 2, 60),
            ("retries", 1, 10),
            ("startPeriod", 0, 300),
        ] {
            if !int_in(h.get(member), lo, hi) {
                return Err(invalid(&format!("healthCheck.{member}")));
            }
        }
    }
    if let Some(l) = x.get("linuxParameters") {
        for (member, lo, hi) in [
            ("sharedMemorySize", 0, INT_MAX),
            ("maxSwap", 0, INT_MAX),
            ("swappiness", 0, 100),
        ] {
            if !int_in(l.get(member), lo, hi) {
                return Err(invalid(&format!("linuxParameters.{member}")));
            }
        }
    }
    if let Some(serde_json::Value::Array(ulimits)) = x.get("ulimits") {
        for u in ulimits {
            for member in ["softLimit", "hardLimit"] {
                if !int_in(u.get(member), 0, INT_MAX) {
                    return Err(invalid(&format!("ulimits.{member}")));
                }
            }
        }
    }
    Ok(())
}

/// The `dependsOn` rules AWS checks at registration, in its words: the named container must
/// be in the task, and a `COMPLETE` or `SUCCESS` dependency must not be essential. (A cycle is
/// not refused here: AWS's words for it are not known to berth; the agent refuses such a task
/// at start, as the ECS agent does.)
fn check_dependencies(containers: &[ContainerDefinition]) -> Result<(), EcsError> {
    for c in containers {
        let Some(serde_json::Value::Array(deps)) = c.extra.get("dependsOn") else {
            continue;
        };
        for d in deps {
            let name = d
                .get("containerName")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let Some(target) = containers.iter().find(|x| x.name() == name) else {
                return Err(client(&format!(
                    "Cannot depend on container + '{name}' because it does not exist"
                )));
            };
            let condition = d.get("condition").and_then(serde_json::Value::as_str);
            if matches!(condition, Some("COMPLETE" | "SUCCESS")) && target.is_essential() {
                return Err(client(
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
                ));
            }
        }
    }
    Ok(())
}

/// The members AWS fills in every container definition it returns.
fn fill_container_defaults(c: &mut ContainerDefinition) {
    if c.cpu.is_none() {
        c.cpu = Some(0);
    }
    if c.essential.is_none() {
        c.essential = Some(true);
    }
    for key in ["portMappings", "environment", "mountPoints", "volumesFrom"] {
        c.extra
            .entry(key)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    }
}

fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or("");
    image.contains('/') && host.contains(".dkr.ecr.") && host.contains(".amazonaws.com")
}

/// The attributes an instance must have to run this definition, as AWS computes them.
///
/// What berth is sure of: `repositoryCredentials` requires
/// `ecs.capability.private-registry-authentication.secretsmanager`. The others follow what AWS
/// returns for common definitions (observed outputs); AWS adds more for features berth does
/// not list here, and berth is not certain of the docker-remote-api version AWS pairs with
/// each feature.
pub fn requires_attributes(input: &RegisterTaskDefinitionInput) -> Vec<Attribute> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    let awsvpc = input.network_mode.as_deref() == Some("awsvpc");
    for c in &input.container_definitions {
        if c.repository_credentials.is_some() {
            // Certain: ECS places a task with `repositoryCredentials` only on an instance that
            // advertises this capability. Whether AWS also adds a docker-remote-api version for
            // it is not known to berth; it adds none.
            add(PRIVATE_REGISTRY_CAPABILITY);
        }
        if c.memory_reservation.is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.21");
        }
        if let Some(log) = c.extra.get("logConfiguration")
            && let Some(driver) = log.get("logDriver").and_then(|d| d.as_str())
        {
            add(&format!(
                "com.amazonaws.ecs.capability.logging-driver.{driver}"
            ));
            if driver == "awslogs" {
                add("com.amazonaws.ecs.capability.docker-remote-api.1.19");
                if input.execution_role_arn.is_some() {
                    add("ecs.capability.execution-role-awslogs");
                }
            }
        }
        // ECR pulls with the execution role need this; berth only adds it for ECR images
        // (berth does not emulate ECR itself) — AWS is believed to do the same.
        if input.execution_role_arn.is_some() && c.image.as_deref().is_some_and(is_ecr_image) {
            add("ecs.capability.execution-role-ecr-pull");
            add("com.amazonaws.ecs.capability.ecr-auth");
        }
        // The ECS agent's capability for each provider and target of the container's
        // `secrets` and `secretOptions` (a Secrets Manager ARN is `asm`, anything else `ssm`).
        for cap in crate::secrets::capabilities(c) {
            add(cap);
        }
        if c.extra.contains_key("healthCheck") {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.24");
            add("ecs.capability.container-health-check");
        }
        if c.extra.contains_key("dependsOn") {
            add("ecs.capability.container-ordering");
        }
        if c.extra.contains_key("dockerLabels") {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        }
        if c.extra.get("privileged").and_then(|p| p.as_bool()) == Some(true) {
            add("com.amazonaws.ecs.capability.privileged-container");
        }
    }
    if input.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    if awsvpc {
        add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        add("ecs.capability.task-eni");
    }
    let mut attrs: Vec<Attribute> = out.iter().map(|n| Attribute::named(n)).collect();
    for a in field_attributes(input) {
        if !attrs.contains(&a) {
            attrs.push(a);
        }
    }
    attrs
}

/// The launch types a (validated) definition can run on: always EC2 and EXTERNAL; FARGATE only
/// with `awsvpc`, a task size Fargate offers and every `stopTimeout` within Fargate's 2-120 s.
pub fn compatibilities(input: &RegisterTaskDefinitionInput) -> Vec<String> {
    let mut out = vec!["EC2".to_string(), "EXTERNAL".to_string()];
    let size = input
        .cpu
        .as_deref()
        .and_then(parse_cpu)
        .zip(input.memory.as_deref().and_then(parse_memory));
    let stop_timeouts_fit = input
        .container_definitions
        .iter()
        .all(|c| int_in(c.extra.get("stopTimeout"), 2, FARGATE_MAX_STOP_TIMEOUT));
    if input.network_mode.as_deref() == Some("awsvpc")
        && size.is_some_and(|(c, m)| fargate_size_ok(c, m))
        && stop_timeouts_fit
        && fargate_refusal(input).is_none()
    {
        out.push("FARGATE".to_string());
    }
    // An EXTERNAL instance has no task ENI: an awsvpc definition is not EXTERNAL-compatible.
    if input.network_mode.as_deref() == Some("awsvpc") {
        out.retain(|c| c != "EXTERNAL");
    }
    out
}

/// The GPUs the containers require (`resourceRequirements` of type `GPU`).
pub fn gpus(containers: &[ContainerDefinition]) -> i64 {
    containers
        .iter()
        .flat_map(|c| {
            c.extra
                .get("resourceRequirements")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter(|r| r.get("type").and_then(|t| t.as_str()) == Some("GPU"))
        .filter_map(|r| r.get("value").and_then(|v| v.as_str())?.parse::<i64>().ok())
        .fold(0i64, i64::saturating_add)
}

/// The attributes the definition's Linux and Docker settings need on an instance (AWS's
/// Docker Remote API versions where its documentation names one; the agent capabilities for
/// the members the ECS agent gates on one). Kept apart from the attributes of secrets,
/// registries and logs.
pub fn field_attributes(input: &RegisterTaskDefinitionInput) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = Vec::new();
    let mut add = |a: Attribute| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    let named = |n: &str| Attribute::named(n);
    let given = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    for c in &input.container_definitions {
        let x = &c.extra;
        if given(x.get("ulimits")) {
            // Documented: ulimits need Docker Remote API 1.18.
            add(named("com.amazonaws.ecs.capability.docker-remote-api.1.18"));
        }
        if let Some(lp) = x.get("linuxParameters")
            && lp.get("initProcessEnabled").and_then(|v| v.as_bool()) == Some(true)
        {
            // Documented: initProcessEnabled needs Docker Remote API 1.25.
            add(named("com.amazonaws.ecs.capability.docker-remote-api.1.25"));
        }
        if given(x.get("startTimeout")) || given(x.get("stopTimeout")) {
            // Documented: start and stop timeouts need container agent 1.26.0, the agent that
            // advertises container ordering.
            add(named("ecs.capability.container-ordering"));
        }
        if x.get("restartPolicy")
            .and_then(|r| r.get("enabled"))
            .and_then(|e| e.as_bool())
            == Some(true)
        {
            add(named("ecs.capability.container-restart-policy"));
        }
        if given(x.get("environmentFiles")) {
            add(named("ecs.capability.env-files.s3"));
        }
        if let Some(f) = x.get("firelensConfiguration")
            && let Some(kind) = f.get("type").and_then(|t| t.as_str())
        {
            add(named(&format!("ecs.capability.firelens.{kind}")));
        }
    }
    for v in &input.volumes {
        if given(v.get("efsVolumeConfiguration")) {
            add(named("ecs.capability.efs"));
        }
        if let Some(driver) = v
            .get("dockerVolumeConfiguration")
            .and_then(|d| d.get("driver"))
            .and_then(|d| d.as_str())
        {
            add(named(&format!("ecs.capability.docker-plugin.{driver}")));
        }
    }
    if given(input.extra.get("proxyConfiguration")) {
        add(named("ecs.capability.aws-appmesh"));
    }
    if given(input.extra.get("ephemeralStorage")) {
        add(named("ecs.capability.extensible-ephemeral-storage"));
    }
    if let Some(p) = input.extra.get("runtimePlatform") {
        if let Some(arch) = p.get("cpuArchitecture").and_then(|a| a.as_str()) {
            add(Attribute {
                name: "ecs.cpu-architecture".into(),
                value: Some(match arch {
                    "X86_64" => "x86_64".to_string(),
                    other => other.to_ascii_lowercase(),
                }),
                target_type: None,
                target_id: None,
            });
        }
        if let Some(family) = p.get("operatingSystemFamily").and_then(|a| a.as_str())
            && family.starts_with("WINDOWS")
        {
            add(Attribute {
                name: "ecs.os-type".into(),
                value: Some("windows".into()),
                target_type: None,
                target_id: None,
            });
        }
    }
    out
}

/// An EFS volume's rules, as AWS documents them for `EFSVolumeConfiguration` and
/// `EFSAuthorizationConfig`: an access point takes the root directory `/` or none, and an access
/// point or IAM authorization needs transit encryption. The access point's words are AWS's (as
/// CloudFormation quotes them); the words for the transit encryption rules are not known to
/// berth and follow them.
pub fn efs_rules(efs: &serde_json::Value) -> Result<(), EcsError> {
    let auth = efs.get("authorizationConfig");
    let access_point = auth
        .and_then(|a| a.get("accessPointId"))
        .and_then(|a| a.as_str())
        .is_some_and(|a| !a.is_empty());
    let iam = auth.and_then(|a| a.get("iam")).and_then(|a| a.as_str()) == Some("ENABLED");
    let tls = efs.get("transitEncryption").and_then(|t| t.as_str()) == Some("ENABLED");
    let root = efs.get("rootDirectory").and_then(|r| r.as_str());
    if access_point && !matches!(root, None | Some("") | Some("/")) {
        return Err(client(EFS_ACCESS_POINT_ROOT));
    }
    if access_point && !tls {
        return Err(client(EFS_ACCESS_POINT_TLS));
    }
    if iam && !tls {
        return Err(client(EFS_IAM_TLS));
    }
    Ok(())
}

/// AWS's words for an access point with another root directory.
pub const EFS_ACCESS_POINT_ROOT: &str =
    "When using an EFS access point, the root directory must either be set to \"/\" or be omitted.";
/// berth's words (AWS's are not known) for an access point without transit encryption.
pub const EFS_ACCESS_POINT_TLS: &str =
    "When using an EFS access point, transit encryption must be enabled.";
/// berth's words (AWS's are not known) for IAM authorization without transit encryption.
pub const EFS_IAM_TLS: &str =
    "When using EFS IAM authorization, transit encryption must be enabled.";

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn efs_access_points_and_iam_need_transit_encryption() {
        use serde_json::json;
        let ap = |extra: serde_json::Value| {
            let mut e =
                json!({"fileSystemId": "fs-1", "authorizationConfig": {"accessPointId": "fsap-1"}});
            if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
                e.extend(x.clone());
            }
            efs_rules(&e).err().map(|e| e.to_string())
        };
        assert_eq!(ap(json!({"transitEncryption": "ENABLED"})), None);
        assert_eq!(
            ap(json!({"transitEncryption": "ENABLED", "rootDirectory": "/"})),
            None
        );
        assert!(
            ap(json!({"transitEncryption": "ENABLED", "rootDirectory": "/x"}))
                .is_some_and(|m| m.contains(EFS_ACCESS_POINT_ROOT))
        );
        assert!(ap(json!({})).is_some_and(|m| m.contains(EFS_ACCESS_POINT_TLS)));
        let iam = json!({"fileSystemId": "fs-1", "authorizationConfig": {"iam": "ENABLED"}});
        assert!(
            efs_rules(&iam)
                .err()
                .is_some_and(|e| e.to_string().contains(EFS_IAM_TLS))
        );
        assert!(efs_rules(&json!({"fileSystemId": "fs-1", "rootDirectory": "/x"})).is_ok());
    }
    use crate::model::{RepositoryCredentials, Tag};

    fn container(name: &str, image: &str, memory: Option<i64>) -> ContainerDefinition {
        ContainerDefinition {
            name: Some(name.into()),
            image: Some(image.into()),
            cpu: None,
            memory,
            memory_reservation: None,
            essential: None,
            repository_credentials: None,
            extra: Default::default(),
        }
    }

    fn input(cs: Vec<ContainerDefinition>) -> RegisterTaskDefinitionInput {
        RegisterTaskDefinitionInput {
            family: Some("web".into()),
            container_definitions: cs,
            ..Default::default()
        }
    }

    fn err(r: Result<(), EcsError>) -> String {
        match r {
            Err(EcsError::Client(m))
            | Err(EcsError::InvalidParameter(m))
            | Err(EcsError::Serialization(m)) => m,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn validation_messages() {
        let ok = || input(vec![container("app", "busybox", Some(128))]);
        let cases: Vec<(Box<dyn Fn(&mut RegisterTaskDefinitionInput)>, &str)> = vec![
            (
                Box::new(|i| i.family = Some("bad family".into())),
                "Family contains invalid characters.",
            ),
            (
                Box::new(|i| i.family = Some(String::new())),
                "Family contains invalid characters.",
            ),
            (
                Box::new(|i| i.container_definitions.clear()),
                "Container list cannot be empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].name = None),
                "Container.name should not be null or empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].name = Some("a.b".into())),
                "Container.name contains invalid characters.",
            ),
            (
                Box::new(|i| i.container_definitions[0].image = None),
                "Container.image should not be null or empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory = None),
                "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.",
            ),
            (
                Box::new(|i| {
                    i.container_definitions[0].repository_credentials =
                        Some(RepositoryCredentials {
                            credentials_parameter: "x".into(),
                        })
                }),
                PRIVATE_REGISTRY_NEEDS_ROLE,
            ),
            (
                Box::new(|i| i.execution_role_arn = Some("arn:aws:s3:::bucket".into())),
                "Role is not valid",
            ),
            (
                Box::new(|i| i.requires_compatibilities = vec!["FARGATE".into()]),
                "Fargate only supports network mode \u{2018}awsvpc\u{2019}.",
            ),
            (
                Box::new(|i| {
                    i.requires_compatibilities = vec!["FARGATE".into()];
                    i.network_mode = Some("awsvpc".into());
                }),
                "Fargate requires that 'cpu' be defined at the task level.",
            ),
            (
                Box::new(|i| {
                    i.requires_compatibilities = vec!["FARGATE".into()];
                    i.network_mode = Some("awsvpc".into());
                    i.cpu = Some("256".into());
                    i.memory = Some("4096".into());
                }),
                "No Fargate configuration exists for given values.",
            ),
        ];
        for (mutate, want) in cases {
            let mut i = ok();
            mutate(&mut i);
            assert_eq!(err(validate("000000000000", &mut i)), want);
        }
        let mut i = ok();
        validate("000000000000", &mut i).unwrap();
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn numeric_members_and_list_lengths_are_bounded() {
        let ok = || input(vec![container("app", "busybox", Some(128))]);
        let set = |key: &'static str, v: serde_json::Value| {
            move |i: &mut RegisterTaskDefinitionInput| {
                i.container_definitions[0]
                    .extra
                    .insert(key.into(), v.clone());
            }
        };
        let fargate = |i: &mut RegisterTaskDefinitionInput| {
            i.requires_compatibilities = vec!["FARGATE".into()];
            i.network_mode = Some("awsvpc".into());
            i.cpu = Some("256".into());
            i.memory = Some("512".into());
        };
        let cases: Vec<(Box<dyn Fn(&mut RegisterTaskDefinitionInput)>, &str)> = vec![
            (
                Box::new(|i| {
                    i.container_definitions = (0..11)
                        .map(|n| container(&format!("c{n}"), "busybox", Some(16)))
                        .collect()
                }),
                TOO_MANY_CONTAINERS,
            ),
            (
                Box::new(|i| {
                    i.container_definitions = (0..10_000)
                        .map(|n| container(&format!("c{n}"), "busybox", Some(16)))
                        .collect()
                }),
                "Actual length: '",
            ),
            (
                Box::new(set(
                    "environment",
                    serde_json::json!([{"name": "BIG", "value": "x".repeat(70_000)}]),
                )),
                "Actual length: '",
            ),
            (
                Box::new(|i| i.cpu = Some("64".into())),
                "Invalid 'cpu' setting for task.",
            ),
            (
                Box::new(|i| i.cpu = Some("-1024".into())),
                "Invalid 'cpu' setting for task.",
            ),
            (
                Box::new(|i| i.cpu = Some("196609".into())),
                "Invalid 'cpu' setting for task.",
            ),
            (
                Box::new(|i| i.memory = Some("-512".into())),
                "Invalid 'memory' setting for task.",
            ),
            (
                Box::new(|i| i.memory = Some("0".into())),
                "Invalid 'memory' setting for task.",
            ),
            (
                Box::new(|i| i.memory = Some("99999999999".into())),
                "Invalid 'memory' setting for task.",
            ),
            (
                Box::new(|i| i.memory = Some("1e300 GB".into())),
                "Invalid 'memory' setting for task.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory = Some(-100_000)),
                "Invalid 'memory' setting for container 'app'.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory = Some(0)),
                "Invalid 'memory' setting for container 'app'.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory = Some(5)),
                "Invalid 'memory' setting for container 'app'.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory_reservation = Some(-1)),
                "Invalid 'memoryReservation' setting for container 'app'.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory_reservation = Some(256)),
                "Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'.",
            ),
            (
                Box::new(|i| i.container_definitions[0].cpu = Some(-1)),
                "Invalid 'cpu' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "portMappings",
                    serde_json::json!([{"containerPort": 80, "hostPort": 70000}]),
                )),
                "Invalid 'hostPort' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "portMappings",
                    serde_json::json!([{"containerPort": 80, "hostPort": -1}]),
                )),
                "Invalid 'hostPort' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "portMappings",
                    serde_json::json!([{"containerPort": 65536}]),
                )),
                "Invalid 'containerPort' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "portMappings",
                    serde_json::json!([{"containerPort": "80"}]),
                )),
                "STRING_VALUE cannot be converted to Integer",
            ),
            (
                Box::new(set("stopTimeout", serde_json::json!(-5))),
                "Invalid 'stopTimeout' setting for container 'app'.",
            ),
            (
                Box::new(move |i| {
                    fargate(i);
                    i.container_definitions[0]
                        .extra
                        .insert("stopTimeout".into(), 121.into());
                }),
                "Invalid 'stopTimeout' setting for container 'app'.",
            ),
            (
                Box::new(move |i| {
                    fargate(i);
                    i.container_definitions[0]
                        .extra
                        .insert("stopTimeout".into(), 1.into());
                }),
                "Invalid 'stopTimeout' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "healthCheck",
                    serde_json::json!({"command": ["CMD", "true"], "interval": 1}),
                )),
                "Invalid 'healthCheck.interval' setting for container 'app'.",
            ),
            (
                Box::new(set(
                    "dependsOn",
                    serde_json::json!([{"containerName": "ghost", "condition": "START"}]),
                )),
                "Cannot depend on container + 'ghost' because it does not exist",
            ),
            (
                Box::new(set(
                    "dependsOn",
                    serde_json::json!([{"containerName": "app", "condition": "SUCCESS"}]),
                )),
                "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
            ),
            (
                Box::new(set(
                    "linuxParameters",
                    serde_json::json!({"swappiness": 101}),
                )),
                "Invalid 'linuxParameters.swappiness' setting for container 'app'.",
            ),
            (
                Box::new(|i| {
                    i.memory = Some("512".into());
                    i.container_definitions[0].memory = None;
                    i.container_definitions[0].memory_reservation = Some(600);
                }),
                "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
            ),
            (
                Box::new(|i| {
                    i.memory = Some("512".into());
                    i.container_definitions[0].memory = Some(1024);
                }),
                "The 'memory' setting for container 'app' is greater than for the task",
            ),
            (
                Box::new(|i| {
                    i.cpu = Some("256".into());
                    i.container_definitions[0].cpu = Some(512);
                }),
                "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
            ),
            (
                Box::new(|i| {
                    i.extra.insert(
                        "ephemeralStorage".into(),
                        serde_json::json!({"sizeInGiB": 10}),
                    );
                }),
                "Invalid 'ephemeralStorage.sizeInGiB' setting for task.",
            ),
            (
                Box::new(|i| {
                    i.placement_constraints = vec![serde_json::json!({"type": "memberOf"}); 11]
                }),
                "A task definition can have at most 10 placement constraints.",
            ),
            (
                Box::new(|i| {
                    i.tags = (0..51)
                        .map(|n| Tag {
                            key: Some(format!("k{n}")),
                            value: None,
                        })
                        .collect()
                }),
                "A resource can have at most 50 tags.",
            ),
        ];
        for (mutate, want) in cases {
            let mut i = ok();
            mutate(&mut i);
            let got = err(validate("000000000000", &mut i));
            assert!(got.starts_with(want), "{got} (want {want})");
        }
        // The edges themselves are accepted.
        let edges: Vec<Box<dyn Fn(&mut RegisterTaskDefinitionInput)>> = vec![
            Box::new(|i| {
                i.container_definitions = (0..10)
                    .map(|n| container(&format!("c{n}"), "busybox", Some(6)))
                    .collect()
            }),
            Box::new(|i| i.cpu = Some("128".into())),
            Box::new(|i| i.container_definitions[0].memory_reservation = Some(128)),
            Box::new(set(
                "portMappings",
                serde_json::json!([{"containerPort": 65535, "hostPort": 0}]),
            )),
            Box::new(set("stopTimeout", serde_json::json!(300))),
            Box::new(move |i| {
                fargate(i);
                i.container_definitions[0]
                    .extra
                    .insert("stopTimeout".into(), 120.into());
            }),
        ];
        for mutate in edges {
            let mut i = ok();
            mutate(&mut i);
            validate("000000000000", &mut i).unwrap();
        }
    }

    #[test]
    fn a_long_stop_timeout_is_not_fargate_compatible() {
        let mut i = input(vec![container("app", "busybox", Some(128))]);
        i.network_mode = Some("awsvpc".into());
        i.cpu = Some("256".into());
        i.memory = Some("512".into());
        validate("000000000000", &mut i).unwrap();
        assert_eq!(compatibilities(&i), vec!["EC2", "FARGATE"]);
        i.container_definitions[0]
            .extra
            .insert("stopTimeout".into(), 300.into());
        validate("000000000000", &mut i).unwrap();
        assert_eq!(compatibilities(&i), vec!["EC2"]);
    }

    #[test]
    fn roles_are_completed() {
        let cases = [
            (
                "ecsTaskExecutionRole",
                Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
            ),
            (
                "service-role/x",
                Some("arn:aws:iam::123456789012:role/service-role/x"),
            ),
            (
                "arn:aws:iam::111122223333:role/r",
                Some("arn:aws:iam::111122223333:role/r"),
            ),
            ("arn:aws:iam::111122223333:user/u", None),
            ("bad name!", None),
            ("", None),
        ];
        for (given, want) in cases {
            assert_eq!(
                complete_role("123456789012", given).ok().as_deref(),
                want,
                "{given}"
            );
        }
    }

    #[test]
    fn sizes_and_fargate_table() {
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_memory("2 GB"), Some(2048));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("x"), None);
        let cases = [
            (256, 512, true),
            (256, 1024, true),
            (256, 3072, false),
            (512, 4096, true),
            (1024, 1024, false),
            (4096, 30720, true),
            (8192, 20480, true),
            (8192, 18432, false),
            (300, 1024, false),
        ];
        for (cpu, mem, want) in cases {
            assert_eq!(fargate_size_ok(cpu, mem), want, "{cpu}/{mem}");
        }
    }

    #[test]
    fn secrets_need_the_role_unique_names_and_their_capabilities() {
        let asm = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
        let mut c = container("app", "busybox", Some(128));
        c.extra.insert(
            "secrets".into(),
            serde_json::json!([{"name": "A", "valueFrom": asm}, {"name": "B", "valueFrom": "/p/b"}]),
        );
        c.extra.insert(
            "logConfiguration".into(),
            serde_json::json!({"logDriver": "json-file", "secretOptions": [
                {"name": "max-size", "valueFrom": format!("{asm}:size::")},
                {"name": "tag", "valueFrom": "arn:aws:ssm:eu-west-1:000000000000:parameter/t"}]}),
        );
        let mut i = input(vec![c.clone()]);
        assert_eq!(
            err(validate("000000000000", &mut i)),
            crate::secrets::SECRETS_NEED_ROLE
        );
        i.execution_role_arn = Some("exec".into());
        validate("000000000000", &mut i).unwrap();
        let names: Vec<String> = requires_attributes(&i)
            .into_iter()
            .map(|a| a.name)
            .collect();
        for cap in [
            crate::secrets::CAP_ASM_ENV,
            crate::secrets::CAP_SSM_ENV,
            crate::secrets::CAP_ASM_LOG,
            crate::secrets::CAP_SSM_LOG,
        ] {
            assert!(names.iter().any(|n| n == cap), "{cap} in {names:?}");
        }
        // Only secretOptions: the role is still needed; only their capabilities are added.
        let mut only_log = c.clone();
        only_log.extra.remove("secrets");
        let mut i = input(vec![only_log]);
        assert_eq!(
            err(validate("000000000000", &mut i)),
            crate::secrets::SECRETS_NEED_ROLE
        );
        i.execution_role_arn = Some("exec".into());
        validate("000000000000", &mut i).unwrap();
        let names: Vec<String> = requires_attributes(&i)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with("environment-variables")),
            "{names:?}"
        );
        // A secret named like an environment variable, or like another secret.
        for (env, secrets) in [
            (
                serde_json::json!([{"name": "A", "value": "x"}]),
                serde_json::json!([{"name": "A", "valueFrom": asm}]),
            ),
            (
                serde_json::json!([]),
                serde_json::json!([{"name": "S", "valueFrom": asm}, {"name": "S", "valueFrom": "/p"}]),
            ),
        ] {
            let mut d = container("app", "busybox", Some(128));
            d.extra.insert("environment".into(), env);
            d.extra.insert("secrets".into(), secrets.clone());
            let mut i = input(vec![d]);
            i.execution_role_arn = Some("exec".into());
            let name = secrets[0]["name"].as_str().unwrap();
            assert_eq!(
                err(validate("000000000000", &mut i)),
                crate::secrets::name_clash(name)
            );
        }
    }

    #[test]
    fn computed_attributes_and_compatibilities() {
        let mut c = container("app", "private-repo/private-image", Some(128));
        c.repository_credentials = Some(RepositoryCredentials {
            credentials_parameter: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s".into(),
        });
        let mut i = input(vec![c]);
        i.execution_role_arn = Some("ecsTaskExecutionRole".into());
        validate("000000000000", &mut i).unwrap();
        let names: Vec<String> = requires_attributes(&i)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, vec![PRIVATE_REGISTRY_CAPABILITY.to_string()]);
        assert_eq!(compatibilities(&i), vec!["EC2", "EXTERNAL"]);

        i.network_mode = Some("awsvpc".into());
        i.cpu = Some("256".into());
        i.memory = Some("512".into());
        assert_eq!(compatibilities(&i), vec!["EC2", "FARGATE"]);
        assert!(
            requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.task-eni")
        );
        // No execution-role-ecr-pull for a non-ECR image.
        assert!(
            !requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.execution-role-ecr-pull")
        );
        i.container_definitions[0].image =
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into());
        assert!(
            requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.execution-role-ecr-pull")
        );
    }

    #[test]
    fn output_members_of_the_request_are_dropped() {
        let mut i: RegisterTaskDefinitionInput = serde_json::from_value(serde_json::json!({
            "family": "f", "status": "INACTIVE", "revision": 7, "pidMode": "task",
            "containerDefinitions": [{"name": "a", "image": "b", "memory": 6}]
        }))
        .unwrap();
        validate("000000000000", &mut i).unwrap();
        assert_eq!(i.extra.keys().collect::<Vec<_>>(), vec!["pidMode"]);
    }

    #[test]
    fn defaults_are_filled() {
        let mut i = input(vec![container("app", "busybox", Some(128))]);
        validate("000000000000", &mut i).unwrap();
        let c = &i.container_definitions[0];
        assert_eq!(c.cpu, Some(0));
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.extra["portMappings"], serde_json::json!([]));
    }
    #[test]
    #[allow(clippy::type_complexity)]
    fn fargate_and_awsvpc_rules_in_aws_words() {
        let fargate = || {
            let mut i = input(vec![container("app", "busybox", Some(128))]);
            i.requires_compatibilities = vec!["FARGATE".into()];
            i.network_mode = Some("awsvpc".into());
            i.cpu = Some("256".into());
            i.memory = Some("512".into());
            i
        };
        let set = |i: &mut RegisterTaskDefinitionInput, k: &str, v: serde_json::Value| {
            i.container_definitions[0].extra.insert(k.into(), v);
        };
        let cases: Vec<(Box<dyn Fn(&mut RegisterTaskDefinitionInput)>, &str)> = vec![
            (
                Box::new(|i| {
                    i.extra.insert("ipcMode".into(), "host".into());
                }),
                "Tasks using the Fargate launch type do not support ipcMode.",
            ),
            (
                Box::new(|i| {
                    i.extra.insert("pidMode".into(), "host".into());
                }),
                "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
            ),
            (
                Box::new(move |i| set(i, "privileged", true.into())),
                "Tasks using the Fargate launch type do not support privileged.",
            ),
            (
                Box::new(move |i| set(i, "dnsServers", serde_json::json!(["10.0.0.2"]))),
                "Tasks using the Fargate launch type do not support dnsServers.",
            ),
            (
                Box::new(move |i| {
                    set(
                        i,
                        "linuxParameters",
                        serde_json::json!({"sharedMemorySize": 64}),
                    )
                }),
                "Tasks using the Fargate launch type do not support linuxParameters.sharedMemorySize.",
            ),
            (
                Box::new(move |i| {
                    set(
                        i,
                        "logConfiguration",
                        serde_json::json!({"logDriver": "awslogs", "options": {}}),
                    )
                }),
                FARGATE_AWSLOGS_NEEDS_ROLE,
            ),
            (
                Box::new(|i| {
                    i.container_definitions[0].image =
                        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into())
                }),
                FARGATE_ECR_NEEDS_ROLE,
            ),
            (
                Box::new(move |i| {
                    set(
                        i,
                        "portMappings",
                        serde_json::json!([{"containerPort": 80, "hostPort": 8080}]),
                    )
                }),
                AWSVPC_PORTS_MUST_MATCH,
            ),
            (
                Box::new(move |i| set(i, "links", serde_json::json!(["db"]))),
                AWSVPC_NO_LINKS,
            ),
            (
                Box::new(move |i| set(i, "hostname", "h".into())),
                AWSVPC_NO_HOSTNAME,
            ),
            (
                Box::new(move |i| set(i, "portMappings", serde_json::json!([{"hostPort": 80}]))),
                "Invalid 'containerPort' setting for container 'app'.",
            ),
        ];
        for (mutate, want) in cases {
            let mut i = fargate();
            mutate(&mut i);
            assert_eq!(err(validate("000000000000", &mut i)), want);
        }
        // SYS_PTRACE is the one capability a Fargate container adds; pidMode task is fine.
        let mut i = fargate();
        i.extra.insert("pidMode".into(), "task".into());
        set(
            &mut i,
            "linuxParameters",
            serde_json::json!({"capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]}, "initProcessEnabled": true}),
        );
        set(
            &mut i,
            "portMappings",
            serde_json::json!([{"containerPort": 80}]),
        );
        validate("000000000000", &mut i).unwrap();
        // The host port comes back as the container port.
        assert_eq!(
            i.container_definitions[0].extra["portMappings"],
            serde_json::json!([{"containerPort": 80, "hostPort": 80}])
        );
        assert!(
            requires_attributes(&i)
                .iter()
                .any(|a| a.name == "com.amazonaws.ecs.capability.docker-remote-api.1.25")
        );
        // awslogs on Fargate: an execution role and a stream prefix.
        let mut i = fargate();
        i.execution_role_arn = Some("arn:aws:iam::000000000000:role/exec".into());
        set(
            &mut i,
            "logConfiguration",
            serde_json::json!({"logDriver": "awslogs", "options": {"awslogs-group": "g"}}),
        );
        assert_eq!(
            fargate_refusal(&i).as_deref(),
            Some(FARGATE_AWSLOGS_NEEDS_PREFIX)
        );
        set(
            &mut i,
            "logConfiguration",
            serde_json::json!({"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-stream-prefix": "p"}}),
        );
        assert_eq!(fargate_refusal(&i), None);
        // Without FARGATE required, a setting Fargate refuses only drops FARGATE.
        let mut i = fargate();
        i.requires_compatibilities.clear();
        set(&mut i, "privileged", true.into());
        validate("000000000000", &mut i).unwrap();
        assert_eq!(compatibilities(&i), vec!["EC2"]);
    }

    #[test]
    fn field_attributes_follow_the_members() {
        let mut i = input(vec![container("app", "busybox", Some(128))]);
        i.container_definitions[0].extra.insert(
            "ulimits".into(),
            serde_json::json!([{"name": "nofile", "softLimit": 1, "hardLimit": 2}]),
        );
        i.container_definitions[0]
            .extra
            .insert("stopTimeout".into(), 5.into());
        i.extra.insert(
            "runtimePlatform".into(),
            serde_json::json!({"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}),
        );
        i.volumes = vec![
            serde_json::json!({"name": "v", "dockerVolumeConfiguration": {"driver": "local"}}),
        ];
        validate("000000000000", &mut i).unwrap();
        let attrs = requires_attributes(&i);
        for name in [
            "com.amazonaws.ecs.capability.docker-remote-api.1.18",
            "ecs.capability.container-ordering",
            "ecs.capability.docker-plugin.local",
        ] {
            assert!(attrs.iter().any(|a| a.name == name), "{name}: {attrs:?}");
        }
        assert!(
            attrs
                .iter()
                .any(|a| a.name == "ecs.cpu-architecture" && a.value.as_deref() == Some("arm64"))
        );
    }
}
