//! The control plane as the agent sees it, as a trait; [`BerthControlPlane`] talks to berth
//! over its signed API.

use std::future::Future;
use std::time::Duration;

use berth_ecs::AgentPoll;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::api::{ApiClient, ApiError, Credentials};

const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113";
/// How long a poll may wait on the server, and how long the agent waits for its answer.
pub const POLL_WAIT_SECONDS: u64 = 20;
const POLL_TIMEOUT: Duration = Duration::from_secs(POLL_WAIT_SECONDS + 15);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The ECS agent's timeout for GetSecretValue.
const SECRET_TIMEOUT: Duration = Duration::from_secs(5);

/// What a task runner (the agent's, or berth's Fargate runner) asks of the control plane:
/// state reports, the registry secret and the containers' secrets.
pub trait TaskControl: Send + Sync + 'static {
    fn submit_task_state_change(
        &self,
        input: Value,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    fn submit_container_state_change(
        &self,
        input: Value,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Secrets Manager GetSecretValue as `creds` in `region`; returns the `SecretString`
    /// (`None` for a binary-only secret).
    fn get_secret_string(
        &self,
        secret_id: &str,
        region: &str,
        creds: &Credentials,
    ) -> impl Future<Output = Result<Option<Zeroizing<String>>, ApiError>> + Send;

    /// Secrets Manager GetSecretValue of one version (by stage or id) as `creds` in `region`;
    /// returns the `SecretString` (`None` for a binary-only secret).
    fn get_secret_version(
        &self,
        request: &SecretVersion,
        region: &str,
        creds: &Credentials,
    ) -> impl Future<Output = Result<Option<Zeroizing<String>>, ApiError>> + Send;

    /// SSM GetParameters (`WithDecryption`) of at most 10 names as `creds` in `region`.
    fn get_parameters(
        &self,
        names: &[String],
        region: &str,
        creds: &Credentials,
    ) -> impl Future<Output = Result<Parameters, ApiError>> + Send;

    /// A CloudWatch Logs call (`operation`: `CreateLogStream`, `PutLogEvents`, …) in `region`,
    /// signed as `creds` (the task's execution role), or, when `None`, with the runner's own
    /// credentials (the ECS agent's instance credentials; berth's Fargate runner has none).
    fn logs_call(
        &self,
        operation: &str,
        input: Value,
        region: &str,
        creds: Option<&Credentials>,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// The timestamps of the last `limit` events of a task's log stream, oldest first: the
    /// awslogs shipper's checkpoint, read by the runner itself (the agent with its own
    /// credentials, falling back to `creds`; berth's Fargate runner in process).
    fn log_tail(
        &self,
        task_arn: &str,
        region: &str,
        group: &str,
        stream: &str,
        limit: usize,
        creds: Option<&Credentials>,
    ) -> impl Future<Output = Result<Vec<u64>, ApiError>> + Send;
}

/// Which version of a secret GetSecretValue asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    pub secret_id: String,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

/// GetParameters' answer: each parameter's value under the name it was asked by, and the
/// names it did not find (`InvalidParameters`).
#[derive(Default)]
pub struct Parameters {
    pub values: Vec<(String, Zeroizing<String>)>,
    pub invalid: Vec<String>,
}

impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameters")
            .field(
                "names",
                &self.values.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("invalid", &self.invalid)
            .finish()
    }
}

/// Secrets Manager GetSecretValue of one version over berth's API, signed as `creds` for
/// `region` (the ECS agent's 5 s timeout); returns the `SecretString`.
pub async fn get_secret_version(
    client: &ApiClient,
    request: &SecretVersion,
    region: &str,
    creds: &Credentials,
) -> Result<Option<Zeroizing<String>>, ApiError> {
    let mut input = json!({ "SecretId": request.secret_id });
    if let Some(stage) = &request.version_stage {
        input["VersionStage"] = json!(stage);
    }
    if let Some(id) = &request.version_id {
        input["VersionId"] = json!(id);
    }
    let out = client
        .call(
            creds,
            region,
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            &input,
            SECRET_TIMEOUT,
        )
        .await?;
    Ok(out
        .get("SecretString")
        .and_then(Value::as_str)
        .map(|s| Zeroizing::new(s.to_string())))
}

/// SSM GetParameters over berth's API (`AmazonSSM`, JSON 1.1, signing name `ssm`), signed as
/// `creds` for `region`, with `WithDecryption: true` as the ECS agent asks.
pub async fn get_parameters(
    client: &ApiClient,
    names: &[String],
    region: &str,
    creds: &Credentials,
) -> Result<Parameters, ApiError> {
    let out = client
        .call(
            creds,
            region,
            "ssm",
            "AmazonSSM.GetParameters",
            &json!({ "Names": names, "WithDecryption": true }),
            SECRET_TIMEOUT,
        )
        .await?;
    Ok(parameters_of(&out))
}

/// The parameters and invalid names of a GetParameters answer.
pub fn parameters_of(out: &Value) -> Parameters {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Parameters {
        values: out
            .get("Parameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some((
                            text(p, "Name")?,
                            Zeroizing::new(text(p, "Value").unwrap_or_default()),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        invalid: out
            .get("InvalidParameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// How long a CloudWatch Logs call may take.
const LOGS_TIMEOUT: Duration = Duration::from_secs(30);

/// A CloudWatch Logs call over berth's API, signed as `creds` for `region`.
pub async fn logs_call(
    client: &ApiClient,
    operation: &str,
    input: &Value,
    region: &str,
    creds: &Credentials,
) -> Result<Value, ApiError> {
    client
        .call(
            creds,
            region,
            "logs",
            &format!("Logs_20140328.{operation}"),
            input,
            LOGS_TIMEOUT,
        )
        .await
}

/// GetLogEvents' timestamps (the newest `limit` events, oldest first) over berth's API.
pub async fn get_tail(
    client: &ApiClient,
    region: &str,
    group: &str,
    stream: &str,
    limit: usize,
    creds: &Credentials,
) -> Result<Vec<u64>, ApiError> {
    let input = json!({
        "logGroupName": group,
        "logStreamName": stream,
        "startFromHead": false,
        "limit": limit,
    });
    match logs_call(client, "GetLogEvents", &input, region, creds).await {
        Ok(out) => Ok(out
            .get("events")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("timestamp").and_then(Value::as_u64))
                    .collect()
            })
            .unwrap_or_default()),
        Err(ApiError::Service { code, .. }) if code == "ResourceNotFoundException" => {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// What the agent asks of the control plane, beyond a task runner's needs.
pub trait ControlPlane: TaskControl {
    /// RegisterContainerInstance; returns the `containerInstance` object.
    fn register(&self, input: Value) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// BerthPollTasks.
    fn poll(
        &self,
        cluster: &str,
        instance_arn: &str,
        seq: Option<u64>,
    ) -> impl Future<Output = Result<AgentPoll, ApiError>> + Send;
}

/// Secrets Manager GetSecretValue over berth's API, signed as `creds` for `region` (the ECS
/// agent's 5 s timeout); returns the `SecretString`.
pub async fn get_secret_string(
    client: &ApiClient,
    secret_id: &str,
    region: &str,
    creds: &Credentials,
) -> Result<Option<Zeroizing<String>>, ApiError> {
    let out = client
        .call(
            creds,
            region,
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            &json!({ "SecretId": secret_id }),
            SECRET_TIMEOUT,
        )
        .await?;
    Ok(out
        .get("SecretString")
        .and_then(Value::as_str)
        .map(|s| Zeroizing::new(s.to_string())))
}

/// berth's API, signed with the agent's own credentials (and the task's execution role's for
/// secrets).
#[derive(Debug, Clone)]
pub struct BerthControlPlane {
    client: ApiClient,
    creds: Credentials,
    region: String,
}

impl BerthControlPlane {
    pub fn new(client: ApiClient, creds: Credentials, region: &str) -> BerthControlPlane {
        BerthControlPlane {
            client,
            creds,
            region: region.to_string(),
        }
    }

    async fn ecs(
        &self,
        operation: &str,
        input: &Value,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        self.client
            .call(
                &self.creds,
                &self.region,
                "ecs",
                &format!("{ECS_TARGET}.{operation}"),
                input,
                timeout,
            )
            .await
    }
}

impl ControlPlane for BerthControlPlane {
    async fn register(&self, input: Value) -> Result<Value, ApiError> {
        let out = self
            .ecs("RegisterContainerInstance", &input, CALL_TIMEOUT)
            .await?;
        Ok(out.get("containerInstance").cloned().unwrap_or(Value::Null))
    }

    async fn poll(
        &self,
        cluster: &str,
        instance_arn: &str,
        seq: Option<u64>,
    ) -> Result<AgentPoll, ApiError> {
        let mut input = json!({
            "cluster": cluster,
            "containerInstance": instance_arn,
            "waitSeconds": POLL_WAIT_SECONDS,
        });
        if let Some(s) = seq {
            input["seq"] = json!(s);
        }
        let out = self.ecs("BerthPollTasks", &input, POLL_TIMEOUT).await?;
        serde_json::from_value(out)
            .map_err(|e| ApiError::Transport(format!("BerthPollTasks: unexpected answer: {e}")))
    }
}

impl TaskControl for BerthControlPlane {
    async fn submit_task_state_change(&self, input: Value) -> Result<(), ApiError> {
        self.ecs("SubmitTaskStateChange", &input, CALL_TIMEOUT)
            .await
            .map(|_| ())
    }

    async fn submit_container_state_change(&self, input: Value) -> Result<(), ApiError> {
        self.ecs("SubmitContainerStateChange", &input, CALL_TIMEOUT)
            .await
            .map(|_| ())
    }

    async fn get_secret_string(
        &self,
        secret_id: &str,
        region: &str,
        creds: &Credentials,
    ) -> Result<Option<Zeroizing<String>>, ApiError> {
        get_secret_string(&self.client, secret_id, region, creds).await
    }

    async fn get_secret_version(
        &self,
        request: &SecretVersion,
        region: &str,
        creds: &Credentials,
    ) -> Result<Option<Zeroizing<String>>, ApiError> {
        get_secret_version(&self.client, request, region, creds).await
    }

    async fn get_parameters(
        &self,
        names: &[String],
        region: &str,
        creds: &Credentials,
    ) -> Result<Parameters, ApiError> {
        get_parameters(&self.client, names, region, creds).await
    }

    async fn logs_call(
        &self,
        operation: &str,
        input: Value,
        region: &str,
        creds: Option<&Credentials>,
    ) -> Result<Value, ApiError> {
        logs_call(
            &self.client,
            operation,
            &input,
            region,
            creds.unwrap_or(&self.creds),
        )
        .await
    }

    async fn log_tail(
        &self,
        _task_arn: &str,
        region: &str,
        group: &str,
        stream: &str,
        limit: usize,
        creds: Option<&Credentials>,
    ) -> Result<Vec<u64>, ApiError> {
        let own = get_tail(&self.client, region, group, stream, limit, &self.creds).await;
        match (own, creds) {
            (Err(ApiError::Service { .. }), Some(c)) => {
                get_tail(&self.client, region, group, stream, limit, c).await
            }
            (result, _) => result,
        }
    }
}
