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
/// state reports and the registry secret.
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
