//! Amazon ECS (JSON 1.1, target prefix `AmazonEC2ContainerServiceV20141113`).
//!
//! Each handler decodes its input, authorises the call (`ecs:<Operation>` on the resource's
//! ARN, or `*` where ECS has no resource-level permission), calls `berth_ecs` and encodes the
//! answer. `BerthPollTasks` is berth's agent channel (see ARCHITECTURE.md, "The agent
//! channel"): a long poll under the ECS signing name that answers with the tasks placed on the
//! agent's container instance.

use std::time::{Duration, Instant};

use berth_ecs::{AgentPoll, AgentTask, Caller, Ecs, RoleCredentials};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::WireError;
use crate::services::{Ctx, sorted_json};
use berth_control::authz::{self, Check};

/// The longest an agent's poll waits for news.
const MAX_POLL_WAIT: Duration = Duration::from_secs(20);

/// Answers every waiting `BerthPollTasks` (and Fargate poll) now, and every later one at once.
pub fn release_polls() {
    berth_control::polls::release();
}

/// Wakes every waiting `BerthPollTasks` (and Fargate poll) to look again.
pub fn notify_changes() {
    berth_control::polls::notify_changes();
}

type Handler = fn(&Ctx<'_>, Value) -> Result<Value, WireError>;

/// Runs one operation; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, input: Value) -> Option<Result<Value, WireError>> {
    let (handler, mutates): (Handler, bool) = match operation {
        "CreateCluster" => (create_cluster, true),
        "DescribeClusters" => (describe_clusters, false),
        "ListClusters" => (list_clusters, false),
        "DeleteCluster" => (delete_cluster, true),
        "RegisterTaskDefinition" => (register_task_definition, true),
        "DescribeTaskDefinition" => (describe_task_definition, false),
        "ListTaskDefinitions" => (list_task_definitions, false),
        "ListTaskDefinitionFamilies" => (list_task_definition_families, false),
        "DeregisterTaskDefinition" => (deregister_task_definition, true),
        "DeleteTaskDefinitions" => (delete_task_definitions, true),
        "RegisterContainerInstance" => (register_container_instance, true),
        "DeregisterContainerInstance" => (deregister_container_instance, true),
        "DescribeContainerInstances" => (describe_container_instances, false),
        "ListContainerInstances" => (list_container_instances, false),
        "PutAttributes" => (put_attributes, true),
        "DeleteAttributes" => (delete_attributes, true),
        "RunTask" => (run_task, true),
        "StartTask" => (start_task, true),
        "StopTask" => (stop_task, true),
        "DescribeTasks" => (describe_tasks, false),
        "ListTasks" => (list_tasks, false),
        "SubmitTaskStateChange" => (submit_task_state_change, true),
        "SubmitContainerStateChange" => (submit_container_state_change, true),
        "BerthPollTasks" => (poll_tasks, false),
        _ => return None,
    };
    let result = handler(ctx, input);
    if mutates && result.is_ok() {
        berth_control::polls::notify_changes();
    }
    Some(result)
}

/// The caller as the agent binding sees it (a role session counts as its role).
fn agent_identity(ctx: &Ctx<'_>) -> String {
    let p = &ctx.caller.principal;
    p.role_arn().unwrap_or_else(|| p.arn())
}

fn ecs<'a>(ctx: &'a Ctx<'_>) -> Ecs<'a> {
    Ecs::new(
        ctx.control.store.as_ref(),
        ctx.account(),
        &ctx.caller.region,
    )
}

fn decode<T: DeserializeOwned>(input: Value) -> Result<T, WireError> {
    serde_json::from_value(input).map_err(|e| {
        WireError::client(
            "SerializationException",
            format!("request does not match the operation's input shape: {e}"),
        )
    })
}

/// A JSON object of `members`, moved in (`json!` would copy each `Value` by serializing it
/// again).
fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, WireError> {
    serde_json::to_value(v).map_err(|e| WireError::internal(&e))
}

fn str_field<'v>(input: &'v Value, name: &str) -> Option<&'v str> {
    input.get(name).and_then(Value::as_str)
}

fn required<'v>(input: &'v Value, name: &str) -> Result<&'v str, WireError> {
    str_field(input, name).ok_or_else(|| {
        // botocore checks required members before sending; this is for hand-made requests.
        WireError::client("InvalidParameterException", format!("{name} is required"))
    })
}

fn string_list(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn includes_tags(input: &Value) -> bool {
    string_list(input, "include").iter().any(|s| s == "TAGS")
}

/// Drops `tags` from each object unless the caller asked for them with `include: ["TAGS"]`.
fn strip_tags(mut items: Value, keep: bool) -> Value {
    if !keep && let Value::Array(a) = &mut items {
        for item in a {
            if let Value::Object(o) = item {
                o.remove("tags");
            }
        }
    }
    items
}

fn max_results(input: &Value) -> Option<i64> {
    input.get("maxResults").and_then(Value::as_i64)
}

fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        out["nextToken"] = Value::String(t);
    }
    out
}

fn cluster_check(ctx: &Ctx<'_>, action: &str, cluster: Option<&str>) -> Result<String, WireError> {
    let e = ecs(ctx);
    let name = e.cluster_name(cluster)?;
    let arn = e.cluster_arn(&name);
    ctx.authorize(action, &arn)?;
    Ok(arn)
}

// ---- clusters -------------------------------------------------------------------------------

fn create_cluster(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:CreateCluster", "*")?;
    let tags = decode(input.get("tags").cloned().unwrap_or(json!([])))?;
    let settings = decode(input.get("settings").cloned().unwrap_or(json!([])))?;
    let cluster = ecs(ctx).create_cluster(
        str_field(&input, "clusterName"),
        tags,
        settings,
        input.get("configuration").cloned(),
        ctx.now_secs(),
    )?;
    Ok(object([("cluster", to_json(&cluster)?)]))
}

fn describe_clusters(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let names = string_list(&input, "clusters");
    let e = ecs(ctx);
    let wanted = if names.is_empty() {
        vec![berth_ecs::DEFAULT_CLUSTER.to_string()]
    } else {
        names.clone()
    };
    for n in &wanted {
        let arn = match e.cluster_name(Some(n)) {
            Ok(name) => e.cluster_arn(&name),
            Err(_) => n.clone(),
        };
        ctx.authorize("ecs:DescribeClusters", &arn)?;
    }
    let (clusters, failures) = e.describe_clusters(&names, ctx.now_secs())?;
    Ok(object([
        (
            "clusters",
            strip_tags(to_json(&clusters)?, includes_tags(&input)),
        ),
        ("failures", to_json(&failures)?),
    ]))
}

fn list_clusters(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:ListClusters", "*")?;
    let (arns, next) =
        ecs(ctx).list_clusters(str_field(&input, "nextToken"), max_results(&input))?;
    Ok(with_token(json!({ "clusterArns": arns }), next))
}

fn delete_cluster(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = required(&input, "cluster")?;
    cluster_check(ctx, "ecs:DeleteCluster", Some(cluster))?;
    let c = ecs(ctx).delete_cluster(cluster, ctx.now_secs())?;
    Ok(object([("cluster", to_json(&c)?)]))
}

// ---- task definitions -----------------------------------------------------------------------

fn register_task_definition(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:RegisterTaskDefinition", "*")?;
    let input: berth_ecs::RegisterTaskDefinitionInput = decode(input)?;
    let principal = ctx.caller.principal.arn();
    let (def, tags) = ecs(ctx).register_task_definition(input, &principal, ctx.now_secs())?;
    Ok(object([
        ("taskDefinition", to_json(&def)?),
        ("tags", to_json(&tags)?),
    ]))
}

fn describe_task_definition(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:DescribeTaskDefinition", "*")?;
    let reference = required(&input, "taskDefinition")?;
    let (def, tags) = ecs(ctx).describe_task_definition(reference)?;
    let mut out = object([("taskDefinition", to_json(&def)?)]);
    if includes_tags(&input) {
        out["tags"] = to_json(&tags)?;
    }
    Ok(out)
}

fn list_task_definitions(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:ListTaskDefinitions", "*")?;
    let (arns, next) = ecs(ctx).list_task_definitions(
        str_field(&input, "familyPrefix"),
        str_field(&input, "status"),
        str_field(&input, "sort") == Some("DESC"),
        str_field(&input, "nextToken"),
        max_results(&input),
    )?;
    Ok(with_token(json!({ "taskDefinitionArns": arns }), next))
}

fn list_task_definition_families(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:ListTaskDefinitionFamilies", "*")?;
    let (families, next) = ecs(ctx).list_task_definition_families(
        str_field(&input, "familyPrefix"),
        str_field(&input, "status"),
        str_field(&input, "nextToken"),
        max_results(&input),
    )?;
    Ok(with_token(json!({ "families": families }), next))
}

fn deregister_task_definition(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    ctx.authorize("ecs:DeregisterTaskDefinition", "*")?;
    let reference = required(&input, "taskDefinition")?;
    let def = ecs(ctx).deregister_task_definition(reference, ctx.now_secs())?;
    Ok(object([("taskDefinition", to_json(&def)?)]))
}

fn delete_task_definitions(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let refs = string_list(&input, "taskDefinitions");
    let e = ecs(ctx);
    for r in &refs {
        let arn = match e.parse_def_ref(r) {
            Some(d) => e.task_definition_arn(&d.family, d.revision.unwrap_or(0)),
            None => r.clone(),
        };
        ctx.authorize("ecs:DeleteTaskDefinitions", &arn)?;
    }
    let (defs, failures) = e.delete_task_definitions(&refs, ctx.now_secs())?;
    Ok(object([
        ("taskDefinitions", to_json(&defs)?),
        ("failures", to_json(&failures)?),
    ]))
}

// ---- container instances --------------------------------------------------------------------

fn register_container_instance(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    cluster_check(
        ctx,
        "ecs:RegisterContainerInstance",
        str_field(&input, "cluster"),
    )?;
    let input: berth_ecs::RegisterContainerInstanceInput = decode(input)?;
    let identity = agent_identity(ctx);
    let caller = Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    };
    let ci = ecs(ctx).register_container_instance(input, &caller, ctx.now_secs())?;
    Ok(object([("containerInstance", to_json(&ci)?)]))
}

fn deregister_container_instance(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster");
    cluster_check(ctx, "ecs:DeregisterContainerInstance", cluster)?;
    let reference = required(&input, "containerInstance")?;
    let force = input.get("force").and_then(Value::as_bool).unwrap_or(false);
    let ci = ecs(ctx).deregister_container_instance(cluster, reference, force, ctx.now_secs())?;
    Ok(object([("containerInstance", to_json(&ci)?)]))
}

fn describe_container_instances(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster");
    cluster_check(ctx, "ecs:DescribeContainerInstances", cluster)?;
    let refs = string_list(&input, "containerInstances");
    let (instances, failures) =
        ecs(ctx).describe_container_instances(cluster, &refs, ctx.now_secs())?;
    Ok(object([
        (
            "containerInstances",
            strip_tags(to_json(&instances)?, includes_tags(&input)),
        ),
        ("failures", to_json(&failures)?),
    ]))
}

fn list_container_instances(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster");
    cluster_check(ctx, "ecs:ListContainerInstances", cluster)?;
    if str_field(&input, "filter").is_some_and(|f| !f.is_empty()) {
        return Err(WireError::client(
            "InvalidParameterException",
            "the cluster query language (filter) is not supported by berth",
        ));
    }
    let (arns, next) = ecs(ctx).list_container_instances(
        cluster,
        str_field(&input, "status"),
        str_field(&input, "nextToken"),
        max_results(&input),
    )?;
    Ok(with_token(json!({ "containerInstanceArns": arns }), next))
}

fn attributes_call(
    ctx: &Ctx<'_>,
    input: Value,
    action: &str,
    put: bool,
) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster").map(str::to_string);
    cluster_check(ctx, action, cluster.as_deref())?;
    let attributes: Vec<berth_ecs::Attribute> =
        decode(input.get("attributes").cloned().unwrap_or(json!([])))?;
    let e = ecs(ctx);
    let out = if put {
        e.put_attributes(cluster.as_deref(), &attributes)?
    } else {
        e.delete_attributes(cluster.as_deref(), &attributes)?
    };
    Ok(object([("attributes", to_json(&out)?)]))
}

fn put_attributes(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    attributes_call(ctx, input, "ecs:PutAttributes", true)
}

fn delete_attributes(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    attributes_call(ctx, input, "ecs:DeleteAttributes", false)
}

// ---- tasks ----------------------------------------------------------------------------------

/// The execution role the task will run with (override, else the definition's).
fn execution_role(ctx: &Ctx<'_>, input: &Value, def: &berth_ecs::TaskDefinition) -> Option<String> {
    input
        .pointer("/overrides/executionRoleArn")
        .and_then(Value::as_str)
        .and_then(|r| berth_ecs::taskdef::complete_role(ctx.account(), r).ok())
        .or_else(|| def.execution_role_arn.clone())
}

/// Authorises running a task definition: `action` on the definition within the cluster, and
/// `iam:PassRole` on its execution and task roles.
fn authorize_run(
    ctx: &Ctx<'_>,
    action: &str,
    input: &Value,
    cluster_arn: &str,
) -> Result<(), WireError> {
    let e = ecs(ctx);
    let reference = required(input, "taskDefinition")?;
    let def = e.resolve_task_definition(reference)?;
    authz::authorize(
        ctx,
        &Check::new(action, &def.task_definition_arn).with_context("ecs:cluster", cluster_arn),
    )?;
    let task_role = input
        .pointer("/overrides/taskRoleArn")
        .and_then(Value::as_str)
        .and_then(|r| berth_ecs::taskdef::complete_role(ctx.account(), r).ok())
        .or_else(|| def.task_role_arn.clone());
    for role in [execution_role(ctx, input, &def), task_role]
        .into_iter()
        .flatten()
    {
        authz::authorize(
            ctx,
            &Check::new("iam:PassRole", &role)
                .with_context("iam:PassedToService", "ecs-tasks.amazonaws.com"),
        )?;
    }
    Ok(())
}

fn run_task(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(str_field(&input, "cluster"))?);
    authorize_run(ctx, "ecs:RunTask", &input, &cluster_arn)?;
    let run: berth_ecs::RunTaskInput = decode(input)?;
    let (tasks, failures) = e.run_task(run, ctx.now_secs())?;
    Ok(object([
        ("tasks", to_json(&tasks)?),
        ("failures", to_json(&failures)?),
    ]))
}

fn start_task(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(str_field(&input, "cluster"))?);
    authorize_run(ctx, "ecs:StartTask", &input, &cluster_arn)?;
    let start: berth_ecs::StartTaskInput = decode(input)?;
    let (tasks, failures) = e.start_task(start, ctx.now_secs())?;
    Ok(object([
        ("tasks", to_json(&tasks)?),
        ("failures", to_json(&failures)?),
    ]))
}

/// The ARN a task reference names, for authorisation (an id is completed with the cluster).
fn task_arn_for(
    ctx: &Ctx<'_>,
    cluster: Option<&str>,
    reference: &str,
) -> Result<String, WireError> {
    if reference.starts_with("arn:") {
        return Ok(reference.to_string());
    }
    let e = ecs(ctx);
    let name = e.cluster_name(cluster)?;
    Ok(format!(
        "arn:aws:ecs:{}:{}:task/{name}/{reference}",
        ctx.caller.region,
        ctx.account()
    ))
}

fn stop_task(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster");
    let reference = required(&input, "task")?;
    let arn = task_arn_for(ctx, cluster, reference)?;
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(cluster)?);
    authz::authorize(
        ctx,
        &Check::new("ecs:StopTask", &arn).with_context("ecs:cluster", cluster_arn),
    )?;
    let task = e.stop_task(
        cluster,
        reference,
        str_field(&input, "reason"),
        ctx.now_secs(),
    )?;
    Ok(object([("task", to_json(&task)?)]))
}

fn describe_tasks(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let (tasks, failures) = describe_tasks_found(ctx, &input)?;
    Ok(object([
        ("tasks", strip_tags(to_json(&tasks)?, includes_tags(&input))),
        ("failures", to_json(&failures)?),
    ]))
}

/// DescribeTasks' answer as JSON bytes, the very bytes [`describe_tasks`]' `Value` prints
/// (members sorted by name, `tags` only with `include: ["TAGS"]`), without building the
/// `Value`.
pub(crate) fn describe_tasks_json(ctx: &Ctx<'_>, input: &Value) -> Result<Vec<u8>, WireError> {
    let (tasks, failures) = describe_tasks_found(ctx, input)?;
    describe_tasks_bytes(&tasks, &failures, includes_tags(input))
}

fn describe_tasks_bytes(
    tasks: &[berth_ecs::Task],
    failures: &[berth_ecs::Failure],
    tags: bool,
) -> Result<Vec<u8>, WireError> {
    let internal = |e: serde_json::Error| WireError::internal(&e);
    let failures = sorted_json::to_vec(failures, None).map_err(internal)?;
    let tasks = sorted_json::to_vec(tasks, (!tags).then_some("tags")).map_err(internal)?;
    let mut out = Vec::with_capacity(failures.len() + tasks.len() + 24);
    out.extend_from_slice(b"{\"failures\":");
    out.extend_from_slice(&failures);
    out.extend_from_slice(b",\"tasks\":");
    out.extend_from_slice(&tasks);
    out.push(b'}');
    Ok(out)
}

fn describe_tasks_found(
    ctx: &Ctx<'_>,
    input: &Value,
) -> Result<(Vec<berth_ecs::Task>, Vec<berth_ecs::Failure>), WireError> {
    let cluster = str_field(input, "cluster");
    let refs = string_list(input, "tasks");
    if refs.is_empty() {
        return Err(WireError::client(
            "InvalidParameterException",
            "Tasks cannot be empty.",
        ));
    }
    for r in &refs {
        let arn = task_arn_for(ctx, cluster, r)?;
        ctx.authorize("ecs:DescribeTasks", &arn)?;
    }
    Ok(ecs(ctx).describe_tasks(cluster, &refs, ctx.now_secs())?)
}

fn list_tasks(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(str_field(&input, "cluster"))?);
    authz::authorize(
        ctx,
        &Check::new("ecs:ListTasks", "*").with_context("ecs:cluster", cluster_arn),
    )?;
    let filters: berth_ecs::ListTasksInput = decode(input)?;
    let (arns, next) = e.list_tasks(&filters, ctx.now_secs())?;
    Ok(with_token(json!({ "taskArns": arns }), next))
}

// ---- the agent ------------------------------------------------------------------------------

fn submit_task_state_change(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    cluster_check(
        ctx,
        "ecs:SubmitTaskStateChange",
        str_field(&input, "cluster"),
    )?;
    let change: berth_ecs::TaskStateChangeInput = decode(input)?;
    let identity = agent_identity(ctx);
    let caller = Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    };
    ecs(ctx).submit_task_state_change(&change, &caller, ctx.now_secs())?;
    // The model's acknowledgment is a string; AWS's exact value is not known to berth.
    Ok(json!({ "acknowledgment": "true" }))
}

fn submit_container_state_change(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    cluster_check(
        ctx,
        "ecs:SubmitContainerStateChange",
        str_field(&input, "cluster"),
    )?;
    let change: berth_ecs::ContainerStateChangeInput = decode(input)?;
    let identity = agent_identity(ctx);
    let caller = Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    };
    ecs(ctx).submit_container_state_change(&change, &caller, ctx.now_secs())?;
    Ok(json!({ "acknowledgment": "true" }))
}

/// R4: the control plane assumes the task's execution role as the service principal
/// `ecs-tasks.amazonaws.com`, the trust policy evaluated with `aws:SourceAccount` (the task's
/// account) and `aws:SourceArn` (the task's ARN); the session is named after the task id and
/// handed out again on later polls while it has five minutes left. A role that cannot be
/// assumed stops the task (`TaskFailedToStart`) with ECS's words, and `None` goes out.
fn execution_role_credentials(
    ctx: &Ctx<'_>,
    task: &AgentTask,
) -> Result<Option<RoleCredentials>, WireError> {
    assume_execution_role(ctx.control, &ecs(ctx), task, ctx.now_secs())
}

/// [`execution_role_credentials`] for the task's own account and region (`ecs`).
fn assume_execution_role(
    state: &berth_control::Control,
    ecs: &Ecs<'_>,
    task: &AgentTask,
    now: u64,
) -> Result<Option<RoleCredentials>, WireError> {
    let Some(role_arn) = task.execution_role_arn.as_deref() else {
        return Ok(None);
    };
    let task_id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    let account = task
        .task_arn
        .split(':')
        .nth(4)
        .unwrap_or_else(|| ecs.account());
    match state.iam().assume_role_for_service(
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
            let reason = format!(
                "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
            );
            ecs.fail_to_start(&task.task_arn, &reason, now)?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `BerthPollTasks {cluster, containerInstance, seq?, waitSeconds?}`: berth's agent channel.
/// Answers at once when the instance's cursor differs from `seq` (or no `seq` is given),
/// otherwise waits up to `waitSeconds` (default and most 20) for a change.
fn poll_tasks(ctx: &Ctx<'_>, input: Value) -> Result<Value, WireError> {
    let cluster = str_field(&input, "cluster");
    let instance = required(&input, "containerInstance")?;
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
    let since = input.get("seq").and_then(Value::as_u64);
    let wait = input
        .get("waitSeconds")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(MAX_POLL_WAIT)
        .min(MAX_POLL_WAIT);
    let identity = agent_identity(ctx);
    let caller = Caller {
        identity: &identity,
        root: ctx.caller.principal.is_root(),
    };
    let deadline = Instant::now() + wait;
    if let Some(since) = since {
        loop {
            let generation = berth_control::polls::generation();
            let seq = e.instance_seq(cluster, instance, &caller)?;
            if seq != since || Instant::now() >= deadline || berth_control::polls::released() {
                break;
            }
            berth_control::polls::wait(generation, deadline);
        }
    }
    // The wait may outlast the request's clock; the poll is recorded at the time it answers.
    let now = ctx.now_secs() + (Instant::now() - (deadline - wait)).as_secs();
    let mut poll: AgentPoll = e.poll(cluster, instance, &caller, now)?;
    let mut failed = Vec::new();
    for task in &mut poll.tasks_to_start {
        if task.execution_role_arn.is_some() {
            match execution_role_credentials(ctx, task)? {
                Some(creds) => {
                    berth_ecs::attach_execution_role_credentials(task, creds);
                }
                None => failed.push(task.task_arn.clone()),
            }
        }
    }
    // A task whose role could not be assumed was stopped: it is not the agent's to start.
    poll.tasks_to_start
        .retain(|t| !failed.contains(&t.task_arn));
    to_json(&poll)
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

/// The Fargate runner's poll (see ARCHITECTURE.md, "Fargate"). It is not an API call: the
/// runner is part of the control plane, as AWS's Fargate is, and sees every account's and
/// region's FARGATE tasks. Blocks up to `wait` while nothing in ECS changed since `seq`
/// (answers at once without `seq`). The control plane assumes the execution role of each task
/// not yet RUNNING as `ecs-tasks.amazonaws.com`, as for an agent; a task whose role cannot be
/// assumed is stopped with ECS's words and not handed out.
pub fn fargate_poll(
    state: &berth_control::Control,
    seq: Option<u64>,
    wait: Duration,
) -> Result<FargatePoll, WireError> {
    let deadline = Instant::now() + wait.min(MAX_POLL_WAIT);
    let generation = match seq {
        Some(seen) => {
            berth_control::polls::wait(seen, deadline);
            berth_control::polls::generation()
        }
        None => berth_control::polls::generation(),
    };
    let now = now_secs(state);
    let mut work = berth_ecs::fargate::fargate_work(state.store.as_ref(), now)?;
    let mut failed = Vec::new();
    for w in &mut work.tasks_to_start {
        let e = Ecs::new(state.store.as_ref(), &w.account, &w.region);
        // The credentials serve the start (the secret fetch); a running task needs none, and a
        // role changed meanwhile does not stop what already runs.
        let starting = berth_ecs::lifecycle::TaskStatus::parse(&w.task.last_status)
            .is_none_or(|s| s < berth_ecs::lifecycle::TaskStatus::Running);
        if starting && w.task.execution_role_arn.is_some() {
            match assume_execution_role(state, &e, &w.task, now)? {
                Some(creds) => {
                    berth_ecs::attach_execution_role_credentials(&mut w.task, creds);
                }
                None => failed.push(w.task.task_arn.clone()),
            }
        }
    }
    work.tasks_to_start
        .retain(|w| !failed.contains(&w.task.task_arn));
    if !failed.is_empty() {
        berth_control::polls::notify_changes();
    }
    Ok(FargatePoll {
        seq: generation,
        tasks_to_start: work.tasks_to_start,
        tasks_to_stop: work.tasks_to_stop,
    })
}

fn now_secs(state: &berth_control::Control) -> u64 {
    state
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The account and region of a task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/...`).
fn task_scope(input: &Value) -> Result<(String, String), WireError> {
    let arn = str_field(input, "task").unwrap_or("");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "ecs", region, account, rest]
            if rest.starts_with("task/") && !region.is_empty() && !account.is_empty() =>
        {
            Ok((account.to_string(), region.to_string()))
        }
        _ => Err(WireError::client(
            "InvalidParameterException",
            berth_ecs::TASK_NOT_FOUND,
        )),
    }
}

/// A task state change from the Fargate runner (the input of SubmitTaskStateChange, for a
/// FARGATE task of any account and region, named by its ARN).
pub fn fargate_task_state_change(
    state: &berth_control::Control,
    input: Value,
) -> Result<(), WireError> {
    let (account, region) = task_scope(&input)?;
    let change: berth_ecs::TaskStateChangeInput = decode(input)?;
    Ecs::new(state.store.as_ref(), &account, &region)
        .submit_fargate_task_state_change(&change, now_secs(state))?;
    berth_control::polls::notify_changes();
    Ok(())
}

/// A container state change from the Fargate runner.
pub fn fargate_container_state_change(
    state: &berth_control::Control,
    input: Value,
) -> Result<(), WireError> {
    let (account, region) = task_scope(&input)?;
    let change: berth_ecs::ContainerStateChangeInput = decode(input)?;
    Ecs::new(state.store.as_ref(), &account, &region)
        .submit_fargate_container_state_change(&change, now_secs(state))?;
    berth_control::polls::notify_changes();
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn task(n: u32, tags: Value, extra: Value) -> berth_ecs::Task {
        let arn = format!("arn:aws:ecs:eu-west-1:111122223333:task/default/{n:032x}");
        let mut t = json!({
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/default",
            "containers": [{
                "containerArn": format!("arn:aws:ecs:eu-west-1:111122223333:container/default/{n}/c"),
                "taskArn": arn,
                "name": "web \"main\" \u{e9}",
                "image": "nginx:latest",
                "lastStatus": "RUNNING",
                "exitCode": -1,
                "networkBindings": [{"hostPort": 8080, "containerPort": 80, "bindIP": "0.0.0.0"}],
                "memory": "512"
            }],
            "createdAt": 1_700_000_000u64 + u64::from(n),
            "desiredStatus": "RUNNING",
            "lastStatus": "RUNNING",
            "launchType": "EC2",
            "overrides": {"containerOverrides": [{"name": "web", "environment": [{"value": "1", "name": "Z"}]}], "cpu": "256"},
            "tags": tags,
            "taskArn": arn,
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:3",
            "version": 4
        });
        if let (Value::Object(t), Value::Object(extra)) = (&mut t, extra) {
            t.extend(extra);
        }
        serde_json::from_value(t).unwrap()
    }

    /// DescribeTasks' bytes are those of the `Value` answer, byte for byte.
    #[test]
    fn describe_tasks_bytes_are_the_values() {
        let tasks = [
            task(1, json!([]), json!({})),
            task(
                2,
                json!([{"key": "team", "value": "a\u{1F600}"}, {"key": "b", "value": ""}]),
                json!({
                    "attachments": [{"type": "ElasticNetworkInterface", "id": "x", "status": "ATTACHED",
                        "details": [{"name": "subnetId", "value": "subnet-1"}]}],
                    "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
                    "containerInstanceArn": "arn:aws:ecs:eu-west-1:111122223333:container-instance/default/i",
                    "cpu": "256", "memory": "512", "group": "family:web", "startedBy": "me",
                    "startedAt": 1_700_000_100u64, "stoppedAt": 1_700_000_200u64,
                    "stopCode": "EssentialContainerExited", "stoppedReason": "done\n",
                    "enableExecuteCommand": true, "platformVersion": "1.4.0"
                }),
            ),
            task(
                3,
                json!([{"key": "only", "value": "one"}]),
                json!({"launchType": "FARGATE"}),
            ),
        ];
        let failures = [
            berth_ecs::Failure::new(
                "arn:aws:ecs:eu-west-1:111122223333:task/default/missing",
                "MISSING",
            ),
            berth_ecs::Failure::new("x", "MISSING"),
        ];
        for (tasks, failures) in [
            (&tasks[..], &failures[..]),
            (&tasks[..1], &[][..]),
            (&[][..], &failures[..]),
            (&[][..], &[][..]),
        ] {
            for tags in [false, true] {
                let value = object([
                    ("tasks", strip_tags(to_json(&tasks).unwrap(), tags)),
                    ("failures", to_json(&failures).unwrap()),
                ]);
                assert_eq!(
                    String::from_utf8(describe_tasks_bytes(tasks, failures, tags).unwrap())
                        .unwrap(),
                    String::from_utf8(crate::services::json_bytes(&value).unwrap()).unwrap()
                );
            }
        }
    }

    #[test]
    fn object_is_json_without_the_copy() {
        let tasks = json!([{"taskArn": "a", "tags": []}, {"b": [1, 2.5, null]}]);
        assert_eq!(
            object([("tasks", tasks.clone()), ("failures", json!([]))]),
            json!({"tasks": tasks, "failures": []})
        );
        assert_eq!(object([]), json!({}));
    }

    #[test]
    fn fargate_reports_name_their_scope_by_task_arn() {
        let scope = |arn: &str| task_scope(&json!({ "task": arn })).ok();
        assert_eq!(
            scope("arn:aws:ecs:eu-west-1:111122223333:task/default/abc"),
            Some(("111122223333".to_string(), "eu-west-1".to_string()))
        );
        assert_eq!(scope("arn:aws:ecs:eu-west-1:111122223333:cluster/x"), None);
        assert_eq!(scope("abc"), None);
        assert_eq!(scope("arn:aws:ecs::1:task/x/y"), None);
        assert!(task_scope(&json!({})).is_err());
    }
}
