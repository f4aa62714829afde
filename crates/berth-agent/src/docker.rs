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
use std::time::Duration;

use base64::Engine;
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding, PortMap,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
    WaitContainerOptions,
};
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::asm::RegistryAuth;
use crate::http::send_on_with;
use crate::progress::{Lines, LogObserver, PullObserver, PullTracker};
use crate::runtime::{
    ContainerRuntime, ContainerSpec, ContainerState, NetworkBinding, RuntimeError,
};

/// The Docker host when `DOCKER_HOST` is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How long one pull may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a wait for a container's exit may block (it is repeated after that).
const WAIT_TIMEOUT: Duration = Duration::from_secs(3600);

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
            .body(Full::new(Bytes::new()))
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
            .raw_request(hyper::Method::POST, &path, &headers, |chunk| {
                let mut changed = false;
                lines.push(chunk, |line| {
                    if let Ok(message) = serde_json::from_slice::<Value>(line) {
                        changed |= tracker.apply(&message);
                    }
                });
                if changed {
                    reporter.update(&tracker.snapshot());
                }
            })
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
        let failure = status >= 400 || stream_error(&body).is_some();
        reporter.finish(&tracker.snapshot(), !failure);
        if status >= 400 {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(RuntimeError::Pull(format!(
                "Error response from daemon: {message}"
            )));
        }
        match stream_error(&body) {
            Some(m) => Err(RuntimeError::Pull(m)),
            None => Ok(()),
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        let mib = |v: Option<i64>| v.filter(|m| *m > 0).map(|m| m * 1024 * 1024);
        let mut exposed = Vec::new();
        let mut bindings = PortMap::new();
        for p in &spec.port_mappings {
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
            networking_config: spec.network.as_ref().map(|n| NetworkingConfig {
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
                network_mode: spec.network.clone(),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                memory: mib(spec.memory_mib),
                memory_reservation: mib(spec.memory_reservation_mib),
                cpu_shares: spec.cpu_shares.filter(|c| *c >= 2),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(other)?;
        Ok(created.id)
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
        Ok(ContainerState {
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
