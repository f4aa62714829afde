//! ECS services and tags: CreateService, UpdateService, DeleteService, DescribeServices,
//! ListServices, ListServicesByNamespace, TagResource, UntagResource, ListTagsForResource, and
//! the service scheduler's pass ([`reconcile_services`]), which the binary runs in a loop.
//!
//! Authorisation is as ECS documents it: `ecs:<Operation>` on the service's ARN
//! (`arn:aws:ecs:<region>:<account>:service/<cluster>/<name>`) with the `ecs:cluster` condition
//! key; ListServices and ListServicesByNamespace on `*`; `iam:PassRole` for the roles a
//! service's tasks are started with (its task definition's execution and task roles) and for
//! its `role`; `ecs:TagResource` with `ecs:CreateAction` when CreateService is given tags.

use berth_ecs::service::{self as svc, Action};
use berth_ecs::{Ecs, RunTaskInput, StartTaskInput, Tag};

use super::tags::Tagged;
use super::types::*;
use super::{authorize_pass_role, changed, ecs, required};
use crate::authz::{self, Check};
use crate::{Control, Ctx, Error};

/// The service's ARN and its cluster's, for authorisation.
fn service_arns(
    ctx: &Ctx<'_>,
    cluster: Option<&str>,
    service: &str,
) -> Result<(String, String), Error> {
    let e = ecs(ctx);
    let cluster = e.cluster_name(cluster)?;
    let name = e
        .service_name(&cluster, service)
        .unwrap_or_else(|| service.rsplit('/').next().unwrap_or(service).to_string());
    Ok((e.service_arn(&cluster, &name), e.cluster_arn(&cluster)))
}

fn authorize_service(
    ctx: &Ctx<'_>,
    action: &str,
    service_arn: &str,
    cluster_arn: &str,
) -> Result<(), Error> {
    authz::authorize(
        ctx,
        &Check::new(action, service_arn).with_context("ecs:cluster", cluster_arn),
    )
}

/// `iam:PassRole` for the roles a task definition's tasks run with.
fn authorize_def_roles(ctx: &Ctx<'_>, reference: &str) -> Result<String, Error> {
    let def = ecs(ctx).resolve_task_definition(reference)?;
    for role in [def.execution_role_arn.clone(), def.task_role_arn.clone()]
        .into_iter()
        .flatten()
    {
        authorize_pass_role(ctx, role, "ecs-tasks.amazonaws.com")?;
    }
    Ok(def.task_definition_arn)
}

pub fn create_service(ctx: &Ctx<'_>, input: CreateServiceInput) -> Result<ServiceOutput, Error> {
    let name = required(input.service_name.as_deref(), "serviceName")?.to_string();
    let (arn, cluster_arn) = service_arns(ctx, input.cluster.as_deref(), &name)?;
    let td = input.task_definition.clone().unwrap_or_default();
    let mut check = Check::new("ecs:CreateService", &arn).with_context("ecs:cluster", &cluster_arn);
    let def_arn = if td.is_empty() {
        None
    } else {
        Some(ecs(ctx).resolve_task_definition(&td)?.task_definition_arn)
    };
    if let Some(d) = &def_arn {
        check = check.with_context("ecs:task-definition", d);
    }
    authz::authorize(ctx, &check)?;
    if !input.tags.is_empty() {
        authz::authorize(
            ctx,
            &Check::new("ecs:TagResource", &arn)
                .with_context("ecs:CreateAction", "CreateService")
                .with_context("ecs:cluster", &cluster_arn),
        )?;
    }
    if def_arn.is_some() {
        authorize_def_roles(ctx, &td)?;
    }
    if let Some(role) = input.role.clone() {
        let role = berth_ecs::taskdef::complete_role(ctx.account(), &role)
            .map_err(|_| Error::InvalidParameter(format!("Invalid role: {role}")))?;
        authorize_pass_role(ctx, role, "ecs.amazonaws.com")?;
    }
    let principal = ctx.caller.principal.arn();
    let service = ecs(ctx).create_service(input, &principal, ctx.now_secs())?;
    Ok(changed(ServiceOutput { service }))
}

pub fn update_service(ctx: &Ctx<'_>, input: UpdateServiceInput) -> Result<ServiceOutput, Error> {
    let reference = required(input.service.as_deref(), "service")?;
    let (arn, cluster_arn) = service_arns(ctx, input.cluster.as_deref(), reference)?;
    authorize_service(ctx, "ecs:UpdateService", &arn, &cluster_arn)?;
    if let Some(td) = input.task_definition.as_deref().filter(|t| !t.is_empty()) {
        authorize_def_roles(ctx, td)?;
    }
    let service = ecs(ctx).update_service(input, ctx.now_secs())?;
    Ok(changed(ServiceOutput { service }))
}

pub fn delete_service(ctx: &Ctx<'_>, input: DeleteServiceInput) -> Result<ServiceOutput, Error> {
    let reference = required(input.service.as_deref(), "service")?;
    let (arn, cluster_arn) = service_arns(ctx, input.cluster.as_deref(), reference)?;
    authorize_service(ctx, "ecs:DeleteService", &arn, &cluster_arn)?;
    let service = ecs(ctx).delete_service(
        input.cluster.as_deref(),
        reference,
        input.force.unwrap_or(false),
        ctx.now_secs(),
    )?;
    Ok(changed(ServiceOutput { service }))
}

pub fn describe_services(
    ctx: &Ctx<'_>,
    input: DescribeServicesInput,
) -> Result<DescribeServicesOutput, Error> {
    if input.services.is_empty() {
        return Err(Error::MissingMember("services".into()));
    }
    if input.services.len() > svc::MAX_DESCRIBE_SERVICES {
        return Err(Error::InvalidParameter(format!(
            "services can have at most {} items.",
            svc::MAX_DESCRIBE_SERVICES
        )));
    }
    for s in &input.services {
        let (arn, cluster_arn) = service_arns(ctx, input.cluster.as_deref(), s)?;
        authorize_service(ctx, "ecs:DescribeServices", &arn, &cluster_arn)?;
    }
    let (services, failures) =
        ecs(ctx).describe_services(input.cluster.as_deref(), &input.services)?;
    Ok(DescribeServicesOutput {
        services: Tagged::new(services, super::types::includes_tags(&input.include)),
        failures,
    })
}

pub fn list_services(ctx: &Ctx<'_>, input: ListServicesInput) -> Result<ListServicesOutput, Error> {
    let e = ecs(ctx);
    let cluster_arn = e.cluster_arn(&e.cluster_name(input.cluster.as_deref())?);
    authz::authorize(
        ctx,
        &Check::new("ecs:ListServices", "*").with_context("ecs:cluster", cluster_arn),
    )?;
    let (service_arns, next_token) = e.list_services(&input)?;
    Ok(ListServicesOutput {
        service_arns,
        next_token,
    })
}

/// ListServicesByNamespace: berth has no Cloud Map namespaces, so no service is in one; the
/// answer is empty.
pub fn list_services_by_namespace(
    ctx: &Ctx<'_>,
    input: ListServicesByNamespaceInput,
) -> Result<ListServicesByNamespaceOutput, Error> {
    ctx.authorize("ecs:ListServicesByNamespace", "*")?;
    required(input.namespace.as_deref(), "namespace")?;
    if let Some(n) = input.max_results
        && !(1..=100).contains(&n)
    {
        return Err(Error::InvalidParameter(
            "maxResults must be between 1 and 100".into(),
        ));
    }
    Ok(ListServicesOutput {
        service_arns: Vec::new(),
        next_token: None,
    })
}

/// UpdateContainerInstancesState, authorised on each instance with `ecs:cluster`.
pub fn update_container_instances_state(
    ctx: &Ctx<'_>,
    input: UpdateContainerInstancesStateInput,
) -> Result<UpdateContainerInstancesStateOutput, Error> {
    let status = required(input.status.as_deref(), "status")?;
    let e = ecs(ctx);
    let cluster = e.cluster_name(input.cluster.as_deref())?;
    let cluster_arn = e.cluster_arn(&cluster);
    for r in &input.container_instances {
        let arn = if r.starts_with("arn:") {
            r.clone()
        } else {
            format!(
                "arn:aws:ecs:{}:{}:container-instance/{cluster}/{r}",
                ctx.caller.region,
                ctx.account()
            )
        };
        authz::authorize(
            ctx,
            &Check::new("ecs:UpdateContainerInstancesState", &arn)
                .with_context("ecs:cluster", &cluster_arn),
        )?;
    }
    let (container_instances, failures) = e.update_container_instances_state(
        input.cluster.as_deref(),
        &input.container_instances,
        status,
        ctx.now_secs(),
    )?;
    Ok(changed(UpdateContainerInstancesStateOutput {
        container_instances,
        failures,
    }))
}

// ---- tags -----------------------------------------------------------------------------------

/// The cluster a resource ARN lives in (for `ecs:cluster`), when it names one.
fn tagged_cluster(arn: &str) -> Option<String> {
    let (prefix, rest) = arn.split_once(':').map(|_| arn.rsplit_once(':'))??;
    let (kind, body) = rest.split_once('/')?;
    let cluster = match kind {
        "cluster" => body,
        "task" | "service" | "container-instance" => body.split('/').next()?,
        _ => return None,
    };
    Some(format!("{prefix}:cluster/{cluster}"))
}

fn authorize_tags(ctx: &Ctx<'_>, action: &str, arn: &str) -> Result<(), Error> {
    let mut check = Check::new(action, arn);
    if let Some(c) = tagged_cluster(arn) {
        check = check.with_context("ecs:cluster", c);
    }
    authz::authorize(ctx, &check)
}

pub fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<EmptyOutput, Error> {
    let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
    authorize_tags(ctx, "ecs:TagResource", arn)?;
    ecs(ctx).tag_resource(arn, &input.tags)?;
    Ok(changed(EmptyOutput {}))
}

pub fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<EmptyOutput, Error> {
    let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
    authorize_tags(ctx, "ecs:UntagResource", arn)?;
    ecs(ctx).untag_resource(arn, &input.tag_keys)?;
    Ok(changed(EmptyOutput {}))
}

pub fn list_tags_for_resource(
    ctx: &Ctx<'_>,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, Error> {
    let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
    authorize_tags(ctx, "ecs:ListTagsForResource", arn)?;
    let tags = ecs(ctx).list_tags_for_resource(arn)?;
    Ok(ListTagsForResourceOutput { tags })
}

// ---- the service scheduler ------------------------------------------------------------------

/// The tags a service's task starts with: the service's own with `propagateTags` SERVICE, and
/// ECS's managed tags (`aws:ecs:serviceName`, `aws:ecs:clusterName`) with
/// `enableECSManagedTags`. Task definition tags are propagated by RunTask itself.
pub fn service_task_tags(service: &Service, cluster: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    if service.enable_ecs_managed_tags {
        for (k, v) in [
            ("aws:ecs:serviceName", service.service_name.as_str()),
            ("aws:ecs:clusterName", cluster),
        ] {
            tags.push(Tag {
                key: Some(k.into()),
                value: Some(v.into()),
            });
        }
    }
    if service.propagate_tags == "SERVICE" {
        tags.extend(service.tags.iter().cloned());
    }
    tags
}

/// What one pass of the scheduler did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// Services stepped under this scheduler's claim.
    pub stepped: usize,
    pub started: usize,
    pub stopped: usize,
}

/// One pass of the service scheduler over every account's and region's services: each service
/// is claimed by `owner` for `lease_secs` in the store (a service claimed by another live
/// scheduler is left to it, so two server processes on one data directory never both start
/// its tasks), stepped ([`berth_ecs::service::plan`]), and its decisions carried out as the ECS
/// service itself: tasks started with RunTask (StartTask on the instance, for DAEMON), with
/// `startedBy` = the deployment id and `group` = `service:<name>`, and stopped with StopTask.
/// Not an API call; no runtime needed. Returns what it did.
pub fn reconcile_services(
    control: &Control,
    owner: &str,
    lease_secs: u64,
) -> Result<Reconciled, Error> {
    let store = control.store.as_ref();
    let now = super::now_secs(control);
    let mut out = Reconciled::default();
    for r in svc::services_to_step(store)? {
        let e = Ecs::new(store, &r.account, &r.region);
        // One service's failure (its store read, say) does not hold up the others.
        let step = match e.service_step(&r.cluster, &r.name, owner, lease_secs, now) {
            Ok(Some(step)) => step,
            Ok(None) => continue,
            Err(err) => {
                tracing::warn!(service = %r.name, cluster = %r.cluster, error = %err, "service scheduler: step failed");
                continue;
            }
        };
        out.stepped += 1;
        if step.actions.is_empty() {
            continue;
        }
        let service = &step.service;
        let name = service.service_name.as_str();
        let mut messages = Vec::new();
        let mut started: Vec<String> = Vec::new();
        for action in &step.actions {
            match action {
                Action::Stop { task_arn, reason } => {
                    match e.stop_service_task(&r.cluster, task_arn, reason, now) {
                        Ok(_) => out.stopped += 1,
                        Err(err) => {
                            tracing::warn!(task = %task_arn, error = %err, "service scheduler: stop failed");
                        }
                    }
                }
                Action::Start {
                    deployment,
                    task_definition,
                    count,
                    instance,
                } => {
                    let result = match instance {
                        None => e.run_task(
                            RunTaskInput {
                                cluster: Some(r.cluster.clone()),
                                count: Some(i64::from((*count).min(10))),
                                launch_type: service.launch_type.clone(),
                                platform_version: service.platform_version.clone(),
                                started_by: Some(deployment.clone()),
                                tags: service_task_tags(service, &r.cluster),
                                task_definition: task_definition.clone(),
                                network_configuration: service.network_configuration.clone(),
                                group: Some(service.group()),
                                enable_execute_command: Some(service.enable_execute_command),
                                propagate_tags: (service.propagate_tags == "TASK_DEFINITION")
                                    .then(|| "TASK_DEFINITION".to_string()),
                                placement_constraints: service.placement_constraints.clone(),
                                placement_strategy: service.placement_strategy.clone(),
                                ..RunTaskInput::default()
                            },
                            now,
                        ),
                        Some(i) => e.start_task(
                            StartTaskInput {
                                cluster: Some(r.cluster.clone()),
                                container_instances: vec![i.clone()],
                                task_definition: task_definition.clone(),
                                started_by: Some(deployment.clone()),
                                tags: service_task_tags(service, &r.cluster),
                                group: Some(service.group()),
                                network_configuration: service.network_configuration.clone(),
                                enable_execute_command: Some(service.enable_execute_command),
                                propagate_tags: (service.propagate_tags == "TASK_DEFINITION")
                                    .then(|| "TASK_DEFINITION".to_string()),
                                ..StartTaskInput::default()
                            },
                            now,
                        ),
                    };
                    match result {
                        Ok((tasks, failures)) => {
                            for t in &tasks {
                                let id = t.task_arn.rsplit('/').next().unwrap_or(&t.task_arn);
                                started.push(id.to_string());
                            }
                            if let Some(f) = failures.first() {
                                let reason = f.reason.as_deref().unwrap_or("placement failed");
                                messages.push(svc::unplaced_message(name, reason));
                            }
                        }
                        Err(err) => messages.push(svc::unplaced_message(name, &err.to_string())),
                    }
                }
            }
        }
        out.started += started.len();
        if !started.is_empty() {
            messages.insert(0, svc::started_message(name, &started));
        }
        if let Err(err) = e.service_events(&r.cluster, &r.name, messages, now) {
            tracing::warn!(service = %r.name, error = %err, "service scheduler: recording events");
        }
        crate::polls::notify_changes();
    }
    Ok(out)
}

/// Gives up every claim `owner` holds (the scheduler is stopping): a server started next on
/// the same data directory steps the services at once.
pub fn release_claims(control: &Control, owner: &str) -> Result<(), Error> {
    let store = control.store.as_ref();
    for r in svc::services_to_step(store)? {
        Ecs::new(store, &r.account, &r.region).release_service_claim(&r.cluster, &r.name, owner)?;
    }
    Ok(())
}

/// A server replica's id when none is given: random, one per process (`replica-` and 16 hex
/// digits).
pub fn random_replica_id() -> String {
    let mut b = [0u8; 8];
    berth_core::ids::random_bytes(&mut b);
    format!("replica-{}", hex_lower(&b))
}

/// Whether `id` can name a server replica: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn valid_replica_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::sync::Arc;

    use berth_core::RootKey;
    use berth_iam::Principal;
    use berth_store::SqliteStore;
    use serde_json::json;

    use super::*;
    use crate::testing::caller;

    const ACCOUNT: &str = "111122223333";

    fn service_of(control: &Control, name: &str) -> Service {
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = control.ctx(&root, "r");
        let out = describe_services(
            &ctx,
            DescribeServicesInput {
                services: vec![name.into()],
                ..Default::default()
            },
        )
        .unwrap();
        out.services.items[0].clone()
    }

    /// The scheduler's pass, without a runtime: it starts the desired count once, a second
    /// scheduler leaves a claimed service alone, and the service settles once its tasks run.
    #[test]
    fn the_scheduler_keeps_the_desired_count_under_one_claim() {
        let control = crate::testing::control();
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = control.ctx(&root, "r");
        let def: RegisterTaskDefinitionInput = serde_json::from_value(json!({
            "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox"}],
            "tags": [{"key": "from", "value": "td"}]
        }))
        .unwrap();
        super::super::register_task_definition(&ctx, def).unwrap();
        let input: CreateServiceInput = serde_json::from_value(json!({
            "serviceName": "api", "taskDefinition": "api", "desiredCount": 2,
            "launchType": "FARGATE", "propagateTags": "TASK_DEFINITION",
            "enableECSManagedTags": true,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        }))
        .unwrap();
        create_service(&ctx, input).unwrap();

        let done = reconcile_services(&control, "a", 5).unwrap();
        assert_eq!((done.stepped, done.started), (1, 2));
        assert_eq!(reconcile_services(&control, "b", 5).unwrap().stepped, 0);
        assert_eq!(reconcile_services(&control, "a", 5).unwrap().started, 0);
        // Released, the service is the next scheduler's at once (and "a" keeps off it).
        release_claims(&control, "a").unwrap();
        assert_eq!(reconcile_services(&control, "b", 5).unwrap().stepped, 1);
        assert_eq!(reconcile_services(&control, "a", 5).unwrap().stepped, 0);
        release_claims(&control, "b").unwrap();

        let svc = service_of(&control, "api");
        let dep = svc.deployments[0].id.clone();
        assert_eq!(svc.pending_count, 2);
        assert!(
            svc.events[0]
                .message
                .starts_with("(service api) has started 2 tasks: (task ")
        );
        let e = ecs(&ctx);
        let listed = e
            .list_tasks(
                &ListTasksInput {
                    service_name: Some("api".into()),
                    ..Default::default()
                },
                ctx.now_secs(),
            )
            .unwrap()
            .0;
        let (tasks, _) = e.describe_tasks(None, &listed, ctx.now_secs()).unwrap();
        assert_eq!(tasks.len(), 2);
        for t in &tasks {
            assert_eq!(t.started_by.as_deref(), Some(dep.as_str()));
            assert_eq!(t.group.as_deref(), Some("service:api"));
            let keys: Vec<&str> = t.tags.iter().filter_map(|t| t.key.as_deref()).collect();
            assert_eq!(keys, ["aws:ecs:serviceName", "aws:ecs:clusterName", "from"]);
            super::super::fargate_task_state_change(
                &control,
                SubmitTaskStateChangeInput {
                    task: Some(t.task_arn.clone()),
                    status: Some("RUNNING".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        }
        // A task someone runs in the service's group is not the scheduler's to stop.
        let theirs: RunTaskInput = serde_json::from_value(json!({
            "taskDefinition": "api", "launchType": "FARGATE", "group": "service:api",
            "startedBy": "me",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        }))
        .unwrap();
        let theirs = super::super::run_task(&ctx, theirs).unwrap().tasks[0]
            .task_arn
            .clone();
        reconcile_services(&control, "a", 5).unwrap();
        let (t, _) = e.describe_tasks(None, &[theirs], ctx.now_secs()).unwrap();
        assert_eq!(t[0].desired_status, "RUNNING");
        let svc = service_of(&control, "api");
        assert_eq!((svc.running_count, svc.pending_count), (2, 0));
        assert_eq!(
            svc.deployments[0].rollout_state.as_deref(),
            Some("COMPLETED")
        );
        assert_eq!(
            svc.events[0].message,
            "(service api) has reached a steady state."
        );
    }

    /// The tasks one Fargate runner (replica `owner`) is handed now.
    fn fargate_starts(control: &Control, owner: &str) -> Vec<String> {
        let polled = super::super::fargate_poll(
            control,
            owner,
            5,
            None,
            std::time::Instant::now(),
            std::time::Duration::ZERO,
        )
        .unwrap();
        let crate::polls::Polled::Ready(poll) = polled else {
            panic!("the first poll answers at once");
        };
        poll.tasks_to_start
            .into_iter()
            .map(|w| w.task.task_arn)
            .collect()
    }

    /// Two replicas over one store, the second one's clock a minute ahead (its view once
    /// replica "a" has been dead for longer than its leases): "a" takes the service and its
    /// Fargate task, "b" is handed neither; later, "b" stops the task as on a lost host and
    /// the service's replacement is "b"'s.
    #[test]
    fn a_dead_replicas_fargate_task_is_stopped_and_its_service_replaces_it() {
        let store: Arc<dyn berth_store::Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let key = RootKey::generate();
        let now = Control::new(store.clone(), key.clone(), 0);
        let later = Control::new(store, key, 60);
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = now.ctx(&root, "r");
        let def: RegisterTaskDefinitionInput = serde_json::from_value(json!({
            "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox"}]
        }))
        .unwrap();
        super::super::register_task_definition(&ctx, def).unwrap();
        let input: CreateServiceInput = serde_json::from_value(json!({
            "serviceName": "api", "taskDefinition": "api", "desiredCount": 1,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        }))
        .unwrap();
        create_service(&ctx, input).unwrap();

        assert_eq!(reconcile_services(&now, "a", 5).unwrap().started, 1);
        let first = fargate_starts(&now, "a");
        assert_eq!(first.len(), 1);
        assert!(fargate_starts(&now, "b").is_empty());
        assert!(
            super::super::fargate_leases(&now, "b", 5)
                .unwrap()
                .is_empty()
        );

        assert_eq!(super::super::fargate_leases(&later, "b", 5).unwrap(), first);
        let later_ctx = later.ctx(&root, "r");
        let (t, _) = ecs(&later_ctx)
            .describe_tasks(None, &first, later_ctx.now_secs())
            .unwrap();
        assert_eq!(t[0].last_status, "STOPPED");
        assert_eq!(t[0].stop_code.as_deref(), Some("InfrastructureHealth"));
        let done = reconcile_services(&later, "b", 5).unwrap();
        assert_eq!((done.stepped, done.started), (1, 1));
        let second = fargate_starts(&later, "b");
        assert_eq!(second.len(), 1);
        assert_ne!(second, first);
        assert!(fargate_starts(&later, "a").is_empty());
    }

    #[test]
    fn tags_name_their_cluster() {
        assert_eq!(
            tagged_cluster("arn:aws:ecs:us-east-1:111122223333:service/prod/web").as_deref(),
            Some("arn:aws:ecs:us-east-1:111122223333:cluster/prod")
        );
        assert_eq!(
            tagged_cluster("arn:aws:ecs:us-east-1:111122223333:cluster/prod").as_deref(),
            Some("arn:aws:ecs:us-east-1:111122223333:cluster/prod")
        );
        assert_eq!(
            tagged_cluster("arn:aws:ecs:us-east-1:111122223333:task-definition/web:1"),
            None
        );
        assert_eq!(tagged_cluster("nonsense"), None);
    }

    /// A running Fargate task's polls bring its execution role's credentials (its awslogs
    /// shippers sign with the freshest), and a role it can no longer assume does not stop it.
    #[test]
    fn a_running_fargate_task_keeps_getting_its_execution_credentials() {
        let control = crate::testing::control();
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        let ctx = control.ctx(&root, "r");
        let trust = |effect: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{{"Service":"ecs-tasks.amazonaws.com"}},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let allowed = trust("Allow");
        control
            .iam()
            .create_role(ACCOUNT, berth_iam::NewRole::new("exec", &allowed), 0)
            .unwrap();
        let def: RegisterTaskDefinitionInput = serde_json::from_value(json!({
            "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "executionRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/exec"),
            "containerDefinitions": [{"name": "app", "image": "busybox"}]
        }))
        .unwrap();
        super::super::register_task_definition(&ctx, def).unwrap();
        let input: RunTaskInput = serde_json::from_value(json!({
            "taskDefinition": "api", "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        }))
        .unwrap();
        let arn = super::super::run_task(&ctx, input).unwrap().tasks[0]
            .task_arn
            .clone();
        let poll = || {
            let polled = super::super::fargate_poll(
                &control,
                "a",
                5,
                None,
                std::time::Instant::now(),
                std::time::Duration::ZERO,
            )
            .unwrap();
            let crate::polls::Polled::Ready(poll) = polled else {
                panic!("the first poll answers at once");
            };
            poll.tasks_to_start
                .into_iter()
                .map(|w| w.task)
                .find(|t| t.task_arn == arn)
        };
        let starting = poll().unwrap();
        let first = starting.execution_role_credentials.unwrap();
        super::super::fargate_task_state_change(
            &control,
            SubmitTaskStateChangeInput {
                task: Some(arn.clone()),
                status: Some("RUNNING".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let running = poll().unwrap();
        assert_eq!(running.last_status, "RUNNING");
        let again = running.execution_role_credentials.unwrap();
        // The same session while it has more than 5 minutes left.
        assert_eq!(again.access_key_id, first.access_key_id);
        control
            .iam()
            .update_assume_role_policy(ACCOUNT, "exec", &trust("Deny"))
            .unwrap();
        let refused = poll().unwrap();
        assert!(refused.execution_role_credentials.is_none());
        let (t, _) = ecs(&ctx)
            .describe_tasks(None, std::slice::from_ref(&arn), ctx.now_secs())
            .unwrap();
        assert_eq!(
            (t[0].last_status.as_str(), t[0].desired_status.as_str()),
            ("RUNNING", "RUNNING")
        );
    }
}
