//! Amazon ECS: one use case per operation, authorised as ECS does (`ecs:<Operation>` on the
//! resource's ARN, or `*` where ECS has no resource-level permission), then run by
//! `berth_ecs`.
//!
//! `poll_tasks` is berth's agent channel (`BerthPollTasks`, see ARCHITECTURE.md, "The agent
//! channel"): a long poll under the ECS signing name that answers with the tasks placed on the
//! agent's container instance. [`fargate_poll`] and the `fargate_*_state_change` functions are
//! berth's in-process Fargate capacity's side of the control plane: not API calls, and for
//! every account and region.
//!
//! Every use case that changes ECS wakes the waiting polls ([`crate::polls::notify_changes`]).

mod service;
mod tags;
pub mod taskrole;
mod types;

use std::time::{Duration, Instant};

use berth_ecs::{AgentTask, Caller, Ecs, RoleCredentials, TaskDefinition};
use serde_json::Value;

use crate::authz::{self, Check};
use crate::polls::{Polled, Wait};
use crate::{Control, Ctx, Error};

pub use berth_ecs::DEFAULT_CLUSTER;
pub use service::*;
pub use tags::Tagged;
pub use types::*;

/// The longest an agent's poll waits for news.
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(20);

fn ecs<'a>(ctx: &'a Ctx<'_>) -> Ecs<'a> {
    Ecs::new(
        ctx.control.store.as_ref(),
        ctx.account(),
        &ctx.caller.region,
    )
}

/// The caller as the agent binding sees it (a role session counts as its role).
fn agent_identity(ctx: &Ctx<'_>) -> String {
    let p = &ctx.caller.principal;
    p.role_arn().unwrap_or_else(|| p.arn())
}

/// Runs `f` with the caller as the agent binding sees it.
fn as_agent<T>(ctx: &Ctx<'_>, f: impl FnOnce(&Caller<'_>) -> T) -> T {
    let identity = agent_identity(ctx);
    f(&Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    })
}

/// A required member that is absent. botocore checks required members before sending; this is
/// for hand-made requests.
fn required<'v>(value: Option<&'v str>, name: &str) -> Result<&'v str, Error> {
    value.ok_or_else(|| Error::InvalidParameter(format!("{name} is required")))
}

/// Wakes the waiting polls after a change and passes the result on.
fn changed<T>(result: T) -> T {
    crate::polls::notify_changes();
    result
}

/// Authorises `action` on the cluster a reference names; returns the cluster's ARN.
fn cluster_check(ctx: &Ctx<'_>, action: &str, cluster: Option<&str>) -> Result<String, Error> {
    let e = ecs(ctx);
    let name = e.cluster_name(cluster)?;
    let arn = e.cluster_arn(&name);
    ctx.authorize(action, &arn)?;
    Ok(arn)
}

// ---- clusters -------------------------------------------------------------------------------

pub fn create_cluster(ctx: &Ctx<'_>, input: CreateClusterInput) -> Result<ClusterOutput, Error> {
    ctx.authorize("ecs:CreateCluster", "*")?;
    let cluster = ecs(ctx).create_cluster(
        input.cluster_name.as_deref(),
        input.tags,
        input.settings,
        input.configuration,
        ctx.now_secs(),
    )?;
    Ok(changed(ClusterOutput { cluster }))
}

pub fn describe_clusters(
    ctx: &Ctx<'_>,
    input: DescribeClustersInput,
) -> Result<DescribeClustersOutput, Error> {
    // The limit before authorising each name.
    berth_ecs::check_describe_count("clusters", input.clusters.len())?;
    let e = ecs(ctx);
    let default = [berth_ecs::DEFAULT_CLUSTER.to_string()];
    let wanted = if input.clusters.is_empty() {
        &default[..]
    } else {
        &input.clusters[..]
    };
    for n in wanted {
        let arn = match e.cluster_name(Some(n)) {
            Ok(name) => e.cluster_arn(&name),
            Err(_) => n.clone(),
        };
        ctx.authorize("ecs:DescribeClusters", &arn)?;
    }
    let (clusters, failures) = e.describe_clusters(&input.clusters, ctx.now_secs())?;
    Ok(DescribeClustersOutput {
        clusters: Tagged::new(clusters, input.includes_tags()),
        failures,
    })
}

pub fn list_clusters(ctx: &Ctx<'_>, input: ListClustersInput) -> Result<ListClustersOutput, Error> {
    ctx.authorize("ecs:ListClusters", "*")?;
    let (cluster_arns, next_token) =
        ecs(ctx).list_clusters(input.next_token.as_deref(), input.max_results)?;
    Ok(ListClustersOutput {
        cluster_arns,
        next_token,
    })
}

pub fn delete_cluster(ctx: &Ctx<'_>, input: DeleteClusterInput) -> Result<ClusterOutput, Error> {
    let cluster = required(input.cluster.as_deref(), "cluster")?;
    cluster_check(ctx, "ecs:DeleteCluster", Some(cluster))?;
    let cluster = ecs(ctx).delete_cluster(cluster, ctx.now_secs())?;
    Ok(changed(ClusterOutput { cluster }))
}

// ---- task definitions -----------------------------------------------------------------------

pub fn register_task_definition(
    ctx: &Ctx<'_>,
    input: RegisterTaskDefinitionInput,
) -> Result<RegisterTaskDefinitionOutput, Error> {
    ctx.authorize("ecs:RegisterTaskDefinition", "*")?;
    let principal = ctx.caller.principal.arn();
    let (task_definition, tags) =
        ecs(ctx).register_task_definition(input, &principal, ctx.now_secs())?;
    Ok(changed(RegisterTaskDefinitionOutput {
        task_definition,
        tags,
    }))
}

pub fn describe_task_definition(
    ctx: &Ctx<'_>,
    input: DescribeTaskDefinitionInput,
) -> Result<DescribeTaskDefinitionOutput, Error> {
    ctx.authorize("ecs:DescribeTaskDefinition", "*")?;
    let reference = required(input.task_definition.as_deref(), "taskDefinition")?;
    let (task_definition, tags) = ecs(ctx).describe_task_definition(reference)?;
    Ok(DescribeTaskDefinitionOutput {
        task_definition,
        tags: types::includes_tags(&input.include).then_some(tags),
    })
}

pub fn list_task_definitions(
    ctx: &Ctx<'_>,
    input: ListTaskDefinitionsInput,
) -> Result<ListTaskDefinitionsOutput, Error> {
    ctx.authorize("ecs:ListTaskDefinitions", "*")?;
    let (task_definition_arns, next_token) = ecs(ctx).list_task_definitions(
        input.family_prefix.as_deref(),
        input.status.as_deref(),
        input.sort.as_deref() == Some("DESC"),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(ListTaskDefinitionsOutput {
        task_definition_arns,
        next_token,
    })
}

pub fn list_task_definition_families(
    ctx: &Ctx<'_>,
    input: ListTaskDefinitionFamiliesInput,
) -> Result<ListTaskDefinitionFamiliesOutput, Error> {
    ctx.authorize("ecs:ListTaskDefinitionFamilies", "*")?;
    let (families, next_token) = ecs(ctx).list_task_definition_families(
        input.family_prefix.as_deref(),
        input.status.as_deref(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(ListTaskDefinitionFamiliesOutput {
        families,
        next_token,
    })
}

pub fn deregister_task_definition(
    ctx: &Ctx<'_>,
    input: DeregisterTaskDefinitionInput,
) -> Result<DeregisterTaskDefinitionOutput, Error> {
    ctx.authorize("ecs:DeregisterTaskDefinition", "*")?;
    let reference = required(input.task_definition.as_deref(), "taskDefinition")?;
    let task_definition = ecs(ctx).deregister_task_definition(reference, ctx.now_secs())?;
    Ok(changed(DeregisterTaskDefinitionOutput { task_definition }))
}

pub fn delete_task_definitions(
    ctx: &Ctx<'_>,
    input: DeleteTaskDefinitionsInput,
) -> Result<DeleteTaskDefinitionsOutput, Error> {
    let e = ecs(ctx);
    for r in &input.task_definitions {
        let arn = match e.parse_def_ref(r) {
            Some(d) => e.task_definition_arn(&d.family, d.revision.unwrap_or(0)),
            None => r.clone(),
        };
        ctx.authorize("ecs:DeleteTaskDefinitions", &arn)?;
    }
    let (task_definitions, failures) =
        e.delete_task_definitions(&input.task_definitions, ctx.now_secs())?;
    Ok(changed(DeleteTaskDefinitionsOutput {
        task_definitions,
        failures,
    }))
}

// ---- container instances --------------------------------------------------------------------

pub fn register_container_instance(
    ctx: &Ctx<'_>,
    input: RegisterContainerInstanceInput,
) -> Result<ContainerInstanceOutput, Error> {
    cluster_check(
        ctx,
        "ecs:RegisterContainerInstance",
        input.cluster.as_deref(),
    )?;
    let container_instance = as_agent(ctx, |caller| {
        ecs(ctx).register_container_instance(input, caller, ctx.now_secs())
    })?;
    Ok(changed(ContainerInstanceOutput { container_instance }))
}

pub fn deregister_container_instance(
    ctx: &Ctx<'_>,
    input: DeregisterContainerInstanceInput,
) -> Result<ContainerInstanceOutput, Error> {
    let cluster = input.cluster.as_deref();
    cluster_check(ctx, "ecs:DeregisterContainerInstance", cluster)?;
    let reference = required(input.container_instance.as_deref(), "containerInstance")?;
    let force = input.force.unwrap_or(false);
    let container_instance =
        ecs(ctx).deregister_container_instance(cluster, reference, force, ctx.now_secs())?;
    Ok(changed(ContainerInstanceOutput { container_instance }))
}

pub fn describe_container_instances(
    ctx: &Ctx<'_>,
    input: DescribeContainerInstancesInput,
) -> Result<DescribeContainerInstancesOutput, Error> {
    let cluster = input.cluster.as_deref();
    cluster_check(ctx, "ecs:DescribeContainerInstances", cluster)?;
    let (instances, failures) = ecs(ctx).describe_container_instances(
        cluster,
        &input.container_instances,
        ctx.now_secs(),
    )?;
    Ok(DescribeContainerInstancesOutput {
        container_instances: Tagged::new(instances, input.includes_tags()),
        failures,
    })
}

pub fn list_container_instances(
    ctx: &Ctx<'_>,
    input: ListContainerInstancesInput,
) -> Result<ListContainerInstancesOutput, Error> {
    let cluster = input.cluster.as_deref();
    cluster_check(ctx, "ecs:ListContainerInstances", cluster)?;
    if input.filter.as_deref().is_some_and(|f| !f.is_empty()) {
        return Err(Error::InvalidParameter(
            "the cluster query language (filter) is not supported by berth".into(),
        ));
    }
    let (container_instance_arns, next_token) = ecs(ctx).list_container_instances(
        cluster,
        input.status.as_deref(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(ListContainerInstancesOutput {
        container_instance_arns,
        next_token,
    })
}

pub fn put_attributes(ctx: &Ctx<'_>, input: AttributesInput) -> Result<AttributesOutput, Error> {
    let cluster = input.cluster.as_deref();
    cluster_check(ctx, "ecs:PutAttributes", cluster)?;
    let attributes = ecs(ctx).put_attributes(cluster, &input.attributes)?;
    Ok(changed(AttributesOutput { attributes }))
}

pub fn delete_attributes(ctx: &Ctx<'_>, input: AttributesInput) -> Result<AttributesOutput, Error> {
    let cluster = input.cluster.as_deref();
    cluster_check(ctx, "ecs:DeleteAttributes", cluster)?;
    let attributes = ecs(ctx).delete_attributes(cluster, &input.attributes)?;
    Ok(changed(AttributesOutput { attributes }))
}

// ---- tasks ----------------------------------------------------------------------------------

/// A role ARN of `overrides`, completed with the caller's account.
fn override_role(ctx: &Ctx<'_>, overrides: Option<&Value>, member: &str) -> Option<String> {
    overrides
        .and_then(|o| o.get(member))
        .and_then(Value::as_str)
        .and_then(|r| berth_ecs::taskdef::complete_role(ctx.account(), r).ok())
}

/// Authorises running a task definition: `action` on the definition within the cluster, and
/// `iam:PassRole` on its execution and task roles (the overrides', else the definition's).
fn authorize_run(
    ctx: &Ctx<'_>,
    action: &str,
    task_definition: &str,
    overrides: Option<&Value>,
    cluster_arn: &str,
) -> Result<(), Error> {
    let reference = required(
        Some(task_definition).filter(|s| !s.is_empty()),
        "taskDefinition",
    )?;
    let def: TaskDefinition = ecs(ctx).resolve_task_definition(reference)?;
    authz::authorize(
        ctx,
        &Check::new(action, &def.task_definition_arn).with_context("ecs:cluster", cluster_arn),
    )?;
    let execution_role = override_role(ctx, overrides, "executionRoleArn")
        .or_else(|| def.execution_role_arn.clone());
    let task_role =
        override_role(ctx, overrides, "taskRoleArn").or_else(|| def.task_role_arn.clone());
    for given in [execution_role, task_role].into_iter().flatten() {
        authorize_pass_role(ctx, given, "ecs-tasks.amazonaws.com")?;
    }
    Ok(())
}

/// Authorises `iam:PassRole` of the role `given` to `service`.
fn authorize_pass_role(ctx: &Ctx<'_>, given: String, service: &str) -> Result<(), Error> {
    {
        // Role names are unique without regard to case, so `role/ADMIN` and `role/admin` name
        // one role: iam:PassRole is decided on the role's own ARN as IAM stores it (its name's
        // case, its path). A role that does not exist is authorised as written; the task then
        // stops at start because ECS is unable to assume the role, as on AWS.
        let role = match berth_iam::sts::parse_role_arn(&given) {
            Some((account, name)) => ctx
                .control
                .iam()
                .role_info(&account, &name)?
                .map_or(given, |r| r.arn()),
            None => given,
        };
        authz::authorize(
            ctx,
            &Check::new("iam:PassRole", &role).with_context("iam:PassedToService", service),
        )?;
    }
    Ok(())
}

pub fn run_task(ctx: &Ctx<'_>, input: RunTaskInput) -> Result<TasksOutput, Error> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(input.cluster.as_deref())?);
    authorize_run(
        ctx,
        "ecs:RunTask",
        &input.task_definition,
        input.overrides.as_ref(),
        &cluster_arn,
    )?;
    let (tasks, failures) = e.run_task(input, ctx.now_secs())?;
    Ok(changed(TasksOutput { tasks, failures }))
}

pub fn start_task(ctx: &Ctx<'_>, input: StartTaskInput) -> Result<TasksOutput, Error> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(input.cluster.as_deref())?);
    authorize_run(
        ctx,
        "ecs:StartTask",
        &input.task_definition,
        input.overrides.as_ref(),
        &cluster_arn,
    )?;
    let (tasks, failures) = e.start_task(input, ctx.now_secs())?;
    Ok(changed(TasksOutput { tasks, failures }))
}

/// The ARN a task reference names, for authorisation (an id is completed with the cluster).
fn task_arn_for(ctx: &Ctx<'_>, cluster: Option<&str>, reference: &str) -> Result<String, Error> {
    if reference.starts_with("arn:") {
        return Ok(reference.to_string());
    }
    let name = ecs(ctx).cluster_name(cluster)?;
    Ok(format!(
        "arn:aws:ecs:{}:{}:task/{name}/{reference}",
        ctx.caller.region,
        ctx.account()
    ))
}

pub fn stop_task(ctx: &Ctx<'_>, input: StopTaskInput) -> Result<StopTaskOutput, Error> {
    let cluster = input.cluster.as_deref();
    let reference = required(input.task.as_deref(), "task")?;
    let arn = task_arn_for(ctx, cluster, reference)?;
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(cluster)?);
    authz::authorize(
        ctx,
        &Check::new("ecs:StopTask", &arn).with_context("ecs:cluster", cluster_arn),
    )?;
    let task = e.stop_task(cluster, reference, input.reason.as_deref(), ctx.now_secs())?;
    Ok(changed(StopTaskOutput { task }))
}

pub fn describe_tasks(
    ctx: &Ctx<'_>,
    input: DescribeTasksInput,
) -> Result<DescribeTasksOutput, Error> {
    let cluster = input.cluster.as_deref();
    if input.tasks.is_empty() {
        return Err(Error::InvalidParameter("Tasks cannot be empty.".into()));
    }
    // The limit before authorising each task.
    berth_ecs::check_describe_count("taskIds", input.tasks.len())?;
    for r in &input.tasks {
        let arn = task_arn_for(ctx, cluster, r)?;
        ctx.authorize("ecs:DescribeTasks", &arn)?;
    }
    let (tasks, failures) = ecs(ctx).describe_tasks(cluster, &input.tasks, ctx.now_secs())?;
    Ok(DescribeTasksOutput {
        tasks: Tagged::new(tasks, input.includes_tags()),
        failures,
    })
}

pub fn list_tasks(ctx: &Ctx<'_>, input: ListTasksInput) -> Result<ListTasksOutput, Error> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(input.cluster.as_deref())?);
    authz::authorize(
        ctx,
        &Check::new("ecs:ListTasks", "*").with_context("ecs:cluster", cluster_arn),
    )?;
    let (task_arns, next_token) = e.list_tasks(&input, ctx.now_secs())?;
    Ok(ListTasksOutput {
        task_arns,
        next_token,
    })
}

// ---- the agent ------------------------------------------------------------------------------

fn acknowledged() -> AcknowledgmentOutput {
    AcknowledgmentOutput {
        acknowledgment: "true".into(),
    }
}

pub fn submit_task_state_change(
    ctx: &Ctx<'_>,
    input: SubmitTaskStateChangeInput,
) -> Result<AcknowledgmentOutput, Error> {
    cluster_check(ctx, "ecs:SubmitTaskStateChange", input.cluster.as_deref())?;
    as_agent(ctx, |caller| {
        ecs(ctx).submit_task_state_change(&input, caller, ctx.now_secs())
    })?;
    Ok(changed(acknowledged()))
}

pub fn submit_container_state_change(
    ctx: &Ctx<'_>,
    input: SubmitContainerStateChangeInput,
) -> Result<AcknowledgmentOutput, Error> {
    cluster_check(
        ctx,
        "ecs:SubmitContainerStateChange",
        input.cluster.as_deref(),
    )?;
    as_agent(ctx, |caller| {
        ecs(ctx).submit_container_state_change(&input, caller, ctx.now_secs())
    })?;
    Ok(changed(acknowledged()))
}

/// The execution role's credentials for a task: the control plane assumes the role as the
/// service principal `ecs-tasks.amazonaws.com`, the trust policy evaluated with
/// `aws:SourceAccount` (the task's account) and `aws:SourceArn` (the task's ARN); the session
/// is named after the task id, and handed out again while it has more than 5 minutes left (a
/// running task's awslogs shippers sign with the freshest one its polls bring). A role that
/// cannot be assumed stops a task that is starting (`TaskFailedToStart`) with ECS's words; a
/// running task keeps what its runner holds. `None` comes back in both cases.
pub fn execution_role_credentials(
    ctx: &Ctx<'_>,
    task: &AgentTask,
) -> Result<Option<RoleCredentials>, Error> {
    assume_execution_role(ctx.control, &ecs(ctx), task, ctx.now_secs())
}

/// The session name (the task's id) and account under which a role is assumed for `task`:
/// its ARN's, else `ecs`'s account.
pub(crate) fn task_session<'t>(ecs: &'t Ecs<'_>, task: &'t AgentTask) -> (&'t str, &'t str) {
    let task_id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    let account = task
        .task_arn
        .split(':')
        .nth(4)
        .unwrap_or_else(|| ecs.account());
    (task_id, account)
}

/// [`execution_role_credentials`] in the task's own account and region (`ecs`), at `now`.
pub fn assume_execution_role(
    control: &Control,
    ecs: &Ecs<'_>,
    task: &AgentTask,
    now: u64,
) -> Result<Option<RoleCredentials>, Error> {
    let Some(role_arn) = task.execution_role_arn.as_deref() else {
        return Ok(None);
    };
    let (task_id, account) = task_session(ecs, task);
    match control.iam().assume_role_for_service(
        role_arn,
        "ecs-tasks.amazonaws.com",
        account,
        &task.task_arn,
        task_id,
        now,
    ) {
        Ok(session) => Ok(Some(RoleCredentials {
            credentials_id: session.assumed_role_id.clone(),
            role_arn: role_arn.to_string(),
            access_key_id: session.access_key_id.clone(),
            secret_access_key: session.secret_access_key.to_string(),
            session_token: session.session_token.to_string(),
            expiration: berth_core::time::iso8601(session.expiration),
        })),
        Err(berth_iam::sts::StsError::AccessDenied(detail)) => {
            tracing::info!(task = %task.task_arn, role = role_arn, %detail, "execution role cannot be assumed");
            if taskrole::starting(task) {
                let reason = format!(
                    "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
                );
                ecs.fail_to_start(&task.task_arn, &reason, now)?;
            }
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A `BerthPollTasks` waiting for its instance's cursor to move: what [`poll_tasks_recheck`]
/// rereads after a change (the request is not verified again for that), and the wait.
#[derive(Debug, Clone)]
pub struct PollWait {
    pub wait: Wait,
    account: String,
    region: String,
    cluster: Option<String>,
    instance: String,
    identity: String,
    root: bool,
    since: u64,
}

/// After a change, whether a waiting `BerthPollTasks` still has nothing new: the wait on the
/// generation now while its instance's cursor is unchanged, the deadline ahead and the process
/// not shutting down; `None` otherwise, and when the cursor cannot be read (the poll then looks
/// again in full with [`poll_tasks`], which answers, or says why not). A few reads; never blocks.
pub fn poll_tasks_recheck(control: &Control, waiting: &PollWait) -> Option<Wait> {
    let deadline = waiting.wait.deadline;
    let generation = crate::polls::generation();
    if Instant::now() >= deadline || crate::polls::released() {
        return None;
    }
    let caller = Caller {
        identity: &waiting.identity,
        root: waiting.root,
    };
    let seq = Ecs::new(control.store.as_ref(), &waiting.account, &waiting.region)
        .instance_seq(waiting.cluster.as_deref(), &waiting.instance, &caller)
        .ok()?;
    (seq == waiting.since).then_some(Wait {
        seen: generation,
        deadline,
    })
}

/// `BerthPollTasks`: berth's agent channel. Answers at once when the instance's cursor
/// differs from `seq` (or no `seq` is given), otherwise waits up to `waitSeconds` (default and
/// most 20) from `started`, when the request arrived, for a change. It never blocks: with
/// nothing new it returns [`Polled::Wait`], the caller awaits each change (or the deadline),
/// rereads the cursor with [`poll_tasks_recheck`], and once there is news calls this again,
/// with a fresh `ctx` whose clock is the time of that look. Each task to start carries its
/// execution role's credentials, and its task role's (`taskrole`: every poll, so a running
/// task's are renewed); a starting task whose role cannot be assumed is stopped and not handed
/// out.
pub fn poll_tasks(
    ctx: &Ctx<'_>,
    input: PollTasksInput,
    started: Instant,
) -> Result<Polled<PollTasksOutput, PollWait>, Error> {
    let cluster = input.cluster.as_deref();
    let instance = required(input.container_instance.as_deref(), "containerInstance")?;
    let e = ecs(ctx);
    let cluster_name = e.cluster_name(cluster)?;
    let instance_arn = if instance.starts_with("arn:") {
        instance.to_string()
    } else {
        format!(
            "arn:aws:ecs:{}:{}:container-instance/{cluster_name}/{instance}",
            ctx.caller.region,
            ctx.account()
        )
    };
    // The real agent's channel is authorised as `ecs:Poll` on the container instance.
    authz::authorize(
        ctx,
        &Check::new("ecs:Poll", &instance_arn)
            .with_context("ecs:cluster", e.cluster_arn(&cluster_name)),
    )?;
    let wait = input
        .wait_seconds
        .map(Duration::from_secs)
        .unwrap_or(MAX_POLL_WAIT)
        .min(MAX_POLL_WAIT);
    let identity = agent_identity(ctx);
    let caller = Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    };
    let deadline = started + wait;
    if let Some(since) = input.seq {
        // The generation before the cursor: a change after this read moves the generation on.
        let generation = crate::polls::generation();
        let seq = e.instance_seq(cluster, instance, &caller)?;
        if seq == since && Instant::now() < deadline && !crate::polls::released() {
            return Ok(Polled::Wait(PollWait {
                wait: Wait {
                    seen: generation,
                    deadline,
                },
                account: ctx.account().to_string(),
                region: ctx.caller.region.clone(),
                cluster: input.cluster.clone(),
                instance: instance.to_string(),
                identity: identity.clone(),
                root: caller.root,
                since,
            }));
        }
    }
    // The poll is recorded at the time of this look.
    let now = ctx.now_secs();
    let mut poll = e.poll(cluster, instance, &caller, now)?;
    let mut failed = Vec::new();
    for task in &mut poll.tasks_to_start {
        if task.execution_role_arn.is_some() {
            let starting = taskrole::starting(task);
            match execution_role_credentials(ctx, task)? {
                Some(creds) => {
                    berth_ecs::attach_execution_role_credentials(task, creds);
                }
                None if starting => failed.push(task.task_arn.clone()),
                None => {}
            }
        }
    }
    for task in &mut poll.tasks_to_start {
        if task.task_role_arn.is_none() || failed.contains(&task.task_arn) {
            continue;
        }
        let starting = taskrole::starting(task);
        match taskrole::assume_task_role(ctx.control, &e, task, now)? {
            Some(creds) => {
                berth_ecs::attach_task_role_credentials(task, creds);
            }
            None if starting => failed.push(task.task_arn.clone()),
            None => {}
        }
    }
    // A task whose role could not be assumed was stopped: it is not the agent's to start.
    poll.tasks_to_start
        .retain(|t| !failed.contains(&t.task_arn));
    Ok(Polled::Ready(poll))
}

// ---- berth's Fargate capacity -------------------------------------------------------------

/// What berth's in-process Fargate runner is told: the tasks to run (each with its execution
/// role's credentials, like an agent's) and to stop, and the change counter to wait on next.
#[derive(Debug)]
pub struct FargatePoll {
    /// Send it back to wait for the next change.
    pub seq: u64,
    pub tasks_to_start: Vec<berth_ecs::fargate::FargateTask>,
    pub tasks_to_stop: Vec<berth_ecs::fargate::FargateStop>,
}

/// Seconds since the Unix epoch on the control plane's clock.
fn now_secs(control: &Control) -> u64 {
    berth_core::time::epoch_secs(control.now())
}

/// The Fargate runner's poll (see ARCHITECTURE.md, "Fargate"). It is not an API call: the
/// runner is part of the control plane, as AWS's Fargate is, and sees every account's and
/// region's FARGATE tasks. While nothing in ECS changed since `seq` it returns
/// [`Polled::Wait`] until `wait` (at most 20 s) after `started`, without blocking: the runner
/// awaits the change (or the deadline) and calls again. It answers at once without `seq`. The
/// control plane assumes the execution role of each task not yet RUNNING as
/// `ecs-tasks.amazonaws.com`, as for an agent; a task whose role cannot be assumed is stopped
/// with ECS's words and not handed out. Only the tasks whose lease server replica `replica`
/// holds are handed out; the PROVISIONING ones it takes are leased to it for `lease` seconds
/// (renewed by [`fargate_leases`]).
pub fn fargate_poll(
    control: &Control,
    replica: &str,
    lease: u64,
    seq: Option<u64>,
    started: Instant,
    wait: Duration,
) -> Result<Polled<FargatePoll>, Error> {
    let deadline = started + wait.min(MAX_POLL_WAIT);
    // The generation before the work is read: the next poll waits for a change after it.
    let generation = crate::polls::generation();
    if seq == Some(generation) && Instant::now() < deadline && !crate::polls::released() {
        return Ok(Polled::Wait(Wait {
            seen: generation,
            deadline,
        }));
    }
    let now = now_secs(control);
    let mut work = berth_ecs::fargate::fargate_work(control.store.as_ref(), replica, lease, now)?;
    let mut failed = Vec::new();
    for w in &mut work.tasks_to_start {
        let e = Ecs::new(control.store.as_ref(), &w.account, &w.region);
        // The credentials serve the start (the secret fetch) and, with every poll, the
        // task's awslogs shippers; a role changed meanwhile does not stop what already runs.
        let starting = taskrole::starting(&w.task);
        if w.task.execution_role_arn.is_some() {
            match assume_execution_role(control, &e, &w.task, now)? {
                Some(creds) => {
                    berth_ecs::attach_execution_role_credentials(&mut w.task, creds);
                }
                None if starting => failed.push(w.task.task_arn.clone()),
                None => {}
            }
        }
        // The task role's credentials go with every poll while the task should run: its
        // containers are served the current ones.
        if w.task.task_role_arn.is_some() && !failed.contains(&w.task.task_arn) {
            match taskrole::assume_task_role(control, &e, &w.task, now)? {
                Some(creds) => {
                    berth_ecs::attach_task_role_credentials(&mut w.task, creds);
                }
                None if starting => failed.push(w.task.task_arn.clone()),
                None => {}
            }
        }
    }
    work.tasks_to_start
        .retain(|w| !failed.contains(&w.task.task_arn));
    if !failed.is_empty() {
        crate::polls::notify_changes();
    }
    Ok(Polled::Ready(FargatePoll {
        seq: generation,
        tasks_to_start: work.tasks_to_start,
        tasks_to_stop: work.tasks_to_stop,
    }))
}

/// Renews server replica `replica`'s leases on its Fargate tasks (for `lease` seconds) and
/// stops, as on a lost host, the tasks of replicas whose lease lapsed (see
/// `berth_ecs::fargate`); their services replace them. Returns the ARNs of the tasks stopped.
pub fn fargate_leases(control: &Control, replica: &str, lease: u64) -> Result<Vec<String>, Error> {
    let pass = berth_ecs::fargate::fargate_leases(
        control.store.as_ref(),
        replica,
        lease,
        now_secs(control),
    )?;
    if !pass.lost.is_empty() {
        crate::polls::notify_changes();
    }
    Ok(pass.lost)
}

/// The account and region of a task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/...`).
fn task_scope(task: Option<&str>) -> Result<(&str, &str), Error> {
    let arn = task.unwrap_or("");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "ecs", region, account, rest]
            if rest.starts_with("task/") && !region.is_empty() && !account.is_empty() =>
        {
            Ok((account, region))
        }
        _ => Err(Error::InvalidParameter(berth_ecs::TASK_NOT_FOUND.into())),
    }
}

/// A task state change from the Fargate runner (SubmitTaskStateChange's input, for a FARGATE
/// task of any account and region, named by its ARN).
pub fn fargate_task_state_change(
    control: &Control,
    input: SubmitTaskStateChangeInput,
) -> Result<(), Error> {
    let (account, region) = task_scope(input.task.as_deref())?;
    Ecs::new(control.store.as_ref(), account, region)
        .submit_fargate_task_state_change(&input, now_secs(control))?;
    crate::polls::notify_changes();
    Ok(())
}

/// A container state change from the Fargate runner.
pub fn fargate_container_state_change(
    control: &Control,
    input: SubmitContainerStateChangeInput,
) -> Result<(), Error> {
    let (account, region) = task_scope(input.task.as_deref())?;
    Ecs::new(control.store.as_ref(), account, region)
        .submit_fargate_container_state_change(&input, now_secs(control))?;
    crate::polls::notify_changes();
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn task(n: u32) -> berth_ecs::Task {
        let arn = format!("arn:aws:ecs:eu-west-1:111122223333:task/default/{n:032x}");
        serde_json::from_value(serde_json::json!({
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/default",
            "containers": [{
                "containerArn": format!("arn:aws:ecs:eu-west-1:111122223333:container/default/{n}/c"),
                "taskArn": arn,
                "name": "web \"main\" \u{e9}",
                "lastStatus": "RUNNING",
                "networkBindings": [{"hostPort": 8080, "containerPort": 80}]
            }],
            "createdAt": 1_700_000_000u64 + u64::from(n),
            "desiredStatus": "RUNNING",
            "lastStatus": "RUNNING",
            "launchType": "EC2",
            "overrides": {"containerOverrides": []},
            "tags": [{"key": "team", "value": "a\u{1F600}"}],
            "taskArn": arn,
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:3",
            "version": 4
        }))
        .unwrap()
    }

    /// DescribeTasks' bytes say what its JSON value says, with `tags` only when asked for.
    #[test]
    fn describe_tasks_answers_tags_only_when_asked() {
        for include_tags in [false, true] {
            let output = DescribeTasksOutput {
                tasks: Tagged::new(vec![task(1), task(2)], include_tags),
                failures: vec![berth_ecs::Failure::new("x", "MISSING")],
            };
            let bytes = serde_json::to_vec(&output).unwrap();
            let value = serde_json::to_value(&output).unwrap();
            assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);
            assert_eq!(value["tasks"][1]["tags"].is_array(), include_tags);
            assert_eq!(value["tasks"][1]["version"], 4);
            assert_eq!(value["failures"][0]["reason"], "MISSING");
        }
    }

    #[test]
    fn fargate_reports_name_their_scope_by_task_arn() {
        fn scope(arn: &str) -> Option<(&str, &str)> {
            task_scope(Some(arn)).ok()
        }
        assert_eq!(
            scope("arn:aws:ecs:eu-west-1:111122223333:task/default/abc"),
            Some(("111122223333", "eu-west-1"))
        );
        assert_eq!(scope("arn:aws:ecs:eu-west-1:111122223333:cluster/x"), None);
        assert_eq!(scope("abc"), None);
        assert_eq!(scope("arn:aws:ecs::1:task/x/y"), None);
        assert!(task_scope(None).is_err());
    }
}
