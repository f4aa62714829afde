//! The container runtime the agent drives, as a trait (Docker Engine is the one real
//! implementation, in [`crate::docker`]; tests use their own).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use berth_ecs::asm::RegistryAuth;

/// Labels that tie a container to its task, as the ECS agent sets them.
pub const LABEL_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
pub const LABEL_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const LABEL_CLUSTER: &str = "com.amazonaws.ecs.cluster";
pub const LABEL_TASK_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const LABEL_TASK_REVISION: &str = "com.amazonaws.ecs.task-definition-version";
/// berth's own label: the container instance whose agent made the container.
pub const LABEL_INSTANCE: &str = "berth.container-instance-arn";
/// berth's own label on the containers and networks of its Fargate runner: `FARGATE`.
pub const LABEL_LAUNCH_TYPE: &str = "berth.launch-type";
/// berth's own label on a Fargate task's pause container (`true`), the container that owns
/// the task's network namespace. It has the task's label but no container name.
pub const LABEL_PAUSE: &str = "berth.pause";

/// A container port published on the host (`host_port` 0: one the daemon picks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub container_port: u16,
    pub host_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A published port as it turned out, as ECS reports it in `networkBindings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkBinding {
    pub bind_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub protocol: String,
}

/// What a container is created with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The Docker container name.
    pub name: String,
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    /// `NAME=value` pairs.
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    /// Hard memory limit, MiB.
    pub memory_mib: Option<i64>,
    /// Soft memory limit, MiB.
    pub memory_reservation_mib: Option<i64>,
    /// CPU shares (ECS `cpu` units).
    pub cpu_shares: Option<i64>,
    /// The log driver and its options (the daemon's default when `None`).
    pub log_config: Option<LogConfig>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    pub port_mappings: Vec<PortMapping>,
    /// A user-defined network to attach to (the container's name is its alias there); the
    /// daemon's default bridge when `None`.
    pub network: Option<String>,
    /// Join this container's network namespace (Docker's `container:<id>` network mode, a
    /// Fargate task's pause container) instead: `network` and `port_mappings` are not used.
    pub network_container: Option<String>,
    /// The container definition's Linux and Docker settings, volumes included.
    pub host: HostSettings,
}

/// A `ulimits` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// A `linuxParameters.devices` entry: host path, container path, cgroup permissions (`rwm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host_path: String,
    pub container_path: String,
    pub permissions: String,
}

/// The Linux and Docker settings of a container definition, as the ECS agent hands them to
/// Docker (names in the comments are the definition's members).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// `links`: `<docker name of the linked container>:<alias>`.
    pub links: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    /// `linuxParameters.capabilities.add` / `.drop`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub devices: Vec<Device>,
    /// `linuxParameters.initProcessEnabled`.
    pub init: Option<bool>,
    /// `linuxParameters.sharedMemorySize`, MiB.
    pub shm_size_mib: Option<i64>,
    /// `linuxParameters.tmpfs`: container path and Docker's tmpfs options (`size=64m,...`).
    pub tmpfs: Vec<(String, String)>,
    /// `linuxParameters.maxSwap`, MiB (0: no swap).
    pub max_swap_mib: Option<i64>,
    /// `linuxParameters.swappiness`.
    pub swappiness: Option<i64>,
    pub readonly_rootfs: bool,
    pub privileged: bool,
    /// `extraHosts`: `hostname:ip`.
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub hostname: Option<String>,
    /// Docker's PID and IPC modes (`host`, `container:<name>`, `shareable`, `none`).
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    /// The task's `pidMode` is `task`: joined to a pause container, the container takes the
    /// pause container's PID namespace.
    pub pid_task: bool,
    /// `systemControls`: namespace and value.
    pub sysctls: Vec<(String, String)>,
    pub security_opt: Vec<String>,
    /// `pseudoTerminal`, `interactive`.
    pub tty: bool,
    pub open_stdin: bool,
    /// `disableNetworking`.
    pub network_disabled: bool,
    /// `stopTimeout`, seconds: also Docker's own stop timeout for the container.
    pub stop_timeout: Option<i64>,
    /// Bind mounts and named volumes: `source:target[:ro]`.
    pub binds: Vec<String>,
    /// `volumesFrom`: `<docker name>[:ro]`.
    pub volumes_from: Vec<String>,
    /// `healthCheck`: Docker's own health check.
    pub health_check: Option<HealthCheck>,
    /// Fargate's ephemeral storage, GiB (`ephemeralStorage.sizeInGiB`, 20 by default): the
    /// container's writable layer is limited to it where the daemon's storage driver can
    /// (`overlay2` over xfs with project quotas); elsewhere it is not enforced.
    pub storage_size_gib: Option<i64>,
}

/// A container's health check as Docker runs it (`healthCheck`, with ECS's defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Docker's test: `CMD ...` or `CMD-SHELL ...`, as the definition gives it.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: i64,
    pub start_period: Duration,
}

/// One entry of a container's output as Docker keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When Docker received it, nanoseconds since the epoch.
    pub nanos: i128,
    /// The text without its line end.
    pub text: String,
}

/// A Docker volume a task's container mounts (`dockerVolumeConfiguration`, or an empty
/// `host`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: HashMap<String, String>,
    pub labels: HashMap<String, String>,
}

/// A container's log driver (`logConfiguration.logDriver`) and its options (`options`, and
/// the values of `secretOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: String,
    pub options: HashMap<String, String>,
}

/// A container as the runtime sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub id: String,
    pub running: bool,
    /// Set once the container has exited.
    pub exit_code: Option<i64>,
    /// Whether it has ever been started.
    pub started: bool,
    pub labels: HashMap<String, String>,
    /// Published ports while it runs.
    pub network_bindings: Vec<NetworkBinding>,
    /// Its IPv4 address on each network it is attached to, by network name, while it runs.
    pub ip_addresses: HashMap<String, String>,
    /// Its health as ECS names it (`HEALTHY`, `UNHEALTHY`; `UNKNOWN` while Docker's check is
    /// starting); `None` without a health check.
    pub health: Option<String>,
}

/// Why a runtime call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The daemon refused or failed the pull; the text is the daemon's.
    #[error("{0}")]
    Pull(String),
    /// No such container.
    #[error("no such container: {0}")]
    NotFound(String),
    /// The daemon cannot be reached (not listening, gone mid-request: a restart); the call
    /// may succeed once it is back.
    #[error("docker cannot be reached: {0}")]
    Unavailable(String),
    /// Any other failure, with the daemon's or the transport's text.
    #[error("{0}")]
    Other(String),
}

/// A container runtime: pull, create, start, inspect, wait, stop, remove, list by label.
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Pulls `image`, with registry credentials when given (held only for this call).
    fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Creates a container; returns its id.
    fn create(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = Result<String, RuntimeError>> + Send;

    fn start(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    fn inspect(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<ContainerState, RuntimeError>> + Send;

    /// Waits until the container is not running; returns its exit code.
    fn wait(&self, id: &str) -> impl Future<Output = Result<i64, RuntimeError>> + Send;

    /// SIGTERM, then SIGKILL after `timeout`.
    fn stop(
        &self,
        id: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    fn remove(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Creates a user-defined bridge network `name` (an existing one is fine).
    fn create_network(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Removes network `name` (a missing one is fine).
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Makes sure the image of Fargate's pause container is there, building it locally when
    /// it is not (nothing is pulled); returns its reference. `None`: it cannot be built here
    /// (the runtime has logged why, once), and tasks go without a pause container.
    fn ensure_pause_image(
        &self,
    ) -> impl Future<Output = Result<Option<String>, RuntimeError>> + Send;

    /// Creates a Docker volume (an existing one of that name is fine).
    fn create_volume(
        &self,
        spec: &VolumeSpec,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Whether a Docker volume of that name exists.
    fn volume_exists(&self, name: &str) -> impl Future<Output = Result<bool, RuntimeError>> + Send;

    /// Removes a Docker volume (a missing one is fine).
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// The names of the Docker volumes that carry label `key` = `value`.
    fn volumes_by_label(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<String>, RuntimeError>> + Send;

    /// The registry digest (`sha256:...`) `image` was pulled by; `None` when the runtime
    /// does not know one.
    fn image_digest(
        &self,
        _image: &str,
    ) -> impl Future<Output = Result<Option<String>, RuntimeError>> + Send {
        async { Ok(None) }
    }

    /// Follows a container's output (stdout and stderr, in Docker's order) from `since_secs`
    /// (Unix seconds; 0: from the start): every entry, then new ones as they come, until the
    /// container has stopped and everything is read (the channel closes) or the stream breaks
    /// (an `Err`, then the channel closes).
    fn follow_logs(
        &self,
        id: &str,
        since_secs: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<LogLine, RuntimeError>>;

    /// Every container (running or not) that carries label `key` (= `value` when given).
    fn list_by_label(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ContainerState>, RuntimeError>> + Send;
}
