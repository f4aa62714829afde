//! The agent loop: register the container instance, long-poll for tasks, run each task's
//! containers on the runtime and report their states.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use berth_ecs::AgentTask;
use berth_ecs::agent::AgentContainer;
use berth_ecs::asm::{RegistryAuth, parse_secret};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use zeroize::Zeroize;

use crate::api::{ApiError, Credentials};
use crate::asm;
use crate::control::{ControlPlane, TaskControl};
use crate::engine_auth::{EngineAuth, EngineAuthSource};
use crate::runtime::{
    ContainerRuntime, ContainerSpec, ContainerState, LABEL_CLUSTER, LABEL_CONTAINER_NAME,
    LABEL_INSTANCE, LABEL_LAUNCH_TYPE, LABEL_PAUSE, LABEL_TASK_ARN, LABEL_TASK_FAMILY,
    LABEL_TASK_REVISION, LogConfig, NetworkBinding, PortMapping, RuntimeError,
};
use crate::secrets::{TaskSecrets, fetch_task_secrets};
use crate::supervise::{Capacity, Event, Leftover, Orders, Running, Runs, supervise};

/// The ECS agent's default time between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a pull is tried.
const PULL_ATTEMPTS: u32 = 5;
/// The longest stop reason the agent sends.
const MAX_REASON_CHARS: usize = 1024;
/// How long a Docker call is retried while the daemon cannot be reached. A restart takes
/// seconds; after this the call fails (and a container left behind is removed by the agent's
/// sweep once the daemon answers again).
pub const DAEMON_OUTAGE_LIMIT: Duration = Duration::from_secs(300);
/// How often the agent looks for containers of its finished tasks that are still there.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// How often a task's containers are looked at while one waits for its dependencies.
const DEPENDENCY_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often the health of a running task's containers with a health check is read.
const HEALTH_WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// The version berth's agent reports.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How the agent registers.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub cluster: String,
    /// Register as an EXTERNAL (ECS Anywhere) instance.
    pub external: bool,
    /// The Docker API version the runtime speaks, e.g. `1.41`.
    pub docker_api_version: String,
    /// CPU units (1024 per core) and memory (MiB) the instance offers.
    pub cpu_units: i64,
    pub memory_mib: i64,
    /// Where the container instance ARN is kept between runs (`berth up`: in the data
    /// directory), so a restart re-registers the same instance.
    pub instance_file: Option<PathBuf>,
    /// Registry credentials from the agent's environment or its engine auth file, for
    /// containers without `repositoryCredentials` (taken afresh for each task).
    pub engine_auth: Arc<EngineAuthSource>,
    /// The instance's zone, advertised as `ecs.availability-zone` (the ECS agent reads it from
    /// the EC2 instance metadata; berth's agent from `BERTH_AVAILABILITY_ZONE`, else
    /// [`berth_ecs::default_zone`] of its region).
    pub availability_zone: String,
    /// Custom attributes from `ECS_INSTANCE_ATTRIBUTES`, as the ECS agent takes them.
    pub instance_attributes: Vec<(String, String)>,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("registering the container instance: {0}")]
    Register(ApiError),
    #[error("container runtime: {0}")]
    Runtime(RuntimeError),
}

/// The attributes the instance advertises, as the ECS agent does.
pub fn attributes(cfg: &AgentConfig) -> Vec<Value> {
    let mut names = vec![
        "ecs.capability.private-registry-authentication.secretsmanager".to_string(),
        "ecs.capability.execution-role-ecr-pull".to_string(),
        "com.amazonaws.ecs.capability.ecr-auth".to_string(),
        "com.amazonaws.ecs.capability.privileged-container".to_string(),
        "com.amazonaws.ecs.capability.logging-driver.json-file".to_string(),
        // awslogs: berth ships the output, with the execution role's credentials when the task
        // has one.
        "com.amazonaws.ecs.capability.logging-driver.awslogs".to_string(),
        "ecs.capability.execution-role-awslogs".to_string(),
        // dependsOn with its conditions, startTimeout and stopTimeout.
        "ecs.capability.container-ordering".to_string(),
        // Docker health checks (healthCheck), reported as the containers' healthStatus.
        "ecs.capability.container-health-check".to_string(),
        // Docker volumes with the local driver.
        "ecs.capability.docker-plugin.local".to_string(),
    ];
    let minor = cfg
        .docker_api_version
        .split_once('.')
        .and_then(|(_, m)| m.parse::<u32>().ok())
        .unwrap_or(17);
    for m in 17..=minor {
        names.push(format!(
            "com.amazonaws.ecs.capability.docker-remote-api.1.{m}"
        ));
    }
    // `secrets` and log `secretOptions` from Secrets Manager and Parameter Store.
    for cap in berth_ecs::secrets::AGENT_CAPABILITIES {
        names.push(cap.to_string());
    }
    if cfg.external {
        names.push(berth_ecs::placement::EXTERNAL_CAPABILITY.to_string());
    } else {
        // `awsvpc` tasks, their interface emulated on the default bridge (the ECS agent drops
        // the capability on external instances, so `awsvpc` never fits there).
        names.push("ecs.capability.task-eni".to_string());
    }
    // Task IAM roles, while the task endpoint serves on this host (the ECS agent advertises
    // them with ECS_ENABLE_TASK_IAM_ROLE and ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST): without
    // it, placement refuses a task with a task role, as ECS does.
    if crate::endpoint::serving() {
        names.push("com.amazonaws.ecs.capability.task-iam-role".to_string());
        names.push("com.amazonaws.ecs.capability.task-iam-role-network-host".to_string());
    }
    // EFS volumes, when this agent maps file systems to directories (BERTH_EFS_<id>).
    if crate::settings::efs_mapped() {
        names.push("ecs.capability.efs".to_string());
    }
    let mut out: Vec<Value> = names.into_iter().map(|n| json!({ "name": n })).collect();
    out.push(json!({ "name": "ecs.os-type", "value": "linux" }));
    // The ECS agent's names: `x86_64`, `arm64`.
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    out.push(json!({ "name": "ecs.cpu-architecture", "value": arch }));
    out.push(json!({ "name": "ecs.availability-zone", "value": cfg.availability_zone }));
    for (name, value) in &cfg.instance_attributes {
        out.push(json!({ "name": name, "value": value }));
    }
    out
}

/// The RegisterContainerInstance input (with the previous ARN when re-registering).
pub fn registration(cfg: &AgentConfig, previous: Option<&str>) -> Value {
    let mut input = json!({
        "cluster": cfg.cluster,
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": cfg.cpu_units},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": cfg.memory_mib},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
        ],
        "versionInfo": {
            "agentVersion": AGENT_VERSION,
            "agentHash": "berth",
            "dockerVersion": format!("DockerVersion: API {}", cfg.docker_api_version),
        },
        "attributes": attributes(cfg),
    });
    if let Some(arn) = previous {
        input["containerInstanceArn"] = json!(arn);
    }
    input
}

/// A task's stop reason as the agent sends it: the first word capitalised, whitespace
/// collapsed, at most 1024 characters.
pub fn task_reason(reason: &str) -> String {
    let collapsed = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    let out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    out.chars().take(MAX_REASON_CHARS).collect()
}

/// A container's pull failure as the agent names it, with its hint when the registry said
/// access was denied.
pub fn pull_reason(daemon_message: &str) -> String {
    let message = if daemon_message.contains("denied: requested access to the resource is denied") {
        format!(
            "The task can\u{2019}t pull the image. Check whether the image exists. {daemon_message}"
        )
    } else {
        daemon_message.to_string()
    };
    format!("CannotPullContainerError: {message}")
}

fn epoch_now() -> f64 {
    berth_core::time::epoch_secs_f64(SystemTime::now())
}

fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// A Docker container name for a task's container (Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]`).
fn docker_name(task: &AgentTask, container: &str) -> String {
    crate::settings::docker_name(task, container)
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// What the runtime creates for a task's container.
pub fn container_spec(
    task: &AgentTask,
    c: &AgentContainer,
    cluster: &str,
    instance_arn: &str,
) -> ContainerSpec {
    let d = &c.definition;
    let env = d
        .extra
        .get("environment")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|kv| {
                    let name = kv.get("name")?.as_str()?;
                    let value = kv.get("value").and_then(Value::as_str).unwrap_or("");
                    Some(format!("{name}={value}"))
                })
                .collect()
        })
        .unwrap_or_default();
    // dockerLabels first: the agent's own labels win over a definition's of the same name.
    let mut labels: HashMap<String, String> = d
        .extra
        .get("dockerLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    labels.extend([
        (LABEL_TASK_ARN.to_string(), task.task_arn.clone()),
        (LABEL_CONTAINER_NAME.to_string(), c.name.clone()),
        (LABEL_CLUSTER.to_string(), cluster.to_string()),
        (LABEL_TASK_FAMILY.to_string(), task.family.clone()),
        (LABEL_TASK_REVISION.to_string(), task.revision.to_string()),
        (LABEL_INSTANCE.to_string(), instance_arn.to_string()),
    ]);
    ContainerSpec {
        name: docker_name(task, &c.name),
        image: d.image.clone().unwrap_or_default(),
        command: string_list(d.extra.get("command")),
        entry_point: string_list(d.extra.get("entryPoint")),
        env,
        labels,
        memory_mib: d.memory,
        memory_reservation_mib: d.memory_reservation,
        cpu_shares: d.cpu,
        log_config: log_config(d),
        working_directory: d
            .extra
            .get("workingDirectory")
            .and_then(Value::as_str)
            .map(str::to_string),
        user: d
            .extra
            .get("user")
            .and_then(Value::as_str)
            .map(str::to_string),
        port_mappings: {
            let mut ports = port_mappings(d);
            // awsvpc on an instance: the task's own interface is emulated on the default
            // bridge, so its ports (hostPort = containerPort in the definition) are published
            // on ports the daemon picks, as placement reserves none for them.
            if task.network_mode.as_deref() == Some("awsvpc") {
                for p in &mut ports {
                    p.host_port = 0;
                }
            }
            ports
        },
        network: match task.network_mode.as_deref() {
            Some("host") => Some("host".to_string()),
            Some("none") => Some("none".to_string()),
            _ => None,
        },
        network_container: None,
        host: crate::settings::host_settings(task, d),
    }
}

/// A container definition's `logConfiguration` as Docker takes it
/// ([`crate::awslogs::docker_driver`]).
fn log_config(d: &berth_ecs::ContainerDefinition) -> Option<LogConfig> {
    crate::awslogs::docker_driver(d.extra.get("logConfiguration"))
}

/// The Docker network of a Fargate task: a user-defined bridge named after the task (the
/// closest local equivalent of its own network interface).
pub fn task_network_name(task_arn: &str) -> String {
    format!("berth-task-{}", task_id(task_arn))
}

/// What berth's Fargate runner creates for a task's container: the agent's container, on the
/// task's own network, with no host ports published and no container instance.
pub fn fargate_container_spec(
    task: &AgentTask,
    c: &AgentContainer,
    cluster: &str,
) -> ContainerSpec {
    let mut spec = container_spec(task, c, cluster, "");
    spec.labels.remove(LABEL_INSTANCE);
    spec.labels
        .insert(LABEL_LAUNCH_TYPE.to_string(), "FARGATE".to_string());
    spec.port_mappings.clear();
    spec.network = Some(task_network_name(&task.task_arn));
    // Fargate holds the task to its size: a container without its own limit gets the task's.
    if spec.memory_mib.is_none() {
        spec.memory_mib = task
            .memory
            .as_deref()
            .and_then(berth_ecs::taskdef::parse_memory);
    }
    spec
}

/// The pause container of a Fargate task: it is created first, on the task's network, and owns
/// the network namespace every container of the task joins (so they reach each other over
/// `localhost`, as on Fargate). Labelled with the task (no container name) and as berth's pause
/// container; its name cannot clash with a task container's (those start with `ecs-`).
pub fn pause_container_spec(task: &AgentTask, cluster: &str, image: &str) -> ContainerSpec {
    let labels = HashMap::from([
        (LABEL_TASK_ARN.to_string(), task.task_arn.clone()),
        (LABEL_CLUSTER.to_string(), cluster.to_string()),
        (LABEL_TASK_FAMILY.to_string(), task.family.clone()),
        (LABEL_TASK_REVISION.to_string(), task.revision.to_string()),
        (LABEL_LAUNCH_TYPE.to_string(), "FARGATE".to_string()),
        (LABEL_PAUSE.to_string(), "true".to_string()),
    ]);
    ContainerSpec {
        name: format!("berth-pause-{}", task_id(&task.task_arn)),
        image: image.to_string(),
        entry_point: Some(
            crate::docker::PAUSE_COMMAND
                .iter()
                .map(|a| a.to_string())
                .collect(),
        ),
        labels,
        memory_mib: Some(16),
        network: Some(task_network_name(&task.task_arn)),
        ..Default::default()
    }
}

/// A task container's spec, joined to the pause container's network namespace.
pub fn joined_to_pause(mut spec: ContainerSpec, pause_id: &str) -> ContainerSpec {
    spec.network = None;
    spec.port_mappings.clear();
    spec.network_container = Some(pause_id.to_string());
    // `pidMode: task`: the task's PID namespace is the pause container's, as on Fargate.
    if spec.host.pid_task {
        spec.host.pid_mode = Some(format!("container:{pause_id}"));
    }
    spec
}

/// The prefix of every Fargate failure to get a task's registry secret.
pub const FARGATE_SECRETS_PREFIX: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: ";

/// Fargate's words for a failed GetSecretValue (after its one retry).
pub fn fargate_secret_error(secret_id: &str, sdk_error: &str) -> String {
    format!(
        "{FARGATE_SECRETS_PREFIX}service call has been retried 1 time(s): failed to fetch secret {secret_id} from secrets manager: {sdk_error}"
    )
}

/// A container definition's `portMappings` (bridge mode: a missing `hostPort` is one the
/// daemon picks).
fn port_mappings(d: &berth_ecs::ContainerDefinition) -> Vec<PortMapping> {
    d.extra
        .get("portMappings")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    let port = |k: &str| {
                        m.get(k)
                            .and_then(Value::as_u64)
                            .and_then(|p| u16::try_from(p).ok())
                    };
                    Some(PortMapping {
                        container_port: port("containerPort")?,
                        host_port: port("hostPort").unwrap_or(0),
                        protocol: m
                            .get("protocol")
                            .and_then(Value::as_str)
                            .unwrap_or("tcp")
                            .to_ascii_lowercase(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `networkBindings` as ECS reports them.
fn bindings_json(bindings: &[NetworkBinding]) -> Value {
    Value::Array(
        bindings
            .iter()
            .map(|b| {
                json!({
                    "bindIP": b.bind_ip,
                    "containerPort": b.container_port,
                    "hostPort": b.host_port,
                    "protocol": b.protocol,
                })
            })
            .collect(),
    )
}

fn stop_timeout(c: &AgentContainer) -> Duration {
    c.definition
        .extra
        .get("stopTimeout")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_STOP_TIMEOUT)
}

/// Fetches every registry secret the given containers need, once per secret id (the ECS
/// agent's asm-auth resource). The error is the agent's reason, or Fargate's (`fargate`:
/// one retry of a failed call, and Fargate's `ResourceInitializationError` words).
pub async fn fetch_registry_auth<C: TaskControl>(
    control: &C,
    task: &AgentTask,
    containers: &[&AgentContainer],
    fargate: bool,
) -> Result<HashMap<String, RegistryAuth>, String> {
    let word = |m: &str| {
        if fargate {
            format!("{FARGATE_SECRETS_PREFIX}{m}")
        } else {
            m.to_string()
        }
    };
    let mut out: HashMap<String, RegistryAuth> = HashMap::new();
    for c in containers {
        let Some(ra) = &c.registry_authentication else {
            continue;
        };
        if ra.kind != "asm" {
            continue;
        }
        let id = &ra.asm_auth_data.credentials_parameter;
        if out.contains_key(id) {
            continue;
        }
        let Some(rc) = &task.execution_role_credentials else {
            return Err(word(asm::NO_EXECUTION_CREDENTIALS));
        };
        let creds = Credentials::new(
            &rc.access_key_id,
            &rc.secret_access_key,
            Some(&rc.session_token),
        );
        let region = &ra.asm_auth_data.region;
        let mut fetched = control.get_secret_string(id, region, &creds).await;
        if fargate && fetched.is_err() {
            fetched = control.get_secret_string(id, region, &creds).await;
        }
        let value = fetched.map_err(|e| {
            if fargate {
                fargate_secret_error(id, &e.sdk_style())
            } else {
                asm::service_error(id, &e.sdk_style())
            }
        })?;
        let auth = parse_secret(value.as_deref().map(String::as_str)).map_err(word)?;
        out.insert(id.clone(), auth);
    }
    Ok(out)
}

/// Whether a daemon's pull error is the registry refusing the credentials (not retried).
fn is_auth_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// Pulls as the ECS agent does: up to 5 attempts, backoff 1.1 s growing to 5 s, no retry of
/// an authentication failure.
async fn pull_with_retries<R: ContainerRuntime>(
    runtime: &R,
    image: &str,
    auth: Option<&RegistryAuth>,
) -> Result<(), RuntimeError> {
    let mut delay = Duration::from_millis(1100);
    let mut attempt = 1;
    loop {
        match runtime.pull(image, auth).await {
            Ok(()) => return Ok(()),
            Err(RuntimeError::Pull(m) | RuntimeError::Unavailable(m))
                if attempt < PULL_ATTEMPTS && !is_auth_failure(&m) =>
            {
                tracing::warn!(image = %image, attempt, error = %m, "pull failed; retrying");
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        attempt += 1;
    }
}

/// Runs a Docker call again while the daemon cannot be reached (each attempt connects
/// afresh, so a restarted daemon is picked up), backing off 250 ms to 2 s, for at most
/// [`DAEMON_OUTAGE_LIMIT`]. Other failures are returned at once.
pub(crate) async fn while_unreachable<T, F, Fut>(what: &str, call: F) -> Result<T, RuntimeError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, RuntimeError>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut waited = false;
    loop {
        match call().await {
            Err(RuntimeError::Unavailable(m)) if started.elapsed() < DAEMON_OUTAGE_LIMIT => {
                if !waited {
                    tracing::warn!(error = %m, "docker cannot be reached: {what} waits for it");
                    waited = true;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            result => {
                if waited && result.is_ok() {
                    tracing::info!("docker answers again: {what} goes on");
                }
                return result;
            }
        }
    }
}

/// Removes a container, waiting for the daemon if it is away (a restart).
pub(crate) async fn remove_container<R: ContainerRuntime>(runtime: &R, id: &str) {
    if let Err(e) = while_unreachable("removing a container", || runtime.remove(id)).await {
        tracing::warn!(container = %id, error = %e, "removing a container");
    }
}

/// Waits for a container to exit, across a restart of the daemon. When the wait breaks
/// because the daemon went away, the container is inspected once the daemon answers again:
/// exited (without live-restore the daemon kills its containers on the way down, or on the
/// way up after a crash) gives the exit code Docker recorded; still running (live-restore)
/// means waiting again. This is what the ECS agent does after it reconnects (it re-opens the
/// event stream and re-inspects its containers), so an essential container killed by the
/// restart stops the task with `EssentialContainerExited` and Docker's code (137 for a
/// SIGKILL). Whether ECS also sets a container `reason` in this case is not known to berth;
/// berth sets none.
pub(crate) async fn wait_exit<R: ContainerRuntime>(
    runtime: &R,
    id: &str,
) -> Result<i64, RuntimeError> {
    loop {
        match runtime.wait(id).await {
            Err(RuntimeError::Unavailable(m)) => {
                tracing::warn!(container = %id, error = %m, "the wait for a container broke");
                let state = while_unreachable("a container's wait", || runtime.inspect(id)).await?;
                if let Some(code) = state.exit_code {
                    return Ok(code);
                }
                if !state.running {
                    // Never started; not a state a running task's container can be in.
                    return Err(RuntimeError::Other(format!(
                        "container {id} is not running and never ran"
                    )));
                }
            }
            result => return result,
        }
    }
}

/// Sends a report, retrying transport failures a few times.
async fn report<F, Fut>(what: &str, task_arn: &str, send: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), ApiError>>,
{
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=6 {
        match send().await {
            Ok(()) => return,
            Err(e @ ApiError::Service { .. }) => {
                tracing::warn!(task = %task_arn, error = %e, "{what} refused");
                return;
            }
            Err(e) => {
                tracing::warn!(task = %task_arn, attempt, error = %e, "{what} failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Everything one task runner needs.
pub(crate) struct TaskRun<R, C> {
    pub(crate) runtime: Arc<R>,
    pub(crate) control: Arc<C>,
    pub(crate) cluster: String,
    /// The agent's container instance; empty for berth's Fargate runner.
    pub(crate) instance_arn: String,
    pub(crate) task: AgentTask,
    /// The agent's own registry credentials (none for Fargate).
    pub(crate) engine_auth: Arc<EngineAuth>,
    /// Run as berth's Fargate runner: the task's own network, Fargate's words.
    pub(crate) fargate: bool,
}

impl<R: ContainerRuntime, C: TaskControl> TaskRun<R, C> {
    fn spec(&self, c: &AgentContainer) -> ContainerSpec {
        if self.fargate {
            fargate_container_spec(&self.task, c, &self.cluster)
        } else {
            container_spec(&self.task, c, &self.cluster, &self.instance_arn)
        }
    }

    /// Where an awslogs container's output goes, and whether its group may be created;
    /// `None` for another driver.
    fn awslogs_target(
        &self,
        c: &AgentContainer,
        docker_id: &str,
    ) -> Option<Result<(crate::awslogs::Target, bool), String>> {
        let settings = match crate::awslogs::settings(&self.task, c)? {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let target = crate::awslogs::Target {
            task_arn: self.task.task_arn.clone(),
            container: c.name.clone(),
            region: settings.region.clone(),
            group: settings.group.clone(),
            stream: settings.stream_name(&c.name, &self.task.task_arn, docker_id),
            creds: crate::awslogs::execution_credentials(&self.task),
            multiline: settings.multiline.clone(),
        };
        Some(Ok((target, settings.create_group)))
    }

    /// The task's containers in the order they are made and started.
    fn ordered_containers(&self) -> Vec<&AgentContainer> {
        crate::settings::creation_order(&self.task)
            .iter()
            .filter_map(|n| self.task.containers.iter().find(|c| &c.name == n))
            .collect()
    }

    /// Makes the task's Docker volumes: its own (an empty `host`, `scope: task`) and shared
    /// ones it may autoprovision. A shared volume that does not exist without `autoprovision`
    /// fails the task, in berth's words (AWS's are not known to berth).
    async fn provision_volumes(&self) -> Result<(), String> {
        use crate::settings::VolumeSource;
        for (name, source) in crate::settings::task_volumes(&self.task) {
            let VolumeSource::Docker {
                spec,
                task_scoped,
                autoprovision,
            } = source
            else {
                continue;
            };
            if !task_scoped
                && !autoprovision
                && !self
                    .runtime
                    .volume_exists(&spec.name)
                    .await
                    .map_err(|e| format!("ResourceInitializationError: volume '{name}': {e}"))?
            {
                return Err(format!(
                    "ResourceInitializationError: shared volume '{name}' does not exist and autoprovision is not enabled"
                ));
            }
            self.runtime
                .create_volume(&spec)
                .await
                .map_err(|e| format!("ResourceInitializationError: volume '{name}': {e}"))?;
        }
        Ok(())
    }

    /// Removes the task's own Docker volumes (shared ones stay).
    async fn remove_task_volumes(&self) {
        use crate::settings::VolumeSource;
        for (_, source) in crate::settings::task_volumes(&self.task) {
            if let VolumeSource::Docker {
                spec,
                task_scoped: true,
                ..
            } = source
                && let Err(e) = self.runtime.remove_volume(&spec.name).await
            {
                tracing::warn!(volume = %spec.name, error = %e, "removing a task volume");
            }
        }
    }

    /// Removes what the task has, in order: its containers, then its pause container (which
    /// holds their network namespace), then its own network (Fargate).
    async fn deprovision(&self, made: &HashMap<String, String>, pause: Option<&str>) {
        for id in made.values() {
            remove_container(self.runtime.as_ref(), id).await;
        }
        if let Some(id) = pause {
            remove_container(self.runtime.as_ref(), id).await;
        }
        self.remove_task_volumes().await;
        if self.fargate {
            let name = task_network_name(&self.task.task_arn);
            let removed = while_unreachable("removing a task network", || {
                self.runtime.remove_network(&name)
            })
            .await;
            if let Err(e) = removed {
                tracing::warn!(network = %name, error = %e, "removing a task network");
            }
        }
    }

    async fn task_change(&self, mut input: Value) {
        input["cluster"] = json!(self.cluster);
        input["task"] = json!(self.task.task_arn);
        if !self.fargate {
            input["containerInstance"] = json!(self.instance_arn);
        }
        let control = &self.control;
        report("task state change", &self.task.task_arn, || {
            control.submit_task_state_change(input.clone())
        })
        .await;
    }

    async fn container_change(&self, name: &str, mut input: Value) {
        input["cluster"] = json!(self.cluster);
        input["task"] = json!(self.task.task_arn);
        input["containerName"] = json!(name);
        if !self.fargate {
            input["containerInstance"] = json!(self.instance_arn);
        }
        let control = &self.control;
        report("container state change", &self.task.task_arn, || {
            control.submit_container_state_change(input.clone())
        })
        .await;
    }

    /// The task cannot start: remove what was made, and report in one call the task STOPPED
    /// with `reason` and the `failed` container (name, reason) STOPPED with its own reason (as
    /// the ECS agent attaches container changes to its task state change). A stop with its own
    /// reason keeps the task's wording; one call means no reader sees the task STOPPED before
    /// its container's reason.
    async fn fail(
        &self,
        reason: &str,
        made: &HashMap<String, String>,
        pause: Option<&str>,
        failed: Option<(&str, &str)>,
    ) {
        tracing::warn!(task = %self.task.task_arn, reason = %reason, "task failed to start");
        self.deprovision(made, pause).await;
        let containers: Vec<Value> = failed
            .map(|(name, why)| json!({ "containerName": name, "status": "STOPPED", "reason": why }))
            .into_iter()
            .collect();
        self.task_change(json!({
            "status": "STOPPED",
            "reason": task_reason(reason),
            "containers": containers,
            "executionStoppedAt": epoch_now(),
        }))
        .await;
    }

    /// A stop order came before the containers ran: remove what exists and report the task
    /// STOPPED (the control plane already has the stop's code and reason).
    async fn stopped_before_start(&self, made: &HashMap<String, String>, pause: Option<&str>) {
        tracing::info!(task = %self.task.task_arn, "stopped before it started");
        self.deprovision(made, pause).await;
        self.task_change(json!({ "status": "STOPPED", "executionStoppedAt": epoch_now() }))
            .await;
    }

    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let task_arn = self.task.task_arn.clone();
        // The task endpoint serves the task while its run lasts.
        let _endpoint = crate::endpoint::register_task(&self.task, self.fargate);
        // Containers this task already has (an agent restart): adopted, not made again.
        // A Fargate task's pause container is found by its own label.
        let listed = match while_unreachable("listing a task's containers", || {
            self.runtime.list_by_label(LABEL_TASK_ARN, Some(&task_arn))
        })
        .await
        {
            Ok(list) => list,
            Err(e) => {
                self.fail(
                    &format!("listing containers: {e}"),
                    &HashMap::new(),
                    None,
                    None,
                )
                .await;
                return;
            }
        };
        let mut pause: Option<ContainerState> = None;
        let mut existing: HashMap<String, ContainerState> = HashMap::new();
        for c in listed {
            if c.labels.contains_key(LABEL_PAUSE) {
                pause = Some(c);
            } else if let Some(name) = c.labels.get(LABEL_CONTAINER_NAME) {
                existing.insert(name.clone(), c);
            }
        }
        let adopted_pause = pause.as_ref().map(|p| p.running);
        let mut pause: Option<String> = pause.map(|p| p.id);
        // Made and started in dependency order (links, volumesFrom, shared namespaces).
        let ordered = self.ordered_containers();
        let to_make: Vec<&AgentContainer> = ordered
            .iter()
            .copied()
            .filter(|c| !existing.contains_key(&c.name))
            .collect();
        let mut ids: HashMap<String, String> = existing
            .iter()
            .map(|(n, c)| (n.clone(), c.id.clone()))
            .collect();
        if !existing.is_empty() {
            tracing::info!(task = %task_arn, containers = existing.len(), "adopting running containers");
        }
        for (name, c) in &existing {
            crate::endpoint::container_adopted(&task_arn, name, &c.id);
        }
        if *stop.borrow() && existing.is_empty() {
            self.stopped_before_start(&ids, pause.as_deref()).await;
            return;
        }

        if !to_make.is_empty() {
            // What berth does not run fails the task before anything is pulled.
            if let Some(why) = crate::settings::unsupported(&self.task) {
                self.fail(&why, &ids, pause.as_deref(), None).await;
                return;
            }
            // A task role needs the task endpoint: without it the task does not start.
            if let Some(why) = crate::endpoint::missing_for(&self.task) {
                self.fail(&why, &ids, pause.as_deref(), None).await;
                return;
            }
            // Registry credentials: fetched at task start, before any pull; held only until
            // the pulls are done.
            let auths = match fetch_registry_auth(
                self.control.as_ref(),
                &self.task,
                &to_make,
                self.fargate,
            )
            .await
            {
                Ok(a) => a,
                Err(reason) => {
                    self.fail(&reason, &ids, pause.as_deref(), None).await;
                    return;
                }
            };
            // The containers' secrets: fetched at task start too, held in memory only until
            // the containers are created with them.
            let secrets: TaskSecrets =
                match fetch_task_secrets(self.control.as_ref(), &self.task, &to_make, self.fargate)
                    .await
                {
                    Ok(s) => s,
                    Err(reason) => {
                        drop(auths);
                        self.fail(&reason, &ids, pause.as_deref(), None).await;
                        return;
                    }
                };
            let pull_started = epoch_now();
            for c in &to_make {
                let image = c.definition.image.clone().unwrap_or_default();
                // The task's secret always wins; the agent's own credentials only serve
                // containers without registry authentication.
                let auth = match &c.registry_authentication {
                    Some(ra) => auths.get(&ra.asm_auth_data.credentials_parameter),
                    None => self.engine_auth.for_image(&image),
                };
                tracing::info!(task = %task_arn, container = %c.name, image = %image, "pulling");
                if let Err(e) = pull_with_retries(self.runtime.as_ref(), &image, auth).await {
                    let why = match e {
                        RuntimeError::Pull(m) => pull_reason(&m),
                        other => pull_reason(&other.to_string()),
                    };
                    drop(auths);
                    self.fail(&why, &ids, pause.as_deref(), Some((&c.name, &why)))
                        .await;
                    return;
                }
            }
            drop(auths);
            tracing::debug!(task = %task_arn, "pulled");
            let pull_stopped = epoch_now();
            crate::endpoint::pulled(&task_arn, pull_started, pull_stopped);
            let mut pulled: Vec<Value> = Vec::new();
            for c in &to_make {
                let mut change = json!({ "containerName": c.name, "status": "PULLED" });
                // The digest the image was pulled by, as ECS reports it (`imageDigest`).
                let image = c.definition.image.clone().unwrap_or_default();
                if let Ok(Some(digest)) = self.runtime.image_digest(&image).await {
                    change["imageDigest"] = Value::String(digest);
                }
                pulled.push(change);
            }
            self.task_change(json!({
                "pullStartedAt": pull_started,
                "pullStoppedAt": pull_stopped,
                "containers": pulled,
            }))
            .await;
            tracing::debug!(task = %task_arn, "pull reported");
            if *stop.borrow() {
                self.stopped_before_start(&ids, pause.as_deref()).await;
                return;
            }
            if self.fargate {
                let name = task_network_name(&task_arn);
                let labels = HashMap::from([
                    (LABEL_TASK_ARN.to_string(), task_arn.clone()),
                    (LABEL_LAUNCH_TYPE.to_string(), "FARGATE".to_string()),
                ]);
                if let Err(e) = self.runtime.create_network(&name, &labels).await {
                    let why = format!(
                        "ResourceInitializationError: failed to create the task network: {e}"
                    );
                    self.fail(&why, &ids, pause.as_deref(), None).await;
                    return;
                }
                if let Err(e) = self
                    .provision_pause(&mut pause, adopted_pause, &existing)
                    .await
                {
                    let why = format!(
                        "ResourceInitializationError: failed to create the task's pause container: {e}"
                    );
                    self.fail(&why, &ids, pause.as_deref(), None).await;
                    return;
                }
            }
            if let Err(why) = self.provision_volumes().await {
                self.fail(&why, &ids, pause.as_deref(), None).await;
                return;
            }
            for c in &to_make {
                // Docker refuses awslogs options it does not know at create.
                if let Some(Err(e)) = crate::awslogs::settings(&self.task, c) {
                    let why =
                        format!("CannotCreateContainerError: Error response from daemon: {e}");
                    self.fail(&why, &ids, pause.as_deref(), Some((&c.name, &why)))
                        .await;
                    return;
                }
                let mut spec = match &pause {
                    Some(p) => joined_to_pause(self.spec(c), p),
                    None => self.spec(c),
                };
                secrets.apply(c, &mut spec);
                crate::endpoint::prepare_container(&self.task, &c.name, self.fargate, &mut spec);
                let created = self.runtime.create(&spec).await;
                // The values are in the container now; the agent's copies are wiped.
                spec.env.iter_mut().for_each(Zeroize::zeroize);
                if let Some(log) = spec.log_config.as_mut() {
                    log.options.values_mut().for_each(Zeroize::zeroize);
                }
                match created {
                    Ok(id) => {
                        crate::endpoint::container_created(&task_arn, &c.name, &id);
                        ids.insert(c.name.clone(), id);
                    }
                    Err(e) => {
                        let why = format!("CannotCreateContainerError: {e}");
                        self.fail(&why, &ids, pause.as_deref(), Some((&c.name, &why)))
                            .await;
                        return;
                    }
                }
            }
        }
        // Start what is not running yet (new containers, or adopted ones never started), each
        // once its dependencies allow it (dependsOn; links and volumesFrom as START).
        let mut exited: HashMap<String, i64> = HashMap::new();
        let mut started_at: HashMap<String, tokio::time::Instant> = HashMap::new();
        let mut pending: Vec<&AgentContainer> = Vec::new();
        for c in &ordered {
            if !ids.contains_key(&c.name) {
                continue;
            }
            match existing.get(&c.name) {
                Some(s) if s.running => {
                    started_at.insert(c.name.clone(), tokio::time::Instant::now());
                    continue;
                }
                Some(s) if s.started => {
                    exited.insert(c.name.clone(), s.exit_code.unwrap_or(0));
                    continue;
                }
                _ => {}
            }
            pending.push(c);
        }
        if pending
            .iter()
            .any(|c| c.definition.extra.contains_key("dependsOn"))
            && !crate::depends::resolvable(&self.task)
        {
            let why = crate::depends::unresolvable_reason(&task_arn);
            self.fail(&why, &ids, pause.as_deref(), None).await;
            return;
        }
        let mut health: HashMap<String, String> = HashMap::new();
        let mut stopping = match self
            .start_containers(
                pending,
                &ids,
                &mut started_at,
                &mut exited,
                &mut health,
                &mut stop,
            )
            .await
        {
            Err((why, name)) => {
                self.fail(&why, &ids, pause.as_deref(), Some((&name, &why)))
                    .await;
                return;
            }
            Ok(stopping) => stopping,
        };
        tracing::debug!(task = %task_arn, "started");
        // awslogs: a shipper per container, resuming after its stream's last event when the
        // container ran before this run (an agent restart).
        let mut shippers: JoinSet<()> = JoinSet::new();
        for c in &ordered {
            let Some(id) = ids.get(&c.name) else { continue };
            if let Some(Ok((target, _))) = self.awslogs_target(c, id) {
                shippers.spawn(crate::awslogs::ship(
                    self.runtime.clone(),
                    self.control.clone(),
                    target,
                    id.clone(),
                    existing.contains_key(&c.name),
                ));
            }
        }
        // Fargate with a pause container: the task's address is the pause container's, and
        // every container of the task has it.
        let network = task_network_name(&task_arn);
        let task_ip = match &pause {
            Some(p) => self
                .runtime
                .inspect(p)
                .await
                .ok()
                .and_then(|s| s.ip_addresses.get(&network).cloned()),
            None => None,
        };
        let mut running: Vec<Value> = Vec::new();
        for c in &self.task.containers {
            let Some(id) = ids.get(&c.name) else { continue };
            if !started_at.contains_key(&c.name) && !exited.contains_key(&c.name) {
                continue;
            }
            let mut change = json!({
                "containerName": c.name,
                "runtimeId": id,
                "status": "RUNNING",
            });
            if let Ok(state) = self.runtime.inspect(id).await {
                if !state.network_bindings.is_empty() {
                    change["networkBindings"] = bindings_json(&state.network_bindings);
                }
                // Fargate: the container's address on the task's own network.
                if self.fargate
                    && let Some(ip) = task_ip
                        .as_ref()
                        .or_else(|| state.ip_addresses.get(&network))
                {
                    change["networkInterfaces"] = json!([{ "privateIpv4Address": ip }]);
                }
            }
            running.push(change);
        }
        if stopping {
            self.stop_all(&ids);
        } else {
            tracing::info!(task = %task_arn, "running");
            self.task_change(json!({ "status": "RUNNING", "containers": running }))
                .await;
            tracing::debug!(task = %task_arn, "running reported");
        }

        // Wait for every container to exit; an essential exit or a stop order stops the rest.
        let mut waits: JoinSet<(String, Result<i64, RuntimeError>)> = JoinSet::new();
        for c in &self.task.containers {
            if exited.contains_key(&c.name) || !started_at.contains_key(&c.name) {
                continue;
            }
            if let Some(id) = ids.get(&c.name) {
                let rt = self.runtime.clone();
                let (name, id) = (c.name.clone(), id.clone());
                waits.spawn(async move { (name, wait_exit(rt.as_ref(), &id).await) });
            }
        }
        let mut pending_exits: Vec<(String, i64)> = exited.into_iter().collect();
        // Docker's health checks, watched while the task runs.
        let checked: Vec<String> = started_at
            .keys()
            .filter(|n| self.health_checked(n))
            .cloned()
            .collect();
        let mut health_tick = tokio::time::interval(HEALTH_WATCH_INTERVAL);
        loop {
            for (name, code) in pending_exits.drain(..) {
                tracing::info!(task = %task_arn, container = %name, exit_code = code, "container exited");
                self.container_change(&name, json!({ "status": "STOPPED", "exitCode": code }))
                    .await;
                let essential = self
                    .task
                    .containers
                    .iter()
                    .any(|c| c.name == name && c.definition.is_essential());
                if essential && !stopping {
                    stopping = true;
                    self.stop_all(&ids);
                }
            }
            if waits.is_empty() {
                break;
            }
            tokio::select! {
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        stopping = true;
                        self.stop_all(&ids);
                    }
                }
                _ = health_tick.tick(), if !checked.is_empty() && !stopping => {
                    let states = self.inspect_named(&ids, checked.iter()).await;
                    self.report_health(&states, &mut health).await;
                }
                joined = waits.join_next() => {
                    match joined {
                        Some(Ok((name, Ok(code)))) => pending_exits.push((name, code)),
                        Some(Ok((name, Err(e)))) => {
                            // The container vanished or the daemon stayed away: its exit code
                            // is unknown. What ECS reports then is not known to berth; 137
                            // (killed) is berth's choice.
                            tracing::warn!(task = %task_arn, container = %name, error = %e, "waiting for a container");
                            pending_exits.push((name, 137));
                        }
                        Some(Err(e)) => tracing::warn!(task = %task_arn, error = %e, "a wait failed"),
                        None => {}
                    }
                }
            }
        }
        // Cleaned up before STOPPED (as Fargate deprovisions first): the containers and a
        // Fargate task's network are gone by the time the task reads STOPPED.
        let stopped_at = epoch_now();
        crate::endpoint::execution_stopped(&task_arn, stopped_at);
        // The shippers send what the containers wrote last before the containers go.
        if !shippers.is_empty() {
            let drained = tokio::time::timeout(crate::awslogs::DRAIN_TIMEOUT, async {
                while shippers.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tracing::warn!(task = %task_arn, "awslogs: the containers' last output was not all sent in time");
            }
        }
        self.deprovision(&ids, pause.as_deref()).await;
        self.task_change(json!({ "status": "STOPPED", "executionStoppedAt": stopped_at }))
            .await;
        tracing::info!(task = %task_arn, "stopped");
    }

    /// A Fargate task's pause container, before its containers are made: the one an earlier
    /// run left (started again if it is not running), else a new one on the task's network,
    /// started at once (a container can only join a running one's namespace). None is made
    /// when the runtime has no pause image (containers then join the task's network
    /// themselves), nor for a task whose adopted containers run without one.
    async fn provision_pause(
        &self,
        pause: &mut Option<String>,
        adopted_running: Option<bool>,
        existing: &HashMap<String, ContainerState>,
    ) -> Result<(), RuntimeError> {
        if let Some(id) = pause.as_deref() {
            if adopted_running == Some(false) {
                self.runtime.start(id).await?;
            }
            return Ok(());
        }
        if !existing.is_empty() {
            return Ok(());
        }
        let Some(image) = self.runtime.ensure_pause_image().await? else {
            return Ok(());
        };
        let spec = pause_container_spec(&self.task, &self.cluster, &image);
        let id = self.runtime.create(&spec).await?;
        *pause = Some(id.clone());
        self.runtime.start(&id).await
    }

    /// Whether the task's container `name` has a health check.
    fn health_checked(&self, name: &str) -> bool {
        self.task
            .containers
            .iter()
            .any(|c| c.name == name && crate::settings::health_check(&c.definition).is_some())
    }

    fn is_essential(&self, name: &str) -> bool {
        self.task
            .containers
            .iter()
            .any(|c| c.name == name && c.definition.is_essential())
    }

    /// The runtime's view of the named containers (those it cannot inspect are left out).
    async fn inspect_named<'n>(
        &self,
        ids: &HashMap<String, String>,
        names: impl Iterator<Item = &'n String>,
    ) -> HashMap<String, ContainerState> {
        let mut out = HashMap::new();
        for name in names {
            if let Some(id) = ids.get(name)
                && let Ok(state) = self.runtime.inspect(id).await
            {
                out.insert(name.clone(), state);
            }
        }
        out
    }

    /// Reports the health of the containers with a health check whose health changed since it
    /// was last reported (`last`).
    async fn report_health(
        &self,
        states: &HashMap<String, ContainerState>,
        last: &mut HashMap<String, String>,
    ) {
        for (name, state) in states {
            if !self.health_checked(name) || !state.running {
                continue;
            }
            let now = state.health.clone().unwrap_or_else(|| "UNKNOWN".into());
            if last.get(name) == Some(&now) {
                continue;
            }
            tracing::info!(task = %self.task.task_arn, container = %name, health = %now, "container health");
            self.container_change(name, json!({ "healthStatus": now }))
                .await;
            last.insert(name.clone(), now);
        }
    }

    /// Starts the `pending` containers (in order) as their dependencies allow, as the ECS
    /// agent does: a container waits until each `dependsOn` condition is met; one whose
    /// dependency can no longer be met is reported STOPPED (exit code 143, the agent's words)
    /// and never starts. Returns whether the task must stop (an essential container exited or
    /// cannot start, or a stop order came); `Err((reason, container))` when Docker refused a
    /// start.
    async fn start_containers(
        &self,
        mut pending: Vec<&AgentContainer>,
        ids: &HashMap<String, String>,
        started_at: &mut HashMap<String, tokio::time::Instant>,
        exited: &mut HashMap<String, i64>,
        health: &mut HashMap<String, String>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, (String, String)> {
        use crate::depends::{DEPENDENCY_EXIT_CODE, Decision, DepState, Dependency, decide};
        let mut never: HashSet<String> = HashSet::new();
        loop {
            let waiting_on_others = pending.iter().any(|c| {
                !crate::settings::depends_on(&c.definition).is_empty()
                    || !crate::settings::started_after(&c.definition).is_empty()
            });
            let states = if waiting_on_others {
                let names: Vec<String> = started_at
                    .keys()
                    .filter(|n| !exited.contains_key(*n))
                    .cloned()
                    .collect();
                self.inspect_named(ids, names.iter()).await
            } else {
                HashMap::new()
            };
            self.report_health(&states, health).await;
            for (name, s) in &states {
                if let Some(code) = s.exit_code {
                    exited.entry(name.clone()).or_insert(code);
                }
            }
            if exited.keys().any(|n| self.is_essential(n)) || *stop.borrow() {
                return Ok(true);
            }
            let mut progressed = false;
            let mut still: Vec<&AgentContainer> = Vec::new();
            for c in pending.drain(..) {
                let definition = |n: &str| self.task.containers.iter().find(|d| d.name == n);
                let mut wanted: Vec<(String, String)> =
                    crate::settings::started_after(&c.definition)
                        .into_iter()
                        .filter(|n| ids.contains_key(n))
                        .map(|n| (n, "START".to_string()))
                        .collect();
                wanted.extend(crate::settings::depends_on(&c.definition));
                let images: Vec<String> = wanted
                    .iter()
                    .map(|(n, _)| {
                        definition(n)
                            .and_then(|d| d.definition.image.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                let deps: Vec<Dependency<'_>> = wanted
                    .iter()
                    .zip(&images)
                    .map(|((name, condition), image)| {
                        let state = if never.contains(name) {
                            DepState::NeverStarts
                        } else if let Some(code) = exited.get(name) {
                            DepState::Stopped { exit_code: *code }
                        } else if let Some(s) = states.get(name) {
                            DepState::Running {
                                health: s.health.clone(),
                            }
                        } else if started_at.contains_key(name) {
                            DepState::Running { health: None }
                        } else {
                            DepState::Created
                        };
                        Dependency {
                            name,
                            image,
                            condition,
                            state,
                            start_timeout: definition(name)
                                .and_then(|d| d.definition.extra.get("startTimeout"))
                                .and_then(Value::as_u64)
                                .map(Duration::from_secs),
                            since_started: started_at.get(name).map(|t| t.elapsed()),
                        }
                    })
                    .collect();
                let image = c.definition.image.clone().unwrap_or_default();
                match decide(&c.name, &image, &deps) {
                    Decision::Wait => still.push(c),
                    Decision::Start => {
                        let Some(id) = ids.get(&c.name) else { continue };
                        // awslogs: the group and the stream exist before the container starts.
                        if let Some(Ok((target, create_group))) = self.awslogs_target(c, id)
                            && let Err(why) = crate::awslogs::prepare(
                                self.control.as_ref(),
                                &target,
                                create_group,
                                self.fargate,
                            )
                            .await
                        {
                            return Err((why, c.name.clone()));
                        }
                        if let Err(e) = self.runtime.start(id).await {
                            let mut why = format!("CannotStartContainerError: {e}");
                            let host = crate::settings::host_settings(&self.task, &c.definition);
                            if let Some(more) = crate::caps::explain_start_failure(
                                &why,
                                host.privileged,
                                &host.cap_add,
                                &crate::caps::missing_on_this_host(),
                            ) {
                                why = format!("{why} ({more})");
                            }
                            return Err((why, c.name.clone()));
                        }
                        started_at.insert(c.name.clone(), tokio::time::Instant::now());
                        progressed = true;
                    }
                    Decision::Fail(words) => {
                        let reason = format!("CannotStartContainerError: {words}");
                        tracing::warn!(task = %self.task.task_arn, container = %c.name, reason = %reason, "container cannot start");
                        never.insert(c.name.clone());
                        self.container_change(
                            &c.name,
                            json!({
                                "status": "STOPPED",
                                "exitCode": DEPENDENCY_EXIT_CODE,
                                "reason": reason,
                            }),
                        )
                        .await;
                        progressed = true;
                        if self.is_essential(&c.name) {
                            return Ok(true);
                        }
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                return Ok(false);
            }
            if !progressed {
                tokio::select! {
                    changed = stop.changed() => {
                        if changed.is_err() {
                            return Ok(true);
                        }
                    }
                    _ = tokio::time::sleep(DEPENDENCY_POLL_INTERVAL) => {}
                }
            }
        }
    }

    /// Stops every container of the task (SIGTERM, SIGKILL after its stopTimeout), in the
    /// background: the waits see them exit.
    fn stop_all(&self, ids: &HashMap<String, String>) {
        for c in &self.task.containers {
            let Some(id) = ids.get(&c.name).cloned() else {
                continue;
            };
            let rt = self.runtime.clone();
            let timeout = stop_timeout(c);
            tokio::spawn(async move {
                let stopped =
                    while_unreachable("stopping a container", || rt.stop(&id, timeout)).await;
                if let Err(e) = stopped {
                    tracing::warn!(container = %id, error = %e, "stopping a container");
                }
            });
        }
    }
}

/// The agent: one container instance on one runtime.
pub struct Agent<R, C> {
    runtime: Arc<R>,
    control: Arc<C>,
    cfg: AgentConfig,
}

impl<R: ContainerRuntime, C: ControlPlane> Agent<R, C> {
    pub fn new(runtime: Arc<R>, control: Arc<C>, cfg: AgentConfig) -> Agent<R, C> {
        Agent {
            runtime,
            control,
            cfg,
        }
    }

    /// Registers the container instance (again, under its previous ARN, when containers of
    /// an earlier run of this agent are still there) and returns its ARN.
    pub async fn register(&self, previous: Option<&str>) -> Result<String, AgentError> {
        let ci = self
            .control
            .register(registration(&self.cfg, previous))
            .await
            .map_err(AgentError::Register)?;
        ci.get("containerInstanceArn")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                AgentError::Register(ApiError::Transport(
                    "RegisterContainerInstance answered without containerInstanceArn".into(),
                ))
            })
    }

    /// The container instance an earlier run of this agent registered, from the labels of
    /// the containers it left.
    pub async fn previous_instance(&self) -> Result<Option<String>, AgentError> {
        let found = self
            .runtime
            .list_by_label(LABEL_CLUSTER, Some(&self.cfg.cluster))
            .await
            .map_err(AgentError::Runtime)?;
        Ok(found
            .into_iter()
            .find_map(|c| c.labels.get(LABEL_INSTANCE).cloned()))
    }

    /// Removes what a finished task left behind: containers of this instance, not running,
    /// whose run by this process is over (its cleanup failed, e.g. the daemon was away
    /// for longer than [`DAEMON_OUTAGE_LIMIT`]). Tasks being run, and containers of tasks this
    /// process never ran (adopted or stopped through the poll), are not touched.
    async fn sweep(
        &self,
        instance_arn: &str,
        running: &HashMap<String, Running>,
        ran: &HashSet<String>,
    ) {
        let list = match self
            .runtime
            .list_by_label(LABEL_INSTANCE, Some(instance_arn))
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "sweep: listing containers");
                return;
            }
        };
        for c in list {
            let Some(task) = c.labels.get(LABEL_TASK_ARN) else {
                continue;
            };
            if c.running || running.contains_key(task) || !ran.contains(task) {
                continue;
            }
            tracing::info!(task = %task, container = %c.id, "sweep: removing a finished task's container");
            if let Err(e) = self.runtime.remove(&c.id).await {
                tracing::warn!(container = %c.id, error = %e, "removing a container");
            }
        }
    }

    /// Registers, then polls and runs tasks until `shutdown` completes. Running containers
    /// are left running on shutdown (the next start adopts them).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
        let remembered = self
            .cfg
            .instance_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        // The instance this agent remembers comes first: containers with the cluster's label
        // may be another agent's on a shared Docker host.
        let previous = match remembered {
            Some(r) => Some(r),
            None => self.previous_instance().await?,
        };
        tokio::pin!(shutdown);
        // The control plane may not answer yet: transport failures are retried, refusals
        // are not.
        let mut delay = Duration::from_secs(1);
        let instance_arn = loop {
            match self.register(previous.as_deref()).await {
                Ok(arn) => break arn,
                Err(AgentError::Register(e @ ApiError::Transport(_))) => {
                    tracing::warn!(error = %e, "registering the container instance; retrying");
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(f) = &self.cfg.instance_file
            && let Err(e) = std::fs::write(f, format!("{instance_arn}\n"))
        {
            tracing::warn!(path = %f.display(), error = %e, "remembering the container instance");
        }
        tracing::info!(container_instance = %instance_arn, cluster = %self.cfg.cluster, external = self.cfg.external, "agent registered");
        let capacity = Instance {
            agent: &self,
            instance_arn,
            last_sweep: tokio::time::Instant::now(),
        };
        supervise(capacity, shutdown).await;
        Ok(())
    }
}

/// The agent's registered container instance, as the capacity whose tasks it runs.
struct Instance<'a, R, C> {
    agent: &'a Agent<R, C>,
    instance_arn: String,
    last_sweep: tokio::time::Instant,
}

impl<R: ContainerRuntime, C: ControlPlane> Capacity for Instance<'_, R, C> {
    type Runtime = R;
    type Control = C;

    const MIN_POLL_INTERVAL: Option<Duration> = None;

    fn runtime(&self) -> &Arc<R> {
        &self.agent.runtime
    }

    fn control(&self) -> &Arc<C> {
        &self.agent.control
    }

    async fn poll(&self, seq: Option<u64>) -> Result<Orders, ApiError> {
        let poll = self
            .agent
            .control
            .poll(&self.agent.cfg.cluster, &self.instance_arn, seq)
            .await?;
        Ok(Orders {
            seq: poll.seq,
            tasks_to_start: poll.tasks_to_start,
            tasks_to_stop: poll.tasks_to_stop.into_iter().map(|o| o.task_arn).collect(),
        })
    }

    fn task_run(&self, task: AgentTask) -> TaskRun<R, C> {
        TaskRun {
            runtime: self.agent.runtime.clone(),
            control: self.agent.control.clone(),
            cluster: self.agent.cfg.cluster.clone(),
            instance_arn: self.instance_arn.clone(),
            task,
            engine_auth: self.agent.cfg.engine_auth.current(),
            fargate: false,
        }
    }

    fn leftover(&self, _task_arn: &str) -> Leftover {
        Leftover {
            cluster: self.agent.cfg.cluster.clone(),
            instance_arn: Some(self.instance_arn.clone()),
        }
    }

    async fn after_poll(&mut self, runs: &Runs) {
        if self.last_sweep.elapsed() >= SWEEP_INTERVAL {
            self.last_sweep = tokio::time::Instant::now();
            self.agent
                .sweep(&self.instance_arn, &runs.running, &runs.ran)
                .await;
        }
    }

    fn log(&self, event: Event<'_>) {
        match event {
            Event::PollFailed(e) => tracing::warn!(error = %e, "poll failed"),
            Event::Starting(task) => tracing::info!(task = %task, "starting task"),
            Event::Stopping(task) => tracing::info!(task = %task, "stopping task"),
            Event::ShuttingDown => {
                tracing::info!("agent stopping; running containers are left to the next start");
            }
        }
    }
}

/// Stops and removes the containers of a task this process does not run, and reports the
/// task stopped. `instance_arn`: the agent's; `None` for berth's Fargate runner, which also
/// removes the task's network.
pub(crate) async fn stop_leftover<R: ContainerRuntime, C: TaskControl>(
    runtime: Arc<R>,
    control: Arc<C>,
    cluster: &str,
    instance_arn: Option<&str>,
    task_arn: &str,
) {
    let mut containers = while_unreachable("listing a task's containers", || {
        runtime.list_by_label(LABEL_TASK_ARN, Some(task_arn))
    })
    .await
    .unwrap_or_default();
    // The pause container last: the others use its network namespace. It is not stopped but
    // removed (killed): it only holds the namespace.
    containers.sort_by_key(|c| c.labels.contains_key(LABEL_PAUSE));
    let mut reported = Vec::new();
    for c in containers {
        if c.labels.contains_key(LABEL_PAUSE) {
            remove_container(runtime.as_ref(), &c.id).await;
            continue;
        }
        if c.running
            && let Err(e) = while_unreachable("stopping a container", || {
                runtime.stop(&c.id, DEFAULT_STOP_TIMEOUT)
            })
            .await
        {
            tracing::warn!(container = %c.id, error = %e, "stopping a container");
        }
        let code = runtime.inspect(&c.id).await.ok().and_then(|s| s.exit_code);
        if let Some(name) = c.labels.get(LABEL_CONTAINER_NAME) {
            let mut change = json!({ "containerName": name, "status": "STOPPED" });
            if let Some(code) = code {
                change["exitCode"] = json!(code);
            }
            reported.push(change);
        }
        remove_container(runtime.as_ref(), &c.id).await;
    }
    // The task's own Docker volumes go with it (shared ones carry no task label).
    let volumes = runtime
        .volumes_by_label(crate::settings::LABEL_VOLUME_TASK, task_arn)
        .await
        .unwrap_or_default();
    for v in volumes {
        if let Err(e) = runtime.remove_volume(&v).await {
            tracing::warn!(volume = %v, error = %e, "removing a task volume");
        }
    }
    let mut input = json!({
        "cluster": cluster,
        "task": task_arn,
        "status": "STOPPED",
        "containers": reported,
        "executionStoppedAt": epoch_now(),
    });
    match instance_arn {
        Some(arn) => input["containerInstance"] = json!(arn),
        None => {
            let name = task_network_name(task_arn);
            let removed =
                while_unreachable("removing a task network", || runtime.remove_network(&name))
                    .await;
            if let Err(e) = removed {
                tracing::warn!(network = %name, error = %e, "removing a task network");
            }
        }
    }
    report("task state change", task_arn, || {
        control.submit_task_state_change(input.clone())
    })
    .await;
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
