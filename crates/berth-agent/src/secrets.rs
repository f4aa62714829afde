//! A task's `secrets` and log `secretOptions`, fetched at task start with the execution role's
//! credentials over berth's API, as the ECS agent's `asmsecret` and `ssmsecret` resources do:
//!
//! - Secrets Manager: one GetSecretValue per distinct `valueFrom` and region, all at once
//!   (`SecretId` without the selectors, `VersionStage`/`VersionId` passed); a JSON key's value
//!   rendered as the agent renders it ([`berth_ecs::secrets::json_key_value`]); every failure
//!   kept, joined with `;`.
//! - SSM Parameter Store: GetParameters (`WithDecryption`) per region, 10 names a call, the
//!   values kept under the name as asked; the first failure is the task's.
//!
//! The values live only in memory ([`TaskSecrets`], wiped when dropped, never printed) until
//! the containers are created with them: as environment variables (over the definition's own
//! of the same name) and as log driver options, exactly where ECS puts them (so `docker
//! inspect` shows them, as on an ECS instance).

use std::collections::HashMap;
use std::fmt;

use berth_ecs::AgentTask;
use berth_ecs::agent::AgentContainer;
use berth_ecs::secrets::{
    AgentSecret, PROVIDER_ASM, PROVIDER_SSM, TARGET_LOG_DRIVER, TYPE_ENVIRONMENT_VARIABLE,
    json_key_value, parse_asm,
};
use futures_util::future::join_all;
use zeroize::Zeroizing;

use crate::api::{ApiError, Credentials};
use crate::control::{SecretVersion, TaskControl};
use crate::runtime::ContainerSpec;

/// The agent's words when a task with Secrets Manager secrets came without execution-role
/// credentials.
pub const ASM_NO_EXECUTION_CREDENTIALS: &str =
    "ASM secret resource: unable to find execution role credentials";
/// The same for SSM Parameter Store secrets.
pub const SSM_NO_EXECUTION_CREDENTIALS: &str =
    "ssm secret resource: unable to find execution role credentials";
/// The most names the agent asks GetParameters for at once.
pub const SSM_BATCH: usize = 10;
/// Fargate's words before a Secrets Manager failure (after its one retry).
pub const FARGATE_ASM_PREFIX: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): ";
/// Fargate's words before a Parameter Store failure (after its one retry).
pub const FARGATE_SSM_PREFIX: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): ";

/// GetSecretValue's errors that the AWS SDK for Go v2 knows by type (printed `Code: message`);
/// any other reads `api error Code: message`.
const ASM_MODELED: [&str; 5] = [
    "DecryptionFailure",
    "InternalServiceError",
    "InvalidParameterException",
    "InvalidRequestException",
    "ResourceNotFoundException",
];
/// GetParameters' errors the SDK knows by type.
const SSM_MODELED: [&str; 2] = ["InternalServerError", "InvalidKeyId"];

/// A failed call as the AWS SDK for Go v2 prints it (the ECS agent's SDK):
/// `operation error <service>: <operation>, https response error StatusCode: N, RequestID: ID,
/// [api error ]Code: message`. A call without an answer keeps the transport's words.
pub fn sdk_v2_error(service: &str, operation: &str, modeled: &[&str], e: &ApiError) -> String {
    match e {
        ApiError::Service {
            code,
            message,
            status,
            request_id,
        } => {
            let api = if modeled.contains(&code.as_str()) {
                format!("{code}: {message}")
            } else {
                format!("api error {code}: {message}")
            };
            format!(
                "operation error {service}: {operation}, https response error StatusCode: {status}, RequestID: {request_id}, {api}"
            )
        }
        ApiError::Transport(m) => format!("operation error {service}: {operation}, {m}"),
    }
}

/// The agent's words for a failed GetSecretValue of `secret_id`.
pub fn asm_error(secret_id: &str, e: &ApiError) -> String {
    let sdk = sdk_v2_error("Secrets Manager", "GetSecretValue", &ASM_MODELED, e);
    if e.code() == Some("ResourceNotFoundException") {
        format!(
            "ResourceNotFoundException: The task can't retrieve the secret with ARN '{secret_id}' from AWS Secrets Manager. Check whether the secret exists in the specified Region: {sdk}"
        )
    } else {
        // The agent wraps the error with a message that already holds it: it reads twice.
        format!("secret {secret_id}: {sdk}: {sdk}")
    }
}

/// The agent's words for a failed GetParameters in `region`.
pub fn ssm_error(region: &str, e: &ApiError) -> String {
    format!(
        "fetching secret data from SSM Parameter Store in {region}: {}",
        sdk_v2_error("SSM", "GetParameters", &SSM_MODELED, e)
    )
}

/// The agent's words for names GetParameters did not find.
pub fn ssm_invalid(region: &str, names: &[String]) -> String {
    format!(
        "fetching secret data from SSM Parameter Store in {region}: invalid parameters: {}",
        names.join(",")
    )
}

/// A task's fetched secret values, by the agent's key (`valueFrom` and region): in memory
/// only, wiped when dropped, never printed.
#[derive(Default)]
pub struct TaskSecrets {
    values: HashMap<String, Zeroizing<String>>,
}

impl fmt::Debug for TaskSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskSecrets {{ {} values }}", self.values.len())
    }
}

impl TaskSecrets {
    /// A secret's value; empty when it was not fetched (as the agent, which sets the
    /// variable to `""` when Parameter Store answered under another name).
    pub fn value(&self, s: &AgentSecret) -> &str {
        self.values
            .get(&s.cache_key())
            .map(|v| v.as_str())
            .unwrap_or("")
    }

    /// Puts a container's secrets into its spec: each `secrets` entry as an environment
    /// variable (replacing one of the same name), each `secretOptions` entry as an option of
    /// its log driver when the container has one and the value is not empty (as the agent).
    pub fn apply(&self, c: &AgentContainer, spec: &mut ContainerSpec) {
        for s in &c.secrets {
            let value = self.value(s);
            if s.kind == TYPE_ENVIRONMENT_VARIABLE {
                let prefix = format!("{}=", s.name);
                spec.env.retain(|kv| !kv.starts_with(&prefix));
                spec.env.push(format!("{}={value}", s.name));
            } else if s.target == TARGET_LOG_DRIVER
                && !value.is_empty()
                && let Some(log) = spec.log_config.as_mut()
            {
                log.options.insert(s.name.clone(), value.to_string());
            }
        }
    }
}

/// The execution role's credentials of a task.
fn execution_credentials(task: &AgentTask) -> Option<Credentials> {
    task.execution_role_credentials.as_ref().map(|rc| {
        Credentials::new(
            &rc.access_key_id,
            &rc.secret_access_key,
            Some(&rc.session_token),
        )
    })
}

/// Fetches every secret of the given containers. The error is the agent's reason (Fargate's
/// when `fargate`: one retry of a failed call, its `ResourceInitializationError` words).
/// Secrets Manager's failures come first when both providers fail.
pub async fn fetch_task_secrets<C: TaskControl>(
    control: &C,
    task: &AgentTask,
    containers: &[&AgentContainer],
    fargate: bool,
) -> Result<TaskSecrets, String> {
    let all: Vec<&AgentSecret> = containers.iter().flat_map(|c| c.secrets.iter()).collect();
    let mut out = TaskSecrets::default();
    if all.is_empty() {
        return Ok(out);
    }
    let creds = execution_credentials(task);
    // Secrets Manager: each distinct (valueFrom, region) once.
    let mut asm: Vec<&AgentSecret> = Vec::new();
    for s in all.iter().filter(|s| s.provider == PROVIDER_ASM) {
        if !asm.iter().any(|a| a.cache_key() == s.cache_key()) {
            asm.push(s);
        }
    }
    if !asm.is_empty() {
        let Some(creds) = &creds else {
            return Err(fargate_word(
                fargate,
                PROVIDER_ASM,
                ASM_NO_EXECUTION_CREDENTIALS,
            ));
        };
        let fetched = join_all(asm.iter().map(|s| fetch_asm(control, s, creds, fargate))).await;
        let mut errors = Vec::new();
        for (s, r) in asm.iter().zip(fetched) {
            match r {
                Ok(v) => {
                    out.values.insert(s.cache_key(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join(";"));
        }
    }
    // Parameter Store: per region (in the order first named), every name as asked, 10 a call.
    let mut regions: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in all.iter().filter(|s| s.provider == PROVIDER_SSM) {
        match regions.iter_mut().find(|(r, _)| *r == s.region) {
            Some((_, names)) => names.push(&s.value_from),
            None => regions.push((&s.region, vec![&s.value_from])),
        }
    }
    if !regions.is_empty() {
        let Some(creds) = &creds else {
            return Err(fargate_word(
                fargate,
                PROVIDER_SSM,
                SSM_NO_EXECUTION_CREDENTIALS,
            ));
        };
        let calls = regions.iter().flat_map(|(region, names)| {
            names.chunks(SSM_BATCH).map(move |batch| {
                let batch: Vec<String> = batch.iter().map(|n| n.to_string()).collect();
                fetch_ssm(control, region, batch, creds, fargate)
            })
        });
        for r in join_all(calls).await {
            let (region, values) = r?;
            for (name, value) in values {
                out.values.insert(format!("{name}_{region}"), value);
            }
        }
    }
    Ok(out)
}

/// A failure's words for the launch type (Fargate's prefix for the provider).
fn fargate_word(fargate: bool, provider: &str, m: &str) -> String {
    match (fargate, provider) {
        (false, _) => m.to_string(),
        (true, PROVIDER_ASM) => format!("{FARGATE_ASM_PREFIX}{m}"),
        (true, _) => format!("{FARGATE_SSM_PREFIX}{m}"),
    }
}

async fn fetch_asm<C: TaskControl>(
    control: &C,
    s: &AgentSecret,
    creds: &Credentials,
    fargate: bool,
) -> Result<Zeroizing<String>, String> {
    let request = parse_asm(&s.value_from).map_err(|e| {
        fargate_word(
            fargate,
            PROVIDER_ASM,
            &format!(
                "trying to retrieve secret with value {} resulted in error: {e}",
                s.value_from
            ),
        )
    })?;
    let version = SecretVersion {
        secret_id: request.secret_id.clone(),
        version_stage: request.version_stage.clone(),
        version_id: request.version_id.clone(),
    };
    let mut fetched = control.get_secret_version(&version, &s.region, creds).await;
    if fargate && fetched.is_err() {
        fetched = control.get_secret_version(&version, &s.region, creds).await;
    }
    let value = fetched.map_err(|e| {
        if fargate {
            format!(
                "{FARGATE_ASM_PREFIX}failed to fetch secret {} from secrets manager: {}",
                request.secret_id,
                e.sdk_style()
            )
        } else {
            asm_error(&request.secret_id, &e)
        }
    })?;
    if request.json_key.is_empty() {
        return Ok(value.unwrap_or_default());
    }
    json_key_value(value.as_deref().map(String::as_str), &request.json_key)
        .map_err(|m| fargate_word(fargate, PROVIDER_ASM, &m))
}

type RegionValues = (String, Vec<(String, Zeroizing<String>)>);

async fn fetch_ssm<C: TaskControl>(
    control: &C,
    region: &str,
    names: Vec<String>,
    creds: &Credentials,
    fargate: bool,
) -> Result<RegionValues, String> {
    let mut fetched = control.get_parameters(&names, region, creds).await;
    if fargate && fetched.is_err() {
        fetched = control.get_parameters(&names, region, creds).await;
    }
    let answer = fetched.map_err(|e| {
        if fargate {
            format!("{FARGATE_SSM_PREFIX}{}", e.sdk_style())
        } else {
            ssm_error(region, &e)
        }
    })?;
    if !answer.invalid.is_empty() {
        return Err(if fargate {
            format!(
                "{FARGATE_SSM_PREFIX}invalid parameters: {}",
                answer.invalid.join(",")
            )
        } else {
            ssm_invalid(region, &answer.invalid)
        });
    }
    Ok((region.to_string(), answer.values))
}
