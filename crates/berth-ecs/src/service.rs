//! Services: the API shapes (`Service`, `Deployment`, `ServiceEvent`), the rollout decision as
//! a pure function ([`plan`]: a service, its tasks and its instances at `now` → the tasks to
//! start and stop, the deployments' new states and the service's events), and the operations
//! on stored services (CreateService, UpdateService, DeleteService, DescribeServices,
//! ListServices, and the scheduler's claimed step, [`Ecs::service_step`]).
//!
//! A service's tasks carry `startedBy` = the id of the deployment that started them
//! (`ecs-svc/<19 digits>`) and `group` = `service:<name>`. The scheduler is level-triggered:
//! each step looks at the tasks as they are, so a step lost (a crash between deciding and
//! acting) costs nothing but a step.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ecs::{Ecs, new_uuid, page};
use crate::error::EcsError;
use crate::lifecycle::TaskStatus;
use crate::model::{Failure, Tag};
use crate::records::{StoredInstance, StoredTask, T_INSTANCES, T_SERVICES};
use crate::task::{TASK_DEFINITION_NOT_FOUND, awsvpc_subnets};
use crate::taskdef;

/// AWS's text for a service that does not exist (`ServiceNotFoundException`).
pub const SERVICE_NOT_FOUND: &str = "Service not found.";
/// AWS's text for UpdateService on a DRAINING or INACTIVE service (`ServiceNotActiveException`).
pub const SERVICE_NOT_ACTIVE: &str = "Service was not ACTIVE.";
/// AWS's text for a second CreateService of an ACTIVE service's name.
pub const NOT_IDEMPOTENT: &str = "Creation of service was not idempotent.";
/// DeleteService of a service scaled above 0 without `force`. The wording is the one commonly
/// reported for AWS; berth could not confirm it in AWS's documentation.
pub const SCALED_ABOVE_ZERO: &str = "The service cannot be stopped while it is scaled above 0.";
/// The most services one DescribeServices names (AWS documents 10).
pub const MAX_DESCRIBE_SERVICES: usize = 10;
/// The events a service keeps, newest first (AWS shows the latest 100).
pub const MAX_EVENTS: usize = 100;
/// The circuit breaker's failure threshold bounds (AWS: at least 3, at most 200).
pub const THRESHOLD_MIN: u32 = 3;
pub const THRESHOLD_MAX: u32 = 200;

/// `deploymentCircuitBreaker`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    #[serde(default)]
    pub enable: bool,
    #[serde(default)]
    pub rollback: bool,
}

/// `deploymentConfiguration`, with AWS's defaults filled in when stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<CircuitBreaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i64>,
    /// Members berth keeps but does not act on (`alarms`, `strategy`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeploymentConfiguration {
    pub fn max_percent(&self) -> i64 {
        self.maximum_percent.unwrap_or(200)
    }
    pub fn min_percent(&self) -> i64 {
        self.minimum_healthy_percent.unwrap_or(100)
    }
    pub fn breaker(&self) -> CircuitBreaker {
        self.deployment_circuit_breaker.unwrap_or_default()
    }
}

/// A service event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: u64,
    pub message: String,
}

/// A deployment of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub failed_tasks: i64,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
}

/// A service as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    #[serde(default)]
    pub load_balancers: Vec<Value>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    pub status: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    pub task_definition: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub deployments: Vec<Deployment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub events: Vec<ServiceEvent>,
    pub created_at: u64,
    #[serde(default)]
    pub placement_constraints: Vec<Value>,
    #[serde(default)]
    pub placement_strategy: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i64>,
    pub scheduling_strategy: String,
    pub deployment_controller: Value,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(rename = "enableECSManagedTags", default)]
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    #[serde(default)]
    pub enable_execute_command: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,
}

impl Service {
    pub fn daemon(&self) -> bool {
        self.scheduling_strategy == "DAEMON"
    }
    /// The service's group: its tasks' `group`.
    pub fn group(&self) -> String {
        format!("service:{}", self.service_name)
    }
}

/// What the scheduler remembers about a service besides its API shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Tasks of the primary deployment already counted as failed (at most [`THRESHOLD_MAX`]).
    #[serde(default)]
    pub counted_failures: Vec<String>,
    /// The last deployment that completed, and its task definition: what a circuit breaker
    /// rolls back to.
    #[serde(default)]
    pub last_completed: Option<(String, String)>,
    /// Whether the steady state was announced since the service last moved.
    #[serde(default)]
    pub steady: bool,
}

/// A task of the service as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcTask {
    pub arn: String,
    pub started_by: Option<String>,
    pub last_status: TaskStatus,
    /// Whether someone asked it to stop.
    pub stopping: bool,
    /// Whether it ever reached RUNNING.
    pub ran: bool,
    pub stop_code: Option<String>,
    pub instance: Option<String>,
    /// Whether it runs on a DRAINING container instance (it is replaced, as an older
    /// deployment's task is).
    pub draining: bool,
    pub created_at: u64,
}

impl SvcTask {
    fn live(&self) -> bool {
        self.last_status != TaskStatus::Stopped
    }
    /// Live and not asked to stop: the scheduler may stop it.
    fn wanted(&self) -> bool {
        self.live() && !self.stopping
    }
    fn healthy(&self) -> bool {
        self.last_status == TaskStatus::Running && !self.stopping
    }
    fn of(&self, deployment: &str) -> bool {
        self.started_by.as_deref() == Some(deployment)
    }
    /// The task's id (the last part of its ARN).
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

/// What the scheduler does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start `count` tasks of `deployment` (on `instance` for a DAEMON service).
    Start {
        deployment: String,
        task_definition: String,
        count: u32,
        instance: Option<String>,
    },
    /// Stop a task.
    Stop { task_arn: String, reason: String },
}

/// The circuit breaker's failure threshold for `desired` tasks: half of them, rounded up,
/// at least 3 and at most 200 (AWS's documented formula).
pub fn failure_threshold(desired: i64) -> u32 {
    let half = u32::try_from(desired.max(0))
        .unwrap_or(u32::MAX)
        .div_ceil(2);
    half.clamp(THRESHOLD_MIN, THRESHOLD_MAX)
}

/// The most tasks of all deployments together: `maximumPercent` of the desired count, rounded
/// down (AWS rounds it down), never below the desired count.
pub fn max_total(desired: i64, max_percent: i64) -> i64 {
    (desired.max(0).saturating_mul(max_percent.max(0)) / 100).max(desired)
}

/// The fewest healthy (RUNNING) tasks: `minimumHealthyPercent` of the desired count, rounded up.
pub fn min_healthy(desired: i64, min_percent: i64) -> i64 {
    let n = desired.max(0).saturating_mul(min_percent.max(0));
    n / 100 + i64::from(n % 100 != 0)
}

/// Whether `started_by` is a deployment id (`ecs-svc/` and 19 digits): the task is a service's.
pub fn is_deployment_id(started_by: &str) -> bool {
    started_by
        .strip_prefix("ecs-svc/")
        .is_some_and(|n| n.len() == 19 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A new deployment id: `ecs-svc/` and 19 digits.
pub fn new_deployment_id() -> String {
    let mut b = [0u8; 8];
    berth_core::ids::random_bytes(&mut b);
    let n = u64::from_le_bytes(b) % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    format!("ecs-svc/{n}")
}

/// AWS's `rolloutStateReason` of a deployment in progress.
pub fn in_progress_reason(id: &str) -> String {
    format!("ECS deployment {id} in progress.")
}

/// A deployment for `task_definition` at `now`, PRIMARY and IN_PROGRESS.
pub fn new_deployment(svc: &Service, task_definition: &str, now: u64) -> Deployment {
    let id = new_deployment_id();
    Deployment {
        rollout_state_reason: Some(in_progress_reason(&id)),
        id,
        status: "PRIMARY".into(),
        task_definition: task_definition.to_string(),
        desired_count: svc.desired_count,
        pending_count: 0,
        running_count: 0,
        failed_tasks: 0,
        created_at: now,
        updated_at: now,
        launch_type: svc.launch_type.clone(),
        platform_version: svc.platform_version.clone(),
        platform_family: svc.platform_family.clone(),
        network_configuration: svc.network_configuration.clone(),
        rollout_state: Some("IN_PROGRESS".into()),
    }
}

/// Adds an event, newest first, keeping the latest [`MAX_EVENTS`].
pub fn push_event(svc: &mut Service, message: String, now: u64) {
    svc.events.insert(
        0,
        ServiceEvent {
            id: new_uuid(),
            created_at: now,
            message,
        },
    );
    svc.events.truncate(MAX_EVENTS);
}

/// The event for tasks the scheduler started.
pub fn started_message(service: &str, task_ids: &[String]) -> String {
    let list: Vec<String> = task_ids.iter().map(|id| format!("(task {id})")).collect();
    format!(
        "(service {service}) has started {} tasks: {}.",
        task_ids.len(),
        list.join(" ")
    )
}

/// The event for tasks the scheduler stopped.
pub fn stopped_message(service: &str, task_ids: &[String]) -> String {
    let list: Vec<String> = task_ids.iter().map(|id| format!("(task {id})")).collect();
    format!(
        "(service {service}) has stopped {} running tasks: {}.",
        task_ids.len(),
        list.join(" ")
    )
}

/// The event for a task the scheduler could not place. AWS's opening words; the reason after
/// them is berth's (the placement failure, or RunTask's message).
pub fn unplaced_message(service: &str, reason: &str) -> String {
    format!(
        "(service {service}) was unable to place a task because no container instance met all of its requirements. Reason: {reason}"
    )
}

/// The reason a task the scheduler stops is given. The wording is berth's: AWS's is not known
/// to it.
fn scaling_reason(deployment: &str) -> String {
    format!("Scaling activity initiated by (deployment {deployment})")
}

/// One scheduler step for `svc`: updates its deployments (counts, rollout states, the circuit
/// breaker, drained deployments gone), its counts, status and events, and `book`; returns the
/// tasks to start and stop. `tasks` are the service's tasks (its group), `instances` the ACTIVE
/// container instances with a connected agent (for DAEMON). Pure: no store, no clock.
pub fn plan(
    svc: &mut Service,
    book: &mut Book,
    tasks: &[SvcTask],
    instances: &[String],
    now: u64,
) -> Vec<Action> {
    if svc.status == "INACTIVE" {
        return Vec::new();
    }
    let name = svc.service_name.clone();
    let draining = svc.status == "DRAINING";
    if svc.daemon() && !draining {
        svc.desired_count = instances.len() as i64;
    }
    let desired = if draining { 0 } else { svc.desired_count };
    if svc.deployments.is_empty() {
        let td = svc.task_definition.clone();
        svc.deployments.push(new_deployment(svc, &td, now));
    }
    let mut actions = Vec::new();
    let mut stops: Vec<(String, String)> = Vec::new();
    let cfg = svc.deployment_configuration.clone();

    // The circuit breaker counts the primary's tasks that stopped without ever running.
    let primary_id = svc.deployments[0].id.clone();
    if svc.deployments[0].rollout_state.as_deref() == Some("IN_PROGRESS") {
        for t in tasks {
            if t.of(&primary_id)
                && t.last_status == TaskStatus::Stopped
                && !t.ran
                && !matches!(
                    t.stop_code.as_deref(),
                    Some("UserInitiated" | "ServiceSchedulerInitiated")
                )
                && !book.counted_failures.contains(&t.arn)
                && book.counted_failures.len() < THRESHOLD_MAX as usize
            {
                book.counted_failures.push(t.arn.clone());
                svc.deployments[0].failed_tasks += 1;
                svc.deployments[0].updated_at = now;
            }
        }
        let breaker = cfg.breaker();
        if breaker.enable
            && svc.deployments[0].failed_tasks >= i64::from(failure_threshold(desired))
        {
            let failed = &mut svc.deployments[0];
            failed.rollout_state = Some("FAILED".into());
            failed.rollout_state_reason =
                Some("ECS deployment circuit breaker: tasks failed to start.".into());
            failed.updated_at = now;
            push_event(
                svc,
                format!(
                    "(service {name}) (deployment {primary_id}) deployment failed: tasks failed to start."
                ),
                now,
            );
            book.steady = false;
            if breaker.rollback
                && let Some((to_id, to_td)) = book.last_completed.clone()
                && to_td != svc.deployments[0].task_definition
            {
                svc.deployments[0].status = "ACTIVE".into();
                svc.task_definition = to_td.clone();
                let mut back = new_deployment(svc, &to_td, now);
                back.rollout_state_reason = Some(format!(
                    "ECS deployment circuit breaker: rolling back to deploymentId {to_id}."
                ));
                push_event(
                    svc,
                    format!("(service {name}) rolling back to deployment {to_id}."),
                    now,
                );
                svc.deployments.insert(0, back);
                book.counted_failures.clear();
            }
        }
    }

    let primary = svc.deployments[0].clone();
    // A primary that failed without rollback launches nothing more and drains nothing.
    let halted = primary.rollout_state.as_deref() == Some("FAILED");
    let live: Vec<&SvcTask> = tasks.iter().filter(|t| t.live()).collect();

    if svc.daemon() && !draining {
        for inst in instances {
            let here: Vec<&&SvcTask> = live
                .iter()
                .filter(|t| t.instance.as_deref() == Some(inst.as_str()))
                .collect();
            if !halted {
                for t in here.iter().filter(|t| t.wanted() && !t.of(&primary.id)) {
                    stops.push((t.arn.clone(), scaling_reason(&primary.id)));
                }
            }
            // An older deployment's task is gone before the new one starts in its place.
            if !halted && here.is_empty() {
                actions.push(Action::Start {
                    deployment: primary.id.clone(),
                    task_definition: primary.task_definition.clone(),
                    count: 1,
                    instance: Some(inst.clone()),
                });
            }
        }
        // Tasks on instances that are gone or drained.
        for t in live.iter().filter(|t| t.wanted()) {
            if t.instance.as_ref().is_none_or(|i| !instances.contains(i)) {
                stops.push((t.arn.clone(), scaling_reason(&primary.id)));
            }
        }
    } else {
        let upper = max_total(desired, cfg.max_percent());
        let floor = min_healthy(desired, cfg.min_percent());
        // A task on a DRAINING instance is replaced like an older deployment's.
        let primary_wanted: Vec<&&SvcTask> = live
            .iter()
            .filter(|t| t.of(&primary.id) && t.wanted() && !t.draining)
            .collect();
        // Scale in: the primary's pending tasks first, then one at a time from the instance
        // that runs the most of the service's tasks (keeping them spread, as AWS's scheduler
        // does across Availability Zones and then instances), the newest first.
        if primary_wanted.len() as i64 > desired {
            let excess = primary_wanted.len() - usize::try_from(desired.max(0)).unwrap_or(0);
            let mut pool: Vec<&&SvcTask> = primary_wanted.clone();
            for _ in 0..excess {
                let on = |i: &Option<String>| pool.iter().filter(|t| t.instance == *i).count();
                let pick = pool
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, t)| {
                        (
                            t.last_status != TaskStatus::Running,
                            on(&t.instance),
                            t.created_at,
                        )
                    })
                    .map(|(i, _)| i);
                let Some(i) = pick else { break };
                let t = pool.remove(i);
                stops.push((t.arn.clone(), scaling_reason(&primary.id)));
            }
        }
        if draining {
            for t in live.iter().filter(|t| t.wanted()) {
                if !stops.iter().any(|(a, _)| *a == t.arn) {
                    stops.push((t.arn.clone(), scaling_reason(&primary.id)));
                }
            }
        } else if !halted {
            // Older deployments' (and unknown) tasks: the pending ones freely, the running ones
            // while the healthy tasks stay at or above the floor.
            let old: Vec<&&SvcTask> = live
                .iter()
                .filter(|t| t.wanted() && (!t.of(&primary.id) || t.draining))
                .collect();
            for t in old.iter().filter(|t| !t.healthy()) {
                stops.push((t.arn.clone(), scaling_reason(&primary.id)));
            }
            let healthy = live.iter().filter(|t| t.healthy()).count() as i64;
            let mut may_stop = (healthy - floor).max(0);
            let mut old_running: Vec<&&&SvcTask> = old.iter().filter(|t| t.healthy()).collect();
            old_running.sort_by_key(|t| t.created_at);
            for t in old_running {
                if may_stop == 0 {
                    break;
                }
                stops.push((t.arn.clone(), scaling_reason(&primary.id)));
                may_stop -= 1;
            }
        }
        if !draining && !halted {
            // Tasks being stopped still hold their place until they are STOPPED.
            let occupied = live.len() as i64;
            let have = primary_wanted
                .len()
                .min(usize::try_from(desired.max(0)).unwrap_or(0)) as i64;
            let need = (desired - have).max(0);
            let room = (upper - occupied).max(0);
            let n = need.min(room);
            if n > 0 {
                actions.push(Action::Start {
                    deployment: primary.id.clone(),
                    task_definition: primary.task_definition.clone(),
                    count: u32::try_from(n).unwrap_or(u32::MAX),
                    instance: None,
                });
            }
        }
    }

    // Counts as the tasks are now.
    for d in &mut svc.deployments {
        let mine = live.iter().filter(|t| t.of(&d.id));
        let (mut running, mut pending) = (0, 0);
        for t in mine {
            if t.last_status == TaskStatus::Running {
                running += 1;
            } else {
                pending += 1;
            }
        }
        d.running_count = running;
        d.pending_count = pending;
        d.desired_count = if d.status == "PRIMARY" { desired } else { 0 };
    }
    svc.running_count = live
        .iter()
        .filter(|t| t.last_status == TaskStatus::Running)
        .count() as i64;
    svc.pending_count = live.len() as i64 - svc.running_count;
    // Drained deployments are gone; a failed one stays in sight until the deployment after it
    // completes.
    let before = svc.deployments.len();
    let primary_done = svc.deployments[0].rollout_state.as_deref() != Some("IN_PROGRESS");
    svc.deployments.retain(|d| {
        d.status == "PRIMARY"
            || live.iter().any(|t| t.of(&d.id))
            || (d.rollout_state.as_deref() == Some("FAILED") && !primary_done)
    });
    if svc.deployments.len() != before {
        book.steady = false;
    }

    let settled = svc.running_count == desired && svc.pending_count == 0;
    let others_drained = live.iter().all(|t| t.of(&svc.deployments[0].id));
    let p = &mut svc.deployments[0];
    let mut completed = None;
    if !draining
        && p.rollout_state.as_deref() == Some("IN_PROGRESS")
        && others_drained
        && p.running_count == desired
        && settled
    {
        p.rollout_state = Some("COMPLETED".into());
        p.rollout_state_reason = Some(format!("ECS deployment {} completed.", p.id));
        p.updated_at = now;
        book.last_completed = Some((p.id.clone(), p.task_definition.clone()));
        book.counted_failures.clear();
        completed = Some(p.id.clone());
    }
    if let Some(id) = &completed {
        svc.deployments
            .retain(|d| d.id == *id || live.iter().any(|t| t.of(&d.id)));
        push_event(
            svc,
            format!("(service {name}) (deployment {id}) deployment completed."),
            now,
        );
    }

    if !stops.is_empty() {
        let ids: Vec<String> = stops
            .iter()
            .map(|(a, _)| a.rsplit('/').next().unwrap_or(a).to_string())
            .collect();
        push_event(svc, stopped_message(&name, &ids), now);
    }
    if draining && live.is_empty() {
        svc.status = "INACTIVE".into();
        return Vec::new();
    }
    let steady_now = !draining
        && svc.deployments.len() == 1
        && settled
        && actions.is_empty()
        && stops.is_empty();
    if steady_now && !book.steady {
        push_event(
            svc,
            format!("(service {name}) has reached a steady state."),
            now,
        );
    }
    book.steady = steady_now;
    let mut out: Vec<Action> = stops
        .into_iter()
        .map(|(task_arn, reason)| Action::Stop { task_arn, reason })
        .collect();
    out.extend(actions);
    out
}

/// A service as stored: its API shape, the scheduler's book, and the claim of the one
/// scheduler that steps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredService {
    pub service: Service,
    pub account: String,
    pub region: String,
    pub cluster: String,
    #[serde(default)]
    pub book: Book,
    #[serde(default)]
    pub claim: Option<Claim>,
    /// A CreateService client token.
    #[serde(default)]
    pub client_token: Option<String>,
}

/// A scheduler's claim on a service, until `until` (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub owner: String,
    pub until: u64,
}

/// CreateService's input (the model's member names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub availability_zone_rebalancing: Option<String>,
    #[serde(default)]
    pub load_balancers: Vec<Value>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    #[serde(default)]
    pub desired_count: Option<i64>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub capacity_provider_strategy: Vec<Value>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    pub placement_constraints: Vec<Value>,
    #[serde(default)]
    pub placement_strategy: Vec<Value>,
    #[serde(default)]
    pub network_configuration: Option<Value>,
    #[serde(default)]
    pub health_check_grace_period_seconds: Option<i64>,
    #[serde(default)]
    pub scheduling_strategy: Option<String>,
    #[serde(default)]
    pub deployment_controller: Option<Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(rename = "enableECSManagedTags", default)]
    pub enable_ecs_managed_tags: Option<bool>,
    #[serde(default)]
    pub propagate_tags: Option<String>,
    #[serde(default)]
    pub enable_execute_command: Option<bool>,
    #[serde(default)]
    pub service_connect_configuration: Option<Value>,
    #[serde(default)]
    pub volume_configurations: Vec<Value>,
    #[serde(default)]
    pub vpc_lattice_configurations: Vec<Value>,
}

/// UpdateService's input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub desired_count: Option<i64>,
    #[serde(default)]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub capacity_provider_strategy: Option<Vec<Value>>,
    #[serde(default)]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    pub network_configuration: Option<Value>,
    #[serde(default)]
    pub placement_constraints: Option<Vec<Value>>,
    #[serde(default)]
    pub placement_strategy: Option<Vec<Value>>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub force_new_deployment: Option<bool>,
    #[serde(default)]
    pub health_check_grace_period_seconds: Option<i64>,
    #[serde(default)]
    pub enable_execute_command: Option<bool>,
    #[serde(rename = "enableECSManagedTags", default)]
    pub enable_ecs_managed_tags: Option<bool>,
    #[serde(default)]
    pub load_balancers: Option<Vec<Value>>,
    #[serde(default)]
    pub propagate_tags: Option<String>,
    #[serde(default)]
    pub service_registries: Option<Vec<Value>>,
    #[serde(default)]
    pub service_connect_configuration: Option<Value>,
}

/// ListServices' input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub scheduling_strategy: Option<String>,
    #[serde(default)]
    pub resource_management_type: Option<String>,
}

/// What a scheduler step of one service found to do, for the caller to act on.
#[derive(Debug, Clone)]
pub struct Step {
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub service: Service,
    pub actions: Vec<Action>,
}

/// Where a stored service lives (its key's parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub name: String,
}

/// A service's placement constraints and strategies, refused at the request when they would
/// not parse (`InvalidParameterException`).
fn check_placement(constraints: &[Value], strategies: &[Value]) -> Result<(), EcsError> {
    if constraints.len() > taskdef::MAX_PLACEMENT_CONSTRAINTS {
        // AWS documents the limit of 10; its wording is not known to berth.
        return Err(bad(&format!(
            "A service can have at most {} placement constraints.",
            taskdef::MAX_PLACEMENT_CONSTRAINTS
        )));
    }
    crate::placement::parse_constraints(constraints, false).map_err(|m| bad(&m))?;
    crate::placement::parse_strategies(strategies).map_err(|m| bad(&m))?;
    Ok(())
}

fn bad(msg: &str) -> EcsError {
    EcsError::InvalidParameter(msg.to_string())
}

fn check_percentages(cfg: &DeploymentConfiguration, daemon: bool) -> Result<(), EcsError> {
    let max = cfg.max_percent();
    let min = cfg.min_percent();
    // AWS's words for these are not known to berth.
    if !(0..=100).contains(&min) {
        return Err(bad("minimumHealthyPercent must be between 0 and 100."));
    }
    if max < 100 && !daemon {
        return Err(bad("maximumPercent must be at least 100."));
    }
    if max > 2000 {
        return Err(bad("maximumPercent must be at most 2000."));
    }
    Ok(())
}

/// Members berth refuses rather than record without acting on them.
fn unsupported(what: &str) -> EcsError {
    bad(&format!("{what} are not supported by berth"))
}

/// All stored services of every account and region that the scheduler steps (not INACTIVE).
pub fn services_to_step(store: &dyn berth_store::Store) -> Result<Vec<ServiceRef>, EcsError> {
    let all: Vec<(String, StoredService)> = store.read(|tx| scan_json(tx, T_SERVICES, ""))?;
    Ok(all
        .into_iter()
        .filter(|(_, s)| s.service.status != "INACTIVE")
        .map(|(_, s)| ServiceRef {
            account: s.account,
            region: s.region,
            cluster: s.cluster,
            name: s.service.service_name,
        })
        .collect())
}

impl Ecs<'_> {
    fn service_key(&self, cluster: &str, name: &str) -> String {
        format!("{}{cluster}/{name}", self.scope())
    }

    /// The ARN of service `name` in `cluster`.
    pub fn service_arn(&self, cluster: &str, name: &str) -> String {
        self.arn(&format!("service/{cluster}/{name}"))
    }

    /// The service name a reference (name or ARN, with or without the cluster) means.
    pub fn service_name(&self, cluster: &str, reference: &str) -> Option<String> {
        let r = reference.trim();
        let name = if r.starts_with("arn:") {
            let rest = r.strip_prefix(&self.arn("service/"))?;
            match rest.split_once('/') {
                Some((c, n)) if c == cluster => n,
                Some(_) => return None,
                None => rest,
            }
        } else {
            r
        };
        taskdef::valid_name(name).then(|| name.to_string())
    }

    fn get_service(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        reference: &str,
    ) -> Result<Option<StoredService>, EcsError> {
        let Some(name) = self.service_name(cluster, reference) else {
            return Ok(None);
        };
        Ok(get_json(tx, T_SERVICES, &self.service_key(cluster, &name))?)
    }

    fn put_service(&self, tx: &dyn Tx, s: &StoredService) -> Result<(), EcsError> {
        Ok(put_json(
            tx,
            T_SERVICES,
            &self.service_key(&s.cluster, &s.service.service_name),
            s,
        )?)
    }

    /// Validates the network configuration for `def`'s network mode, as RunTask does.
    fn check_network(
        &self,
        def: &crate::model::TaskDefinition,
        launch_type: &str,
        network: Option<&Value>,
    ) -> Result<(), EcsError> {
        if def.network_mode.as_deref() == Some("awsvpc") {
            awsvpc_subnets(network)?;
        }
        if launch_type == "FARGATE" && !def.compatibilities.iter().any(|c| c == "FARGATE") {
            return Err(bad("Task definition does not support launch_type FARGATE."));
        }
        Ok(())
    }

    /// CreateService. `principal` is recorded as `createdBy`.
    pub fn create_service(
        &self,
        input: CreateServiceInput,
        principal: &str,
        now: u64,
    ) -> Result<Service, EcsError> {
        let name = input
            .service_name
            .clone()
            .ok_or_else(|| bad("serviceName is required"))?;
        if !taskdef::valid_name(&name) {
            // AWS's wording for a bad service name is not known to berth.
            return Err(bad(
                "service name must be 1-255 letters, numbers, hyphens and underscores",
            ));
        }
        taskdef::check_tag_count(input.tags.len())?;
        check_placement(&input.placement_constraints, &input.placement_strategy)?;
        if !input.load_balancers.is_empty() {
            return Err(unsupported("load balancers"));
        }
        if !input.service_registries.is_empty() {
            return Err(unsupported("service registries"));
        }
        if input.service_connect_configuration.is_some() {
            return Err(unsupported("Service Connect configurations"));
        }
        if !input.volume_configurations.is_empty() || !input.vpc_lattice_configurations.is_empty() {
            return Err(unsupported("volume and VPC Lattice configurations"));
        }
        if !input.capacity_provider_strategy.is_empty() {
            return Err(unsupported("capacity provider strategies"));
        }
        if let Some(c) = &input.deployment_controller
            && c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "ECS")
        {
            return Err(bad(
                "only the ECS deployment controller is supported by berth",
            ));
        }
        let strategy = input
            .scheduling_strategy
            .clone()
            .unwrap_or_else(|| "REPLICA".into());
        let daemon = match strategy.as_str() {
            "REPLICA" => false,
            "DAEMON" => true,
            other => return Err(bad(&format!("Invalid schedulingStrategy: {other}"))),
        };
        let launch_type = input.launch_type.clone().unwrap_or_else(|| "EC2".into());
        if !matches!(launch_type.as_str(), "EC2" | "FARGATE" | "EXTERNAL") {
            return Err(bad(&format!(
                "launch type {launch_type} is not supported by berth"
            )));
        }
        if daemon && launch_type == "FARGATE" {
            // AWS's wording is not known to berth.
            return Err(bad(
                "The DAEMON scheduling strategy is not supported with the FARGATE launch type.",
            ));
        }
        if daemon && input.desired_count.is_some() {
            // AWS's wording is not known to berth.
            return Err(bad(
                "The DAEMON scheduling strategy does not support a desired count for services.",
            ));
        }
        let desired = if daemon {
            0
        } else {
            input.desired_count.unwrap_or(0)
        };
        if desired < 0 {
            // AWS's wording is not known to berth.
            return Err(bad("desiredCount must be at least 0."));
        }
        if launch_type != "FARGATE" && input.platform_version.is_some() {
            return Err(bad(&format!(
                "The platform version must be null when specifying an {launch_type} launch type."
            )));
        }
        let mut cfg = input.deployment_configuration.clone().unwrap_or_default();
        cfg.maximum_percent = Some(
            cfg.maximum_percent
                .unwrap_or(if daemon { 100 } else { 200 }),
        );
        cfg.minimum_healthy_percent =
            Some(
                cfg.minimum_healthy_percent
                    .unwrap_or(if daemon { 0 } else { 100 }),
            );
        cfg.deployment_circuit_breaker = Some(cfg.breaker());
        check_percentages(&cfg, daemon)?;
        let propagate = input
            .propagate_tags
            .clone()
            .unwrap_or_else(|| "NONE".into());
        if !matches!(propagate.as_str(), "NONE" | "SERVICE" | "TASK_DEFINITION") {
            return Err(bad(&format!("Invalid propagateTags: {propagate}")));
        }
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let reference = input
            .task_definition
            .clone()
            .filter(|t| !t.is_empty())
            // AWS's wording for a CreateService without a task definition is not known to berth.
            .ok_or_else(|| bad("TaskDefinition can not be blank."))?;
        self.store.write(|tx| {
            // The `default` cluster is made on first use, as RunTask makes it.
            let c = self.cluster_or_default(tx, &cluster, now)?;
            let def = self
                .find_def(tx, &reference)?
                .ok_or_else(|| EcsError::Client(TASK_DEFINITION_NOT_FOUND.into()))?;
            if def.def.status != "ACTIVE" {
                return Err(EcsError::Client("TaskDefinition is inactive".into()));
            }
            self.check_network(&def.def, &launch_type, input.network_configuration.as_ref())?;
            if let Some(prev) = self.get_service(tx, &cluster, &name)?
                && prev.service.status != "INACTIVE"
            {
                if prev.client_token.is_some() && prev.client_token == input.client_token {
                    return Ok(prev.service);
                }
                return Err(bad(NOT_IDEMPOTENT));
            }
            let fargate = launch_type == "FARGATE";
            // A DAEMON service wants one task per instance it can run on, from the start.
            let desired = if daemon {
                let external = launch_type == "EXTERNAL";
                self.candidates(tx, &cluster, now)?
                    .iter()
                    .filter(|(i, c)| c.active && c.connected && i.external() == external)
                    .count() as i64
            } else {
                desired
            };
            let mut svc = Service {
                service_arn: self.service_arn(&cluster, &name),
                service_name: name.clone(),
                cluster_arn: c.cluster_arn.clone(),
                load_balancers: Vec::new(),
                service_registries: Vec::new(),
                status: "ACTIVE".into(),
                desired_count: desired,
                running_count: 0,
                pending_count: 0,
                launch_type: Some(launch_type.clone()),
                platform_version: fargate.then(|| {
                    input
                        .platform_version
                        .clone()
                        .unwrap_or_else(|| "LATEST".into())
                }),
                platform_family: fargate.then(|| "Linux".to_string()),
                task_definition: def.def.task_definition_arn.clone(),
                deployment_configuration: cfg.clone(),
                deployments: Vec::new(),
                role_arn: input.role.clone(),
                events: Vec::new(),
                created_at: now,
                placement_constraints: input.placement_constraints.clone(),
                placement_strategy: input.placement_strategy.clone(),
                network_configuration: input.network_configuration.clone(),
                health_check_grace_period_seconds: input.health_check_grace_period_seconds,
                scheduling_strategy: strategy.clone(),
                deployment_controller: json!({"type": "ECS"}),
                tags: input.tags.clone(),
                created_by: Some(principal.to_string()),
                enable_ecs_managed_tags: input.enable_ecs_managed_tags.unwrap_or(false),
                propagate_tags: propagate.clone(),
                enable_execute_command: input.enable_execute_command.unwrap_or(false),
                availability_zone_rebalancing: input.availability_zone_rebalancing.clone(),
            };
            let td = svc.task_definition.clone();
            let d = new_deployment(&svc, &td, now);
            svc.deployments.push(d);
            let stored = StoredService {
                service: svc.clone(),
                account: self.account.to_string(),
                region: self.region.to_string(),
                cluster: cluster.clone(),
                book: Book::default(),
                claim: None,
                client_token: input.client_token.clone(),
            };
            self.put_service(tx, &stored)?;
            Ok(svc)
        })
    }

    /// UpdateService. A new task definition, network configuration or platform version, or
    /// `forceNewDeployment`, starts a new PRIMARY deployment; the one before becomes ACTIVE
    /// and drains as the new one comes up.
    pub fn update_service(&self, input: UpdateServiceInput, now: u64) -> Result<Service, EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let reference = input
            .service
            .clone()
            .ok_or_else(|| bad("service is required"))?;
        check_placement(
            input.placement_constraints.as_deref().unwrap_or_default(),
            input.placement_strategy.as_deref().unwrap_or_default(),
        )?;
        if input.load_balancers.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(unsupported("load balancers"));
        }
        if input
            .service_registries
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        {
            return Err(unsupported("service registries"));
        }
        if input.service_connect_configuration.is_some() {
            return Err(unsupported("Service Connect configurations"));
        }
        if input
            .capacity_provider_strategy
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        {
            return Err(unsupported("capacity provider strategies"));
        }
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut s = self
                .get_service(tx, &cluster, &reference)?
                .ok_or(EcsError::ServiceNotFound)?;
            if s.service.status != "ACTIVE" {
                return Err(EcsError::ServiceNotActive);
            }
            let svc = &mut s.service;
            let daemon = svc.daemon();
            let mut redeploy = input.force_new_deployment.unwrap_or(false);
            if let Some(n) = input.desired_count {
                if daemon {
                    return Err(bad(
                        "The DAEMON scheduling strategy does not support a desired count for services.",
                    ));
                }
                if n < 0 {
                    return Err(bad("desiredCount must be at least 0."));
                }
                svc.desired_count = n;
            }
            let launch_type = svc.launch_type.clone().unwrap_or_else(|| "EC2".into());
            let mut def_arn = svc.task_definition.clone();
            if let Some(r) = input.task_definition.as_deref().filter(|r| !r.is_empty()) {
                let def = self
                    .find_def(tx, r)?
                    .ok_or_else(|| EcsError::Client(TASK_DEFINITION_NOT_FOUND.into()))?;
                if def.def.status != "ACTIVE" {
                    return Err(EcsError::Client("TaskDefinition is inactive".into()));
                }
                if def.def.task_definition_arn != svc.task_definition {
                    redeploy = true;
                }
                def_arn = def.def.task_definition_arn.clone();
            }
            if let Some(n) = &input.network_configuration {
                if svc.network_configuration.as_ref() != Some(n) {
                    redeploy = true;
                }
                svc.network_configuration = Some(n.clone());
            }
            if let Some(v) = &input.platform_version {
                if launch_type != "FARGATE" {
                    return Err(bad(&format!(
                        "The platform version must be null when specifying an {launch_type} launch type."
                    )));
                }
                if svc.platform_version.as_ref() != Some(v) {
                    redeploy = true;
                }
                svc.platform_version = Some(v.clone());
            }
            if redeploy {
                let def = self
                    .find_def(tx, &def_arn)?
                    .ok_or_else(|| EcsError::Client(TASK_DEFINITION_NOT_FOUND.into()))?;
                self.check_network(&def.def, &launch_type, svc.network_configuration.as_ref())?;
            }
            if let Some(c) = &input.deployment_configuration {
                let mut cfg = svc.deployment_configuration.clone();
                if c.maximum_percent.is_some() {
                    cfg.maximum_percent = c.maximum_percent;
                }
                if c.minimum_healthy_percent.is_some() {
                    cfg.minimum_healthy_percent = c.minimum_healthy_percent;
                }
                if c.deployment_circuit_breaker.is_some() {
                    cfg.deployment_circuit_breaker = c.deployment_circuit_breaker;
                }
                for (k, v) in &c.extra {
                    cfg.extra.insert(k.clone(), v.clone());
                }
                check_percentages(&cfg, daemon)?;
                svc.deployment_configuration = cfg;
            }
            if let Some(p) = &input.placement_constraints {
                svc.placement_constraints = p.clone();
            }
            if let Some(p) = &input.placement_strategy {
                svc.placement_strategy = p.clone();
            }
            if let Some(v) = input.health_check_grace_period_seconds {
                svc.health_check_grace_period_seconds = Some(v);
            }
            if let Some(v) = input.enable_execute_command {
                svc.enable_execute_command = v;
            }
            if let Some(v) = input.enable_ecs_managed_tags {
                svc.enable_ecs_managed_tags = v;
            }
            if let Some(p) = &input.propagate_tags {
                if !matches!(p.as_str(), "NONE" | "SERVICE" | "TASK_DEFINITION") {
                    return Err(bad(&format!("Invalid propagateTags: {p}")));
                }
                svc.propagate_tags = p.clone();
            }
            if redeploy {
                svc.task_definition = def_arn.clone();
                for d in &mut svc.deployments {
                    d.status = "ACTIVE".into();
                    d.updated_at = now;
                }
                let d = new_deployment(svc, &def_arn, now);
                svc.deployments.insert(0, d);
                s.book.counted_failures.clear();
            }
            s.book.steady = false;
            if let Some(p) = s.service.deployments.first_mut() {
                p.desired_count = s.service.desired_count;
                p.updated_at = now;
            }
            self.put_service(tx, &s)?;
            Ok(s.service)
        })
    }

    /// DeleteService: DRAINING (the scheduler stops its tasks, then INACTIVE). A service
    /// scaled above 0 needs `force` (which scales it to 0).
    pub fn delete_service(
        &self,
        cluster: Option<&str>,
        reference: &str,
        force: bool,
        now: u64,
    ) -> Result<Service, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut s = self
                .get_service(tx, &cluster, reference)?
                .ok_or(EcsError::ServiceNotFound)?;
            if s.service.status == "INACTIVE" {
                return Err(EcsError::ServiceNotFound);
            }
            if s.service.status == "DRAINING" {
                return Ok(s.service);
            }
            if s.service.desired_count > 0 && !s.service.daemon() && !force {
                return Err(bad(SCALED_ABOVE_ZERO));
            }
            s.service.desired_count = 0;
            s.service.status = "DRAINING".into();
            s.book.steady = false;
            for d in &mut s.service.deployments {
                d.desired_count = 0;
                d.updated_at = now;
            }
            self.put_service(tx, &s)?;
            Ok(s.service)
        })
    }

    /// DescribeServices: unknown ones are `MISSING` failures (an INACTIVE service is shown).
    pub fn describe_services(
        &self,
        cluster: Option<&str>,
        references: &[String],
    ) -> Result<(Vec<Service>, Vec<Failure>), EcsError> {
        if references.len() > MAX_DESCRIBE_SERVICES {
            // AWS's wording is not known to berth; the form of DescribeTasks' is used.
            return Err(bad(&format!(
                "services can have at most {MAX_DESCRIBE_SERVICES} items."
            )));
        }
        let cluster = self.cluster_name(cluster)?;
        self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut out = Vec::new();
            let mut failures = Vec::new();
            for r in references {
                match self.get_service(tx, &cluster, r)? {
                    Some(s) => out.push(s.service),
                    None => {
                        let arn = if r.starts_with("arn:") {
                            r.clone()
                        } else {
                            self.service_arn(&cluster, r)
                        };
                        failures.push(Failure::new(&arn, "MISSING"));
                    }
                }
            }
            Ok((out, failures))
        })
    }

    /// ListServices: the ARNs of the cluster's ACTIVE and DRAINING services, by name.
    pub fn list_services(
        &self,
        input: &ListServicesInput,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let all: Vec<(String, StoredService)> = self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            Ok::<_, EcsError>(scan_json(
                tx,
                T_SERVICES,
                &format!("{}{cluster}/", self.scope()),
            )?)
        })?;
        let items: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, s)| s.service.status != "INACTIVE")
            .filter(|(_, s)| {
                input
                    .launch_type
                    .as_deref()
                    .is_none_or(|l| s.service.launch_type.as_deref() == Some(l))
            })
            .filter(|(_, s)| {
                input
                    .scheduling_strategy
                    .as_deref()
                    .is_none_or(|l| s.service.scheduling_strategy == l)
            })
            .map(|(k, s)| (k, s.service.service_arn))
            .collect();
        page(&items, input.next_token.as_deref(), input.max_results)
    }

    /// The number of the cluster's ACTIVE services (DescribeClusters' `activeServicesCount`).
    pub fn active_services(&self, tx: &dyn Tx, cluster: &str) -> Result<u32, EcsError> {
        let all: Vec<(String, StoredService)> =
            scan_json(tx, T_SERVICES, &format!("{}{cluster}/", self.scope()))?;
        Ok(all
            .iter()
            .filter(|(_, s)| s.service.status == "ACTIVE")
            .count() as u32)
    }

    /// The number of the cluster's services that are not INACTIVE (DeleteCluster waits for
    /// them).
    pub(crate) fn services_not_inactive(
        &self,
        tx: &dyn Tx,
        cluster: &str,
    ) -> Result<u32, EcsError> {
        let all: Vec<(String, StoredService)> =
            scan_json(tx, T_SERVICES, &format!("{}{cluster}/", self.scope()))?;
        Ok(all
            .iter()
            .filter(|(_, s)| s.service.status != "INACTIVE")
            .count() as u32)
    }

    /// One scheduler step of a service, under `owner`'s claim (taken or renewed until
    /// `now + lease`): `None` when another live scheduler holds it or the service is gone or
    /// INACTIVE. The step's decisions ([`plan`]) are stored with the service; the returned
    /// actions are for the caller to carry out (RunTask, StartTask, StopTask), then to record
    /// what came of them with [`Ecs::service_events`].
    pub fn service_step(
        &self,
        cluster: &str,
        name: &str,
        owner: &str,
        lease: u64,
        now: u64,
    ) -> Result<Option<Step>, EcsError> {
        // Most steps change nothing: they are decided on a read, and only a step that changes
        // the service (or takes or renews the claim) is decided again and stored in a write.
        let looked = self
            .store
            .read(|tx| self.decide_step(tx, cluster, name, owner, lease, now))?;
        match looked {
            None => Ok(None),
            Some((_, step, false)) => Ok(Some(step)),
            Some(_) => self.store.write(|tx| {
                let Some((stored, step, write)) =
                    self.decide_step(tx, cluster, name, owner, lease, now)?
                else {
                    return Ok(None);
                };
                if write {
                    self.put_service(tx, &stored)?;
                }
                Ok(Some(step))
            }),
        }
    }

    /// A step's decision inside a transaction: the service as it is to be stored, the step,
    /// and whether it must be written.
    #[allow(clippy::type_complexity)]
    fn decide_step(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        name: &str,
        owner: &str,
        lease: u64,
        now: u64,
    ) -> Result<Option<(StoredService, Step, bool)>, EcsError> {
        let Some(mut s) = self.get_service(tx, cluster, name)? else {
            return Ok(None);
        };
        if s.service.status == "INACTIVE" {
            return Ok(None);
        }
        if let Some(c) = &s.claim
            && c.owner != owner
            && c.until > now
        {
            return Ok(None);
        }
        let prefix = format!("{}{cluster}/", self.scope());
        let group = s.service.group();
        let draining: Vec<String> = scan_json::<StoredInstance>(tx, T_INSTANCES, &prefix)?
            .into_iter()
            .filter(|(_, i)| i.instance.status == "DRAINING")
            .map(|(_, i)| i.instance.container_instance_arn)
            .collect();
        let stored: Vec<(String, StoredTask)> = scan_json(tx, crate::records::T_TASKS, &prefix)?;
        let tasks: Vec<SvcTask> = stored
            .into_iter()
            // The scheduler's own tasks: a RunTask that names the group itself is left alone.
            .filter(|(_, t)| {
                t.task.group.as_deref() == Some(group.as_str())
                    && t.task
                        .started_by
                        .as_deref()
                        .is_some_and(|b| b.starts_with("ecs-svc/"))
                    && t.visible(now)
            })
            .map(|(_, t)| SvcTask {
                last_status: t.status(),
                stopping: t.task.desired_status == "STOPPED",
                ran: t.task.started_at.is_some(),
                stop_code: t.task.stop_code.clone(),
                draining: t
                    .task
                    .container_instance_arn
                    .as_ref()
                    .is_some_and(|i| draining.contains(i)),
                instance: t.task.container_instance_arn.clone(),
                created_at: t.task.created_at,
                started_by: t.task.started_by.clone(),
                arn: t.task.task_arn,
            })
            .collect();
        let instances: Vec<String> = if s.service.daemon() {
            let external = s.service.launch_type.as_deref() == Some("EXTERNAL");
            // A daemon runs on each instance its memberOf constraints (the service's and its
            // task definition's) select; constraints that no longer parse select none.
            let mut member_of = self
                .find_def(tx, &s.service.task_definition)?
                .map(|d| d.def.placement_constraints)
                .unwrap_or_default();
            member_of.extend(s.service.placement_constraints.iter().cloned());
            match crate::placement::parse_constraints(&member_of, false) {
                Err(_) => Vec::new(),
                Ok(constraints) => {
                    let rules = crate::placement::Rules {
                        constraints: constraints
                            .into_iter()
                            .filter(|k| matches!(k, crate::placement::Constraint::MemberOf(_)))
                            .collect(),
                        ..Default::default()
                    };
                    self.candidates(tx, cluster, now)?
                        .into_iter()
                        .filter(|(i, c)| {
                            c.active
                                && c.connected
                                && i.external() == external
                                && crate::placement::unsatisfied(&rules, c).is_none()
                        })
                        .map(|(_, c)| c.arn)
                        .collect()
                }
            }
        } else {
            Vec::new()
        };
        let before = (s.service.clone(), s.book.clone());
        let actions = plan(&mut s.service, &mut s.book, &tasks, &instances, now);
        let renew = s
            .claim
            .as_ref()
            .is_none_or(|c| c.owner != owner || c.until < now + lease / 2 + 1);
        if renew {
            s.claim = Some(Claim {
                owner: owner.to_string(),
                until: now + lease,
            });
        }
        let write = renew || before != (s.service.clone(), s.book.clone());
        let step = Step {
            account: s.account.clone(),
            region: s.region.clone(),
            cluster: s.cluster.clone(),
            service: s.service.clone(),
            actions,
        };
        Ok(Some((s, step, write)))
    }

    /// Gives up `owner`'s claim on the service (a scheduler shutting down), so that the next
    /// scheduler takes it at once rather than when the claim lapses.
    pub fn release_service_claim(
        &self,
        cluster: &str,
        name: &str,
        owner: &str,
    ) -> Result<(), EcsError> {
        self.store.write(|tx| {
            let Some(mut s) = self.get_service(tx, cluster, name)? else {
                return Ok(());
            };
            if s.claim.as_ref().is_some_and(|c| c.owner == owner) {
                s.claim = None;
                self.put_service(tx, &s)?;
            }
            Ok(())
        })
    }

    /// Records events of a step's outcome (tasks started, a task not placed) on the service.
    pub fn service_events(
        &self,
        cluster: &str,
        name: &str,
        messages: Vec<String>,
        now: u64,
    ) -> Result<(), EcsError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.store.write(|tx| {
            let Some(mut s) = self.get_service(tx, cluster, name)? else {
                return Ok(());
            };
            for m in messages {
                // The same failure, again and again, is said once until something else happens.
                if m.contains("was unable to place a task")
                    && s.service.events.first().is_some_and(|e| e.message == m)
                {
                    continue;
                }
                push_event(&mut s.service, m, now);
            }
            s.book.steady = false;
            self.put_service(tx, &s)
        })
    }

    /// UpdateContainerInstancesState: ACTIVE or DRAINING. A DRAINING instance takes no new
    /// task; the service scheduler replaces the service tasks on it within each service's
    /// `minimumHealthyPercent` and `maximumPercent` (its PENDING ones are stopped at once).
    /// Unknown instances are `MISSING` failures.
    pub fn update_container_instances_state(
        &self,
        cluster: Option<&str>,
        references: &[String],
        status: &str,
        now: u64,
    ) -> Result<(Vec<crate::model::ContainerInstance>, Vec<Failure>), EcsError> {
        if !matches!(status, "ACTIVE" | "DRAINING") {
            // AWS documents ACTIVE and DRAINING as the only values; its wording is not known.
            return Err(bad(&format!(
                "Container instance status {status} is not valid: use ACTIVE or DRAINING."
            )));
        }
        if references.is_empty() || references.len() > 10 {
            // AWS documents up to 10; its wording is not known to berth.
            return Err(bad(
                "containerInstances must name 1 to 10 container instances",
            ));
        }
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut out = Vec::new();
            let mut failures = Vec::new();
            for r in references {
                match self.get_instance(tx, &cluster, r)? {
                    Some(mut i) if i.instance.status != "INACTIVE" => {
                        if i.instance.status != status {
                            i.instance.status = status.to_string();
                            i.instance.version += 1;
                            self.put_instance(tx, &i)?;
                        }
                        out.push(self.instance_view(tx, &i, now)?);
                    }
                    _ => failures.push(Failure::new(r, "MISSING")),
                }
            }
            Ok((out, failures))
        })
    }

    /// Applies `f` to the service's tags (written back when `write`); `false` when there is
    /// no such service (or it is INACTIVE).
    pub(crate) fn service_tags_mut(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        name: &str,
        write: bool,
        f: &mut dyn FnMut(&mut Vec<Tag>) -> Result<(), EcsError>,
    ) -> Result<bool, EcsError> {
        let Some(mut s) = self.get_service(tx, cluster, name)? else {
            return Ok(false);
        };
        if s.service.status == "INACTIVE" {
            return Ok(false);
        }
        f(&mut s.service.tags)?;
        if write {
            self.put_service(tx, &s)?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn svc(desired: i64) -> Service {
        let mut s = Service {
            service_arn: "arn:aws:ecs:us-east-1:1:service/c/web".into(),
            service_name: "web".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:1:cluster/c".into(),
            load_balancers: vec![],
            service_registries: vec![],
            status: "ACTIVE".into(),
            desired_count: desired,
            running_count: 0,
            pending_count: 0,
            launch_type: Some("EC2".into()),
            platform_version: None,
            platform_family: None,
            task_definition: "td:1".into(),
            deployment_configuration: DeploymentConfiguration::default(),
            deployments: vec![],
            role_arn: None,
            events: vec![],
            created_at: 0,
            placement_constraints: vec![],
            placement_strategy: vec![],
            network_configuration: None,
            health_check_grace_period_seconds: None,
            scheduling_strategy: "REPLICA".into(),
            deployment_controller: json!({"type": "ECS"}),
            tags: vec![],
            created_by: None,
            enable_ecs_managed_tags: false,
            propagate_tags: "NONE".into(),
            enable_execute_command: false,
            availability_zone_rebalancing: None,
        };
        let d = new_deployment(&s, "td:1", 0);
        s.deployments.push(d);
        s
    }

    fn task(n: usize, dep: &str, status: TaskStatus) -> SvcTask {
        SvcTask {
            arn: format!("arn:aws:ecs:us-east-1:1:task/c/t{n}"),
            started_by: Some(dep.into()),
            last_status: status,
            stopping: false,
            ran: status >= TaskStatus::Running,
            stop_code: None,
            instance: None,
            draining: false,
            created_at: n as u64,
        }
    }

    fn starts(a: &[Action]) -> u32 {
        a.iter()
            .map(|a| match a {
                Action::Start { count, .. } => *count,
                _ => 0,
            })
            .sum()
    }

    fn stops(a: &[Action]) -> Vec<String> {
        a.iter()
            .filter_map(|a| match a {
                Action::Stop { task_arn, .. } => Some(task_arn.rsplit('/').next().unwrap().into()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn scaling_in_stops_tasks_from_the_most_loaded_instance_first() {
        let mut s = svc(4);
        let mut book = Book::default();
        let dep = s.deployments[0].id.clone();
        let on = |n: usize, i: &str| SvcTask {
            instance: Some(i.into()),
            ..task(n, &dep, TaskStatus::Running)
        };
        // a: three tasks (the oldest), b: one task (the newest).
        let tasks = vec![on(1, "a"), on(2, "a"), on(3, "a"), on(4, "b")];
        s.desired_count = 2;
        let acts = plan(&mut s, &mut book, &tasks, &[], 10);
        // Two from a (the newest of them first), none from b: one task left on each.
        assert_eq!(stops(&acts), vec!["t3", "t2"]);
        // Pending tasks go before running ones wherever they are.
        let mut s = svc(2);
        let dep = s.deployments[0].id.clone();
        let tasks = vec![
            SvcTask {
                instance: Some("b".into()),
                ..task(1, &dep, TaskStatus::Pending)
            },
            SvcTask {
                instance: Some("a".into()),
                ..task(2, &dep, TaskStatus::Running)
            },
            SvcTask {
                instance: Some("a".into()),
                ..task(3, &dep, TaskStatus::Running)
            },
        ];
        let acts = plan(&mut s, &mut Book::default(), &tasks, &[], 10);
        assert_eq!(stops(&acts), vec!["t1"]);
    }

    /// Redeploys `s` to `td`, as UpdateService does.
    fn redeploy(s: &mut Service, td: &str) {
        for d in &mut s.deployments {
            d.status = "ACTIVE".into();
        }
        s.task_definition = td.into();
        let d = new_deployment(s, td, 1);
        s.deployments.insert(0, d);
    }

    #[test]
    fn thresholds_and_percentages_round_as_aws_documents() {
        assert_eq!(failure_threshold(0), 3);
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(7), 4);
        assert_eq!(failure_threshold(8), 4);
        assert_eq!(failure_threshold(1000), 200);
        assert_eq!(max_total(3, 200), 6);
        assert_eq!(max_total(3, 150), 4);
        assert_eq!(max_total(3, 100), 3);
        assert_eq!(min_healthy(3, 100), 3);
        assert_eq!(min_healthy(3, 50), 2);
        assert_eq!(min_healthy(3, 0), 0);
        assert_eq!(min_healthy(0, 100), 0);
        let id = new_deployment_id();
        assert!(id.starts_with("ecs-svc/") && id.len() == 8 + 19, "{id}");
    }

    #[test]
    fn a_new_service_starts_its_desired_count_then_reaches_a_steady_state() {
        let mut s = svc(3);
        let mut b = Book::default();
        let a = plan(&mut s, &mut b, &[], &[], 1);
        assert_eq!(starts(&a), 3);
        assert_eq!(
            s.deployments[0].rollout_state.as_deref(),
            Some("IN_PROGRESS")
        );
        let dep = s.deployments[0].id.clone();
        let pending: Vec<SvcTask> = (0..3).map(|n| task(n, &dep, TaskStatus::Pending)).collect();
        let a = plan(&mut s, &mut b, &pending, &[], 2);
        assert!(a.is_empty(), "{a:?}");
        assert_eq!((s.running_count, s.pending_count), (0, 3));
        let running: Vec<SvcTask> = (0..3).map(|n| task(n, &dep, TaskStatus::Running)).collect();
        let a = plan(&mut s, &mut b, &running, &[], 3);
        assert!(a.is_empty());
        assert_eq!(s.running_count, 3);
        assert_eq!(s.deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
        assert_eq!(
            s.deployments[0].rollout_state_reason.as_deref(),
            Some(format!("ECS deployment {dep} completed.").as_str())
        );
        assert_eq!(
            s.events[0].message,
            "(service web) has reached a steady state."
        );
        // Said once, not at every step.
        let n = s.events.len();
        plan(&mut s, &mut b, &running, &[], 4);
        assert_eq!(s.events.len(), n);
        assert_eq!(b.last_completed, Some((dep, "td:1".into())));
    }

    #[test]
    fn a_stopped_task_is_replaced() {
        let mut s = svc(2);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let mut tasks = vec![
            task(0, &dep, TaskStatus::Running),
            task(1, &dep, TaskStatus::Running),
        ];
        plan(&mut s, &mut b, &tasks, &[], 1);
        tasks[1].last_status = TaskStatus::Stopped;
        let a = plan(&mut s, &mut b, &tasks, &[], 2);
        assert_eq!(starts(&a), 1);
        assert_eq!(s.running_count, 1);
        // A task that ran and stopped is not a failure to start.
        assert_eq!(s.deployments[0].failed_tasks, 0);
    }

    #[test]
    fn scale_in_stops_pending_then_newest() {
        let mut s = svc(1);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let tasks = vec![
            task(0, &dep, TaskStatus::Running),
            task(1, &dep, TaskStatus::Running),
            task(2, &dep, TaskStatus::Pending),
        ];
        let a = plan(&mut s, &mut b, &tasks, &[], 1);
        assert_eq!(stops(&a), vec!["t2", "t1"]);
        assert_eq!(starts(&a), 0);
        assert_eq!(
            s.events[0].message,
            "(service web) has stopped 2 running tasks: (task t2) (task t1)."
        );
    }

    /// Runs a rollout to the end the way the scheduler would, with every started task going
    /// PENDING then RUNNING one step later; returns the fewest RUNNING tasks seen and the most
    /// tasks alive at once.
    fn roll(min: i64, max: i64, desired: usize) -> (i64, i64, Service) {
        let mut s = svc(desired as i64);
        s.deployment_configuration.minimum_healthy_percent = Some(min);
        s.deployment_configuration.maximum_percent = Some(max);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let mut tasks: Vec<SvcTask> = (0..desired)
            .map(|n| task(n, &dep, TaskStatus::Running))
            .collect();
        plan(&mut s, &mut b, &tasks, &[], 1);
        redeploy(&mut s, "td:2");
        let (mut fewest, mut most) = (i64::MAX, 0);
        let mut n = 100;
        for step in 0..50 {
            // Last step's pending tasks run; stopping ones are gone.
            for t in &mut tasks {
                if t.stopping {
                    t.last_status = TaskStatus::Stopped;
                } else if t.last_status == TaskStatus::Pending {
                    t.last_status = TaskStatus::Running;
                    t.ran = true;
                }
            }
            let a = plan(&mut s, &mut b, &tasks, &[], 10 + step);
            for act in &a {
                match act {
                    Action::Start {
                        deployment, count, ..
                    } => {
                        for _ in 0..*count {
                            n += 1;
                            tasks.push(task(n, deployment, TaskStatus::Pending));
                        }
                    }
                    Action::Stop { task_arn, .. } => {
                        tasks
                            .iter_mut()
                            .find(|t| &t.arn == task_arn)
                            .unwrap()
                            .stopping = true;
                    }
                }
            }
            let running = tasks.iter().filter(|t| t.healthy()).count() as i64;
            let alive = tasks.iter().filter(|t| t.live()).count() as i64;
            fewest = fewest.min(running);
            most = most.max(alive);
            if s.deployments.len() == 1
                && s.deployments[0].rollout_state.as_deref() == Some("COMPLETED")
            {
                return (fewest, most, s);
            }
        }
        panic!("rollout did not finish: {s:?}");
    }

    #[test]
    fn rollouts_keep_within_the_percentages() {
        for (min, max, desired) in [
            (100, 200, 3),
            (50, 200, 4),
            (50, 100, 4),
            (0, 100, 2),
            (100, 150, 4),
        ] {
            let (fewest, most, s) = roll(min, max, desired);
            assert!(
                fewest >= min_healthy(desired as i64, min),
                "{min}/{max}: {fewest}"
            );
            assert!(
                most <= max_total(desired as i64, max),
                "{min}/{max}: {most}"
            );
            assert_eq!(s.task_definition, "td:2");
            assert_eq!(s.deployments[0].task_definition, "td:2");
            assert_eq!(s.running_count, desired as i64);
        }
    }

    /// Rollouts with tasks that take a random number of steps to run and to stop, over many
    /// percentages and sizes: the tasks alive never exceed `maximumPercent`, the healthy ones
    /// never fall below `minimumHealthyPercent`, and every rollout completes on the new
    /// revision with one deployment.
    #[test]
    fn random_rollouts_keep_the_invariants() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for round in 0..300 {
            let desired = 1 + next(6) as usize;
            let min = [0, 25, 50, 100][next(4) as usize];
            let max = [100, 125, 150, 200, 300][next(5) as usize];
            if max_total(desired as i64, max) <= min_healthy(desired as i64, min) {
                // No room to move (100/100, or 100/125 of 2 rounded down): such a rollout
                // cannot proceed, on AWS as here.
                continue;
            }
            let mut s = svc(desired as i64);
            s.deployment_configuration.minimum_healthy_percent = Some(min);
            s.deployment_configuration.maximum_percent = Some(max);
            let mut b = Book::default();
            let dep = s.deployments[0].id.clone();
            let mut tasks: Vec<SvcTask> = (0..desired)
                .map(|n| task(n, &dep, TaskStatus::Running))
                .collect();
            plan(&mut s, &mut b, &tasks, &[], 1);
            redeploy(&mut s, "td:2");
            let upper = max_total(desired as i64, max);
            let floor = min_healthy(desired as i64, min);
            // Steps left before a task runs (pending) or is gone (stopping).
            let mut wait: Vec<u64> = vec![0; tasks.len()];
            let mut n = 1000;
            let mut done = false;
            for step in 0..200 {
                for (t, w) in tasks.iter_mut().zip(wait.iter_mut()) {
                    if *w > 0 {
                        *w -= 1;
                        continue;
                    }
                    if t.stopping {
                        t.last_status = TaskStatus::Stopped;
                    } else if t.last_status == TaskStatus::Pending {
                        t.last_status = TaskStatus::Running;
                        t.ran = true;
                    }
                }
                let a = plan(&mut s, &mut b, &tasks, &[], 10 + step);
                for act in &a {
                    match act {
                        Action::Start {
                            deployment, count, ..
                        } => {
                            for _ in 0..*count {
                                n += 1;
                                tasks.push(task(n, deployment, TaskStatus::Pending));
                                wait.push(next(4));
                            }
                        }
                        Action::Stop { task_arn, .. } => {
                            let i = tasks.iter().position(|t| &t.arn == task_arn).unwrap();
                            assert!(!tasks[i].stopping, "round {round}: stopped twice");
                            tasks[i].stopping = true;
                            wait[i] = next(3);
                        }
                    }
                }
                let alive = tasks.iter().filter(|t| t.live()).count() as i64;
                let healthy = tasks.iter().filter(|t| t.healthy()).count() as i64;
                assert!(
                    alive <= upper,
                    "round {round} ({min}/{max} of {desired}): {alive} alive"
                );
                assert!(
                    healthy >= floor,
                    "round {round} ({min}/{max} of {desired}): {healthy} healthy"
                );
                if s.deployments.len() == 1
                    && s.deployments[0].rollout_state.as_deref() == Some("COMPLETED")
                {
                    done = true;
                    break;
                }
            }
            assert!(
                done,
                "round {round} ({min}/{max} of {desired}) did not finish: {s:?}"
            );
            let running: Vec<&SvcTask> = tasks.iter().filter(|t| t.healthy()).collect();
            assert_eq!(running.len(), desired);
            assert!(running.iter().all(|t| t.of(&s.deployments[0].id)));
            assert_eq!(s.deployments[0].task_definition, "td:2");
        }
    }

    #[test]
    fn the_circuit_breaker_fails_and_rolls_back() {
        let mut s = svc(1);
        s.deployment_configuration.deployment_circuit_breaker = Some(CircuitBreaker {
            enable: true,
            rollback: true,
        });
        let mut b = Book::default();
        let first = s.deployments[0].id.clone();
        let good = vec![task(0, &first, TaskStatus::Running)];
        plan(&mut s, &mut b, &good, &[], 1);
        assert_eq!(s.deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
        redeploy(&mut s, "td:2");
        let bad_dep = s.deployments[0].id.clone();
        let mut tasks = good.clone();
        for n in 1..=3 {
            let mut t = task(n, &bad_dep, TaskStatus::Stopped);
            t.ran = false;
            t.stop_code = Some("TaskFailedToStart".into());
            tasks.push(t);
            let a = plan(&mut s, &mut b, &tasks, &[], 2 + n as u64);
            // The old task keeps running throughout.
            assert!(stops(&a).is_empty(), "{a:?}");
        }
        let failed = s.deployments.iter().find(|d| d.id == bad_dep).unwrap();
        assert_eq!(failed.rollout_state.as_deref(), Some("FAILED"));
        assert_eq!(failed.failed_tasks, 3);
        assert_eq!(
            failed.rollout_state_reason.as_deref(),
            Some("ECS deployment circuit breaker: tasks failed to start.")
        );
        assert_eq!(s.deployments[0].task_definition, "td:1");
        assert_eq!(s.task_definition, "td:1");
        assert!(s.events.iter().any(|e| e.message
            == format!(
                "(service web) (deployment {bad_dep}) deployment failed: tasks failed to start."
            )));
        // The rollback deployment adopts nothing: it starts its own task, then the old one
        // (of the first deployment) drains once the new one runs.
        let back = s.deployments[0].id.clone();
        let mut tasks: Vec<SvcTask> = tasks.into_iter().filter(|t| t.live()).collect();
        tasks.push(task(9, &back, TaskStatus::Running));
        let a = plan(&mut s, &mut b, &tasks, &[], 20);
        assert_eq!(stops(&a), vec!["t0"]);
        tasks[0].last_status = TaskStatus::Stopped;
        plan(&mut s, &mut b, &tasks, &[], 21);
        assert_eq!(s.deployments.len(), 1);
        assert_eq!(s.deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
    }

    #[test]
    fn without_rollback_a_failed_deployment_stops_launching() {
        let mut s = svc(1);
        s.deployment_configuration.deployment_circuit_breaker = Some(CircuitBreaker {
            enable: true,
            rollback: false,
        });
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let tasks: Vec<SvcTask> = (0..3)
            .map(|n| {
                let mut t = task(n, &dep, TaskStatus::Stopped);
                t.ran = false;
                t
            })
            .collect();
        let a = plan(&mut s, &mut b, &tasks, &[], 1);
        assert_eq!(s.deployments[0].rollout_state.as_deref(), Some("FAILED"));
        assert_eq!(starts(&a), 0);
        // Counted once each.
        plan(&mut s, &mut b, &tasks, &[], 2);
        assert_eq!(s.deployments[0].failed_tasks, 3);
    }

    #[test]
    fn without_the_breaker_failures_are_counted_and_retried() {
        let mut s = svc(1);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let mut t = task(0, &dep, TaskStatus::Stopped);
        t.ran = false;
        let tasks = vec![
            t.clone(),
            SvcTask {
                arn: "x/t1".into(),
                ..t
            },
        ];
        let a = plan(&mut s, &mut b, &tasks, &[], 1);
        assert_eq!(starts(&a), 1);
        assert_eq!(s.deployments[0].failed_tasks, 2);
        assert_eq!(
            s.deployments[0].rollout_state.as_deref(),
            Some("IN_PROGRESS")
        );
    }

    #[test]
    fn draining_stops_everything_then_goes_inactive() {
        let mut s = svc(2);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let mut tasks = vec![
            task(0, &dep, TaskStatus::Running),
            task(1, &dep, TaskStatus::Pending),
        ];
        s.status = "DRAINING".into();
        let a = plan(&mut s, &mut b, &tasks, &[], 1);
        assert_eq!(stops(&a).len(), 2);
        assert_eq!(starts(&a), 0);
        for t in &mut tasks {
            t.last_status = TaskStatus::Stopped;
        }
        assert!(plan(&mut s, &mut b, &tasks, &[], 2).is_empty());
        assert_eq!(s.status, "INACTIVE");
    }

    #[test]
    fn daemon_runs_one_task_per_instance() {
        let mut s = svc(0);
        s.scheduling_strategy = "DAEMON".into();
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let inst = vec!["i1".to_string(), "i2".to_string()];
        let mut on1 = task(0, &dep, TaskStatus::Running);
        on1.instance = Some("i1".into());
        let a = plan(&mut s, &mut b, std::slice::from_ref(&on1), &inst, 1);
        assert_eq!(s.desired_count, 2);
        assert_eq!(
            a,
            vec![Action::Start {
                deployment: dep.clone(),
                task_definition: "td:1".into(),
                count: 1,
                instance: Some("i2".into()),
            }]
        );
        // A new deployment: the old task on an instance stops first, then the new one starts.
        redeploy(&mut s, "td:2");
        let new = s.deployments[0].id.clone();
        let a = plan(&mut s, &mut b, std::slice::from_ref(&on1), &inst[..1], 2);
        assert_eq!((stops(&a), starts(&a)), (vec!["t0".to_string()], 0));
        let mut gone = on1.clone();
        gone.last_status = TaskStatus::Stopped;
        let a = plan(&mut s, &mut b, std::slice::from_ref(&gone), &inst[..1], 3);
        assert!(matches!(&a[..], [Action::Start { deployment, .. }] if *deployment == new));
        // An instance gone: its task stops.
        let mut on1 = task(1, &new, TaskStatus::Running);
        on1.instance = Some("i1".into());
        let a = plan(&mut s, &mut b, &[on1], &["i2".to_string()], 4);
        assert_eq!(stops(&a), vec!["t1"]);
    }

    #[test]
    fn tasks_on_a_draining_instance_are_replaced_within_the_percentages() {
        let mut s = svc(2);
        let mut b = Book::default();
        let dep = s.deployments[0].id.clone();
        let mut tasks: Vec<SvcTask> = (0..2).map(|n| task(n, &dep, TaskStatus::Running)).collect();
        plan(&mut s, &mut b, &tasks, &[], 1);
        for t in &mut tasks {
            t.draining = true;
        }
        // 100 %: replacements first, nothing stopped while they are not running.
        let a = plan(&mut s, &mut b, &tasks, &[], 2);
        assert_eq!((starts(&a), stops(&a).len()), (2, 0));
        tasks.push(task(5, &dep, TaskStatus::Pending));
        tasks.push(task(6, &dep, TaskStatus::Pending));
        assert!(plan(&mut s, &mut b, &tasks, &[], 3).is_empty());
        tasks[2].last_status = TaskStatus::Running;
        tasks[3].last_status = TaskStatus::Running;
        let a = plan(&mut s, &mut b, &tasks, &[], 4);
        assert_eq!(stops(&a), vec!["t0", "t1"]);
        assert_eq!(starts(&a), 0);
    }

    #[test]
    fn events_are_newest_first_and_bounded() {
        let mut s = svc(0);
        for n in 0..150 {
            push_event(&mut s, format!("m{n}"), n);
        }
        assert_eq!(s.events.len(), MAX_EVENTS);
        assert_eq!(s.events[0].message, "m149");
        assert_eq!(
            started_message("web", &["a".into(), "b".into()]),
            "(service web) has started 2 tasks: (task a) (task b)."
        );
    }
}
