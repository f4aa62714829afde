//! [`ContainerRuntime`] on a Docker Engine: bollard for the container calls, and an own
//! `POST /images/create` for pulls.
//!
//! Two traps (verified against Debian's dockerd 20.10): bollard encodes `X-Registry-Auth` with
//! the standard base64 alphabet while dockerd decodes the URL-safe one, so a password whose
//! encoding has `+` or `/` (e.g. `abc>>>def`) is silently dropped and the pull goes out
//! anonymously — hence the own pull request, with URL-safe base64; and bollard speaks API 1.53
//! by default where Debian's dockerd speaks 1.41 — hence `negotiate_version` after connecting.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use berth_ecs::asm::RegistryAuth;
use bollard::Docker;
use bollard::models::HostConfigLogConfig;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, HealthConfig, HealthStatusEnum,
    HostConfig, NetworkCreateRequest, NetworkingConfig, PortBinding, PortMap, ResourcesUlimits,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListVolumesOptions, LogsOptions,
    RemoveContainerOptions, RemoveVolumeOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::http::send_on_with;
use crate::progress::{Lines, LogObserver, PullObserver, PullTracker};
use crate::runtime::{
    ContainerRuntime, ContainerSpec, ContainerState, HostSettings, LABEL_PAUSE, LogLine,
    NetworkBinding, RuntimeError, VolumeSpec,
};

/// The Docker host when `DOCKER_HOST` is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How long one pull may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a wait for a container's exit may block (it is repeated after that).
const WAIT_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long one follow of a container's output may last (the follower then follows again
/// from where it is).
const LOGS_TIMEOUT: Duration = Duration::from_secs(3600);
/// How many entries of a container's output wait for the shipper (the daemon keeps the rest).
const LOGS_CHANNEL: usize = 1024;

/// The repository of the pause image berth builds for Fargate tasks; the tag is berth's version.
pub const PAUSE_REPOSITORY: &str = "berth/pause";
/// Where the pause image's binary comes from: a statically linked busybox on berth's host
/// (Debian's `busybox-static`).
const BUSYBOX_PATHS: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];
/// What the pause container runs: it only has to hold the network namespace.
pub const PAUSE_COMMAND: [&str; 3] = ["/bin/busybox", "sleep", "2147483647"];

/// The pause image's reference, `berth/pause:<berth version>`.
pub fn pause_image() -> String {
    format!("{PAUSE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// Whether `bytes` is an ELF executable without a program interpreter (`PT_INTERP`): one that
/// runs in an image with nothing else in it.
pub fn is_static_elf(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if bytes.len() < 0x34 || &bytes[..4] != b"\x7fELF" {
        return false;
    }
    let little = match bytes[5] {
        1 => true,
        2 => false,
        _ => return false,
    };
    let int = |at: usize, len: usize| -> Option<u64> {
        let b = bytes.get(at..at + len)?;
        let mut v: u64 = 0;
        for i in 0..len {
            let byte = if little { b[len - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    let fields = match bytes[4] {
        1 => (int(0x1c, 4), int(0x2a, 2), int(0x2c, 2)),
        2 => (int(0x20, 8), int(0x36, 2), int(0x38, 2)),
        _ => return false,
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = fields else {
        return false;
    };
    let (Ok(phoff), Ok(phentsize)) = (usize::try_from(phoff), usize::try_from(phentsize)) else {
        return false;
    };
    if phnum == 0 || phentsize < 4 {
        return false;
    }
    for i in 0..phnum {
        let Ok(i) = usize::try_from(i) else {
            return false;
        };
        let Some(at) = i.checked_mul(phentsize).and_then(|o| o.checked_add(phoff)) else {
            return false;
        };
        match int(at, 4) {
            Some(t) if t == u64::from(PT_INTERP) => return false,
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// A statically linked busybox on this host, or why there is none.
fn static_busybox() -> Result<Vec<u8>, String> {
    let mut why = Vec::new();
    for path in BUSYBOX_PATHS {
        match std::fs::read(path) {
            Ok(bytes) if is_static_elf(&bytes) => return Ok(bytes),
            Ok(_) => why.push(format!("{path} is not a statically linked executable")),
            Err(e) => why.push(format!("{path}: {e}")),
        }
    }
    Err(why.join("; "))
}

/// One ustar header block; `kind`: `b'0'` a file, `b'5'` a directory.
fn tar_header(name: &str, mode: u32, size: usize, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    let mut put = |at: usize, value: &[u8]| h[at..at + value.len()].copy_from_slice(value);
    put(0, name.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, &[kind]);
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The pause image's root file system: `/bin/busybox` and nothing else.
pub fn pause_rootfs(busybox: &[u8]) -> Vec<u8> {
    let mut tar = Vec::with_capacity(busybox.len() + 4096);
    tar.extend_from_slice(&tar_header("bin/", 0o755, 0, b'5'));
    tar.extend_from_slice(&tar_header("bin/busybox", 0o755, busybox.len(), b'0'));
    tar.extend_from_slice(busybox);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.resize(tar.len() + 1024, 0);
    tar
}

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

fn parse_host(host: &str) -> Result<Endpoint, RuntimeError> {
    if let Some(path) = host.strip_prefix("unix://") {
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    for scheme in ["tcp://", "http://"] {
        if let Some(rest) = host.strip_prefix(scheme) {
            let authority = rest.split('/').next().unwrap_or(rest);
            return Ok(Endpoint::Tcp(authority.to_string()));
        }
    }
    Err(RuntimeError::Other(format!(
        "unsupported DOCKER_HOST {host:?}: use unix:// or tcp://"
    )))
}

/// A Docker Engine.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    endpoint: Endpoint,
    /// The negotiated API version, e.g. `1.41`.
    api_version: String,
    /// Where pull progress goes.
    observer: Arc<dyn PullObserver>,
    /// One pause image build at a time (tasks starting together share it).
    pause_build: Arc<tokio::sync::Mutex<()>>,
    /// Whether "no pause image" has been logged already.
    pause_missing_logged: Arc<AtomicBool>,
    /// Whether the daemon limits a container's writable layer (`StorageOpt size`), asked once.
    storage_size: Arc<tokio::sync::OnceCell<bool>>,
    /// The daemon refused the option although its storage looked able.
    storage_refused: Arc<AtomicBool>,
}

fn other(e: bollard::errors::Error) -> RuntimeError {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => RuntimeError::NotFound(message),
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            RuntimeError::Other(message)
        }
        // The transport failed: the socket refuses or is gone, or the daemon went away in
        // the middle of the answer.
        e @ (bollard::errors::Error::IOError { .. }
        | bollard::errors::Error::HyperLegacyError { .. }
        | bollard::errors::Error::HyperResponseError { .. }
        | bollard::errors::Error::SocketNotFoundError(_)) => {
            RuntimeError::Unavailable(e.to_string())
        }
        e => RuntimeError::Other(e.to_string()),
    }
}

impl DockerRuntime {
    /// Connects to `host` (`DOCKER_HOST` syntax; the default socket when `None`) and negotiates
    /// the API version with the daemon.
    pub async fn connect(host: Option<&str>) -> Result<DockerRuntime, RuntimeError> {
        let host = host
            .filter(|h| !h.is_empty())
            .unwrap_or(DEFAULT_DOCKER_HOST);
        let endpoint = parse_host(host)?;
        let docker = Docker::connect_with_host(host)
            .map_err(other)?
            .negotiate_version()
            .await
            .map_err(|e| RuntimeError::Other(format!("connecting to docker at {host}: {e}")))?;
        let v = docker.client_version();
        let api_version = format!("{}.{}", v.major_version, v.minor_version);
        Ok(DockerRuntime {
            docker,
            endpoint,
            api_version,
            observer: Arc::new(LogObserver),
            pause_build: Arc::new(tokio::sync::Mutex::new(())),
            pause_missing_logged: Arc::new(AtomicBool::new(false)),
            storage_size: Arc::new(tokio::sync::OnceCell::new()),
            storage_refused: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Reports pull progress to `observer` instead of the log.
    pub fn with_pull_observer(mut self, observer: Arc<dyn PullObserver>) -> DockerRuntime {
        self.observer = observer;
        self
    }

    /// The negotiated Docker API version (`1.41` on Debian's dockerd 20.10).
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Whether the daemon can limit a container's writable layer: Docker's `size` storage
    /// option works only with `overlay2` over xfs mounted with project quotas (`pquota`); the
    /// mount option is not in `docker info`, so an xfs daemon that refuses the option is found
    /// out at the first create ([`STORAGE_OPT_REFUSED`]). Asked once, logged once.
    async fn limits_storage(&self) -> bool {
        if self.storage_refused.load(Ordering::Relaxed) {
            return false;
        }
        *self
            .storage_size
            .get_or_init(|| async {
                let info = self.docker.info().await.ok();
                let driver = info.as_ref().and_then(|i| i.driver.clone()).unwrap_or_default();
                let backing = info
                    .as_ref()
                    .and_then(|i| i.driver_status.as_ref())
                    .and_then(|s| {
                        s.iter().find_map(|kv| match kv.as_slice() {
                            [k, v] if k == "Backing Filesystem" => Some(v.clone()),
                            _ => None,
                        })
                    })
                    .unwrap_or_default();
                let ok = storage_size_supported(&driver, &backing);
                if !ok {
                    tracing::info!(
                        driver = %driver,
                        backing = %backing,
                        "Fargate ephemeralStorage is not enforced: Docker's storage driver here cannot limit size (overlay2 over xfs with pquota can)"
                    );
                }
                ok
            })
            .await
    }

    /// The daemon's CPU count and memory in bytes.
    pub async fn resources(&self) -> Result<(i64, i64), RuntimeError> {
        let info = self.docker.info().await.map_err(other)?;
        Ok((info.ncpu.unwrap_or(1), info.mem_total.unwrap_or(0)))
    }

    /// Sends one request to the daemon outside bollard; returns the status and the body.
    async fn raw_request(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        on_chunk: impl FnMut(&[u8]) + Send,
    ) -> Result<(u16, Bytes), RuntimeError> {
        let transport =
            |e: &dyn std::fmt::Display| RuntimeError::Unavailable(format!("docker: {e}"));
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", "docker");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .body(Full::new(body))
            .map_err(|e| RuntimeError::Other(format!("docker: {e}")))?;
        let send = async {
            let (status, _, body) = match &self.endpoint {
                Endpoint::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(|e| transport(&e))?;
                    send_on_with(stream, req, on_chunk)
                        .await
                        .map_err(|e| transport(&e))?
                }
                Endpoint::Tcp(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr)
                        .await
                        .map_err(|e| transport(&e))?;
                    send_on_with(stream, req, on_chunk)
                        .await
                        .map_err(|e| transport(&e))?
                }
            };
            Ok::<_, RuntimeError>((status, body))
        };
        tokio::time::timeout(PULL_TIMEOUT, send)
            .await
            .map_err(|_| RuntimeError::Other("docker: request timed out".into()))?
    }
}

impl DockerRuntime {
    /// GETs `path` from the daemon's API and parses the JSON answer: Docker's own documents
    /// (a container's inspect, its one-shot stats, an image's inspect) as the task metadata
    /// endpoint passes them on. A 404 is [`RuntimeError::NotFound`].
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, RuntimeError> {
        let (status, body) = self
            .raw_request(hyper::Method::GET, path, &[], Bytes::new(), |_| {})
            .await?;
        if status == 404 {
            return Err(RuntimeError::NotFound(path.to_string()));
        }
        if status >= 300 {
            return Err(RuntimeError::Other(format!(
                "docker: GET {path}: {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        serde_json::from_slice(&body).map_err(|e| RuntimeError::Other(format!("docker: {e}")))
    }

    /// The registry digest (`sha256:...`) `image` was pulled by: the first of the image's
    /// `RepoDigests` for the image's repository; `None` for an image without one (built
    /// locally, never pulled).
    pub async fn repo_digest(&self, image: &str) -> Result<Option<String>, RuntimeError> {
        let path = format!("/images/{}/json", crate::endpoint::path_escape(image));
        let doc = self.get_json(&path).await?;
        let (name, _) = split_reference(image);
        let digests: Vec<&str> = doc
            .get("RepoDigests")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let pick = digests
            .iter()
            .find(|d| d.split_once('@').is_some_and(|(repo, _)| repo == name))
            .or_else(|| digests.first());
        Ok(pick
            .and_then(|d| d.split_once('@'))
            .map(|(_, digest)| digest.to_string()))
    }
}

impl DockerRuntime {
    /// Builds the pause image from `busybox` with Docker's import (`fromSrc=-`): nothing is
    /// pulled.
    async fn import_pause_image(&self, busybox: &[u8]) -> Result<(), RuntimeError> {
        let cmd = serde_json::to_string(&PAUSE_COMMAND)
            .map_err(|e| RuntimeError::Other(format!("pause image: {e}")))?;
        let path = format!(
            "/v{}/images/create?{}",
            self.api_version,
            query(&[
                ("fromSrc", "-"),
                ("repo", PAUSE_REPOSITORY),
                ("tag", env!("CARGO_PKG_VERSION")),
                ("message", "berth's pause container for Fargate tasks"),
                ("changes", &format!("CMD {cmd}")),
                ("changes", &format!("LABEL {LABEL_PAUSE}=true")),
            ])
        );
        let (status, body) = self
            .raw_request(
                hyper::Method::POST,
                &path,
                &[("content-type", "application/x-tar")],
                Bytes::from(pause_rootfs(busybox)),
                |_| {},
            )
            .await?;
        if status >= 400 {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(RuntimeError::Other(format!(
                "importing the pause image: {message}"
            )));
        }
        match stream_error(&body) {
            Some(m) => Err(RuntimeError::Other(format!(
                "importing the pause image: {m}"
            ))),
            None => Ok(()),
        }
    }
}

/// Splits an image reference into `fromImage` and `tag` (a tag, a digest, or `latest`).
pub fn split_reference(image: &str) -> (String, String) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name.to_string(), digest.to_string());
    }
    let last_slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[last_slash..].rfind(':') {
        Some(i) => (
            image[..last_slash + i].to_string(),
            image[last_slash + i + 1..].to_string(),
        ),
        None => (image.to_string(), "latest".to_string()),
    }
}

/// The registry an image comes from, as Docker's `serveraddress` names it.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "https://index.docker.io/v1/".to_string(),
    }
}

/// `X-Registry-Auth`: the JSON AuthConfig in **URL-safe** base64 (with padding), which is what
/// dockerd decodes.
pub fn registry_auth_header(auth: &RegistryAuth, server_address: &str) -> Zeroizing<String> {
    let json = Zeroizing::new(
        serde_json::json!({
            "username": auth.username.as_str(),
            "password": auth.password.as_str(),
            "serveraddress": server_address,
        })
        .to_string(),
    );
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE.encode(json.as_bytes()))
}

/// The first error in a pull's progress stream (one JSON object per line), if any.
fn stream_error(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut de = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    while let Some(Ok(v)) = de.next() {
        if let Some(m) = v
            .pointer("/errorDetail/message")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
        {
            return Some(m.to_string());
        }
    }
    None
}

fn non_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The Linux and Docker settings of a container as Docker's `HostConfig` (memory, CPU,
/// network and ports are the caller's). `memory`: the hard limit in bytes, which `maxSwap`
/// adds to (Docker's `MemorySwap` is memory plus swap; without a hard limit it is not set).
/// Docker's health check for a container's `healthCheck` (durations in nanoseconds).
pub fn health_config(h: &crate::runtime::HealthCheck) -> HealthConfig {
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(h.retries),
        start_period: Some(nanos(h.start_period)),
        start_interval: None,
    }
}

/// What dockerd answers when the `size` storage option is not supported by its storage.
pub const STORAGE_OPT_REFUSED: &str = "--storage-opt is supported only for";

/// Whether Docker's `size` storage option can work: `overlay2` over xfs (which also needs the
/// `pquota` mount option, which `docker info` does not show).
pub fn storage_size_supported(driver: &str, backing_filesystem: &str) -> bool {
    driver == "overlay2" && backing_filesystem == "xfs"
}

pub fn host_config(h: &HostSettings, memory: Option<i64>) -> HostConfig {
    const MIB: i64 = 1024 * 1024;
    let mut binds = h.binds.clone();
    binds.dedup();
    HostConfig {
        links: non_empty(&h.links),
        ulimits: non_empty(
            &h.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect::<Vec<_>>(),
        ),
        cap_add: non_empty(&h.cap_add),
        cap_drop: non_empty(&h.cap_drop),
        devices: non_empty(
            &h.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host_path.clone()),
                    path_in_container: Some(d.container_path.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect::<Vec<_>>(),
        ),
        init: h.init,
        shm_size: h.shm_size_mib.map(|m| m.saturating_mul(MIB)),
        tmpfs: (!h.tmpfs.is_empty()).then(|| h.tmpfs.iter().cloned().collect()),
        memory_swap: match (h.max_swap_mib, memory) {
            (Some(swap), Some(mem)) => Some(mem.saturating_add(swap.saturating_mul(MIB))),
            _ => None,
        },
        memory_swappiness: h.swappiness,
        readonly_rootfs: h.readonly_rootfs.then_some(true),
        privileged: h.privileged.then_some(true),
        extra_hosts: non_empty(&h.extra_hosts),
        dns: non_empty(&h.dns),
        dns_search: non_empty(&h.dns_search),
        pid_mode: h.pid_mode.clone(),
        ipc_mode: h.ipc_mode.clone(),
        sysctls: (!h.sysctls.is_empty()).then(|| h.sysctls.iter().cloned().collect()),
        security_opt: non_empty(&h.security_opt),
        binds: non_empty(&binds),
        volumes_from: non_empty(&h.volumes_from),
        ..Default::default()
    }
}

/// One frame of `docker logs --timestamps` as entries: each line is
/// `<RFC 3339 nanoseconds> <text>`; a frame without a parsable timestamp keeps `previous`.
pub fn log_entries(frame: &[u8], previous: i128) -> Vec<LogLine> {
    let text = String::from_utf8_lossy(frame);
    let mut out = Vec::new();
    let mut at = previous;
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (stamp, rest) = line.split_once(' ').unwrap_or((line, ""));
        match berth_core::time::parse_policy_date(stamp).filter(|_| stamp.contains('T')) {
            Some(n) => {
                at = n;
                out.push(LogLine {
                    nanos: n,
                    text: rest.to_string(),
                });
            }
            None => out.push(LogLine {
                nanos: at,
                text: line.to_string(),
            }),
        }
    }
    out
}

/// A joined message holds at most this many bytes; a longer one is sent in parts of this size
/// (CloudWatch Logs' largest event is 256 KiB, and the shipper splits there too).
pub const MAX_JOINED_BYTES: usize = 256 * 1024;

/// Joins the partial messages Docker makes of a line over 16 KiB, as Docker's awslogs driver
/// does: each part is its own frame of `docker logs`, without a line end, and the line's last
/// part ends with one. The joined message takes its first part's timestamp. stdout and stderr
/// are joined apart; a line that never ends (the stream closed) is sent as it is.
#[derive(Default)]
pub struct PartialJoin {
    pending: [Option<LogLine>; 2],
}

impl PartialJoin {
    /// The complete messages of one frame of stdout (`stderr` false) or stderr.
    pub fn frame(&mut self, stderr: bool, frame: &[u8], previous: i128) -> Vec<LogLine> {
        let slot = usize::from(stderr);
        let partial = !frame.is_empty() && !frame.ends_with(b"\n");
        let mut lines = log_entries(frame, previous);
        let tail = if partial { lines.pop() } else { None };
        let mut out = Vec::with_capacity(lines.len() + 1);
        for line in lines {
            match self.pending[slot].take() {
                Some(mut p) => {
                    p.text.push_str(&line.text);
                    out.push(p);
                }
                None => out.push(line),
            }
        }
        if let Some(t) = tail {
            let p = match self.pending[slot].take() {
                Some(mut p) => {
                    p.text.push_str(&t.text);
                    p
                }
                None => t,
            };
            if p.text.len() >= MAX_JOINED_BYTES {
                out.push(p);
            } else {
                self.pending[slot] = Some(p);
            }
        }
        out
    }

    /// What is left when the stream ends.
    pub fn finish(&mut self) -> Vec<LogLine> {
        let mut out: Vec<LogLine> = self.pending.iter_mut().filter_map(Option::take).collect();
        out.sort_by_key(|l| l.nanos);
        out
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl ContainerRuntime for DockerRuntime {
    async fn pull(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<(), RuntimeError> {
        let (from, tag) = split_reference(image);
        let path = format!(
            "/v{}/images/create?{}",
            self.api_version,
            query(&[("fromImage", &from), ("tag", &tag)])
        );
        let header = auth.map(|a| registry_auth_header(a, &registry_of(image)));
        let mut headers = Vec::new();
        if let Some(h) = &header {
            headers.push(("x-registry-auth", h.as_str()));
        }
        let mut reporter = self.observer.begin(image);
        let mut tracker = PullTracker::default();
        let mut lines = Lines::default();
        let answer = self
            .raw_request(
                hyper::Method::POST,
                &path,
                &headers,
                Bytes::new(),
                |chunk| {
                    let mut changed = false;
                    lines.push(chunk, |line| {
                        if let Ok(message) = serde_json::from_slice::<Value>(line) {
                            changed |= tracker.apply(&message);
                        }
                    });
                    if changed {
                        reporter.update(&tracker.snapshot());
                    }
                },
            )
            .await;
        if let Ok(message) = serde_json::from_slice::<Value>(lines.rest()) {
            tracker.apply(&message);
        }
        let (status, body) = match answer {
            Ok(a) => a,
            Err(e) => {
                reporter.finish(&tracker.snapshot(), false);
                return Err(e);
            }
        };
        let streamed_error = stream_error(&body);
        reporter.finish(
            &tracker.snapshot(),
            status < 400 && streamed_error.is_none(),
        );
        if status >= 400 {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(RuntimeError::Pull(format!(
                "Error response from daemon: {message}"
            )));
        }
        match streamed_error {
            Some(m) => Err(RuntimeError::Pull(m)),
            None => Ok(()),
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        let mib = |v: Option<i64>| v.filter(|m| *m > 0).map(|m| m * 1024 * 1024);
        // Joined to another container's network namespace: that container has the network
        // and the ports.
        let joined = spec.network_container.is_some();
        let mut exposed = Vec::new();
        let mut bindings = PortMap::new();
        for p in spec.port_mappings.iter().filter(|_| !joined) {
            let key = format!("{}/{}", p.container_port, p.protocol);
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: None,
                    host_port: (p.host_port != 0).then(|| p.host_port.to_string()),
                }]),
            );
        }
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entry_point.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            working_dir: spec.working_directory.clone(),
            user: spec.user.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            hostname: spec.host.hostname.clone(),
            tty: spec.host.tty.then_some(true),
            open_stdin: spec.host.open_stdin.then_some(true),
            network_disabled: spec.host.network_disabled.then_some(true),
            stop_timeout: spec.host.stop_timeout,
            healthcheck: spec.host.health_check.as_ref().map(health_config),
            networking_config: spec
                .network
                .as_ref()
                .filter(|n| !joined && !matches!(n.as_str(), "host" | "none"))
                .map(|n| NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        n.clone(),
                        EndpointSettings {
                            aliases: spec
                                .labels
                                .get(crate::runtime::LABEL_CONTAINER_NAME)
                                .map(|a| vec![a.clone()]),
                            ..Default::default()
                        },
                    )])),
                }),
            host_config: Some(HostConfig {
                network_mode: match &spec.network_container {
                    Some(id) => Some(format!("container:{id}")),
                    None => spec.network.clone(),
                },
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                log_config: spec.log_config.as_ref().map(|l| HostConfigLogConfig {
                    typ: Some(l.driver.clone()),
                    config: (!l.options.is_empty()).then(|| l.options.clone()),
                }),
                memory: mib(spec.memory_mib),
                memory_reservation: mib(spec.memory_reservation_mib),
                cpu_shares: spec.cpu_shares.filter(|c| *c >= 2),
                ..host_config(&spec.host, mib(spec.memory_mib))
            }),
            ..Default::default()
        };
        let mut body = body;
        let size = match spec.host.storage_size_gib {
            Some(gib) if self.limits_storage().await => Some(gib),
            _ => None,
        };
        if let (Some(gib), Some(host)) = (size, body.host_config.as_mut()) {
            host.storage_opt = Some(HashMap::from([("size".to_string(), format!("{gib}G"))]));
        }
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        match self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(created) => Ok(created.id),
            // xfs without project quotas: not enforced from now on, the container made without.
            Err(e) if size.is_some() && e.to_string().contains(STORAGE_OPT_REFUSED) => {
                tracing::info!(error = %e, "Fargate ephemeralStorage is not enforced: Docker's storage driver here cannot limit size");
                self.storage_refused.store(true, Ordering::Relaxed);
                if let Some(host) = body.host_config.as_mut() {
                    host.storage_opt = None;
                }
                let created = self
                    .docker
                    .create_container(Some(options), body)
                    .await
                    .map_err(other)?;
                Ok(created.id)
            }
            Err(e) => Err(other(e)),
        }
    }

    async fn image_digest(&self, image: &str) -> Result<Option<String>, RuntimeError> {
        self.repo_digest(image).await
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker.start_container(id, None).await.map_err(other)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        let c = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(other)?;
        let state = c.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        let started = state
            .started_at
            .as_deref()
            .is_some_and(|s| !s.starts_with("0001-"));
        let settings = c.network_settings.unwrap_or_default();
        let ip_addresses = settings
            .networks
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, e)| Some((name, e.ip_address.filter(|ip| !ip.is_empty())?)))
            .collect();
        let mut network_bindings = Vec::new();
        for (key, published) in settings.ports.unwrap_or_default() {
            let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for b in published.unwrap_or_default() {
                let Some(host_port) = b.host_port.and_then(|h| h.parse::<u16>().ok()) else {
                    continue;
                };
                network_bindings.push(NetworkBinding {
                    bind_ip: b.host_ip.unwrap_or_else(|| "0.0.0.0".into()),
                    container_port,
                    host_port,
                    protocol: protocol.to_string(),
                });
            }
        }
        network_bindings.sort_by(|a, b| {
            (a.container_port, &a.protocol, &a.bind_ip).cmp(&(
                b.container_port,
                &b.protocol,
                &b.bind_ip,
            ))
        });
        let health = state
            .health
            .and_then(|h| h.status)
            .and_then(|status| match status {
                HealthStatusEnum::HEALTHY => Some("HEALTHY"),
                HealthStatusEnum::UNHEALTHY => Some("UNHEALTHY"),
                HealthStatusEnum::STARTING => Some("UNKNOWN"),
                HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
            })
            .map(str::to_string);
        Ok(ContainerState {
            health,
            id: c.id.unwrap_or_else(|| id.to_string()),
            running,
            exit_code: (!running && started).then(|| state.exit_code.unwrap_or(0)),
            started,
            labels: c.config.and_then(|c| c.labels).unwrap_or_default(),
            network_bindings,
            ip_addresses,
        })
    }

    async fn wait(&self, id: &str) -> Result<i64, RuntimeError> {
        let docker = self.docker.clone().with_timeout(WAIT_TIMEOUT);
        loop {
            let options = WaitContainerOptions {
                condition: "not-running".into(),
            };
            let mut stream = docker.wait_container(id, Some(options));
            match stream.next().await {
                Some(Ok(r)) => return Ok(r.status_code),
                // bollard reports a non-zero exit as an error carrying the code.
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    return Ok(code);
                }
                Some(Err(bollard::errors::Error::RequestTimeoutError)) => continue,
                Some(Err(e)) => return Err(other(e)),
                None => {
                    let s = self.inspect(id).await?;
                    if let Some(code) = s.exit_code {
                        return Ok(code);
                    }
                }
            }
        }
    }

    async fn stop(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        let t = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        let docker = self
            .docker
            .clone()
            .with_timeout(timeout + Duration::from_secs(60));
        let options = StopContainerOptions {
            t: Some(t),
            signal: None,
        };
        match docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // 409: it exists already (a restarted runner adopting its task).
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }

    async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        match self.docker.remove_network(name).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<(), RuntimeError> {
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: spec.driver.clone(),
            driver_opts: (!spec.driver_opts.is_empty()).then(|| spec.driver_opts.clone()),
            labels: Some(spec.labels.clone()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(other)
    }

    async fn volume_exists(&self, name: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(other(e)),
        }
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }

    async fn volumes_by_label(&self, key: &str, value: &str) -> Result<Vec<String>, RuntimeError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
        let list = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(other)?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    async fn ensure_pause_image(&self) -> Result<Option<String>, RuntimeError> {
        let image = pause_image();
        let _building = self.pause_build.lock().await;
        match self.docker.inspect_image(&image).await.map_err(other) {
            Ok(_) => return Ok(Some(image)),
            Err(RuntimeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let busybox = match static_busybox() {
            Ok(b) => b,
            Err(why) => {
                if !self.pause_missing_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(reason = %why, "no static busybox for the pause image (install busybox-static): fargate containers share the task network, not localhost");
                }
                return Ok(None);
            }
        };
        self.import_pause_image(&busybox).await?;
        tracing::info!(image = %image, "pause image built from the host's static busybox");
        Ok(Some(image))
    }

    fn follow_logs(
        &self,
        id: &str,
        since_secs: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<LogLine, RuntimeError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(LOGS_CHANNEL);
        let docker = self.docker.clone().with_timeout(LOGS_TIMEOUT);
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since: i32::try_from(since_secs.max(0)).unwrap_or(i32::MAX),
            timestamps: true,
            ..Default::default()
        };
        let id = id.to_string();
        tokio::spawn(async move {
            let mut stream = docker.logs(&id, Some(options));
            let mut previous = 0;
            let mut join = PartialJoin::default();
            while let Some(frame) = stream.next().await {
                let (stderr, bytes) = match frame {
                    Ok(f) => (
                        matches!(f, bollard::container::LogOutput::StdErr { .. }),
                        f.into_bytes(),
                    ),
                    Err(e) => {
                        for line in join.finish() {
                            let _ = tx.send(Ok(line)).await;
                        }
                        let _ = tx.send(Err(other(e))).await;
                        return;
                    }
                };
                for line in join.frame(stderr, &bytes, previous) {
                    previous = line.nanos;
                    if tx.send(Ok(line)).await.is_err() {
                        return;
                    }
                }
            }
            for line in join.finish() {
                let _ = tx.send(Ok(line)).await;
            }
        });
        rx
    }

    async fn list_by_label(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<ContainerState>, RuntimeError> {
        let filter = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_string(),
        };
        let filters = HashMap::from([("label".to_string(), vec![filter])]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(other)?;
        let mut out = Vec::new();
        for c in list {
            let Some(id) = c.id else { continue };
            out.push(self.inspect(&id).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn partial_messages_are_joined() {
        let mut j = PartialJoin::default();
        let a = "a".repeat(16384);
        let part = |stamp: &str, text: &str, end: bool| {
            format!("{stamp} {text}{}", if end { "\n" } else { "" }).into_bytes()
        };
        assert!(
            j.frame(false, &part("2026-01-01T00:00:00.000000001Z", &a, false), 0)
                .is_empty()
        );
        // stderr in between is its own line.
        let err = j.frame(
            true,
            &part("2026-01-01T00:00:00.000000002Z", "oops", true),
            0,
        );
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].text, "oops");
        assert!(
            j.frame(false, &part("2026-01-01T00:00:00.000000003Z", &a, false), 0)
                .is_empty()
        );
        let done = j.frame(
            false,
            &part("2026-01-01T00:00:00.000000004Z", "end", true),
            0,
        );
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].text, format!("{a}{a}end"));
        assert_eq!(done[0].nanos, 1_767_225_600_000_000_001);
        // A line that never ends is sent when the stream does.
        assert!(
            j.frame(false, &part("2026-01-01T00:00:01Z", "tail", false), 0)
                .is_empty()
        );
        let left = j.finish();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].text, "tail");
        // Bounded: a joined message reaching the limit is sent.
        let big = "b".repeat(MAX_JOINED_BYTES);
        assert_eq!(
            j.frame(false, &part("2026-01-01T00:00:02Z", &big, false), 0)
                .len(),
            1
        );
    }

    #[test]
    fn references_split() {
        let cases = [
            ("127.0.0.1:5000/app:1", "127.0.0.1:5000/app", "1"),
            ("127.0.0.1:5000/app", "127.0.0.1:5000/app", "latest"),
            ("busybox", "busybox", "latest"),
            ("library/busybox:1.36", "library/busybox", "1.36"),
            ("r.example/a/b@sha256:abc", "r.example/a/b", "sha256:abc"),
        ];
        for (image, from, tag) in cases {
            assert_eq!(
                split_reference(image),
                (from.to_string(), tag.to_string()),
                "{image}"
            );
        }
    }

    #[test]
    fn registries() {
        assert_eq!(registry_of("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("reg.example.com/a/b"), "reg.example.com");
        assert_eq!(
            registry_of("library/busybox"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(registry_of("busybox"), "https://index.docker.io/v1/");
    }

    /// The regression for bollard's trap: a password whose standard base64 has `+` or `/`
    /// must be sent in the URL-safe alphabet, and decode to the same credentials.
    #[test]
    fn registry_auth_is_url_safe_base64() {
        let auth = RegistryAuth {
            username: Zeroizing::new("user".into()),
            password: Zeroizing::new("abc>>>def".into()),
        };
        let h = registry_auth_header(&auth, "127.0.0.1:5000");
        assert!(!h.contains('+') && !h.contains('/'), "{}", h.as_str());
        let standard = base64::engine::general_purpose::STANDARD.encode(
            serde_json::json!({"username": "user", "password": "abc>>>def",
                               "serveraddress": "127.0.0.1:5000"})
            .to_string(),
        );
        assert!(standard.contains('+') || standard.contains('/'));
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(h.as_bytes())
            .unwrap();
        let v: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(v["password"], "abc>>>def");
        assert_eq!(v["username"], "user");
        assert_eq!(v["serveraddress"], "127.0.0.1:5000");
    }

    #[test]
    fn pull_stream_errors() {
        let ok = b"{\"status\":\"Pulling from app\"}\r\n{\"status\":\"Digest: sha256:1\"}\r\n";
        assert_eq!(stream_error(ok), None);
        let bad = b"{\"status\":\"Pulling\"}\n{\"errorDetail\":{\"message\":\"unauthorized: x\"},\"error\":\"unauthorized: x\"}\n";
        assert_eq!(stream_error(bad).as_deref(), Some("unauthorized: x"));
    }

    /// A daemon that is away (socket refused or gone) is `Unavailable`, so the agent waits
    /// for it; the daemon's own answers are not.
    #[test]
    fn transport_failures_are_unavailable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            other(bollard::errors::Error::from(refused)),
            RuntimeError::Unavailable(_)
        ));
        assert!(matches!(
            other(bollard::errors::Error::SocketNotFoundError(
                "/x.sock".into()
            )),
            RuntimeError::Unavailable(_)
        ));
        assert!(matches!(
            other(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message: "no such container".into()
            }),
            RuntimeError::NotFound(_)
        ));
        assert!(matches!(
            other(bollard::errors::Error::DockerResponseServerError {
                status_code: 500,
                message: "boom".into()
            }),
            RuntimeError::Other(_)
        ));
    }

    /// An ELF header (64-bit little-endian) with program headers of the given types.
    fn elf64(types: &[u32]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 * types.len()];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&u16::try_from(types.len()).unwrap().to_le_bytes());
        for (i, t) in types.iter().enumerate() {
            b[64 + 56 * i..68 + 56 * i].copy_from_slice(&t.to_le_bytes());
        }
        b
    }

    /// Only an executable without a program interpreter can be the pause image's one file.
    #[test]
    fn static_executables() {
        assert!(is_static_elf(&elf64(&[6, 1, 1])));
        assert!(!is_static_elf(&elf64(&[6, 3, 1])), "PT_INTERP: dynamic");
        assert!(!is_static_elf(b"#!/bin/sh\necho hi\n"));
        let mut cut = elf64(&[1, 1]);
        cut.truncate(80);
        assert!(!is_static_elf(&cut), "program headers past the end");
    }

    /// The pause image's tar: `bin/` and `bin/busybox` (0755), valid checksums, padded.
    #[test]
    fn pause_rootfs_is_a_tar() {
        let rootfs = pause_rootfs(b"busybox!");
        assert_eq!(rootfs.len() % 512, 0);
        assert_eq!(rootfs.len(), 512 * 3 + 1024);
        for (at, name, kind) in [(0, "bin/", b'5'), (512, "bin/busybox", b'0')] {
            let h = &rootfs[at..at + 512];
            assert!(
                h.starts_with(name.as_bytes()) && h[name.len()] == 0,
                "{name}"
            );
            assert_eq!(h[156], kind);
            assert_eq!(&h[100..107], b"0000755");
            assert_eq!(&h[257..263], b"ustar\0");
            let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8);
            let sum: u32 = h
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u32::from(*b)
                    }
                })
                .sum();
            assert_eq!(stored.unwrap(), sum, "{name}");
        }
        assert_eq!(&rootfs[512 + 124..512 + 135], b"00000000010");
        assert_eq!(&rootfs[1024..1032], b"busybox!");
        assert!(rootfs[1032..].iter().all(|b| *b == 0));
    }

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host("unix:///var/run/docker.sock").unwrap(),
            Endpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2375").unwrap(),
            Endpoint::Tcp("127.0.0.1:2375".into())
        );
        assert!(parse_host("ssh://x").is_err());
    }
}
