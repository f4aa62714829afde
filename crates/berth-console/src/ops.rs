//! Every call the console makes to the application, one function per console action, with
//! plain Rust arguments and results; the pages never see the API's shapes.
//!
//! Each call runs as the signed-in principal through the handler the JSON API would call, so
//! the same `authz::authorize` checks decide and the same errors come back (as
//! [`ConsoleError`]s, built here only). Only the operations in [`OPERATIONS`] can be called,
//! and none of them returns a secret value. This is the one module of the console that uses
//! the wire crate.

use berth_api::WireError;
use berth_api::protocol::Service;
use berth_api::services::{self, Ctx};
use berth_control::authz::Check;
use berth_control::{Caller, Control};
use serde_json::{Value, json};

use crate::error::ConsoleError;

/// The operations the console may call, and nothing else. None of them returns a secret value
/// (`GetSecretValue` and `BatchGetSecretValue` are not here, and a test keeps it so).
pub const OPERATIONS: &[(Service, &str)] = &[
    (Service::Ecs, "ListClusters"),
    (Service::Ecs, "DescribeClusters"),
    (Service::Ecs, "CreateCluster"),
    (Service::Ecs, "ListTaskDefinitionFamilies"),
    (Service::Ecs, "ListTaskDefinitions"),
    (Service::Ecs, "DescribeTaskDefinition"),
    (Service::Ecs, "RegisterTaskDefinition"),
    (Service::Ecs, "RunTask"),
    (Service::Ecs, "StopTask"),
    (Service::Ecs, "ListTasks"),
    (Service::Ecs, "DescribeTasks"),
    (Service::SecretsManager, "ListSecrets"),
];

/// A cluster as the console lists it.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub running_tasks: Option<i64>,
    pub pending_tasks: Option<i64>,
    pub container_instances: Option<i64>,
}

/// A registered task definition: the fields the console shows, and the whole definition as
/// pretty-printed JSON.
#[derive(Debug, Clone, Default)]
pub struct TaskDefinition {
    pub arn: String,
    pub status: String,
    pub execution_role_arn: Option<String>,
    pub network_mode: String,
    pub compatibilities: Vec<String>,
    pub json: String,
}

/// What the Run a task form asks for (one task).
#[derive(Debug, Clone, Default)]
pub struct RunTask {
    pub cluster: String,
    pub task_definition: String,
    pub launch_type: String,
    /// The awsvpc subnet, when given.
    pub subnet: Option<String>,
}

/// A task RunTask started.
#[derive(Debug, Clone, Default)]
pub struct Started {
    pub task_arn: String,
    pub last_status: String,
}

/// A task as the console lists it.
#[derive(Debug, Clone, Default)]
pub struct Task {
    pub arn: String,
    pub task_definition_arn: String,
    pub launch_type: String,
    pub last_status: String,
    pub desired_status: String,
    pub stop_code: String,
    pub stopped_reason: String,
    pub containers: Vec<Container>,
    /// Seconds since the Unix epoch.
    pub created_at: Option<f64>,
}

/// A task's container.
#[derive(Debug, Clone, Default)]
pub struct Container {
    pub name: String,
    pub last_status: String,
    pub exit_code: Option<i64>,
    pub reason: String,
}

/// A secret's metadata (never its value).
#[derive(Debug, Clone, Default)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub description: String,
    /// `None`: the AWS managed key.
    pub kms_key_id: Option<String>,
    /// Seconds since the Unix epoch.
    pub last_changed: Option<f64>,
    pub tags: Vec<(String, String)>,
}

/// The application as one signed-in principal sees it.
pub struct Ops<'a> {
    control: &'a Control,
    caller: &'a Caller,
}

impl<'a> Ops<'a> {
    pub fn new(control: &'a Control, caller: &'a Caller) -> Ops<'a> {
        Ops { control, caller }
    }

    pub fn list_clusters(&self) -> Result<Vec<String>, ConsoleError> {
        let v = self.ecs("ListClusters", json!({ "maxResults": 100 }))?;
        Ok(strings(&v, "clusterArns"))
    }

    pub fn describe_clusters(&self, arns: &[String]) -> Result<Vec<Cluster>, ConsoleError> {
        let v = self.ecs("DescribeClusters", json!({ "clusters": arns }))?;
        Ok(arr(&v, "clusters")
            .iter()
            .map(|c| Cluster {
                name: s(c, "clusterName").to_string(),
                arn: s(c, "clusterArn").to_string(),
                status: s(c, "status").to_string(),
                running_tasks: c.get("runningTasksCount").and_then(Value::as_i64),
                pending_tasks: c.get("pendingTasksCount").and_then(Value::as_i64),
                container_instances: c
                    .get("registeredContainerInstancesCount")
                    .and_then(Value::as_i64),
            })
            .collect())
    }

    /// Creates a cluster; its name as ECS answers it.
    pub fn create_cluster(&self, name: &str) -> Result<String, ConsoleError> {
        let v = self.ecs("CreateCluster", json!({ "clusterName": name }))?;
        Ok(v.pointer("/cluster/clusterName")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string())
    }

    /// ACTIVE task definition ARNs, newest first.
    pub fn list_task_definitions(&self) -> Result<Vec<String>, ConsoleError> {
        let v = self.ecs(
            "ListTaskDefinitions",
            json!({ "status": "ACTIVE", "sort": "DESC", "maxResults": 100 }),
        )?;
        Ok(strings(&v, "taskDefinitionArns"))
    }

    pub fn describe_task_definition(
        &self,
        reference: &str,
    ) -> Result<TaskDefinition, ConsoleError> {
        let v = self.ecs(
            "DescribeTaskDefinition",
            json!({ "taskDefinition": reference }),
        )?;
        let def = v.get("taskDefinition").cloned().unwrap_or(Value::Null);
        Ok(TaskDefinition {
            arn: s(&def, "taskDefinitionArn").to_string(),
            status: s(&def, "status").to_string(),
            execution_role_arn: def
                .get("executionRoleArn")
                .and_then(Value::as_str)
                .map(str::to_string),
            network_mode: s(&def, "networkMode").to_string(),
            compatibilities: strings(&def, "compatibilities"),
            json: serde_json::to_string_pretty(&def).unwrap_or_default(),
        })
    }

    /// Registers a task definition from its RegisterTaskDefinition input (a JSON object);
    /// returns its ARN.
    pub fn register_task_definition(&self, input: Value) -> Result<String, ConsoleError> {
        let v = self.ecs("RegisterTaskDefinition", input)?;
        Ok(v.pointer("/taskDefinition/taskDefinitionArn")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// Runs one task; a placement failure is an error, in ECS's words.
    pub fn run_task(&self, run: &RunTask) -> Result<Vec<Started>, ConsoleError> {
        let mut input = json!({
            "cluster": run.cluster,
            "taskDefinition": run.task_definition,
            "launchType": run.launch_type,
            "count": 1,
        });
        if let Some(subnet) = &run.subnet {
            input["networkConfiguration"] =
                json!({ "awsvpcConfiguration": { "subnets": [subnet] } });
        }
        let v = self.ecs("RunTask", input)?;
        if let Some(f) = arr(&v, "failures").first() {
            return Err(ConsoleError::client(
                "RunTask failure",
                format!("{}: {}", s(f, "arn"), s(f, "reason")),
            ));
        }
        Ok(arr(&v, "tasks")
            .iter()
            .map(|t| Started {
                task_arn: s(t, "taskArn").to_string(),
                last_status: s(t, "lastStatus").to_string(),
            })
            .collect())
    }

    /// Stops a task; its last status as StopTask answers it.
    pub fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> Result<String, ConsoleError> {
        let v = self.ecs(
            "StopTask",
            json!({ "cluster": cluster, "task": task, "reason": reason }),
        )?;
        Ok(v.pointer("/task/lastStatus")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// The ARNs of the cluster's tasks with this desired status (at most 100).
    pub fn list_tasks(
        &self,
        cluster: &str,
        desired_status: &str,
    ) -> Result<Vec<String>, ConsoleError> {
        let v = self.ecs(
            "ListTasks",
            json!({ "cluster": cluster, "desiredStatus": desired_status, "maxResults": 100 }),
        )?;
        Ok(strings(&v, "taskArns"))
    }

    pub fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<Task>, ConsoleError> {
        let v = self.ecs(
            "DescribeTasks",
            json!({ "cluster": cluster, "tasks": arns }),
        )?;
        Ok(arr(&v, "tasks")
            .iter()
            .map(|t| Task {
                arn: s(t, "taskArn").to_string(),
                task_definition_arn: s(t, "taskDefinitionArn").to_string(),
                launch_type: s(t, "launchType").to_string(),
                last_status: s(t, "lastStatus").to_string(),
                desired_status: s(t, "desiredStatus").to_string(),
                stop_code: s(t, "stopCode").to_string(),
                stopped_reason: s(t, "stoppedReason").to_string(),
                containers: arr(t, "containers")
                    .iter()
                    .map(|c| Container {
                        name: s(c, "name").to_string(),
                        last_status: s(c, "lastStatus").to_string(),
                        exit_code: c.get("exitCode").and_then(Value::as_i64),
                        reason: s(c, "reason").to_string(),
                    })
                    .collect(),
                created_at: t.get("createdAt").and_then(Value::as_f64),
            })
            .collect())
    }

    /// The secrets' metadata (at most 100).
    pub fn list_secrets(&self) -> Result<Vec<Secret>, ConsoleError> {
        let v = self.call(
            Service::SecretsManager,
            "ListSecrets",
            json!({ "MaxResults": 100 }),
        )?;
        Ok(arr(&v, "SecretList")
            .iter()
            .map(|sec| Secret {
                name: s(sec, "Name").to_string(),
                arn: s(sec, "ARN").to_string(),
                description: s(sec, "Description").to_string(),
                kms_key_id: Some(s(sec, "KmsKeyId"))
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
                last_changed: sec.get("LastChangedDate").and_then(Value::as_f64),
                tags: arr(sec, "Tags")
                    .iter()
                    .map(|t| (s(t, "Key").to_string(), s(t, "Value").to_string()))
                    .collect(),
            })
            .collect())
    }

    /// The doctor's report on a registered task definition, for a caller who may read it
    /// (`ecs:DescribeTaskDefinition`) and simulate its execution role's policies
    /// (`iam:SimulatePrincipalPolicy`).
    pub fn diagnose(&self, reference: &str) -> Result<berth_doctor::Report, ConsoleError> {
        let def = self.describe_task_definition(reference)?;
        self.as_caller(|ctx| {
            if let Some(role) = &def.execution_role_arn {
                berth_control::authz::authorize(
                    ctx,
                    &Check::new("iam:SimulatePrincipalPolicy", role),
                )
                .map_err(|e| WireError::from(e).in_protocol(Service::Iam.protocol()))?;
            }
            let api = self.control;
            berth_doctor::diagnose(
                api.store.as_ref(),
                &api.root_key,
                &berth_doctor::Options {
                    account: ctx.account().to_string(),
                    region: self.caller.region.clone(),
                    source: berth_doctor::Source::Registered(def.arn.clone()),
                    caller_arn: Some(self.caller.principal.arn()),
                    cluster: None,
                    registry_check: false,
                    now: ctx.now_secs(),
                },
            )
            .map_err(WireError::from)
        })
        .map_err(console_error)
    }

    fn ecs(&self, operation: &str, input: Value) -> Result<Value, ConsoleError> {
        self.call(Service::Ecs, operation, input)
    }

    /// Calls one of [`OPERATIONS`] through the API's own handler, as the caller.
    fn call(&self, service: Service, operation: &str, input: Value) -> Result<Value, ConsoleError> {
        if !OPERATIONS.contains(&(service, operation)) {
            return Err(console_error(WireError::internal(&format!(
                "the console may not call {operation}"
            ))));
        }
        let result = self.as_caller(|ctx| {
            match service {
                Service::Ecs => services::ecs::dispatch(ctx, operation, input),
                Service::SecretsManager => {
                    services::secretsmanager::dispatch(ctx, operation, input)
                }
                _ => None,
            }
            .unwrap_or_else(|| Err(WireError::unknown_operation()))
        });
        result.map_err(|e| {
            tracing::info!(
                principal = %self.caller.principal.arn(),
                operation,
                code = %e.code,
                "console request refused"
            );
            console_error(e)
        })
    }

    /// Runs `f` with a request context for the caller.
    fn as_caller<T>(&self, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let request_id = berth_core::ids::request_id();
        f(&self.control.ctx(self.caller, &request_id))
    }
}

/// A failure as the console shows it: the API's code and message; a denial is 403 whatever the
/// API protocol says (JSON services answer `AccessDeniedException` with 400).
fn console_error(e: WireError) -> ConsoleError {
    let status = if e.code == "AccessDenied" || e.code == "AccessDeniedException" {
        axum::http::StatusCode::FORBIDDEN
    } else {
        e.status
    };
    ConsoleError {
        status,
        code: e.code,
        message: e.message.unwrap_or_default(),
    }
}

fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn arr<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    arr(v, key)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_can_never_read_a_secret_value() {
        for (service, op) in OPERATIONS {
            assert!(
                !(op.contains("SecretValue") || *service == Service::Kms),
                "{op} must not be reachable from the console"
            );
        }
        assert!(OPERATIONS.contains(&(Service::SecretsManager, "ListSecrets")));
    }

    #[test]
    fn a_denial_is_shown_with_403() {
        let e = console_error(WireError::client("AccessDeniedException", "no"));
        assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("AccessDeniedException", "no")
        );
        let e = console_error(WireError::client("ClientException", "bad"));
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
