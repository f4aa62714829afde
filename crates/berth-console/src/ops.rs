//! Every call the console makes to the application, one function per console action, with
//! plain Rust arguments and results; the pages never see the API's shapes.
//!
//! Each call runs a `berth-control` use case as the signed-in principal, so the same
//! authorisation decides and the same errors come back (as [`ConsoleError`]s, built here only,
//! with AWS's codes). Only the actions in [`OPERATIONS`] are called, and none of them returns a
//! secret value (a test reads this file to keep it so).

use berth_control::ecs::{
    self, CreateClusterInput, DescribeClustersInput, DescribeServicesInput,
    DescribeTaskDefinitionInput, DescribeTasksInput, ListClustersInput, ListServicesInput,
    ListTaskDefinitionsInput, ListTasksInput, RegisterTaskDefinitionInput, RunTaskInput,
    StopTaskInput,
};
use berth_control::secretsmanager::{self, ListSecretsInput};
use berth_control::{Caller, Control, Ctx};
use serde_json::{Value, json};

use crate::error::ConsoleError;

/// The actions the console takes, and nothing else. None of them returns a secret value: no
/// `GetSecretValue`, `BatchGetSecretValue` or KMS action is here, and a test keeps it so.
pub const OPERATIONS: &[&str] = &[
    "ecs:ListClusters",
    "ecs:DescribeClusters",
    "ecs:CreateCluster",
    "ecs:ListTaskDefinitions",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:RunTask",
    "ecs:StopTask",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:ListServices",
    "ecs:DescribeServices",
    "secretsmanager:ListSecrets",
    "logs:GetLogEvents",
    "doctor:Diagnose",
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
    /// The Docker container's ID, once it runs.
    pub runtime_id: Option<String>,
}

/// A service's deployment as the console shows it.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
    pub failed: i64,
    pub rollout_state: String,
    pub rollout_state_reason: String,
}

/// A service as the console shows it.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub scheduling_strategy: String,
    pub launch_type: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
    pub task_definition: String,
    pub deployments: Vec<Deployment>,
    /// `type` and `expression` (empty for distinctInstance).
    pub placement_constraints: Vec<(String, String)>,
    /// `type` and `field`.
    pub placement_strategy: Vec<(String, String)>,
    /// Seconds since the Unix epoch, and the message; newest first.
    pub events: Vec<(u64, String)>,
}

/// A page of a log stream, newest line first.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    /// Milliseconds since the Unix epoch, and the line.
    pub events: Vec<(u64, String)>,
    /// The token of the older lines before these.
    pub older: String,
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
        let out = self.call("ecs:ListClusters", |ctx| {
            ecs::list_clusters(
                ctx,
                ListClustersInput {
                    max_results: Some(100),
                    ..Default::default()
                },
            )
        })?;
        Ok(out.cluster_arns)
    }

    pub fn describe_clusters(&self, arns: &[String]) -> Result<Vec<Cluster>, ConsoleError> {
        let out = self.call("ecs:DescribeClusters", |ctx| {
            ecs::describe_clusters(
                ctx,
                DescribeClustersInput {
                    clusters: arns.to_vec(),
                    ..Default::default()
                },
            )
        })?;
        Ok(out
            .clusters
            .items
            .into_iter()
            .map(|c| Cluster {
                name: c.cluster_name,
                arn: c.cluster_arn,
                status: c.status,
                running_tasks: Some(i64::from(c.running_tasks_count)),
                pending_tasks: Some(i64::from(c.pending_tasks_count)),
                container_instances: Some(i64::from(c.registered_container_instances_count)),
            })
            .collect())
    }

    /// Creates a cluster; its name as ECS answers it.
    pub fn create_cluster(&self, name: &str) -> Result<String, ConsoleError> {
        let out = self.call("ecs:CreateCluster", |ctx| {
            ecs::create_cluster(
                ctx,
                CreateClusterInput {
                    cluster_name: Some(name.to_string()),
                    ..Default::default()
                },
            )
        })?;
        Ok(out.cluster.cluster_name)
    }

    /// ACTIVE task definition ARNs, newest first.
    pub fn list_task_definitions(&self) -> Result<Vec<String>, ConsoleError> {
        let out = self.call("ecs:ListTaskDefinitions", |ctx| {
            ecs::list_task_definitions(
                ctx,
                ListTaskDefinitionsInput {
                    status: Some("ACTIVE".into()),
                    sort: Some("DESC".into()),
                    max_results: Some(100),
                    ..Default::default()
                },
            )
        })?;
        Ok(out.task_definition_arns)
    }

    pub fn describe_task_definition(
        &self,
        reference: &str,
    ) -> Result<TaskDefinition, ConsoleError> {
        let out = self.call("ecs:DescribeTaskDefinition", |ctx| {
            ecs::describe_task_definition(
                ctx,
                DescribeTaskDefinitionInput {
                    task_definition: Some(reference.to_string()),
                    ..Default::default()
                },
            )
        })?;
        let def = out.task_definition;
        Ok(TaskDefinition {
            json: serde_json::to_string_pretty(&def).unwrap_or_default(),
            arn: def.task_definition_arn,
            status: def.status,
            execution_role_arn: def.execution_role_arn,
            network_mode: def.network_mode.unwrap_or_default(),
            compatibilities: def.compatibilities,
        })
    }

    /// Registers a task definition from its RegisterTaskDefinition input (a JSON object, as
    /// pasted); returns its ARN.
    pub fn register_task_definition(&self, input: Value) -> Result<String, ConsoleError> {
        let input: RegisterTaskDefinitionInput =
            serde_json::from_value(input).map_err(|e| ConsoleError::bad_json(&e.to_string()))?;
        let out = self.call("ecs:RegisterTaskDefinition", |ctx| {
            ecs::register_task_definition(ctx, input)
        })?;
        Ok(out.task_definition.task_definition_arn)
    }

    /// Runs one task; a placement failure is an error, in ECS's words.
    pub fn run_task(&self, run: &RunTask) -> Result<Vec<Started>, ConsoleError> {
        let input = RunTaskInput {
            cluster: Some(run.cluster.clone()),
            task_definition: run.task_definition.clone(),
            launch_type: Some(run.launch_type.clone()),
            count: Some(1),
            network_configuration: run
                .subnet
                .as_ref()
                .map(|subnet| json!({ "awsvpcConfiguration": { "subnets": [subnet] } })),
            ..Default::default()
        };
        let out = self.call("ecs:RunTask", |ctx| ecs::run_task(ctx, input))?;
        if let Some(f) = out.failures.first() {
            return Err(ConsoleError::client(
                "RunTask failure",
                format!(
                    "{}: {}",
                    f.arn.as_deref().unwrap_or(""),
                    f.reason.as_deref().unwrap_or("")
                ),
            ));
        }
        Ok(out
            .tasks
            .into_iter()
            .map(|t| Started {
                task_arn: t.task_arn,
                last_status: t.last_status,
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
        let out = self.call("ecs:StopTask", |ctx| {
            ecs::stop_task(
                ctx,
                StopTaskInput {
                    cluster: Some(cluster.to_string()),
                    task: Some(task.to_string()),
                    reason: Some(reason.to_string()),
                },
            )
        })?;
        Ok(out.task.last_status)
    }

    /// The ARNs of the cluster's tasks with this desired status (at most 100).
    pub fn list_tasks(
        &self,
        cluster: &str,
        desired_status: &str,
    ) -> Result<Vec<String>, ConsoleError> {
        let out = self.call("ecs:ListTasks", |ctx| {
            ecs::list_tasks(
                ctx,
                ListTasksInput {
                    cluster: Some(cluster.to_string()),
                    desired_status: Some(desired_status.to_string()),
                    max_results: Some(100),
                    ..Default::default()
                },
            )
        })?;
        Ok(out.task_arns)
    }

    pub fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<Task>, ConsoleError> {
        let out = self.call("ecs:DescribeTasks", |ctx| {
            ecs::describe_tasks(
                ctx,
                DescribeTasksInput {
                    cluster: Some(cluster.to_string()),
                    tasks: arns.to_vec(),
                    ..Default::default()
                },
            )
        })?;
        Ok(out
            .tasks
            .items
            .into_iter()
            .map(|t| Task {
                arn: t.task_arn,
                task_definition_arn: t.task_definition_arn,
                launch_type: t.launch_type,
                last_status: t.last_status,
                desired_status: t.desired_status,
                stop_code: t.stop_code.unwrap_or_default(),
                stopped_reason: t.stopped_reason.unwrap_or_default(),
                containers: t
                    .containers
                    .into_iter()
                    .map(|c| Container {
                        name: c.name,
                        last_status: c.last_status,
                        exit_code: c.exit_code,
                        reason: c.reason.unwrap_or_default(),
                        runtime_id: c.runtime_id,
                    })
                    .collect(),
                created_at: Some(t.created_at as f64),
            })
            .collect())
    }

    /// The ARNs of the cluster's services (at most 100).
    pub fn list_services(&self, cluster: &str) -> Result<Vec<String>, ConsoleError> {
        let out = self.call("ecs:ListServices", |ctx| {
            ecs::list_services(
                ctx,
                ListServicesInput {
                    cluster: Some(cluster.to_string()),
                    max_results: Some(100),
                    ..Default::default()
                },
            )
        })?;
        Ok(out.service_arns)
    }

    /// The services named (at most 10 a call, as DescribeServices takes them).
    pub fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<Service>, ConsoleError> {
        let mut found = Vec::new();
        for chunk in names.chunks(10) {
            let out = self.call("ecs:DescribeServices", |ctx| {
                ecs::describe_services(
                    ctx,
                    DescribeServicesInput {
                        cluster: Some(cluster.to_string()),
                        services: chunk.to_vec(),
                        ..Default::default()
                    },
                )
            })?;
            found.extend(out.services.items);
        }
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(found
            .into_iter()
            .map(|s| Service {
                scheduling_strategy: if s.daemon() { "DAEMON" } else { "REPLICA" }.into(),
                name: s.service_name,
                arn: s.service_arn,
                status: s.status,
                launch_type: s.launch_type.unwrap_or_default(),
                desired: s.desired_count,
                running: s.running_count,
                pending: s.pending_count,
                task_definition: s.task_definition,
                deployments: s
                    .deployments
                    .into_iter()
                    .map(|d| Deployment {
                        id: d.id,
                        status: d.status,
                        task_definition: d.task_definition,
                        desired: d.desired_count,
                        running: d.running_count,
                        pending: d.pending_count,
                        failed: d.failed_tasks,
                        rollout_state: d.rollout_state.unwrap_or_default(),
                        rollout_state_reason: d.rollout_state_reason.unwrap_or_default(),
                    })
                    .collect(),
                placement_constraints: s
                    .placement_constraints
                    .iter()
                    .map(|c| (text(c, "type"), text(c, "expression")))
                    .collect(),
                placement_strategy: s
                    .placement_strategy
                    .iter()
                    .map(|c| (text(c, "type"), text(c, "field")))
                    .collect(),
                events: s
                    .events
                    .into_iter()
                    .map(|e| (e.created_at, e.message))
                    .collect(),
            })
            .collect())
    }

    /// The newest `limit` events of a log stream in `region` (or before `token`), newest first.
    pub fn get_log_events(
        &self,
        region: &str,
        group: &str,
        stream: &str,
        token: Option<&str>,
        limit: i64,
    ) -> Result<LogPage, ConsoleError> {
        let input = || berth_control::logs::GetLogEventsInput {
            log_group_name: Some(group.to_string()),
            log_stream_name: Some(stream.to_string()),
            next_token: token.map(str::to_string),
            limit: Some(limit),
            start_from_head: Some(false),
            ..Default::default()
        };
        let out = if region == self.caller.region {
            self.call("logs:GetLogEvents", |ctx| {
                berth_control::logs::get_log_events(ctx, input())
            })?
        } else {
            // The stream's own region (`awslogs-region`), as the same principal.
            let caller = Caller {
                region: region.to_string(),
                ..self.caller.clone()
            };
            Ops::new(self.control, &caller).call("logs:GetLogEvents", |ctx| {
                berth_control::logs::get_log_events(ctx, input())
            })?
        };
        Ok(LogPage {
            events: out
                .events
                .into_iter()
                .rev()
                .map(|e| (e.timestamp, e.message))
                .collect(),
            older: out.next_backward_token,
        })
    }

    /// The secrets' metadata (at most 100).
    pub fn list_secrets(&self) -> Result<Vec<Secret>, ConsoleError> {
        let out = self.call("secretsmanager:ListSecrets", |ctx| {
            secretsmanager::list_secrets(
                ctx,
                ListSecretsInput {
                    max_results: Some(100),
                    ..Default::default()
                },
            )
        })?;
        Ok(out
            .secret_list
            .into_iter()
            .map(|sec| Secret {
                name: sec.name,
                arn: sec.arn,
                description: sec.description.unwrap_or_default(),
                kms_key_id: sec.kms_key_id.filter(|k| !k.is_empty()),
                last_changed: Some(sec.last_changed_date),
                tags: sec.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            })
            .collect())
    }

    /// The doctor's report on a registered task definition, for a caller who may read it
    /// (`ecs:DescribeTaskDefinition`) and simulate its execution role's policies
    /// (`iam:SimulatePrincipalPolicy`).
    pub fn diagnose(&self, reference: &str) -> Result<berth_doctor::Report, ConsoleError> {
        self.call("doctor:Diagnose", |ctx| {
            berth_doctor::diagnose_registered(ctx, reference)
        })
    }

    /// Runs one of [`OPERATIONS`] as the caller; a refusal is logged and shown.
    fn call<T>(
        &self,
        action: &str,
        use_case: impl FnOnce(&Ctx<'_>) -> Result<T, berth_control::Error>,
    ) -> Result<T, ConsoleError> {
        if !OPERATIONS.contains(&action) {
            return Err(console_error(berth_control::Error::Internal(format!(
                "the console may not call {action}"
            ))));
        }
        let request_id = berth_core::ids::request_id();
        use_case(&self.control.ctx(self.caller, &request_id)).map_err(|e| {
            let e = console_error(e);
            tracing::info!(
                principal = %self.caller.principal.arn(),
                action,
                code = %e.code,
                "console request refused"
            );
            e
        })
    }
}

/// A failure as the console shows it: AWS's code and message; a denial is 403 whatever the
/// API protocol says (JSON services answer `AccessDeniedException` with 400).
fn console_error(e: berth_control::Error) -> ConsoleError {
    let denied = matches!(
        e,
        berth_control::Error::AccessDenied(_) | berth_control::Error::KmsAccessDenied
    );
    let aws = e.into_aws();
    let status = if denied {
        axum::http::StatusCode::FORBIDDEN
    } else {
        axum::http::StatusCode::from_u16(aws.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    };
    ConsoleError {
        status,
        code: aws.code.to_string(),
        message: aws.message.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_can_never_read_a_secret_value() {
        for action in OPERATIONS {
            assert!(
                !(action.contains("SecretValue") || action.starts_with("kms:")),
                "{action} must not be reachable from the console"
            );
        }
        assert!(OPERATIONS.contains(&"secretsmanager:ListSecrets"));
        // What this file calls, not only what it lists: no use case that returns a secret
        // value or a KMS plaintext.
        let source = include_str!("ops.rs");
        let calls = |name: &str| source.matches(name).count();
        assert_eq!(calls(concat!("get_secret", "_value(")), 0);
        assert_eq!(calls(concat!("batch_get_secret", "_value(")), 0);
        assert_eq!(calls(concat!("berth_control::", "kms")), 0);
    }

    #[test]
    fn a_denial_is_shown_with_403() {
        let e = console_error(berth_control::Error::AccessDenied("no".into()));
        assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("AccessDeniedException", "no")
        );
        let e = console_error(berth_control::Error::InvalidParameter("bad".into()));
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
