//! Starting an agent the way `berth agent` and `berth up` do: credentials from the standard
//! AWS settings, Docker from `DOCKER_HOST`, then [`Agent::run`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::agent::{Agent, AgentConfig, AgentError};
use crate::api::{ApiClient, Credentials};
use crate::control::BerthControlPlane;
use crate::docker::DockerRuntime;
use crate::engine_auth::EngineAuthSource;
use crate::progress::PullObserver;
use crate::runtime::RuntimeError;

/// Everything an agent is started with.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// berth's endpoint, `http://host:port` or `https://host[:port]`.
    pub endpoint: String,
    /// The TLS client configuration for an `https://` endpoint (the machine's trusted
    /// certificates when `None`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub cluster: String,
    pub external: bool,
    pub credentials: Credentials,
    /// The region the agent's own calls are signed for.
    pub region: String,
    /// `DOCKER_HOST` syntax; the default socket when `None`.
    pub docker_host: Option<String>,
    /// Where to keep the container instance ARN between runs.
    pub instance_file: Option<PathBuf>,
    /// `ECS_ENGINE_AUTH_TYPE` / `ECS_ENGINE_AUTH_DATA`, or the engine auth file.
    pub engine_auth: Arc<EngineAuthSource>,
    /// Where image pull progress goes (the log when `None`).
    pub pull_observer: Option<Arc<dyn PullObserver>>,
    /// The instance's zone ([`zone_from_environment`]).
    pub availability_zone: String,
    /// Custom attributes ([`instance_attributes_from_environment`]).
    pub instance_attributes: Vec<(String, String)>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The instance's zone: `BERTH_AVAILABILITY_ZONE`, else the region's zone as berth names it.
pub fn zone_from_environment(region: &str) -> String {
    env("BERTH_AVAILABILITY_ZONE").unwrap_or_else(|| berth_ecs::default_zone(region))
}

/// Custom instance attributes from `ECS_INSTANCE_ATTRIBUTES` (a JSON object of strings, as
/// the ECS agent reads it), checked against ECS's attribute rules; none when unset.
pub fn instance_attributes_from_environment() -> Result<Vec<(String, String)>, String> {
    match env("ECS_INSTANCE_ATTRIBUTES") {
        Some(text) => parse_instance_attributes(&text),
        None => Ok(Vec::new()),
    }
}

/// [`instance_attributes_from_environment`] of a given text. Names: 1–128 letters, digits,
/// `-`, `_`, `/`, `\`, `.`, not in ECS's own `ecs.` namespaces; values: up to 128 letters,
/// digits, `-`, `_`, `.`, `@`, `/`, `\`, `:` and spaces, not starting or ending with a space
/// (the rules of the ECS `Attribute` shape).
pub fn parse_instance_attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|e| format!("ECS_INSTANCE_ATTRIBUTES is not a JSON object of strings: {e}"))?;
    let name_ok = |n: &str| {
        (1..=128).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_/\\.".contains(c))
            && !n.starts_with("ecs.")
            && !n.starts_with("com.amazonaws.ecs.")
    };
    let value_ok = |v: &str| {
        v.len() <= 128
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@/\\: ".contains(c))
            && !v.starts_with(' ')
            && !v.ends_with(' ')
    };
    let mut out = Vec::new();
    for (name, value) in map {
        if !name_ok(&name) {
            return Err(format!(
                "ECS_INSTANCE_ATTRIBUTES: invalid attribute name {name:?}"
            ));
        }
        if !value_ok(&value) {
            return Err(format!(
                "ECS_INSTANCE_ATTRIBUTES: invalid value {value:?} of attribute {name}"
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// The region from `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn region_from_environment() -> String {
    env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// Credentials as the AWS CLI finds them: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`, else profile `AWS_PROFILE` (or `default`) of the shared credentials
/// file (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`).
pub fn credentials_from_environment() -> Result<Credentials, String> {
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let secret = zeroize::Zeroizing::new(secret);
        return Ok(Credentials::new(
            &id,
            &secret,
            env("AWS_SESSION_TOKEN").as_deref(),
        ));
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let path = match env("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env("HOME").ok_or(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
        )?)
        .join(".aws/credentials"),
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .map_err(|e| format!("no credentials: reading {}: {e}", path.display()))?,
    );
    profile_credentials(&text, &profile)
        .ok_or_else(|| format!("no credentials for profile {profile} in {}", path.display()))
}

/// The credentials of `profile` in a shared-credentials (INI) text.
pub fn profile_credentials(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(zeroize::Zeroizing::new(v)),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials::new(&id?, &secret?, token.as_deref()))
}

/// Connects to Docker, then registers and runs the agent until `shutdown` completes.
pub async fn run_agent(
    opts: AgentOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let mut runtime = DockerRuntime::connect(opts.docker_host.as_deref())
        .await
        .map_err(AgentError::Runtime)?;
    if let Some(observer) = opts.pull_observer.clone() {
        runtime = runtime.with_pull_observer(observer);
    }
    let (cpus, mem_bytes) = runtime.resources().await.map_err(AgentError::Runtime)?;
    tracing::info!(docker_api_version = %runtime.api_version(), cpus, "connected to docker");
    let client = ApiClient::new(&opts.endpoint, opts.tls.clone()).map_err(AgentError::Register)?;
    let control = BerthControlPlane::new(client, opts.credentials, &opts.region);
    let cfg = AgentConfig {
        cluster: opts.cluster,
        external: opts.external,
        docker_api_version: runtime.api_version().to_string(),
        cpu_units: cpus.max(1) * 1024,
        memory_mib: mem_bytes / (1024 * 1024),
        instance_file: opts.instance_file,
        engine_auth: opts.engine_auth.clone(),
        availability_zone: opts.availability_zone,
        instance_attributes: opts.instance_attributes,
    };
    // SIGHUP: re-read the engine auth file now.
    let source = opts.engine_auth;
    let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => Some(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: re-reading the engine auth settings");
                source.reload();
            }
        })),
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler");
            None
        }
    };
    let result = Agent::new(Arc::new(runtime), Arc::new(control), cfg)
        .run(shutdown)
        .await;
    if let Some(h) = hangups {
        h.abort();
    }
    result
}

impl From<RuntimeError> for AgentError {
    fn from(e: RuntimeError) -> AgentError {
        AgentError::Runtime(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instance_attributes() {
        assert_eq!(
            parse_instance_attributes(r#"{"stack": "prod", "team/owner": "a@b: c"}"#).unwrap(),
            vec![
                ("stack".to_string(), "prod".to_string()),
                ("team/owner".to_string(), "a@b: c".to_string())
            ]
        );
        for bad in [
            r#"["stack"]"#,
            r#"{"stack": 1}"#,
            r#"{"": "x"}"#,
            r#"{"ecs.availability-zone": "x"}"#,
            r#"{"com.amazonaws.ecs.capability.x": "x"}"#,
            r#"{"a b": "x"}"#,
            r#"{"a": " x"}"#,
            r#"{"a": "x "}"#,
            r#"{"a": "x#"}"#,
        ] {
            assert!(parse_instance_attributes(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"{}": "x"}}"#, "a".repeat(129));
        assert!(parse_instance_attributes(&long).is_err());
        let long = format!(r#"{{"a": "{}"}}"#, "v".repeat(129));
        assert!(parse_instance_attributes(&long).is_err());
    }

    #[test]
    fn profiles() {
        let text = "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n\
                    [berth]\naws_access_key_id=A2\naws_secret_access_key = S2\naws_session_token = T2\n";
        let d = profile_credentials(text, "default").unwrap();
        assert_eq!(d.access_key_id, "A1");
        assert_eq!(d.secret_access_key.as_str(), "S1");
        assert!(d.session_token.is_none());
        let b = profile_credentials(text, "berth").unwrap();
        assert_eq!(b.access_key_id, "A2");
        assert_eq!(b.session_token.as_deref().map(String::as_str), Some("T2"));
        assert!(profile_credentials(text, "other").is_none());
    }
}
