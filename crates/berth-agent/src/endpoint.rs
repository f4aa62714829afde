//! The task endpoint on `169.254.170.2`, as the ECS agent serves it to task containers:
//!
//! - `GET /v2/credentials/<id>`: the task role's credentials (`RoleArn`, `AccessKeyId`,
//!   `SecretAccessKey`, `Token`, `Expiration`), the id being the task's
//!   `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`; an unknown id answers 400
//!   `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found"}`
//!   as the ECS agent's handler does, and so does a request from an address that is not one of
//!   the task's containers' (where the network tells: bridge and task networks);
//! - `GET /v4/<id>`, `/v4/<id>/task`, `/v4/<id>/stats`, `/v4/<id>/task/stats` (and the same
//!   under `/v3/`): the task metadata endpoint, from the task's payload and Docker's inspect
//!   and stats, for the task's own containers only;
//! - on a second port, the AWS API of berth: bytes forwarded unchanged to the server, so a
//!   container's SDK signs the Host it sends (`169.254.170.2:<port>`) and berth verifies
//!   exactly that (`AWS_ENDPOINT_URL`).
//!
//! What the endpoint knows lives in one registry per process (the address is one per host):
//! the runs register their tasks and containers, each poll brings the task role's current
//! credentials, and a task's entry goes when its run ends. [`start`] makes the address (see
//! [`crate::hostnet`]) and serves; until it is called, containers get no endpoint variables.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, OnceLock};

use berth_ecs::{AgentTask, RoleCredentials};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::docker::DockerRuntime;
use crate::hostnet::{self, HostNet};
use crate::runtime::ContainerSpec;

/// The port the credentials and metadata endpoints listen on (the SDKs' default).
pub const ENDPOINT_PORT: u16 = 80;

/// The variables the agent gives every container, unless its definition sets them.
pub const CREDENTIALS_URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
pub const CREDENTIALS_FULL_URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const METADATA_URI_VAR: &str = "ECS_CONTAINER_METADATA_URI";
pub const METADATA_URI_V4_VAR: &str = "ECS_CONTAINER_METADATA_URI_V4";
pub const ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL";
pub const EXECUTION_ENV_VAR: &str = "AWS_EXECUTION_ENV";

/// Whether the endpoint serves on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Availability {
    /// [`start`] was not called (the library in tests): no variables, no refusals.
    NotStarted,
    /// Serving on `169.254.170.2:port`; `api` is the `AWS_ENDPOINT_URL` of the API proxy
    /// when it runs.
    Serving { port: u16, api: Option<String> },
    /// It could not be set up: why, and the fix.
    Unavailable(String),
}

/// One container of a registered task.
#[derive(Debug, Clone, Default)]
struct ContainerEntry {
    name: String,
    /// The container's metadata id (`/v4/<id>`).
    metadata_id: Option<String>,
    docker_id: Option<String>,
}

/// One task run by this process.
#[derive(Debug, Clone)]
struct TaskEntry {
    /// The payload as last polled, without the execution role's credentials.
    task: AgentTask,
    fargate: bool,
    containers: Vec<ContainerEntry>,
    pull_started_at: Option<f64>,
    pull_stopped_at: Option<f64>,
    /// When the task's containers stopped (the task metadata's `ExecutionStoppedAt`).
    execution_stopped_at: Option<f64>,
    /// The last network sample of each container (`network_rate_stats`): when, and its
    /// received and sent bytes.
    net_samples: HashMap<String, (std::time::Instant, (u64, u64))>,
}

struct Registry {
    availability: Availability,
    tasks: HashMap<String, TaskEntry>,
    /// The Docker Engine the endpoint reads (set by [`start`]).
    docker: Option<DockerRuntime>,
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            Mutex::new(Registry {
                availability: Availability::NotStarted,
                tasks: HashMap::new(),
                docker: None,
            })
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn trimmed(task: &AgentTask) -> AgentTask {
    let mut t = task.clone();
    t.execution_role_credentials = None;
    for c in &mut t.containers {
        c.secrets.clear();
        c.registry_authentication = None;
    }
    t
}

/// A registered task: its entry goes when this is dropped (the task's run ended).
#[derive(Debug)]
pub struct TaskRegistration {
    task_arn: String,
}

impl Drop for TaskRegistration {
    fn drop(&mut self) {
        registry().tasks.remove(&self.task_arn);
    }
}

/// Registers a task whose run starts (its credentials served from now on).
pub fn register_task(task: &AgentTask, fargate: bool) -> TaskRegistration {
    let entry = TaskEntry {
        task: trimmed(task),
        fargate,
        containers: task
            .containers
            .iter()
            .map(|c| ContainerEntry {
                name: c.name.clone(),
                ..Default::default()
            })
            .collect(),
        pull_started_at: None,
        pull_stopped_at: None,
        execution_stopped_at: None,
        net_samples: HashMap::new(),
    };
    registry().tasks.insert(task.task_arn.clone(), entry);
    TaskRegistration {
        task_arn: task.task_arn.clone(),
    }
}

/// A poll's payload for a task: its current role credentials and statuses replace the held
/// ones (credentials the poll does not bring are kept).
pub fn refresh(task: &AgentTask) {
    let mut reg = registry();
    if let Some(entry) = reg.tasks.get_mut(&task.task_arn) {
        let held = entry.task.role_credentials.take();
        entry.task = trimmed(task);
        if entry.task.role_credentials.is_none() {
            entry.task.role_credentials = held;
        }
    }
}

/// Whether the endpoint serves on this host.
pub fn serving() -> bool {
    matches!(registry().availability, Availability::Serving { .. })
}

/// Why `task` cannot run here: it has a task role and the endpoint that serves the role's
/// credentials could not be set up on this host.
pub fn missing_for(task: &AgentTask) -> Option<String> {
    task.task_role_arn.as_ref()?;
    match &registry().availability {
        Availability::Unavailable(why) => Some(format!(
            "CannotStartContainerError: the task role's credentials cannot be served on this host: {why}"
        )),
        _ => None,
    }
}

/// A fresh 128-bit id written like a UUID.
fn random_id() -> String {
    let mut b = [0u8; 16];
    berth_core::ids::random_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |a: usize, z: usize| hex.get(a..z).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

fn has_var(env: &[String], name: &str) -> bool {
    env.iter()
        .any(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == name)
}

/// The endpoint's variables for container `name` of `task`, added to `spec` where its
/// definition does not set them: the credentials URI (a task role), the metadata URIs, the
/// API's URL and `AWS_EXECUTION_ENV`; Fargate's containers also get the task's region.
pub fn prepare_container(task: &AgentTask, name: &str, fargate: bool, spec: &mut ContainerSpec) {
    let mut reg = registry();
    let (port, api) = match &reg.availability {
        Availability::Serving { port, api } => (*port, api.clone()),
        _ => return,
    };
    let metadata_id = random_id();
    if let Some(c) = reg
        .tasks
        .get_mut(&task.task_arn)
        .and_then(|t| t.containers.iter_mut().find(|c| c.name == name))
    {
        c.metadata_id = Some(metadata_id.clone());
    }
    let host = if port == ENDPOINT_PORT {
        hostnet::ADDRESS.to_string()
    } else {
        format!("{}:{port}", hostnet::ADDRESS)
    };
    let mut vars: Vec<(&str, String)> = vec![
        (METADATA_URI_VAR, format!("http://{host}/v3/{metadata_id}")),
        (
            METADATA_URI_V4_VAR,
            format!("http://{host}/v4/{metadata_id}"),
        ),
        (
            EXECUTION_ENV_VAR,
            if fargate {
                "AWS_ECS_FARGATE"
            } else {
                "AWS_ECS_EC2"
            }
            .to_string(),
        ),
    ];
    if let Some(creds) = &task.role_credentials {
        let uri = format!("/v2/credentials/{}", creds.credentials_id);
        // Another process serves port 80: the SDKs also take the full URI on 169.254.170.2.
        if port == ENDPOINT_PORT {
            vars.push((CREDENTIALS_URI_VAR, uri));
        } else if !has_var(&spec.env, CREDENTIALS_URI_VAR) {
            vars.push((CREDENTIALS_FULL_URI_VAR, format!("http://{host}{uri}")));
        }
    }
    if let Some(url) = api {
        vars.push((ENDPOINT_URL_VAR, url));
    }
    if fargate && let Some(region) = task.task_arn.split(':').nth(3) {
        vars.push(("AWS_REGION", region.to_string()));
        vars.push(("AWS_DEFAULT_REGION", region.to_string()));
    }
    for (k, v) in vars {
        if !has_var(&spec.env, k) {
            spec.env.push(format!("{k}={v}"));
        }
    }
}

/// Container `name` of the task was created (or adopted) as `docker_id`.
pub fn container_created(task_arn: &str, name: &str, docker_id: &str) {
    let mut reg = registry();
    if let Some(c) = reg
        .tasks
        .get_mut(task_arn)
        .and_then(|t| t.containers.iter_mut().find(|c| c.name == name))
    {
        c.docker_id = Some(docker_id.to_string());
    }
}

/// Container `name` of the task, made by an earlier run of this agent, is adopted as
/// `docker_id`: its metadata id is read back from the variables it was created with.
pub fn container_adopted(task_arn: &str, name: &str, docker_id: &str) {
    container_created(task_arn, name, docker_id);
    let Some(docker) = registry().docker.clone() else {
        return;
    };
    let (task_arn, name, docker_id) = (
        task_arn.to_string(),
        name.to_string(),
        docker_id.to_string(),
    );
    tokio::spawn(async move {
        let Ok(doc) = docker
            .get_json(&format!("/containers/{}/json", path_escape(&docker_id)))
            .await
        else {
            return;
        };
        let prefix = format!("{METADATA_URI_V4_VAR}=");
        let id = doc
            .pointer("/Config/Env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|kv| kv.strip_prefix(prefix.as_str()))
            .and_then(|uri| uri.rsplit_once("/v4/"))
            .map(|(_, id)| id.to_string());
        if let Some(id) = id
            && let Some(c) = registry()
                .tasks
                .get_mut(&task_arn)
                .and_then(|t| t.containers.iter_mut().find(|c| c.name == name))
        {
            c.metadata_id = Some(id);
        }
    });
}

/// The task's images were pulled between these times (seconds since the epoch).
pub fn pulled(task_arn: &str, started: f64, stopped: f64) {
    if let Some(t) = registry().tasks.get_mut(task_arn) {
        t.pull_started_at = Some(started);
        t.pull_stopped_at = Some(stopped);
    }
}

/// The task's containers have stopped (seconds since the epoch).
pub fn execution_stopped(task_arn: &str, at: f64) {
    if let Some(t) = registry().tasks.get_mut(task_arn) {
        t.execution_stopped_at.get_or_insert(at);
    }
}

/// `s` with the characters that may not stand in a URL path segment %-escaped.
pub(crate) fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- serving -------------------------------------------------------------------------------

/// The endpoint as started: the host network berth added, and the servers' tasks.
pub struct EndpointHandle {
    hostnet: Option<HostNet>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The ports this process listens on at 169.254.170.2 (not another berth's).
    ports: Vec<u16>,
}

impl EndpointHandle {
    /// Stops serving and removes what berth added to the host's network (and only that).
    pub fn close(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(h) = self.hostnet.take() {
            h.teardown(&self.ports);
        }
    }
}

fn set_availability(a: Availability) {
    registry().availability = a;
}

/// Sets up `169.254.170.2` on this host and serves the endpoint on it, the API proxy
/// forwarding to `upstream` (berth's `host:port`; on TLS with `tls` when berth's endpoint is
/// https, the containers still speaking plain HTTP to the proxy). Without root, `ip`, or the port, the agent
/// still runs tasks: what is missing is logged once, and a task with a task role fails with
/// that reason.
pub async fn start(
    upstream: String,
    tls: Option<crate::api::Tls>,
    docker: DockerRuntime,
) -> EndpointHandle {
    let net = match HostNet::setup() {
        Ok(n) => n,
        Err(why) => {
            tracing::warn!(reason = %why, "the task endpoint 169.254.170.2 is not available: tasks with a task role fail to start; `berth doctor --host` says how to fix it");
            set_availability(Availability::Unavailable(why));
            return EndpointHandle {
                hostnet: None,
                tasks: Vec::new(),
                ports: Vec::new(),
            };
        }
    };
    let mut net = net;
    let addr = SocketAddr::new(IpAddr::V4(hostnet::ADDRESS), ENDPOINT_PORT);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => {
            // The one serving port 80 owns berth's interface, also one a killed berth left.
            net.adopt();
            l
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            // Another berth on this host serves port 80: this one serves its own tasks on a
            // port of its own (AWS_CONTAINER_CREDENTIALS_FULL_URI).
            match tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(hostnet::ADDRESS), 0))
                .await
            {
                Ok(l) => l,
                Err(e) => {
                    let why = format!("listening on {}: {e}", hostnet::ADDRESS);
                    tracing::warn!(reason = %why, "the task endpoint is not available: tasks with a task role fail to start");
                    set_availability(Availability::Unavailable(why));
                    return EndpointHandle {
                        hostnet: Some(net),
                        tasks: Vec::new(),
                        ports: Vec::new(),
                    };
                }
            }
        }
        Err(e) => {
            let why = format!("listening on {addr}: {e} (port 80 needs root)");
            tracing::warn!(reason = %why, "the task endpoint is not available: tasks with a task role fail to start");
            set_availability(Availability::Unavailable(why));
            return EndpointHandle {
                hostnet: Some(net),
                tasks: Vec::new(),
                ports: Vec::new(),
            };
        }
    };
    let port = listener.local_addr().map_or(ENDPOINT_PORT, |a| a.port());
    registry().docker = Some(docker.clone());
    let mut tasks = vec![tokio::spawn(serve(listener, docker))];
    // The API proxy listens on the server's own port number on 169.254.170.2.
    let api_port = upstream
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(4566);
    let proxy_addr = SocketAddr::new(IpAddr::V4(hostnet::ADDRESS), api_port);
    let api = match tokio::net::TcpListener::bind(proxy_addr).await {
        Ok(l) => {
            tasks.push(tokio::spawn(proxy(l, upstream.clone(), tls)));
            Some(format!("http://{proxy_addr}"))
        }
        // A server listening on every address answers there itself.
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(format!("http://{proxy_addr}")),
        Err(e) => {
            tracing::warn!(error = %e, "no API proxy on {proxy_addr}: containers get no AWS_ENDPOINT_URL");
            None
        }
    };
    tracing::info!(endpoint = %SocketAddr::new(IpAddr::V4(hostnet::ADDRESS), port), api = ?api, "task endpoint ready");
    set_availability(Availability::Serving { port, api });
    EndpointHandle {
        hostnet: Some(net),
        tasks,
        ports: vec![port, api_port],
    }
}

/// Forwards each connection's bytes to `upstream`, unchanged (inside TLS with `tls`: a
/// request's SigV4 signature covers its bytes, not the transport).
async fn proxy(listener: tokio::net::TcpListener, upstream: String, tls: Option<crate::api::Tls>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let upstream = upstream.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::net::TcpStream::connect(&upstream).await {
                Ok(mut outbound) => match &tls {
                    None => {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                    Some(tls) => match tls.connect(outbound).await {
                        Ok(mut outbound) => {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "API proxy: TLS with {upstream} failed");
                        }
                    },
                },
                Err(e) => tracing::debug!(error = %e, "API proxy: cannot reach {upstream}"),
            }
        });
    }
}

/// At most this many connections at once, each of the endpoint and of the API proxy.
const MAX_CONNECTIONS: usize = 256;
/// A request's head must arrive within this.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve(listener: tokio::net::TcpListener, docker: DockerRuntime) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let docker = docker.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let docker = docker.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&docker, peer.ip(), &req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    text_json_response(status, body.to_string())
}

fn text_json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The ECS agent's answer to a credentials id it does not hold.
fn credentials_not_found() -> Response<Full<Bytes>> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({
            "code": "InvalidIdInRequest",
            "message": "CredentialsV2Request: Credentials not found",
        }),
    )
}

async fn answer<B>(
    docker: &DockerRuntime,
    peer: IpAddr,
    req: &Request<B>,
) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::GET {
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return resp;
    }
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/v2/credentials") {
        let id = rest.trim_start_matches('/');
        if id.is_empty() {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({
                    "code": "NoIdInRequest",
                    "message": "CredentialsV2Request: No Credential ID in the request",
                }),
            );
        }
        return credentials(docker, peer, id).await;
    }
    for (prefix, version) in [("/v4/", Version::V4), ("/v3/", Version::V3)] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return metadata(docker, peer, version, rest).await;
        }
    }
    page_not_found()
}

/// The task holding credentials `id`.
fn task_by_credentials(id: &str) -> Option<TaskEntry> {
    registry()
        .tasks
        .values()
        .find(|t| {
            t.task
                .role_credentials
                .as_ref()
                .is_some_and(|c| c.credentials_id == id)
        })
        .cloned()
}

async fn credentials(docker: &DockerRuntime, peer: IpAddr, id: &str) -> Response<Full<Bytes>> {
    let Some(entry) = task_by_credentials(id) else {
        return credentials_not_found();
    };
    if !peer_is_task(docker, &entry, peer).await {
        tracing::info!(task = %entry.task.task_arn, %peer, "credentials refused: not one of the task's containers");
        return credentials_not_found();
    }
    let Some(c) = entry.task.role_credentials.as_ref() else {
        return credentials_not_found();
    };
    text_json_response(StatusCode::OK, credentials_json(c))
}

/// The credentials document, in the ECS agent's member order.
pub fn credentials_json(c: &RoleCredentials) -> String {
    let q = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"RoleArn\":{},\"AccessKeyId\":{},\"SecretAccessKey\":{},\"Token\":{},\"Expiration\":{}}}",
        q(&c.role_arn),
        q(&c.access_key_id),
        q(&c.secret_access_key),
        q(&c.session_token),
        q(&c.expiration)
    )
}

/// The addresses a container's requests come from: its own on each network, or those of the
/// container whose network it joined; `None` when the network does not tell (host mode).
async fn container_addresses(docker: &DockerRuntime, id: &str) -> Option<Vec<IpAddr>> {
    let mut doc = docker
        .get_json(&format!("/containers/{}/json", path_escape(id)))
        .await
        .ok()?;
    let mode = doc
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if mode == "host" {
        return None;
    }
    if let Some(owner) = mode.strip_prefix("container:") {
        doc = docker
            .get_json(&format!("/containers/{}/json", path_escape(owner)))
            .await
            .ok()?;
    }
    Some(
        doc.pointer("/NetworkSettings/Networks")
            .and_then(Value::as_object)
            .map(|nets| {
                nets.values()
                    .filter_map(|n| n.get("IPAddress")?.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Whether `peer` is one of the task's containers (true where the network cannot tell).
async fn peer_is_task(docker: &DockerRuntime, entry: &TaskEntry, peer: IpAddr) -> bool {
    if entry.task.network_mode.as_deref() == Some("host") {
        return true;
    }
    for c in &entry.containers {
        let Some(id) = &c.docker_id else { continue };
        match container_addresses(docker, id).await {
            None => return true,
            Some(addrs) if addrs.contains(&peer) => return true,
            Some(_) => {}
        }
    }
    false
}

/// Which task metadata endpoint a request is for: `/v3/` answers the v3 documents (the v4
/// members left out), `/v4/` the v4 ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V3,
    V4,
}

/// Which document a metadata request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doc {
    Container,
    Task,
    TaskWithTags,
    Stats,
    TaskStats,
}

/// The ECS agent's answer to a metadata id it does not know (or a request from outside the
/// task): 404 on v4, 500 on v3, with its handler's words as a JSON string.
fn lookup_failure(version: Version, what: Doc, id: &str) -> Response<Full<Bytes>> {
    let v = match version {
        Version::V3 => "V3",
        Version::V4 => "V4",
    };
    let task_arn = format!(
        "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {id}"
    );
    let docker_id = format!(
        "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {id}"
    );
    let text = match (what, version) {
        (Doc::Task | Doc::TaskWithTags, _) => format!("{v} task metadata handler: {task_arn}"),
        (Doc::Stats, Version::V4) => format!("V4 container stats handler: {docker_id}"),
        (Doc::Stats, Version::V3) => format!("V3 container stats handler: {task_arn}"),
        (Doc::TaskStats, _) => format!("{v} task stats handler: {task_arn}"),
        (Doc::Container, _) => format!("{v} container metadata handler: {docker_id}"),
    };
    let status = match version {
        Version::V4 => StatusCode::NOT_FOUND,
        Version::V3 => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_response(status, &Value::String(text))
}

fn page_not_found() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

async fn metadata(
    docker: &DockerRuntime,
    peer: IpAddr,
    version: Version,
    rest: &str,
) -> Response<Full<Bytes>> {
    let rest = rest.trim_end_matches('/');
    let (id, what) = match rest.split_once('/') {
        None => (rest, Doc::Container),
        Some((id, "task")) => (id, Doc::Task),
        Some((id, "taskWithTags")) => (id, Doc::TaskWithTags),
        Some((id, "stats")) => (id, Doc::Stats),
        Some((id, "task/stats")) => (id, Doc::TaskStats),
        Some(_) => return page_not_found(),
    };
    let found = registry().tasks.values().find_map(|t| {
        let c = t
            .containers
            .iter()
            .find(|c| c.metadata_id.as_deref() == Some(id))?;
        Some((t.clone(), c.clone()))
    });
    let Some((entry, container)) = found else {
        return lookup_failure(version, what, id);
    };
    if !peer_is_task(docker, &entry, peer).await {
        return lookup_failure(version, what, id);
    }
    match what {
        Doc::Task => json_response(
            StatusCode::OK,
            &task_json(docker, &entry, version, false).await,
        ),
        Doc::TaskWithTags => json_response(
            StatusCode::OK,
            &task_json(docker, &entry, version, true).await,
        ),
        Doc::Stats => {
            let Some(docker_id) = &container.docker_id else {
                return lookup_failure(version, what, id);
            };
            json_response(
                StatusCode::OK,
                &container_stats(docker, &entry.task.task_arn, docker_id, version).await,
            )
        }
        Doc::TaskStats => {
            let mut all = Map::new();
            for c in &entry.containers {
                if let Some(docker_id) = &c.docker_id {
                    all.insert(
                        docker_id.clone(),
                        container_stats(docker, &entry.task.task_arn, docker_id, version).await,
                    );
                }
            }
            json_response(StatusCode::OK, &Value::Object(all))
        }
        Doc::Container => json_response(
            StatusCode::OK,
            &container_json(docker, &entry, &container, version).await,
        ),
    }
}

async fn stats_json(docker: &DockerRuntime, docker_id: &str) -> Value {
    docker
        .get_json(&format!(
            "/containers/{}/stats?stream=false",
            path_escape(docker_id)
        ))
        .await
        .unwrap_or(Value::Null)
}

/// The bytes received and sent over all of a stats document's interfaces.
fn network_totals(stats: &Value) -> Option<(u64, u64)> {
    let nets = stats.get("networks")?.as_object()?;
    let sum = |key: &str| {
        nets.values()
            .filter_map(|n| n.get(key)?.as_u64())
            .fold(0u64, u64::saturating_add)
    };
    Some((sum("rx_bytes"), sum("tx_bytes")))
}

/// `network_rate_stats` between two samples of the totals, `seconds` apart.
fn network_rate(before: (u64, u64), after: (u64, u64), seconds: f64) -> Option<Value> {
    if seconds <= 0.0 || !seconds.is_finite() {
        return None;
    }
    let rate = |a: u64, b: u64| b.saturating_sub(a) as f64 / seconds;
    Some(json!({
        "rx_bytes_per_sec": rate(before.0, after.0),
        "tx_bytes_per_sec": rate(before.1, after.1),
    }))
}

/// A container's network totals now: its own interfaces, or, for a container that joined
/// another's network (a Fargate task's pause container), those of that container.
async fn network_sample(
    docker: &DockerRuntime,
    docker_id: &str,
    stats: &Value,
) -> Option<(u64, u64)> {
    if let Some(t) = network_totals(stats) {
        return Some(t);
    }
    let doc = docker
        .get_json(&format!("/containers/{}/json", path_escape(docker_id)))
        .await
        .ok()?;
    let owner = doc
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)?
        .strip_prefix("container:")?
        .to_string();
    network_totals(&stats_json(docker, &owner).await)
}

/// Docker's stats document of a container; on v4 with `network_rate_stats`, computed as the
/// ECS agent does from two samples: the one before (kept from the last request), or, on the
/// first request, a second sample taken at once.
async fn container_stats(
    docker: &DockerRuntime,
    task_arn: &str,
    docker_id: &str,
    version: Version,
) -> Value {
    let mut doc = stats_json(docker, docker_id).await;
    if version == Version::V3 || !doc.is_object() {
        return doc;
    }
    let Some(now) = network_sample(docker, docker_id, &doc).await else {
        return doc;
    };
    let at = std::time::Instant::now();
    let before = registry()
        .tasks
        .get_mut(task_arn)
        .and_then(|t| t.net_samples.insert(docker_id.to_string(), (at, now)));
    let rate = match before {
        Some((then, totals)) => network_rate(totals, now, at.duration_since(then).as_secs_f64()),
        None => {
            let again = stats_json(docker, docker_id).await;
            let Some(later) = network_sample(docker, docker_id, &again).await else {
                return doc;
            };
            let later_at = std::time::Instant::now();
            if let Some(t) = registry().tasks.get_mut(task_arn) {
                t.net_samples
                    .insert(docker_id.to_string(), (later_at, later));
            }
            if again.is_object() {
                doc = again;
            }
            network_rate(now, later, later_at.duration_since(at).as_secs_f64())
        }
    };
    if let (Some(rate), Some(m)) = (rate, doc.as_object_mut()) {
        m.insert("network_rate_stats".into(), rate);
    }
    doc
}

/// Go's zero time (Docker's "never").
fn is_set(t: &str) -> bool {
    !t.is_empty() && !t.starts_with("0001-")
}

fn rfc3339(secs: f64) -> String {
    berth_core::time::iso8601_nanos((secs * 1e9) as i128)
}

/// `[{"ContainerPort", "Protocol", "HostPort", "HostIp"}]` of Docker's published ports.
fn ports_json(doc: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let Some(ports) = doc
        .pointer("/NetworkSettings/Ports")
        .and_then(Value::as_object)
    else {
        return out;
    };
    let mut keys: Vec<&String> = ports.keys().collect();
    keys.sort();
    for key in keys {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        for b in ports
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(host_port) = b
                .get("HostPort")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<u16>().ok())
            else {
                continue;
            };
            let mut p = Map::new();
            p.insert("ContainerPort".into(), json!(container_port));
            p.insert("Protocol".into(), json!(protocol));
            p.insert("HostPort".into(), json!(host_port));
            if let Some(ip) = b
                .get("HostIp")
                .and_then(Value::as_str)
                .filter(|ip| !ip.is_empty())
            {
                p.insert("HostIp".into(), json!(ip));
            }
            out.push(Value::Object(p));
        }
    }
    out
}

/// An awsvpc task's ports: each mapping of the definition, on the task's own address.
fn awsvpc_ports_json(def: Option<&berth_ecs::model::ContainerDefinition>) -> Vec<Value> {
    let Some(d) = def else { return Vec::new() };
    d.extra
        .get("portMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let port = m.get("containerPort")?.as_u64()?;
            let protocol = m.get("protocol").and_then(Value::as_str).unwrap_or("tcp");
            Some(json!({"ContainerPort": port, "Protocol": protocol, "HostPort": port}))
        })
        .collect()
}

/// `[{"DockerName", "Source", "Destination"}]` of the container's mounts.
fn volumes_json(doc: &Value) -> Vec<Value> {
    doc.get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let mut v = Map::new();
            for (from, to) in [
                ("Name", "DockerName"),
                ("Source", "Source"),
                ("Destination", "Destination"),
            ] {
                if let Some(s) = m
                    .get(from)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    v.insert(to.into(), json!(s));
                }
            }
            Value::Object(v)
        })
        .collect()
}

/// The container's health as ECS reports it (`HEALTHY`, `UNHEALTHY`, `UNKNOWN` while Docker
/// says `starting`), when its definition has a health check.
fn health_json(doc: &Value) -> Option<Value> {
    let health = doc.pointer("/State/Health")?;
    let status = match health.get("Status").and_then(Value::as_str)? {
        "healthy" => "HEALTHY",
        "unhealthy" => "UNHEALTHY",
        _ => "UNKNOWN",
    };
    let mut h = Map::new();
    h.insert("status".into(), json!(status));
    if let Some(last) = health
        .get("Log")
        .and_then(Value::as_array)
        .and_then(|l| l.last())
    {
        if let Some(end) = last
            .get("End")
            .and_then(Value::as_str)
            .filter(|t| is_set(t))
        {
            h.insert("statusSince".into(), json!(end));
        }
        if let Some(code) = last
            .get("ExitCode")
            .and_then(Value::as_i64)
            .filter(|c| *c != 0)
        {
            h.insert("exitCode".into(), json!(code));
        }
        if let Some(out) = last
            .get("Output")
            .and_then(Value::as_str)
            .filter(|o| !o.is_empty())
        {
            h.insert("output".into(), json!(out));
        }
    }
    Some(Value::Object(h))
}

/// The private DNS name AWS gives an address in `region` (`ip-10-0-0-5.ec2.internal` in
/// us-east-1, `ip-10-0-0-5.<region>.compute.internal` elsewhere).
fn private_dns_name(ip: &str, region: &str) -> String {
    let host = format!("ip-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

/// The container's `Networks`: its mode and addresses, and on v4 for an awsvpc task (berth's
/// Fargate) the task network's interface as the ECS agent describes an ENI.
async fn networks_json(
    docker: &DockerRuntime,
    entry: &TaskEntry,
    docker_id: Option<&str>,
    version: Version,
) -> Option<Value> {
    let mode = if entry.fargate {
        "awsvpc".to_string()
    } else {
        entry
            .task
            .network_mode
            .clone()
            .unwrap_or_else(|| "bridge".to_string())
    };
    if mode == "host" {
        return Some(json!([{ "NetworkMode": "host" }]));
    }
    let id = docker_id?;
    let mut doc = docker
        .get_json(&format!("/containers/{}/json", path_escape(id)))
        .await
        .ok()?;
    if let Some(owner) = doc
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .and_then(|m| m.strip_prefix("container:"))
        .map(str::to_string)
    {
        doc = docker
            .get_json(&format!("/containers/{}/json", path_escape(&owner)))
            .await
            .ok()?;
    }
    let nets = doc.pointer("/NetworkSettings/Networks")?.as_object()?;
    let mut names: Vec<&String> = nets.keys().collect();
    names.sort();
    let ipv4: Vec<&str> = names
        .iter()
        .filter_map(|n| nets.get(*n)?.get("IPAddress")?.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    let mut net = Map::new();
    net.insert("NetworkMode".into(), json!(mode));
    if !ipv4.is_empty() {
        net.insert("IPv4Addresses".into(), json!(ipv4));
    }
    if version == Version::V4
        && mode == "awsvpc"
        && let Some(n) = names.first().and_then(|n| nets.get(*n))
    {
        let s = |k: &str| n.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
        net.insert("AttachmentIndex".into(), json!(0));
        if let Some(mac) = s("MacAddress") {
            net.insert("MACAddress".into(), json!(mac));
        }
        let prefix = n
            .get("IPPrefixLen")
            .and_then(Value::as_u64)
            .filter(|p| *p > 0 && *p <= 32);
        if let (Some(ip), Some(prefix)) = (
            s("IPAddress").and_then(|i| i.parse::<std::net::Ipv4Addr>().ok()),
            prefix,
        ) {
            let mask = u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0);
            let network = std::net::Ipv4Addr::from(u32::from(ip) & mask);
            net.insert(
                "IPv4SubnetCIDRBlock".into(),
                json!(format!("{network}/{prefix}")),
            );
            let region = entry.task.task_arn.split(':').nth(3).unwrap_or("us-east-1");
            net.insert(
                "PrivateDNSName".into(),
                json!(private_dns_name(&ip.to_string(), region)),
            );
            if let Some(gw) = s("Gateway") {
                net.insert(
                    "SubnetGatewayIpv4Address".into(),
                    json!(format!("{gw}/{prefix}")),
                );
            }
        }
    }
    Some(Value::Array(vec![Value::Object(net)]))
}

async fn container_json(
    docker: &DockerRuntime,
    entry: &TaskEntry,
    c: &ContainerEntry,
    version: Version,
) -> Value {
    let def = entry
        .task
        .containers
        .iter()
        .find(|x| x.name == c.name)
        .map(|x| (&x.definition, x.container_arn.as_str()));
    let mut m = Map::new();
    m.insert(
        "DockerId".into(),
        json!(c.docker_id.clone().unwrap_or_default()),
    );
    m.insert("Name".into(), json!(c.name));
    let doc = match &c.docker_id {
        Some(id) => docker
            .get_json(&format!("/containers/{}/json", path_escape(id)))
            .await
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let s = |p: &str| {
        doc.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    m.insert(
        "DockerName".into(),
        json!(s("/Name").trim_start_matches('/')),
    );
    let image = def
        .and_then(|(d, _)| d.image.clone())
        .unwrap_or_else(|| s("/Config/Image"));
    m.insert("Image".into(), json!(image));
    m.insert("ImageID".into(), json!(s("/Image")));
    let ports = if entry.fargate {
        awsvpc_ports_json(def.map(|(d, _)| d))
    } else {
        ports_json(&doc)
    };
    if !ports.is_empty() {
        m.insert("Ports".into(), Value::Array(ports));
    }
    if let Some(labels) = doc.pointer("/Config/Labels").filter(|l| l.is_object()) {
        m.insert("Labels".into(), labels.clone());
    }
    m.insert("DesiredStatus".into(), json!(entry.task.desired_status));
    let running = doc.pointer("/State/Running").and_then(Value::as_bool) == Some(true);
    let started = is_set(&s("/State/StartedAt"));
    let known = if running {
        "RUNNING"
    } else if started {
        "STOPPED"
    } else if c.docker_id.is_some() {
        "CREATED"
    } else {
        "PENDING"
    };
    m.insert("KnownStatus".into(), json!(known));
    if started && !running {
        m.insert(
            "ExitCode".into(),
            doc.pointer("/State/ExitCode").cloned().unwrap_or(json!(0)),
        );
    }
    let mut limits = Map::new();
    if let Some((d, _)) = def {
        limits.insert("CPU".into(), json!(d.cpu.unwrap_or(0)));
        if let Some(mem) = d.memory.or(d.memory_reservation) {
            limits.insert("Memory".into(), json!(mem));
        }
    }
    m.insert("Limits".into(), Value::Object(limits));
    if is_set(&s("/Created")) {
        m.insert("CreatedAt".into(), json!(s("/Created")));
    }
    if started {
        m.insert("StartedAt".into(), json!(s("/State/StartedAt")));
    }
    if started && !running && is_set(&s("/State/FinishedAt")) {
        m.insert("FinishedAt".into(), json!(s("/State/FinishedAt")));
    }
    m.insert("Type".into(), json!("NORMAL"));
    if let Some(health) = health_json(&doc) {
        m.insert("Health".into(), health);
    }
    let volumes = volumes_json(&doc);
    if !volumes.is_empty() {
        m.insert("Volumes".into(), Value::Array(volumes));
    }
    if version == Version::V4 {
        // The definition's log configuration, as the ECS agent reports it (none without one).
        if let Some(log) = def
            .and_then(|(d, _)| d.extra.get("logConfiguration"))
            .filter(|l| l.is_object())
        {
            if let Some(driver) = log.get("logDriver").and_then(Value::as_str) {
                m.insert("LogDriver".into(), json!(driver));
            }
            if let Some(opts) = log
                .get("options")
                .filter(|o| o.as_object().is_some_and(|o| !o.is_empty()))
            {
                m.insert("LogOptions".into(), opts.clone());
            }
        }
        if let Some((_, arn)) = def.filter(|(_, arn)| !arn.is_empty()) {
            m.insert("ContainerARN".into(), json!(arn));
        }
    }
    if let Some(networks) = networks_json(docker, entry, c.docker_id.as_deref(), version).await {
        m.insert("Networks".into(), networks);
    }
    // Fargate names the snapshotter its image was unpacked with; berth's Fargate capacity
    // unpacks images with Docker's overlay2 driver, which is overlayfs.
    if version == Version::V4 && entry.fargate && s("/GraphDriver/Name") == "overlay2" {
        m.insert("Snapshotter".into(), json!("overlayfs"));
    }
    Value::Object(m)
}

fn tags_json(tags: &[berth_ecs::model::Tag]) -> Value {
    Value::Object(
        tags.iter()
            .filter_map(|t| Some((t.key.clone()?, json!(t.value.clone().unwrap_or_default()))))
            .collect(),
    )
}

async fn task_json(
    docker: &DockerRuntime,
    entry: &TaskEntry,
    version: Version,
    with_tags: bool,
) -> Value {
    let t = &entry.task;
    let mut m = Map::new();
    let cluster = t.cluster_arn.rsplit('/').next().unwrap_or(&t.cluster_arn);
    // The ECS agent names the cluster as it was given: the name on an instance, the ARN on
    // Fargate.
    m.insert(
        "Cluster".into(),
        json!(if entry.fargate {
            t.cluster_arn.as_str()
        } else {
            cluster
        }),
    );
    m.insert("TaskARN".into(), json!(t.task_arn));
    m.insert("Family".into(), json!(t.family));
    m.insert("Revision".into(), json!(t.revision.to_string()));
    m.insert("DesiredStatus".into(), json!(t.desired_status));
    m.insert("KnownStatus".into(), json!(t.last_status));
    let mut limits = Map::new();
    if let Some(cpu) = t.cpu.as_deref().and_then(|c| c.parse::<f64>().ok()) {
        limits.insert("CPU".into(), json!(cpu / 1024.0));
    }
    if let Some(mem) = t
        .memory
        .as_deref()
        .and_then(berth_ecs::taskdef::parse_memory)
    {
        limits.insert("Memory".into(), json!(mem));
    }
    if !limits.is_empty() {
        m.insert("Limits".into(), Value::Object(limits));
    }
    if let Some(p) = entry.pull_started_at {
        m.insert("PullStartedAt".into(), json!(rfc3339(p)));
    }
    if let Some(p) = entry.pull_stopped_at {
        m.insert("PullStoppedAt".into(), json!(rfc3339(p)));
    }
    if let Some(p) = entry.execution_stopped_at {
        m.insert("ExecutionStoppedAt".into(), json!(rfc3339(p)));
    }
    if let Some(zone) = &t.availability_zone {
        m.insert("AvailabilityZone".into(), json!(zone));
    }
    if with_tags {
        if !t.tags.is_empty() {
            m.insert("TaskTags".into(), tags_json(&t.tags));
        }
        if !entry.fargate && !t.container_instance_tags.is_empty() {
            m.insert(
                "ContainerInstanceTags".into(),
                tags_json(&t.container_instance_tags),
            );
        }
    }
    if version == Version::V4 {
        m.insert("LaunchType".into(), json!(t.launch_type));
    }
    let mut containers = Vec::new();
    for c in &entry.containers {
        containers.push(container_json(docker, entry, c, version).await);
    }
    m.insert("Containers".into(), Value::Array(containers));
    if version == Version::V4 {
        if let Some(service) = &t.service_name {
            m.insert("ServiceName".into(), json!(service));
        }
        // berth serves none of the fault injection endpoints.
        m.insert("FaultInjectionEnabled".into(), json!(false));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn credentials_document_in_the_agents_order() {
        let c = RoleCredentials {
            credentials_id: "id".into(),
            role_arn: "arn:aws:iam::000000000000:role/app".into(),
            access_key_id: "ASIA".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "2026-12-06T05:00:00Z".into(),
        };
        assert_eq!(
            credentials_json(&c),
            r#"{"RoleArn":"arn:aws:iam::000000000000:role/app","AccessKeyId":"ASIA","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T05:00:00Z"}"#
        );
    }

    #[test]
    fn variables_do_not_override_the_definition() {
        assert!(has_var(&["AWS_ENDPOINT_URL=x".into()], ENDPOINT_URL_VAR));
        assert!(!has_var(
            &["AWS_ENDPOINT_URL_S3=x".into()],
            ENDPOINT_URL_VAR
        ));
    }

    #[test]
    fn ids_are_128_bits() {
        let a = random_id();
        assert_eq!(a.len(), 36);
        assert_ne!(a, random_id());
    }

    fn task_with(creds: Option<&str>) -> AgentTask {
        let mut t: AgentTask = serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:us-east-1:000000000000:task/default/refresh-test",
            "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/default",
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/f:1",
            "family": "f", "revision": 1, "desiredStatus": "RUNNING", "lastStatus": "PENDING",
            "launchType": "EC2", "networkMode": "bridge", "cpu": null, "memory": null,
            "taskRoleArn": "arn:aws:iam::000000000000:role/app", "executionRoleArn": null,
            "volumes": [], "containers": [], "executionRoleCredentials": null,
        }))
        .unwrap();
        t.role_credentials = creds.map(|key| RoleCredentials {
            credentials_id: "cid".into(),
            role_arn: "arn:aws:iam::000000000000:role/app".into(),
            access_key_id: key.into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "2026-12-06T05:00:00Z".into(),
        });
        t
    }

    #[test]
    fn a_poll_renews_the_credentials_and_the_end_of_the_run_removes_them() {
        let registration = register_task(&task_with(Some("ASIAOLD")), false);
        assert_eq!(
            task_by_credentials("cid")
                .unwrap()
                .task
                .role_credentials
                .unwrap()
                .access_key_id,
            "ASIAOLD"
        );
        refresh(&task_with(Some("ASIANEW")));
        assert_eq!(
            task_by_credentials("cid")
                .unwrap()
                .task
                .role_credentials
                .unwrap()
                .access_key_id,
            "ASIANEW"
        );
        // A poll without credentials (the role could not be assumed again) keeps them.
        refresh(&task_with(None));
        assert!(task_by_credentials("cid").is_some());
        drop(registration);
        assert!(task_by_credentials("cid").is_none());
    }

    #[test]
    fn network_rates_from_two_samples() {
        let stats = json!({"networks": {
            "eth0": {"rx_bytes": 1000, "tx_bytes": 10},
            "eth1": {"rx_bytes": 24, "tx_bytes": 6},
        }});
        assert_eq!(network_totals(&stats), Some((1024, 16)));
        assert_eq!(network_totals(&json!({"read": "x"})), None);
        assert_eq!(
            network_rate((1024, 16), (3072, 16), 2.0).unwrap(),
            json!({"rx_bytes_per_sec": 1024.0, "tx_bytes_per_sec": 0.0})
        );
        // A counter that went back (a restarted interface) counts as no traffic.
        assert_eq!(
            network_rate((10, 10), (5, 20), 1.0).unwrap(),
            json!({"rx_bytes_per_sec": 0.0, "tx_bytes_per_sec": 10.0})
        );
        assert!(network_rate((0, 0), (1, 1), 0.0).is_none());
    }

    #[test]
    fn ports_volumes_and_health_from_docker() {
        let doc = json!({
            "NetworkSettings": {"Ports": {
                "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}],
                "53/udp": null,
            }},
            "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data", "Destination": "/data"},
                       {"Type": "bind", "Source": "/srv", "Destination": "/srv"}],
            "State": {"Health": {"Status": "starting", "Log": []}},
        });
        assert_eq!(
            ports_json(&doc),
            vec![
                json!({"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768, "HostIp": "0.0.0.0"})
            ]
        );
        assert_eq!(
            volumes_json(&doc),
            vec![
                json!({"DockerName": "data", "Source": "/var/lib/docker/volumes/data/_data", "Destination": "/data"}),
                json!({"Source": "/srv", "Destination": "/srv"}),
            ]
        );
        assert_eq!(health_json(&doc).unwrap(), json!({"status": "UNKNOWN"}));
        let unhealthy = json!({"State": {"Health": {"Status": "unhealthy", "Log": [
            {"End": "2026-12-06T05:00:00.5Z", "ExitCode": 1, "Output": "down"}]}}});
        assert_eq!(
            health_json(&unhealthy).unwrap(),
            json!({"status": "UNHEALTHY", "statusSince": "2026-12-06T05:00:00.5Z", "exitCode": 1, "output": "down"})
        );
        assert!(health_json(&json!({"State": {}})).is_none());
    }

    #[test]
    fn private_dns_names_as_aws_writes_them() {
        assert_eq!(
            private_dns_name("10.0.0.5", "us-east-1"),
            "ip-10-0-0-5.ec2.internal"
        );
        assert_eq!(
            private_dns_name("10.0.0.5", "eu-west-1"),
            "ip-10-0-0-5.eu-west-1.compute.internal"
        );
    }

    #[test]
    fn unknown_ids_answer_as_each_version_does() {
        assert_eq!(
            lookup_failure(Version::V4, Doc::Container, "x").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            lookup_failure(Version::V3, Doc::Task, "x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(path_escape("busybox:1.36"), "busybox:1.36");
        assert_eq!(path_escape("a b?"), "a%20b%3F");
    }
}
