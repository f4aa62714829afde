//! Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, the agent's state changes
//! and its poll.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::agent::{self, AgentPoll, StopOrder};
use crate::ecs::{Caller, Ecs, new_id, new_uuid, page};
use crate::error::EcsError;
use crate::lifecycle::{self, StopFacts, TaskStatus};
use crate::model::{Attribute, Container, ContainerDefinition, Failure, Tag, Task, TaskDefinition};
use crate::placement::{self, HostPort, Need};
use crate::records::{
    StoredInstance, StoredPins, StoredTask, StoredTaskDef, StoredTaskView, T_PINS, T_TASKS,
    T_TOKENS, TokenRecord,
};
use crate::taskdef::{self, PRIVATE_REGISTRY_CAPABILITY};

/// AWS's text when RunTask/StartTask name no task definition berth has.
pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinition not found.";
/// AWS's text for a task that does not exist (StopTask, state changes).
pub const TASK_NOT_FOUND: &str = "The referenced task was not found.";
/// AWS's text for RunTask on an EC2 cluster without instances.
pub const NO_INSTANCES: &str = "No Container Instances were found in your cluster.";

/// The most tasks one RunTask starts.
pub const MAX_RUN_COUNT: i64 = 10;
/// The most container instances one StartTask names.
pub const MAX_START_INSTANCES: usize = 10;
/// AWS's limit on RunTask's and StartTask's `containerOverrides`: characters of their JSON.
pub const MAX_CONTAINER_OVERRIDES_CHARS: usize = 8192;
/// The most tasks (to start and to stop together) one answer to an agent's poll carries; the
/// rest come in the next answers (see [`Ecs::poll`]).
pub const POLL_PAGE: usize = 10;

/// The Fargate platform versions berth knows, and whether each supports private registry
/// authentication (Fargate does from platform version 1.2.0 on). `LATEST` is 1.4.0.
const FARGATE_PLATFORMS: [(&str, bool); 5] = [
    ("1.0.0", false),
    ("1.1.0", false),
    ("1.2.0", true),
    ("1.3.0", true),
    ("1.4.0", true),
];

/// Whether Fargate platform version `have` (`1.x.y`) is `want` or newer.
fn platform_at_least(have: &str, want: &str) -> bool {
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(have) >= parse(want)
}

fn epoch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<f64> = Option::deserialize(d)?;
    Ok(v.filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
}

/// RunTask's input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub overrides: Option<Value>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub task_definition: String,
    #[serde(default)]
    pub network_configuration: Option<Value>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub enable_execute_command: Option<bool>,
    #[serde(default)]
    pub capacity_provider_strategy: Vec<Value>,
    #[serde(default)]
    pub propagate_tags: Option<String>,
    #[serde(default)]
    pub placement_constraints: Vec<Value>,
    #[serde(default)]
    pub placement_strategy: Vec<Value>,
    #[serde(default)]
    pub reference_id: Option<String>,
}

/// StartTask's input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTaskInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instances: Vec<String>,
    #[serde(default)]
    pub task_definition: String,
    #[serde(default)]
    pub overrides: Option<Value>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub network_configuration: Option<Value>,
    #[serde(default)]
    pub enable_execute_command: Option<bool>,
    #[serde(default)]
    pub propagate_tags: Option<String>,
}

/// ListTasks' input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instance: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub desired_status: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
}

/// One container's change in a SubmitTaskStateChange.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerChange {
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub image_digest: Option<String>,
    #[serde(default)]
    pub runtime_id: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub network_bindings: Option<Vec<Value>>,
    /// berth's Fargate runner: the container's address on the task's network
    /// (`[{privateIpv4Address}]`).
    #[serde(default)]
    pub network_interfaces: Option<Vec<Value>>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// berth's agents: the container's health (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`), as Docker's
    /// health check has it. (The ECS agent reports health over its telemetry channel; the
    /// state change is berth's channel for it.)
    #[serde(default)]
    pub health_status: Option<String>,
}

/// SubmitTaskStateChange's input, plus berth's `containerInstance`: the reporting agent's
/// instance, which must be the one the task is placed on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStateChangeInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerChange>,
    #[serde(default, deserialize_with = "epoch")]
    pub pull_started_at: Option<u64>,
    #[serde(default, deserialize_with = "epoch")]
    pub pull_stopped_at: Option<u64>,
    #[serde(default, deserialize_with = "epoch")]
    pub execution_stopped_at: Option<u64>,
    #[serde(default)]
    pub container_instance: Option<String>,
}

/// SubmitContainerStateChange's input, plus berth's `containerInstance`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateChangeInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub runtime_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub network_bindings: Option<Vec<Value>>,
    #[serde(default)]
    pub container_instance: Option<String>,
    /// berth's agents: the container's health (see [`ContainerChange::health_status`]).
    #[serde(default)]
    pub health_status: Option<String>,
}

/// The CPU units and MiB a task holds on an instance: task-level sizes (overridden or from the
/// definition) when given, else the sum over its containers.
pub fn task_size(def: &TaskDefinition, overrides: &Value) -> (i64, i64) {
    let task_level = |key: &str, parse: fn(&str) -> Option<i64>, from_def: &Option<String>| {
        overrides
            .get(key)
            .and_then(Value::as_str)
            .and_then(parse)
            .or_else(|| from_def.as_deref().and_then(parse))
    };
    let mut containers = def.container_definitions.clone();
    for c in &mut containers {
        if let Some(o) = agent::container_override(overrides, c.name()) {
            agent::apply_override(c, o);
        }
    }
    // Never negative, and saturating: a stored definition or override from before the limits
    // cannot make room on an instance or overflow.
    let sum = |f: fn(&ContainerDefinition) -> i64| {
        containers
            .iter()
            .map(|c| f(c).max(0))
            .fold(0i64, i64::saturating_add)
    };
    let cpu = task_level("cpu", taskdef::parse_cpu, &def.cpu)
        .unwrap_or_else(|| sum(|c| c.cpu.unwrap_or(0)));
    let memory = task_level("memory", taskdef::parse_memory, &def.memory)
        .unwrap_or_else(|| sum(ContainerDefinition::reserved_memory));
    (cpu.max(0), memory.max(0))
}

/// RunTask's and StartTask's `overrides`: `containerOverrides` at most
/// [`MAX_CONTAINER_OVERRIDES_CHARS`] characters (AWS's words), each container's `cpu`, `memory`
/// and `memoryReservation` an integer in the range a container definition takes, and a task
/// `cpu`/`memory` one that RegisterTaskDefinition takes.
pub fn check_overrides(def: &TaskDefinition, overrides: Option<&Value>) -> Result<(), EcsError> {
    let Some(o) = overrides.filter(|o| !o.is_null()) else {
        return Ok(());
    };
    let to_invalid = |e: EcsError| match e {
        EcsError::Client(m) => EcsError::InvalidParameter(m),
        other => other,
    };
    if let Some(co) = o.get("containerOverrides").filter(|c| !c.is_null()) {
        let chars = serde_json::to_string(co)
            .map(|s| s.chars().count())
            .unwrap_or(usize::MAX);
        if chars > MAX_CONTAINER_OVERRIDES_CHARS {
            return Err(bad(&format!(
                "Container Overrides length must be at most {MAX_CONTAINER_OVERRIDES_CHARS}."
            )));
        }
        for c in &def.container_definitions {
            let Some(given) = agent::container_override(o, c.name()) else {
                continue;
            };
            for member in ["cpu", "memory", "memoryReservation"] {
                if given
                    .get(member)
                    .is_some_and(|v| !v.is_null() && v.as_i64().is_none())
                {
                    // AWS's wording for overrides is not known to berth; the definition's.
                    return Err(bad(&format!(
                        "Invalid '{member}' setting for container '{}'.",
                        c.name()
                    )));
                }
            }
            let mut d = c.clone();
            agent::apply_override(&mut d, given);
            taskdef::check_container_numbers(&d, false).map_err(to_invalid)?;
        }
    }
    for (member, parse) in [
        ("cpu", taskdef::parse_cpu as fn(&str) -> Option<i64>),
        ("memory", taskdef::parse_memory),
    ] {
        if let Some(v) = o.get(member).filter(|v| !v.is_null())
            && v.as_str().and_then(parse).is_none()
        {
            // AWS's wording for a task size override is not known to berth.
            return Err(bad(&format!("Invalid '{member}' setting for task.")));
        }
    }
    Ok(())
}

/// The host ports a task publishes: `hostPort` of its port mappings (or `containerPort` in
/// `host` mode); none with `awsvpc` (each task has its own interface) or a dynamic port (0).
pub fn host_ports(def: &TaskDefinition) -> Vec<HostPort> {
    let mode = def.network_mode.as_deref().unwrap_or("bridge");
    if mode == "awsvpc" || mode == "none" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in &def.container_definitions {
        for m in c
            .extra
            .get("portMappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let port = m.get("hostPort").and_then(Value::as_u64).filter(|p| *p > 0);
            let port = match mode {
                "host" => port.or_else(|| m.get("containerPort").and_then(Value::as_u64)),
                _ => port,
            };
            let udp = m.get("protocol").and_then(Value::as_str) == Some("udp");
            if let Some(p) = port.and_then(|p| u16::try_from(p).ok())
                && !out.contains(&(p, udp))
            {
                out.push((p, udp));
            }
        }
    }
    out
}

/// `overrides` as AWS echoes them: every container listed by name.
fn normalise_overrides(def: &TaskDefinition, given: Option<&Value>) -> Value {
    let mut o = match given {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({}),
    };
    if o.get("containerOverrides").is_none() {
        let names: Vec<Value> = def
            .container_definitions
            .iter()
            .map(|c| json!({"name": c.name()}))
            .collect();
        o["containerOverrides"] = Value::Array(names);
    }
    if o.get("inferenceAcceleratorOverrides").is_none() {
        o["inferenceAcceleratorOverrides"] = json!([]);
    }
    o
}

struct NewTask<'a> {
    def: &'a StoredTaskDef,
    /// `awsvpc`: the subnets of `networkConfiguration.awsvpcConfiguration` (recorded only).
    subnets: Vec<String>,
    cluster: &'a str,
    instance_arn: Option<String>,
    /// The instance's `ecs.availability-zone` (EC2, EXTERNAL).
    availability_zone: Option<String>,
    launch_type: &'a str,
    platform_version: Option<String>,
    overrides: Value,
    started_by: Option<String>,
    tags: Vec<Tag>,
    group: Option<String>,
    propagate_tags: Option<String>,
    enable_execute_command: bool,
    /// The images its service deployment resolved to digests (`versionConsistency`).
    pins: std::collections::BTreeMap<String, String>,
}

/// `repository@digest` for an image reference (`repository[:tag]` or `repository@digest`) and
/// the digest it was pulled by.
pub fn pinned_reference(image: &str, digest: &str) -> String {
    let name = match image.split_once('@') {
        Some((name, _)) => name,
        None => {
            let last_slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
            match image.get(last_slash..).and_then(|tail| tail.rfind(':')) {
                Some(i) => image.get(..last_slash + i).unwrap_or(image),
                None => image,
            }
        }
    };
    format!("{name}@{digest}")
}

/// Fargate's ephemeral storage when the definition names none, GiB (platform version 1.4.0).
pub const FARGATE_DEFAULT_STORAGE_GIB: i64 = 20;

/// A Fargate task's ephemeral storage as DescribeTasks shows it: `{sizeInGiB}`.
fn ephemeral_storage(def: &crate::model::TaskDefinition) -> Value {
    let size = def
        .extra
        .get("ephemeralStorage")
        .and_then(|e| e.get("sizeInGiB"))
        .and_then(Value::as_i64)
        .unwrap_or(FARGATE_DEFAULT_STORAGE_GIB);
    json!({ "sizeInGiB": size })
}

/// The zone an instance advertises (its `ecs.availability-zone` attribute).
fn zone_of(attributes: &[crate::model::Attribute]) -> Option<String> {
    attributes
        .iter()
        .find(|a| a.name == crate::ZONE_ATTRIBUTE)
        .and_then(|a| a.value.clone())
}

fn bad(msg: &str) -> EcsError {
    EcsError::InvalidParameter(msg.to_string())
}

/// AWS's text for an `awsvpc` task without `networkConfiguration.awsvpcConfiguration`.
pub const NETWORK_CONFIGURATION_REQUIRED: &str =
    "Network Configuration must be provided when networkMode 'awsvpc' is specified.";

/// The subnets of an `awsvpc` task's `networkConfiguration.awsvpcConfiguration`, which must be
/// there and name at least one subnet. berth records them; it provisions no subnet.
pub fn awsvpc_subnets(network_configuration: Option<&Value>) -> Result<Vec<String>, EcsError> {
    let vpc = network_configuration
        .and_then(|n| n.get("awsvpcConfiguration"))
        .filter(|v| v.is_object())
        .ok_or_else(|| bad(NETWORK_CONFIGURATION_REQUIRED))?;
    let subnets: Vec<String> = vpc
        .get("subnets")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if subnets.is_empty() {
        return Err(bad("subnets can not be empty."));
    }
    Ok(subnets)
}

impl Ecs<'_> {
    fn task_key(&self, cluster: &str, id: &str) -> String {
        format!("{}{cluster}/{id}", self.scope())
    }

    fn task_arn(&self, cluster: &str, id: &str) -> String {
        self.arn(&format!("task/{cluster}/{id}"))
    }

    /// The id a task reference (ARN or id) names in `cluster`.
    fn task_id(&self, cluster: &str, reference: &str) -> Option<String> {
        let r = reference.trim();
        let id = if r.starts_with("arn:") {
            let rest = r.strip_prefix(&self.arn("task/"))?;
            match rest.split_once('/') {
                Some((c, id)) if c == cluster => id,
                Some(_) => return None,
                None => rest,
            }
        } else {
            r
        };
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .then(|| id.to_string())
    }

    fn get_task(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        reference: &str,
        now: u64,
    ) -> Result<Option<StoredTask>, EcsError> {
        let Some(id) = self.task_id(cluster, reference) else {
            return Ok(None);
        };
        let t: Option<StoredTask> = get_json(tx, T_TASKS, &self.task_key(cluster, &id))?;
        Ok(t.filter(|t| t.visible(now)))
    }

    /// [`Self::get_task`] for a reader that needs only the API shape (`StoredTask::task`).
    fn get_task_only(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        reference: &str,
        now: u64,
    ) -> Result<Option<Task>, EcsError> {
        let Some(id) = self.task_id(cluster, reference) else {
            return Ok(None);
        };
        let t: Option<StoredTaskView> = get_json(tx, T_TASKS, &self.task_key(cluster, &id))?;
        Ok(t.map(|t| t.task)
            .filter(|t| !lifecycle::expired(t.stopped_at, now)))
    }

    fn put_task(&self, tx: &dyn Tx, t: &StoredTask) -> Result<(), EcsError> {
        Ok(put_json(tx, T_TASKS, &self.task_key(&t.cluster, &t.id), t)?)
    }

    /// Removes the cluster's stopped tasks older than the retention (cleanup on access).
    fn purge_expired(&self, tx: &dyn Tx, cluster: &str, now: u64) -> Result<(), EcsError> {
        let prefix = format!("{}{cluster}/", self.scope());
        let tasks: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, &prefix)?;
        for (k, t) in tasks {
            if !t.visible(now) {
                tx.delete(T_TASKS, &k)?;
            }
        }
        Ok(())
    }

    /// Bumps the agent channel cursor of the instance `arn` (something changed for it).
    fn bump_instance(&self, tx: &dyn Tx, cluster: &str, arn: &str) -> Result<(), EcsError> {
        if let Some(mut i) = self.get_instance(tx, cluster, arn)? {
            i.seq += 1;
            self.put_instance(tx, &i)?;
        }
        Ok(())
    }

    fn make_task(&self, n: NewTask<'_>, now: u64) -> StoredTask {
        let id = new_id();
        let task_arn = self.task_arn(n.cluster, &id);
        let def = &n.def.def;
        let (cpu, memory) = task_size(def, &n.overrides);
        let fargate = n.launch_type == "FARGATE";
        let awsvpc = def.network_mode.as_deref() == Some("awsvpc");
        let containers = def
            .container_definitions
            .iter()
            .map(|c| {
                let mut d = c.clone();
                if let Some(o) = agent::container_override(&n.overrides, c.name()) {
                    agent::apply_override(&mut d, o);
                }
                Container {
                    container_arn: self.arn(&format!(
                        "container/{}/{id}/{}",
                        n.cluster,
                        new_uuid()
                    )),
                    task_arn: task_arn.clone(),
                    name: c.name().to_string(),
                    image: d.image.clone(),
                    image_digest: None,
                    runtime_id: None,
                    last_status: "PENDING".into(),
                    exit_code: None,
                    reason: None,
                    network_bindings: Vec::new(),
                    network_interfaces: Vec::new(),
                    health_status: Some("UNKNOWN".into()),
                    cpu: d.cpu.map(|v| v.to_string()),
                    memory: d.memory.map(|v| v.to_string()),
                    memory_reservation: d.memory_reservation.map(|v| v.to_string()),
                }
            })
            .collect();
        let mut tags = n.tags;
        if n.propagate_tags.as_deref() == Some("TASK_DEFINITION") {
            tags.extend(n.def.tags.iter().cloned());
        }
        let task_level = |key: &str, from_def: &Option<String>| {
            n.overrides
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| from_def.clone())
        };
        let execution_role_arn = n
            .overrides
            .get("executionRoleArn")
            .and_then(Value::as_str)
            .and_then(|r| taskdef::complete_role(self.account, r).ok())
            .or_else(|| def.execution_role_arn.clone());
        // awsvpc: the task's network interface as ECS shows it before it is attached, with
        // the subnet it was asked for (recorded; berth provisions no subnet).
        let attachments = match n.subnets.first() {
            Some(subnet) => vec![json!({
                "id": new_uuid(),
                "type": "ElasticNetworkInterface",
                "status": "PRECREATED",
                "details": [{"name": "subnetId", "value": subnet}],
            })],
            None => Vec::new(),
        };
        let task = Task {
            attachments,
            attributes: Vec::new(),
            availability_zone: if fargate {
                Some(crate::default_zone(self.region))
            } else {
                n.availability_zone
            },
            cluster_arn: self.cluster_arn(n.cluster),
            container_instance_arn: n.instance_arn,
            containers,
            cpu: task_level("cpu", &def.cpu).or_else(|| Some(cpu.to_string())),
            created_at: now,
            desired_status: "RUNNING".into(),
            enable_execute_command: n.enable_execute_command,
            group: Some(n.group.unwrap_or_else(|| format!("family:{}", def.family))),
            health_status: Some("UNKNOWN".into()),
            last_status: lifecycle::initial_status(awsvpc, fargate).as_str().into(),
            launch_type: n.launch_type.to_string(),
            memory: task_level("memory", &def.memory).or_else(|| Some(memory.to_string())),
            overrides: n.overrides,
            platform_version: n.platform_version,
            platform_family: fargate.then(|| "Linux".to_string()),
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            started_by: n.started_by,
            stop_code: None,
            stopped_at: None,
            stopped_reason: None,
            stopping_at: None,
            execution_stopped_at: None,
            ephemeral_storage: fargate.then(|| ephemeral_storage(def)),
            fargate_ephemeral_storage: fargate.then(|| ephemeral_storage(def)),
            tags,
            task_arn,
            task_definition_arn: def.task_definition_arn.clone(),
            version: 1,
        };
        StoredTask {
            task,
            cluster: n.cluster.to_string(),
            id,
            reserved_cpu: if fargate { 0 } else { cpu },
            reserved_memory: if fargate { 0 } else { memory },
            reserved_ports: if fargate { Vec::new() } else { host_ports(def) },
            definition: def.clone(),
            execution_role_arn,
            pinned_images: n.pins,
            claim: None,
            host_lost: false,
        }
    }

    fn pins_key(&self, cluster: &str, deployment: &str) -> String {
        format!("{}{cluster}/{deployment}", self.scope())
    }

    /// The images a service deployment has resolved to digests; none for a task that no
    /// deployment starts.
    fn deployment_pins(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        started_by: Option<&str>,
    ) -> Result<std::collections::BTreeMap<String, String>, EcsError> {
        let Some(dep) = started_by.filter(|s| crate::service::is_deployment_id(s)) else {
            return Ok(Default::default());
        };
        let pins: Option<StoredPins> = get_json(tx, T_PINS, &self.pins_key(cluster, dep))?;
        Ok(pins.map(|p| p.images).unwrap_or_default())
    }

    /// Records the digest a deployment's task pulled a container's image by, unless the
    /// deployment has one for it already or the container opts out (`versionConsistency`
    /// `disabled`): the deployment's later tasks run that digest.
    fn record_pin(
        &self,
        tx: &dyn Tx,
        t: &StoredTask,
        container: &str,
        digest: &str,
    ) -> Result<(), EcsError> {
        let Some(dep) = t
            .task
            .started_by
            .as_deref()
            .filter(|s| crate::service::is_deployment_id(s))
        else {
            return Ok(());
        };
        if t.pinned_images.contains_key(container) {
            return Ok(());
        }
        let Some(def) = t
            .definition
            .container_definitions
            .iter()
            .find(|d| d.name() == container)
        else {
            return Ok(());
        };
        if def.extra.get("versionConsistency").and_then(Value::as_str) == Some("disabled") {
            return Ok(());
        }
        let Some(image) = def.image.as_deref() else {
            return Ok(());
        };
        let key = self.pins_key(&t.cluster, dep);
        let mut pins: StoredPins = get_json(tx, T_PINS, &key)?.unwrap_or_default();
        if pins.images.contains_key(container) {
            return Ok(());
        }
        pins.images
            .insert(container.to_string(), pinned_reference(image, digest));
        Ok(put_json(tx, T_PINS, &key, &pins)?)
    }

    /// The task definition a RunTask/StartTask names, ACTIVE; for authorising before acting.
    pub fn resolve_task_definition(&self, reference: &str) -> Result<TaskDefinition, EcsError> {
        self.store.read(|tx| {
            let d = self
                .find_def(tx, reference)?
                .ok_or_else(|| EcsError::Client(TASK_DEFINITION_NOT_FOUND.into()))?;
            Ok(d.def)
        })
    }

    fn active_def(&self, tx: &dyn Tx, reference: &str) -> Result<StoredTaskDef, EcsError> {
        let d = self
            .find_def(tx, reference)?
            .ok_or_else(|| EcsError::Client(TASK_DEFINITION_NOT_FOUND.into()))?;
        if d.def.status != "ACTIVE" {
            return Err(EcsError::Client("TaskDefinition is inactive".into()));
        }
        Ok(d)
    }

    /// RunTask. Placement failures are returned, not raised.
    pub fn run_task(
        &self,
        input: RunTaskInput,
        now: u64,
    ) -> Result<(Vec<Task>, Vec<Failure>), EcsError> {
        let count = input.count.unwrap_or(1);
        if count > MAX_RUN_COUNT {
            return Err(bad("Task count can not be greater than 10"));
        }
        if count < 1 {
            // AWS's wording for a count below 1 is not known to berth.
            return Err(bad("Task count must be at least 1"));
        }
        taskdef::check_tag_count(input.tags.len())?;
        if input.placement_constraints.len() > taskdef::MAX_PLACEMENT_CONSTRAINTS {
            // AWS documents the limit of 10; its wording is not known to berth.
            return Err(bad(&format!(
                "A task can have at most {} placement constraints.",
                taskdef::MAX_PLACEMENT_CONSTRAINTS
            )));
        }
        if input.client_token.as_deref().is_some_and(|t| t.len() > 64) {
            return Err(bad("clientToken must be at most 64 characters"));
        }
        let constraints = placement::parse_constraints(&input.placement_constraints, false)
            .map_err(|m| bad(&m))?;
        let strategies =
            placement::parse_strategies(&input.placement_strategy).map_err(|m| bad(&m))?;
        if !input.capacity_provider_strategy.is_empty() {
            if input.launch_type.is_some() {
                // AWS refuses both together; its exact wording is not known to berth.
                return Err(bad(
                    "specify either a launchType or a capacityProviderStrategy, not both",
                ));
            }
            return Err(bad("capacity providers are not supported by berth"));
        }
        let launch_type = input.launch_type.clone().unwrap_or_else(|| "EC2".into());
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let fingerprint = {
            let mut i = input.clone();
            i.client_token = None;
            hex::encode(Sha256::digest(serde_json::to_vec(&i).unwrap_or_default()))
        };
        self.store.write(|tx| {
            self.cluster_or_default(tx, &cluster, now)?;
            self.purge_expired(tx, &cluster, now)?;
            let token_key = input
                .client_token
                .as_deref()
                .map(|t| format!("{}{cluster}/{t}", self.scope()));
            if let Some(k) = &token_key
                && let Some(prev) = get_json::<TokenRecord>(tx, T_TOKENS, k)? {
                    if prev.fingerprint != fingerprint {
                        // AWS's wording for a reused token is not known to berth.
                        return Err(bad(
                            "the clientToken was already used for a different request",
                        ));
                    }
                    let mut tasks = Vec::new();
                    for arn in &prev.task_arns {
                        if let Some(t) = self.get_task(tx, &cluster, arn, now)? {
                            tasks.push(t.task);
                        }
                    }
                    return Ok((tasks, Vec::new()));
                }
            let def = self.active_def(tx, &input.task_definition)?;
            check_overrides(&def.def, input.overrides.as_ref())?;
            let needs_registry_auth = def
                .def
                .container_definitions
                .iter()
                .any(|c| c.repository_credentials.is_some());
            let awsvpc = def.def.network_mode.as_deref() == Some("awsvpc");
            let subnets = if awsvpc {
                awsvpc_subnets(input.network_configuration.as_ref())?
            } else {
                Vec::new()
            };
            let overrides = normalise_overrides(&def.def, input.overrides.as_ref());
            let pins = self.deployment_pins(tx, &cluster, input.started_by.as_deref())?;
            let new = |instance_arn: Option<String>,
                       availability_zone: Option<String>,
                       platform_version: Option<String>| NewTask {
                def: &def,
                subnets: subnets.clone(),
                cluster: &cluster,
                instance_arn,
                availability_zone,
                launch_type: &launch_type,
                platform_version,
                overrides: overrides.clone(),
                started_by: input.started_by.clone(),
                tags: input.tags.clone(),
                group: input.group.clone(),
                propagate_tags: input.propagate_tags.clone(),
                enable_execute_command: input.enable_execute_command.unwrap_or(false),
                pins: pins.clone(),
            };
            let mut placed: Vec<StoredTask> = Vec::new();
            let mut failures: Vec<Failure> = Vec::new();
            match launch_type.as_str() {
                "FARGATE" => {
                    if !def.def.compatibilities.iter().any(|c| c == "FARGATE") {
                        return Err(bad("Task definition does not support launch_type FARGATE."));
                    }
                    let requested = input.platform_version.as_deref().unwrap_or("LATEST");
                    let version = if requested == "LATEST" { "1.4.0" } else { requested };
                    let supports_registry_auth = FARGATE_PLATFORMS
                        .iter()
                        .find(|(v, _)| *v == version)
                        .map(|(_, ok)| *ok)
                        .ok_or(EcsError::PlatformUnknown)?;
                    if needs_registry_auth && !supports_registry_auth {
                        return Err(EcsError::PlatformIncompatible);
                    }
                    if let Some(needed) =
                        crate::secrets::fargate_platform_needed(&def.def.container_definitions)
                        && !platform_at_least(version, needed)
                    {
                        return Err(EcsError::PlatformIncompatible);
                    }
                    // Fargate tasks wait in PROVISIONING until berth's Fargate runner takes
                    // them (`fargate::fargate_work`).
                    for _ in 0..count {
                        placed.push(self.make_task(new(None, None, Some(version.to_string())), now));
                    }
                }
                "EC2" | "EXTERNAL" => {
                    if input.platform_version.is_some() {
                        return Err(bad(&format!(
                            "The platform version must be null when specifying an {launch_type} launch type."
                        )));
                    }
                    let mut candidates = self.candidates(tx, &cluster, now)?;
                    if candidates.is_empty() {
                        return Err(bad(NO_INSTANCES));
                    }
                    let mut need_attrs = def.def.requires_attributes.clone();
                    if needs_registry_auth
                        && !need_attrs.iter().any(|a| a.name == PRIVATE_REGISTRY_CAPABILITY)
                    {
                        need_attrs.push(Attribute::named(PRIVATE_REGISTRY_CAPABILITY));
                    }
                    let (cpu, memory) = task_size(&def.def, &overrides);
                    let need = Need {
                        attributes: need_attrs,
                        external: launch_type == "EXTERNAL",
                        cpu,
                        memory,
                        ports: host_ports(&def.def),
                        gpus: taskdef::gpus(&def.def.container_definitions),
                    };
                    if input.placement_constraints.len() + def.def.placement_constraints.len()
                        > taskdef::MAX_PLACEMENT_CONSTRAINTS
                    {
                        // AWS counts the task definition's constraints with the call's
                        // (the model says so); its wording is not known to berth.
                        return Err(bad(&format!(
                            "A task can have at most {} placement constraints.",
                            taskdef::MAX_PLACEMENT_CONSTRAINTS
                        )));
                    }
                    let mut all_constraints =
                        placement::parse_constraints(&def.def.placement_constraints, true)
                            .map_err(|m| bad(&m))?;
                    all_constraints.extend(constraints.iter().cloned());
                    let mut seed = [0u8; 8];
                    berth_core::ids::random_bytes(&mut seed);
                    let rules = placement::Rules {
                        constraints: all_constraints,
                        strategies: strategies.clone(),
                        group: input
                            .group
                            .clone()
                            .unwrap_or_else(|| format!("family:{}", def.def.family)),
                        seed: u64::from_le_bytes(seed),
                    };
                    let mut views: Vec<placement::Candidate> =
                        candidates.iter().map(|(_, c)| c.clone()).collect();
                    for _ in 0..count {
                        match placement::choose_with(&need, &views, &rules) {
                            Ok(idx) => {
                                if let Some(v) = views.get_mut(idx) {
                                    placement::take(v, &need, &rules.group);
                                }
                                let instance = &candidates[idx].0.instance;
                                let arn = instance.container_instance_arn.clone();
                                let zone = zone_of(&instance.attributes);
                                placed.push(self.make_task(new(Some(arn), zone, None), now));
                                candidates[idx].0.seq += 1;
                            }
                            Err(fs) => {
                                for f in fs {
                                    if !failures.contains(&f) {
                                        failures.push(f);
                                    }
                                }
                            }
                        }
                    }
                    for (i, _) in &candidates {
                        self.put_instance(tx, i)?;
                    }
                }
                other => {
                    return Err(bad(&format!(
                        "launch type {other} is not supported by berth"
                    )));
                }
            }
            for t in &placed {
                self.put_task(tx, t)?;
            }
            if let Some(k) = &token_key {
                put_json(
                    tx,
                    T_TOKENS,
                    k,
                    &TokenRecord {
                        fingerprint: fingerprint.clone(),
                        task_arns: placed.iter().map(|t| t.task.task_arn.clone()).collect(),
                    },
                )?;
            }
            Ok((placed.into_iter().map(|t| t.task).collect(), failures))
        })
    }

    /// StartTask: the task on each named instance (no scheduler choice).
    pub fn start_task(
        &self,
        input: StartTaskInput,
        now: u64,
    ) -> Result<(Vec<Task>, Vec<Failure>), EcsError> {
        if input.container_instances.is_empty()
            || input.container_instances.len() > MAX_START_INSTANCES
        {
            // AWS documents "up to 10 container instances"; its wording is not known to berth.
            return Err(bad(
                "containerInstances must name 1 to 10 container instances",
            ));
        }
        taskdef::check_tag_count(input.tags.len())?;
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            self.purge_expired(tx, &cluster, now)?;
            let def = self.active_def(tx, &input.task_definition)?;
            check_overrides(&def.def, input.overrides.as_ref())?;
            let subnets = if def.def.network_mode.as_deref() == Some("awsvpc") {
                awsvpc_subnets(input.network_configuration.as_ref())?
            } else {
                Vec::new()
            };
            let overrides = normalise_overrides(&def.def, input.overrides.as_ref());
            let (cpu, memory) = task_size(&def.def, &overrides);
            let mut attrs = def.def.requires_attributes.clone();
            if def
                .def
                .container_definitions
                .iter()
                .any(|c| c.repository_credentials.is_some())
                && !attrs.iter().any(|a| a.name == PRIVATE_REGISTRY_CAPABILITY)
            {
                attrs.push(Attribute::named(PRIVATE_REGISTRY_CAPABILITY));
            }
            let pins = self.deployment_pins(tx, &cluster, input.started_by.as_deref())?;
            let candidates = self.candidates(tx, &cluster, now)?;
            let mut tasks = Vec::new();
            let mut failures = Vec::new();
            for r in &input.container_instances {
                let found = self
                    .instance_id(&cluster, r)
                    .and_then(|id| candidates.iter().find(|(i, _)| i.id == id));
                let Some((inst, cand)) = found else {
                    failures.push(Failure::new(r, "MISSING"));
                    continue;
                };
                let need = Need {
                    attributes: attrs.clone(),
                    external: inst.external(),
                    cpu,
                    memory,
                    ports: host_ports(&def.def),
                    gpus: taskdef::gpus(&def.def.container_definitions),
                };
                if let Some(reason) = placement::misfit(&need, cand) {
                    failures.push(Failure::new(&cand.arn, reason));
                    continue;
                }
                let launch_type = if inst.external() { "EXTERNAL" } else { "EC2" };
                let t = self.make_task(
                    NewTask {
                        def: &def,
                        subnets: subnets.clone(),
                        cluster: &cluster,
                        instance_arn: Some(cand.arn.clone()),
                        availability_zone: zone_of(&cand.attributes),
                        launch_type,
                        platform_version: None,
                        overrides: overrides.clone(),
                        started_by: input.started_by.clone(),
                        tags: input.tags.clone(),
                        group: input.group.clone(),
                        propagate_tags: input.propagate_tags.clone(),
                        enable_execute_command: input.enable_execute_command.unwrap_or(false),
                        pins: pins.clone(),
                    },
                    now,
                );
                self.put_task(tx, &t)?;
                self.bump_instance(tx, &cluster, &cand.arn)?;
                tasks.push(t.task);
            }
            Ok((tasks, failures))
        })
    }

    /// StopTask: desired status STOPPED with stop code `UserInitiated`. A task nobody runs (a
    /// Fargate task the runner has not taken, or an instance that is gone) stops at once; an
    /// agent's or the Fargate runner's task stops when it reports it stopped.
    pub fn stop_task(
        &self,
        cluster: Option<&str>,
        reference: &str,
        reason: Option<&str>,
        now: u64,
    ) -> Result<Task, EcsError> {
        self.stop_task_as(cluster, reference, reason, false, now)
    }

    /// StopTask by the service scheduler: stop code `ServiceSchedulerInitiated`.
    pub fn stop_service_task(
        &self,
        cluster: &str,
        reference: &str,
        reason: &str,
        now: u64,
    ) -> Result<Task, EcsError> {
        self.stop_task_as(Some(cluster), reference, Some(reason), true, now)
    }

    fn stop_task_as(
        &self,
        cluster: Option<&str>,
        reference: &str,
        reason: Option<&str>,
        scheduler: bool,
        now: u64,
    ) -> Result<Task, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            self.purge_expired(tx, &cluster, now)?;
            let mut t = self
                .get_task(tx, &cluster, reference, now)?
                .ok_or_else(|| bad(TASK_NOT_FOUND))?;
            if t.task.desired_status == "STOPPED" || t.status() == TaskStatus::Stopped {
                return Ok(t.task);
            }
            let (code, why) = lifecycle::stop_outcome(&StopFacts {
                user_stop: Some(reason.filter(|r| !r.is_empty())),
                was_running: t.task.started_at.is_some(),
                essential_exited: false,
                agent_reason: None,
            });
            let code = if scheduler {
                "ServiceSchedulerInitiated"
            } else {
                code
            };
            t.task.desired_status = "STOPPED".into();
            t.task.stop_code = Some(code.into());
            t.task.stopped_reason = Some(why);
            t.task.stopping_at = Some(now);
            t.task.version += 1;
            let agent_alive = match t.task.container_instance_arn.clone() {
                Some(arn) => match self.get_instance(tx, &cluster, &arn)? {
                    Some(i) if i.instance.status != "INACTIVE" => {
                        self.bump_instance(tx, &cluster, &arn)?;
                        true
                    }
                    _ => false,
                },
                // A Fargate task the runner has taken (past PROVISIONING) is stopped by it.
                None => t.task.launch_type == "FARGATE" && t.status() > TaskStatus::Provisioning,
            };
            if !agent_alive {
                finish_stop(&mut t, None, now);
            }
            self.put_task(tx, &t)?;
            Ok(t.task)
        })
    }

    /// The control plane could not start a task (e.g. its execution role cannot be assumed):
    /// it is STOPPED at once with stop code `TaskFailedToStart` and `reason`, and its agent
    /// is told through the channel.
    pub fn fail_to_start(&self, task_arn: &str, reason: &str, now: u64) -> Result<Task, EcsError> {
        let cluster = task_arn
            .split_once(":task/")
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_string)
            .ok_or_else(|| bad(TASK_NOT_FOUND))?;
        self.store.write(|tx| {
            let mut t = self
                .get_task(tx, &cluster, task_arn, now)?
                .ok_or_else(|| bad(TASK_NOT_FOUND))?;
            if t.status() == TaskStatus::Stopped {
                return Ok(t.task);
            }
            finish_stop(&mut t, Some(reason), now);
            t.task.version += 1;
            if let Some(arn) = t.task.container_instance_arn.clone()
                && self.get_instance(tx, &cluster, &arn)?.is_some()
            {
                self.bump_instance(tx, &cluster, &arn)?;
            }
            self.put_task(tx, &t)?;
            Ok(t.task)
        })
    }

    /// DescribeTasks: unknown ones are `MISSING` failures.
    pub fn describe_tasks(
        &self,
        cluster: Option<&str>,
        references: &[String],
        now: u64,
    ) -> Result<(Vec<Task>, Vec<Failure>), EcsError> {
        crate::ecs::check_describe_count("taskIds", references.len())?;
        let cluster = self.cluster_name(cluster)?;
        self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut tasks = Vec::new();
            let mut failures = Vec::new();
            for r in references {
                match self.get_task_only(tx, &cluster, r, now)? {
                    Some(t) => tasks.push(t),
                    None => {
                        let arn = match self.task_id(&cluster, r) {
                            Some(id) if !r.starts_with("arn:") => self.task_arn(&cluster, &id),
                            _ => r.clone(),
                        };
                        failures.push(Failure::new(&arn, "MISSING"));
                    }
                }
            }
            Ok((tasks, failures))
        })
    }

    /// ListTasks with AWS's filters; `desiredStatus` defaults to RUNNING.
    pub fn list_tasks(
        &self,
        input: &ListTasksInput,
        now: u64,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let desired = input.desired_status.as_deref().unwrap_or("RUNNING");
        let all: Vec<(String, StoredTask)> = self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            Ok::<_, EcsError>(scan_json(
                tx,
                T_TASKS,
                &format!("{}{cluster}/", self.scope()),
            )?)
        })?;
        let instance_id = input
            .container_instance
            .as_deref()
            .map(|r| self.instance_id(&cluster, r).unwrap_or_default());
        let items: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, t)| t.visible(now))
            .filter(|(_, t)| t.task.desired_status == desired)
            .filter(|(_, t)| {
                input
                    .family
                    .as_deref()
                    .is_none_or(|f| t.definition.family == f)
            })
            .filter(|(_, t)| {
                input
                    .started_by
                    .as_deref()
                    .is_none_or(|s| t.task.started_by.as_deref() == Some(s))
            })
            .filter(|(_, t)| {
                input
                    .launch_type
                    .as_deref()
                    .is_none_or(|l| t.task.launch_type == l)
            })
            .filter(|(_, t)| {
                instance_id.as_deref().is_none_or(|id| {
                    t.task
                        .container_instance_arn
                        .as_deref()
                        .is_some_and(|a| a.ends_with(&format!("/{id}")))
                })
            })
            // A service's tasks are in its group, `service:<name>`.
            .filter(|(_, t)| {
                input.service_name.as_deref().is_none_or(|s| {
                    let name = s.rsplit('/').next().unwrap_or(s);
                    t.task.group.as_deref() == Some(format!("service:{name}").as_str())
                })
            })
            .map(|(k, t)| (k, t.task.task_arn))
            .collect();
        page(&items, input.next_token.as_deref(), input.max_results)
    }

    /// Finds the task an agent reports on and checks it is placed on the agent's instance
    /// (or, for berth's Fargate runner, that it is a FARGATE task).
    fn reported_task(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        task: Option<&str>,
        reporter: Reporter<'_>,
        now: u64,
    ) -> Result<StoredTask, EcsError> {
        let t = self
            .get_task(tx, cluster, task.unwrap_or(""), now)?
            .ok_or_else(|| bad(TASK_NOT_FOUND))?;
        let (instance, caller) = match reporter {
            Reporter::Fargate => {
                if t.task.launch_type != "FARGATE" || t.task.container_instance_arn.is_some() {
                    return Err(EcsError::NotPlacedHere(format!(
                        "task {} is not a Fargate task",
                        t.task.task_arn
                    )));
                }
                return Ok(t);
            }
            Reporter::Agent { instance, caller } => (instance, caller),
        };
        let placed_on = t.task.container_instance_arn.as_deref();
        if let Some(arn) = placed_on
            && let Some(i) = self.get_instance(tx, cluster, arn)?
            && !i.is_agent(caller)
        {
            return Err(EcsError::NotPlacedHere(format!(
                "task {} is not placed on a container instance of the caller",
                t.task.task_arn
            )));
        }
        match (instance, placed_on) {
            (_, None) => Err(EcsError::NotPlacedHere(format!(
                "task {} is not placed on a container instance",
                t.task.task_arn
            ))),
            (Some(given), Some(arn)) => {
                let given_id = self.instance_id(cluster, given);
                let placed_id = self.instance_id(cluster, arn);
                if given_id.is_some() && given_id == placed_id {
                    Ok(t)
                } else {
                    Err(EcsError::NotPlacedHere(format!(
                        "task {} is not placed on container instance {given}",
                        t.task.task_arn
                    )))
                }
            }
            (None, Some(_)) => Ok(t),
        }
    }

    /// SubmitTaskStateChange from an agent.
    pub fn submit_task_state_change(
        &self,
        input: &TaskStateChangeInput,
        caller: &Caller<'_>,
        now: u64,
    ) -> Result<Task, EcsError> {
        let reporter = Reporter::Agent {
            instance: input.container_instance.as_deref(),
            caller,
        };
        self.task_state_change(input, reporter, now)
    }

    /// A task state change from berth's Fargate runner (FARGATE tasks only).
    pub fn submit_fargate_task_state_change(
        &self,
        input: &TaskStateChangeInput,
        now: u64,
    ) -> Result<Task, EcsError> {
        self.task_state_change(input, Reporter::Fargate, now)
    }

    /// A container state change from berth's Fargate runner (FARGATE tasks only).
    pub fn submit_fargate_container_state_change(
        &self,
        input: &ContainerStateChangeInput,
        now: u64,
    ) -> Result<Task, EcsError> {
        self.container_state_change(input, Reporter::Fargate, now)
    }

    fn task_state_change(
        &self,
        input: &TaskStateChangeInput,
        reporter: Reporter<'_>,
        now: u64,
    ) -> Result<Task, EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let reported = match input.status.as_deref() {
            None => None,
            Some(s) => Some(
                TaskStatus::parse(s).ok_or_else(|| bad(&format!("unknown task status: {s}")))?,
            ),
        };
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            self.purge_expired(tx, &cluster, now)?;
            let mut t = self.reported_task(tx, &cluster, input.task.as_deref(), reporter, now)?;
            // A stop that carries its own reason (a task that could not start) is applied before
            // its containers, so that the task keeps the agent's wording and the containers only
            // add theirs; otherwise the containers first, so that an essential container's exit
            // names the stop.
            let stop_first = reported == Some(TaskStatus::Stopped) && input.reason.is_some();
            let apply_reported = |t: &mut StoredTask| {
                if let Some(s) = reported {
                    apply_task_status(t, s, input.reason.as_deref(), now);
                    if s == TaskStatus::Stopped {
                        t.task.execution_stopped_at = input.execution_stopped_at.or(Some(now));
                    }
                }
            };
            if stop_first {
                apply_reported(&mut t);
            }
            let mut bump = false;
            for c in &input.containers {
                bump |= apply_container(&mut t, c, now)?;
                if let (Some(name), Some(digest)) = (&c.container_name, &c.image_digest) {
                    self.record_pin(tx, &t, name, digest)?;
                }
                // Only berth's Fargate runner reports addresses (the task's own network).
                if matches!(reporter, Reporter::Fargate)
                    && let Some(interfaces) = &c.network_interfaces
                {
                    record_interfaces(&mut t, c.container_name.as_deref(), interfaces);
                }
            }
            if input.pull_started_at.is_some() {
                t.task.pull_started_at = input.pull_started_at;
            }
            if input.pull_stopped_at.is_some() {
                t.task.pull_stopped_at = input.pull_stopped_at;
            }
            if !stop_first {
                apply_reported(&mut t);
            }
            t.task.version += 1;
            self.put_task(tx, &t)?;
            if bump && let Some(arn) = t.task.container_instance_arn.clone() {
                self.bump_instance(tx, &cluster, &arn)?;
            }
            Ok(t.task)
        })
    }

    /// SubmitContainerStateChange from an agent.
    pub fn submit_container_state_change(
        &self,
        input: &ContainerStateChangeInput,
        caller: &Caller<'_>,
        now: u64,
    ) -> Result<Task, EcsError> {
        let reporter = Reporter::Agent {
            instance: input.container_instance.as_deref(),
            caller,
        };
        self.container_state_change(input, reporter, now)
    }

    fn container_state_change(
        &self,
        input: &ContainerStateChangeInput,
        reporter: Reporter<'_>,
        now: u64,
    ) -> Result<Task, EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut t = self.reported_task(tx, &cluster, input.task.as_deref(), reporter, now)?;
            let change = ContainerChange {
                container_name: input.container_name.clone(),
                image_digest: None,
                runtime_id: input.runtime_id.clone(),
                exit_code: input.exit_code,
                network_bindings: input.network_bindings.clone(),
                network_interfaces: None,
                reason: input.reason.clone(),
                status: input.status.clone(),
                health_status: input.health_status.clone(),
            };
            let bump = apply_container(&mut t, &change, now)?;
            t.task.version += 1;
            self.put_task(tx, &t)?;
            if bump && let Some(arn) = t.task.container_instance_arn.clone() {
                self.bump_instance(tx, &cluster, &arn)?;
            }
            Ok(t.task)
        })
    }

    /// The agent channel's cursor of an instance (for waiting on news without writing).
    pub fn instance_seq(
        &self,
        cluster: Option<&str>,
        instance: &str,
        caller: &Caller<'_>,
    ) -> Result<u64, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            let i = self.polled_instance(tx, &cluster, instance, caller)?;
            Ok(i.seq)
        })
    }

    fn polled_instance(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        instance: &str,
        caller: &Caller<'_>,
    ) -> Result<StoredInstance, EcsError> {
        let i = self
            .get_instance(tx, cluster, instance)?
            .filter(|i| i.instance.status != "INACTIVE")
            .ok_or_else(|| {
                // The real agent's channel has its own wording; berth's is its own.
                bad(&format!("container instance not found: {instance}"))
            })?;
        if !i.is_agent(caller) {
            return Err(EcsError::NotPlacedHere(format!(
                "container instance {} was registered by another principal",
                i.instance.container_instance_arn
            )));
        }
        Ok(i)
    }

    /// An agent's poll: what its instance should run and stop now, at most [`POLL_PAGE`]
    /// tasks an answer. Records the agent as connected.
    ///
    /// The instance's tasks are paged in key order from a cursor kept on the instance: an
    /// answer that leaves tasks out moves the cursor past its last task and moves the
    /// instance's channel cursor on, while answering with the one before, so that the agent's
    /// next poll answers at once with the next page; the answer that reaches the last task
    /// resets the cursor and leaves the channel cursor alone (the next poll waits for news).
    /// The poll is level-triggered, so a page lost or repeated costs nothing.
    pub fn poll(
        &self,
        cluster: Option<&str>,
        instance: &str,
        caller: &Caller<'_>,
        now: u64,
    ) -> Result<AgentPoll, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut i = self.polled_instance(tx, &cluster, instance, caller)?;
            i.last_poll_at = Some(now);
            let arn = i.instance.container_instance_arn.clone();
            let prefix = format!("{}{cluster}/", self.scope());
            let tasks: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, &prefix)?;
            let mut mine: Vec<(String, StoredTask)> = tasks
                .into_iter()
                .filter(|(_, t)| {
                    t.task.container_instance_arn.as_deref() == Some(arn.as_str())
                        && t.status() != TaskStatus::Stopped
                })
                .collect();
            mine.sort_by(|a, b| a.0.cmp(&b.0));
            // The page starts after the cursor.
            let from = match i.poll_cursor.as_deref() {
                Some(after) => mine.partition_point(|(k, _)| k.as_str() <= after),
                None => 0,
            };
            let end = from.saturating_add(POLL_PAGE).min(mine.len());
            let answered_seq = i.seq;
            if end < mine.len() {
                i.poll_cursor = end.checked_sub(1).map(|last| mine[last].0.clone());
                i.seq += 1;
            } else {
                i.poll_cursor = None;
            }
            self.put_instance(tx, &i)?;
            let mut start = Vec::new();
            let mut stop = Vec::new();
            for (_, t) in mine.into_iter().skip(from).take(POLL_PAGE) {
                if t.task.desired_status == "STOPPED" {
                    stop.push(StopOrder {
                        task_arn: t.task.task_arn.clone(),
                        reason: t.task.stopped_reason.clone(),
                    });
                } else {
                    let mut task = agent::payload(&t, self.region);
                    task.container_instance_tags = i.instance.tags.clone();
                    start.push(task);
                }
            }
            Ok(AgentPoll {
                container_instance_arn: arn,
                seq: answered_seq,
                tasks_to_start: start,
                tasks_to_stop: stop,
            })
        })
    }
}

/// Who reports a task's state: an agent (its instance and principal) or berth's Fargate runner.
#[derive(Clone, Copy)]
enum Reporter<'a> {
    Agent {
        instance: Option<&'a str>,
        caller: &'a Caller<'a>,
    },
    Fargate,
}

/// Applies one container's reported change; returns whether the task's desired status changed
/// (the agent must hear of it).
fn apply_container(t: &mut StoredTask, c: &ContainerChange, now: u64) -> Result<bool, EcsError> {
    let name = c.container_name.as_deref().unwrap_or("");
    let essential = t
        .definition
        .container_definitions
        .iter()
        .find(|d| d.name() == name)
        .map(|d| d.is_essential())
        .unwrap_or(true);
    let container = t
        .task
        .containers
        .iter_mut()
        .find(|x| x.name == name)
        .ok_or_else(|| bad(&format!("container {name} is not part of the task")))?;
    if let Some(code) = c.exit_code {
        container.exit_code = Some(code);
    }
    if let Some(r) = &c.reason {
        container.reason = Some(r.clone());
    }
    if let Some(id) = &c.runtime_id {
        container.runtime_id = Some(id.clone());
    }
    if let Some(d) = &c.image_digest {
        container.image_digest = Some(d.clone());
    }
    if let Some(nb) = &c.network_bindings {
        container.network_bindings = nb.clone();
    }
    let mut unhealthy = false;
    if let Some(h) = c.health_status.as_deref()
        && lifecycle::HEALTH_STATUSES.contains(&h)
    {
        container.health_status = Some(h.to_string());
        unhealthy = h == "UNHEALTHY";
    }
    let mut stopped = false;
    if let Some(s) = c.status.as_deref()
        && let Some(next) = lifecycle::advance_container(&container.last_status, s)
    {
        container.last_status = next.into();
        stopped = next == "STOPPED";
    }
    let reason = container.reason.clone();
    t.task.health_status = Some(task_health(t).into());
    if unhealthy
        && essential
        && t.task.desired_status != "STOPPED"
        && lifecycle::belongs_to_service(t.task.group.as_deref(), t.task.started_by.as_deref())
    {
        // ECS's service scheduler replaces a service's task whose essential container failed
        // its health check; a standalone task keeps running UNHEALTHY.
        t.task.desired_status = "STOPPED".into();
        t.task.stop_code = Some(lifecycle::SERVICE_SCHEDULER_STOP_CODE.into());
        t.task.stopped_reason = Some(lifecycle::HEALTH_CHECK_STOP_REASON.into());
        t.task.stopping_at = Some(now);
        return Ok(true);
    }
    if stopped && essential && t.task.desired_status != "STOPPED" {
        // An essential container exited: the whole task stops (AWS's EssentialContainerExited,
        // or TaskFailedToStart when the task never ran).
        let (code, why) = lifecycle::stop_outcome(&StopFacts {
            user_stop: None,
            was_running: t.task.started_at.is_some(),
            essential_exited: true,
            agent_reason: reason.as_deref(),
        });
        t.task.desired_status = "STOPPED".into();
        t.task.stop_code = Some(code.into());
        t.task.stopped_reason = Some(why);
        t.task.stopping_at = Some(now);
        return Ok(true);
    }
    Ok(false)
}

/// The task's `healthStatus`: its essential containers with a health check, as ECS
/// aggregates them ([`lifecycle::task_health`]).
fn task_health(t: &StoredTask) -> &'static str {
    let states: Vec<&str> = t
        .definition
        .container_definitions
        .iter()
        .filter(|d| d.is_essential() && d.extra.get("healthCheck").is_some_and(Value::is_object))
        .map(|d| {
            t.task
                .containers
                .iter()
                .find(|c| c.name == d.name())
                .and_then(|c| c.health_status.as_deref())
                .unwrap_or("UNKNOWN")
        })
        .collect();
    lifecycle::task_health(&states)
}

/// Moves the task to a reported status (forward only).
fn apply_task_status(t: &mut StoredTask, reported: TaskStatus, reason: Option<&str>, now: u64) {
    let Some(next) = lifecycle::advance(t.status(), reported) else {
        return;
    };
    if next == TaskStatus::Stopped {
        finish_stop(t, reason, now);
        return;
    }
    t.task.last_status = next.as_str().into();
    if next == TaskStatus::Running && t.task.started_at.is_none() {
        t.task.started_at = Some(now);
        set_eni_status(t, "ATTACHED");
    }
    if next > TaskStatus::Running && t.task.stopping_at.is_none() {
        t.task.stopping_at = Some(now);
    }
}

/// A Fargate container's address: on the container (`networkInterfaces`, with the task's
/// attachment id) and, the first time, on the task's attachment (`privateIPv4Address`).
fn record_interfaces(t: &mut StoredTask, container: Option<&str>, interfaces: &[Value]) {
    let Some(ip) = interfaces
        .iter()
        .find_map(|i| i.get("privateIpv4Address").and_then(Value::as_str))
    else {
        return;
    };
    let eni = t
        .task
        .attachments
        .iter_mut()
        .find(|a| a.get("type").and_then(Value::as_str) == Some("ElasticNetworkInterface"));
    let mut attachment_id = None;
    if let Some(a) = eni {
        attachment_id = a.get("id").cloned();
        if let Some(details) = a.get_mut("details").and_then(Value::as_array_mut)
            && !details
                .iter()
                .any(|d| d.get("name").and_then(Value::as_str) == Some("privateIPv4Address"))
        {
            details.push(json!({"name": "privateIPv4Address", "value": ip}));
        }
    }
    if let Some(c) = t
        .task
        .containers
        .iter_mut()
        .find(|c| Some(c.name.as_str()) == container)
    {
        let mut entry = json!({ "privateIpv4Address": ip });
        if let Some(id) = attachment_id {
            entry["attachmentId"] = id;
        }
        c.network_interfaces = vec![entry];
    }
}

/// The status of an awsvpc task's network interface attachment, as ECS shows it: PRECREATED,
/// ATTACHED while the task runs, DELETED once it stopped.
fn set_eni_status(t: &mut StoredTask, status: &str) {
    for a in &mut t.task.attachments {
        if a.get("type").and_then(Value::as_str) == Some("ElasticNetworkInterface") {
            a["status"] = json!(status);
        }
    }
}

/// The task reaches STOPPED: stop code and reason (unless already decided), every container
/// stopped.
pub(crate) fn finish_stop(t: &mut StoredTask, reason: Option<&str>, now: u64) {
    set_eni_status(t, "DELETED");
    if t.task.stop_code.is_none() {
        let essential_exited = t.task.containers.iter().any(|c| {
            c.last_status == "STOPPED"
                && t.definition
                    .container_definitions
                    .iter()
                    .any(|d| d.name() == c.name && d.is_essential())
        });
        let first_reason = t.task.containers.iter().find_map(|c| c.reason.clone());
        let (code, why) = lifecycle::stop_outcome(&StopFacts {
            user_stop: None,
            was_running: t.task.started_at.is_some(),
            essential_exited,
            agent_reason: reason.or(first_reason.as_deref()),
        });
        t.task.stop_code = Some(code.into());
        t.task.stopped_reason = Some(why);
    }
    t.task.desired_status = "STOPPED".into();
    t.task.last_status = TaskStatus::Stopped.as_str().into();
    t.task.stopped_at = Some(now);
    if t.task.stopping_at.is_none() {
        t.task.stopping_at = Some(now);
    }
    if t.task.execution_stopped_at.is_none() {
        t.task.execution_stopped_at = Some(now);
    }
    for c in &mut t.task.containers {
        c.last_status = "STOPPED".into();
    }
}
