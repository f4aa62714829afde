//! `berth doctor --service`: why a service is not steady, in order: its cluster, the service,
//! its task definition (the task checks of [`crate::diagnose`]), the capacity it can be placed
//! on, its placement constraints against the instances (the pure evaluator placement uses),
//! its recent stopped tasks, and its deployment circuit breaker. Each failed check carries the
//! smallest fix, pasteable where it is a command.

use berth_core::RootKey;
use berth_ecs::ListTasksInput;
use berth_ecs::placement::{self, Candidate, Constraint, Rules};
use berth_ecs::service::Service;
use berth_store::Store;
use serde::Serialize;

use crate::{CheckKind, CheckResult, DoctorError, Options, Source, fail, ok};

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub service: String,
    /// The principal that would call RunTask; `None` is the account's root user.
    pub caller_arn: Option<String>,
    /// Unix seconds.
    pub now: u64,
}

/// The whole diagnosis of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub cluster: String,
    pub checks: Vec<CheckResult>,
}

impl ServiceReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// How many of the latest stopped tasks are read.
const RECENT_STOPPED: usize = 3;

use crate::sh;

/// Diagnoses `opts.service` in `opts.cluster`.
pub fn diagnose_service(
    store: &dyn Store,
    root_key: &RootKey,
    opts: &ServiceOptions,
) -> Result<ServiceReport, DoctorError> {
    let ecs = berth_ecs::Ecs::new(store, &opts.account, &opts.region);
    let cluster = opts.cluster.as_str();
    let name = opts.service.as_str();
    let mut report = ServiceReport {
        service: name.to_string(),
        cluster: cluster.to_string(),
        checks: Vec::new(),
    };
    let checks = &mut report.checks;

    // The cluster.
    let (clusters, _) = ecs.describe_clusters(&[cluster.to_string()], opts.now)?;
    match clusters.first() {
        Some(c) if c.status == "ACTIVE" => checks.push(ok(
            CheckKind::Cluster,
            None,
            format!(
                "{} is ACTIVE with {} registered container instances",
                c.cluster_arn, c.registered_container_instances_count
            ),
        )),
        found => {
            let why = match found {
                Some(c) => format!("cluster {cluster} is {}", c.status),
                None => format!(
                    "cluster {cluster} not found in account {} region {}",
                    opts.account, opts.region
                ),
            };
            checks.push(fail(
                CheckKind::Cluster,
                None,
                why,
                format!("aws ecs create-cluster --cluster-name {}", sh(cluster)),
            ));
            return Ok(report);
        }
    }

    // The service.
    let (services, _) = ecs.describe_services(Some(cluster), &[name.to_string()])?;
    let svc: Service = match services.into_iter().next() {
        Some(s) if s.status == "ACTIVE" => s,
        found => {
            let why = match &found {
                Some(s) => format!("service {name} is {} (deleted)", s.status),
                None => format!("service {name} not found in cluster {cluster}"),
            };
            let family = found
                .as_ref()
                .map(|s| family_of(&s.task_definition))
                .unwrap_or_else(|| "FAMILY".into());
            checks.push(fail(
                CheckKind::Service,
                None,
                why,
                format!(
                    "aws ecs create-service --cluster {} --service-name {} --task-definition {} --desired-count 1",
                    sh(cluster),
                    sh(name),
                    sh(&family)
                ),
            ));
            return Ok(report);
        }
    };
    let steady = svc.running_count == svc.desired_count
        && svc.pending_count == 0
        && svc.deployments.len() == 1;
    let mut said = format!(
        "{} is ACTIVE: desired {}, running {}, pending {}, {} deployment(s)",
        svc.service_arn,
        svc.desired_count,
        svc.running_count,
        svc.pending_count,
        svc.deployments.len()
    );
    if let Some(e) = svc.events.first() {
        said.push_str(&format!("; latest event: {}", e.message));
    }
    checks.push(ok(CheckKind::Service, None, said));

    // Its task definition, as `berth doctor --task-definition` checks it.
    let task_report = crate::diagnose(
        store,
        root_key,
        &Options {
            account: opts.account.clone(),
            region: opts.region.clone(),
            source: Source::Registered(svc.task_definition.clone()),
            caller_arn: opts.caller_arn.clone(),
            cluster: Some(cluster.to_string()),
            registry_check: false,
            ca_file: None,
            now: opts.now,
        },
    )?;
    let definition_found = !task_report
        .checks
        .iter()
        .any(|c| c.check == CheckKind::TaskDefinition && !c.ok);
    let fargate = svc.launch_type.as_deref() == Some("FARGATE");
    checks.extend(task_report.checks);

    // Capacity.
    let mut usable: Vec<Candidate> = Vec::new();
    if fargate {
        checks.push(ok(
            CheckKind::Capacity,
            None,
            "FARGATE tasks run on berth's own capacity",
        ));
    } else {
        let external = svc.launch_type.as_deref() == Some("EXTERNAL");
        let all: Vec<Candidate> = ecs
            .placement_candidates(cluster, opts.now)?
            .into_iter()
            .filter(|c| c.external == external)
            .collect();
        usable = all
            .iter()
            .filter(|c| c.active && c.connected)
            .cloned()
            .collect();
        let kind = if external { "EXTERNAL" } else { "EC2" };
        if all.is_empty() {
            checks.push(fail(
                CheckKind::Capacity,
                None,
                format!("no {kind} container instances are registered in cluster {cluster}"),
                format!(
                    "start an agent for the cluster: berth agent --cluster {}{}",
                    sh(cluster),
                    if external { " --external" } else { "" }
                ),
            ));
        } else if usable.is_empty() {
            checks.push(fail(
                CheckKind::Capacity,
                None,
                format!(
                    "{} {kind} container instance(s) registered in cluster {cluster}, none ACTIVE with its agent connected",
                    all.len()
                ),
                "start the agents again (berth agent), or make a DRAINING instance ACTIVE: aws ecs update-container-instances-state --status ACTIVE --cluster CLUSTER --container-instances ARN",
            ));
        } else {
            checks.push(ok(
                CheckKind::Capacity,
                None,
                format!(
                    "{} of {} {kind} container instance(s) ACTIVE with the agent connected",
                    usable.len(),
                    all.len()
                ),
            ));
        }
    }

    // Placement constraints (EC2 and EXTERNAL).
    if !fargate && !usable.is_empty() {
        checks.push(constraints_check(
            &ecs,
            &svc,
            cluster,
            &usable,
            definition_found,
        ));
    }

    // Recent stopped tasks.
    checks.push(stopped_check(&ecs, &svc, cluster, steady, opts.now)?);

    // The circuit breaker.
    checks.push(breaker_check(&svc, cluster));
    Ok(report)
}

fn family_of(task_definition: &str) -> String {
    let tail = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    tail.split(':').next().unwrap_or(tail).to_string()
}

fn constraints_check(
    ecs: &berth_ecs::Ecs<'_>,
    svc: &Service,
    cluster: &str,
    usable: &[Candidate],
    definition_found: bool,
) -> CheckResult {
    let kind = CheckKind::Constraints;
    let name = &svc.service_name;
    let from_definition = if definition_found {
        ecs.resolve_task_definition(&svc.task_definition)
            .map(|d| d.placement_constraints)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut sources: Vec<(&str, Constraint, String)> = Vec::new();
    for (whose, list, definition) in [
        ("the task definition's", &from_definition, true),
        ("the service's", &svc.placement_constraints, false),
    ] {
        for v in list {
            let shown = v
                .get("expression")
                .and_then(|e| e.as_str())
                .map(|e| format!("memberOf '{e}'"))
                .unwrap_or_else(|| "distinctInstance".into());
            match placement::parse_constraints(std::slice::from_ref(v), definition) {
                Ok(mut parsed) => {
                    if let Some(c) = parsed.pop() {
                        sources.push((whose, c, shown));
                    }
                }
                Err(e) => {
                    return crate::fail(
                        kind,
                        None,
                        format!("{whose} placement constraint does not parse: {e}"),
                        update_constraints_fix(cluster, name),
                    );
                }
            }
        }
    }
    if sources.is_empty() {
        return ok(kind, None, "no placement constraints");
    }
    // Each memberOf on its own: the first that no instance meets is the finding.
    for (whose, c, shown) in &sources {
        let Constraint::MemberOf(expr) = c else {
            continue;
        };
        let rules = Rules {
            constraints: vec![c.clone()],
            ..Rules::default()
        };
        if usable
            .iter()
            .all(|i| placement::unsatisfied(&rules, i).is_some())
        {
            let reason = format!(
                "no ACTIVE container instance with a connected agent meets {whose} {shown} ({}: {})",
                placement::MEMBER_OF_UNSATISFIED,
                usable.len()
            );
            let fix = match expr.wanted_attribute() {
                Some((attr, value)) => {
                    // An instance without the attribute first: one that has it with another
                    // value may be what other tasks are placed by.
                    let target = usable
                        .iter()
                        .find(|i| !i.attributes.iter().any(|a| a.name == attr))
                        .or_else(|| usable.first());
                    match target {
                        Some(t) => format!(
                            "aws ecs put-attributes --cluster {} --attributes name={},value={},targetId={}",
                            sh(cluster),
                            sh(&attr),
                            sh(&value),
                            t.arn
                        ),
                        None => update_constraints_fix(cluster, name),
                    }
                }
                None if *whose == "the service's" => update_constraints_fix(cluster, name),
                None => "register a task definition revision whose memberOf expression an instance meets, then: aws ecs update-service --cluster CLUSTER --service SERVICE --task-definition FAMILY".into(),
            };
            return crate::fail(kind, None, reason, fix);
        }
    }
    // Together, and distinctInstance against the desired count.
    let rules = Rules {
        constraints: sources
            .iter()
            .filter(|(_, c, _)| matches!(c, Constraint::MemberOf(_)))
            .map(|(_, c, _)| c.clone())
            .collect(),
        ..Rules::default()
    };
    let members: Vec<&Candidate> = usable
        .iter()
        .filter(|i| placement::unsatisfied(&rules, i).is_none())
        .collect();
    let shown: Vec<&str> = sources.iter().map(|(_, _, s)| s.as_str()).collect();
    if members.is_empty() {
        return crate::fail(
            kind,
            None,
            format!(
                "no ACTIVE container instance with a connected agent meets all of {}",
                shown.join(", ")
            ),
            update_constraints_fix(cluster, name),
        );
    }
    let distinct = sources
        .iter()
        .any(|(_, c, _)| matches!(c, Constraint::DistinctInstance));
    if distinct && !svc.daemon() && svc.desired_count > members.len() as i64 {
        return crate::fail(
            kind,
            None,
            format!(
                "distinctInstance places one task of the service per instance: desired {}, but {} instance(s) meet the constraints ({})",
                svc.desired_count,
                members.len(),
                placement::DISTINCT_INSTANCE_UNSATISFIED
            ),
            format!(
                "aws ecs update-service --cluster {} --service {} --desired-count {}",
                sh(cluster),
                sh(name),
                members.len()
            ),
        );
    }
    ok(
        kind,
        None,
        format!("{} instance(s) meet {}", members.len(), shown.join(", ")),
    )
}

fn update_constraints_fix(cluster: &str, service: &str) -> String {
    format!(
        "aws ecs update-service --cluster {} --service {} --placement-constraints '[]'",
        sh(cluster),
        sh(service)
    )
}

fn stopped_check(
    ecs: &berth_ecs::Ecs<'_>,
    svc: &Service,
    cluster: &str,
    steady: bool,
    now: u64,
) -> Result<CheckResult, DoctorError> {
    let kind = CheckKind::StoppedTasks;
    let (arns, _) = ecs.list_tasks(
        &ListTasksInput {
            cluster: Some(cluster.to_string()),
            service_name: Some(svc.service_name.clone()),
            desired_status: Some("STOPPED".into()),
            max_results: Some(100),
            ..ListTasksInput::default()
        },
        now,
    )?;
    if arns.is_empty() {
        return Ok(ok(kind, None, "no stopped tasks"));
    }
    let (mut tasks, _) = ecs.describe_tasks(Some(cluster), &arns, now)?;
    tasks.retain(|t| t.last_status == "STOPPED");
    tasks.sort_by_key(|t| std::cmp::Reverse(t.stopped_at.unwrap_or(t.created_at)));
    let failed: Vec<String> = tasks
        .iter()
        .filter(|t| {
            !matches!(
                t.stop_code.as_deref(),
                Some("ServiceSchedulerInitiated" | "UserInitiated")
            )
        })
        .take(RECENT_STOPPED)
        .map(|t| {
            let id = t.task_arn.rsplit('/').next().unwrap_or(&t.task_arn);
            let mut s = format!(
                "task {id}: {}",
                t.stopped_reason.as_deref().unwrap_or("(no stoppedReason)")
            );
            for c in &t.containers {
                if let Some(r) = &c.reason {
                    s.push_str(&format!("; container {}: {r}", c.name));
                }
            }
            s
        })
        .collect();
    if failed.is_empty() || steady {
        return Ok(ok(
            kind,
            None,
            format!(
                "{} stopped task(s), {} stopped by other than the scheduler or a user",
                tasks.len(),
                failed.len()
            ),
        ));
    }
    Ok(crate::fail(
        kind,
        None,
        format!("recent stopped tasks: {}", failed.join(" | ")),
        format!(
            "berth doctor --task-definition {} --cluster {}",
            sh(&svc.task_definition),
            sh(cluster)
        ),
    ))
}

fn breaker_check(svc: &Service, cluster: &str) -> CheckResult {
    let kind = CheckKind::CircuitBreaker;
    let breaker = svc.deployment_configuration.breaker();
    let Some(primary) = svc.deployments.first() else {
        return ok(kind, None, "no deployment yet");
    };
    if primary.rollout_state.as_deref() == Some("FAILED") {
        return crate::fail(
            kind,
            None,
            format!(
                "deployment {} FAILED: {}",
                primary.id,
                primary.rollout_state_reason.as_deref().unwrap_or("")
            ),
            format!(
                "fix what the checks above name, then: aws ecs update-service --cluster {} --service {} --force-new-deployment",
                sh(cluster),
                sh(&svc.service_name)
            ),
        );
    }
    let state = primary.rollout_state.as_deref().unwrap_or("IN_PROGRESS");
    if !breaker.enable {
        return ok(
            kind,
            None,
            format!("off; deployment {} {state}", primary.id),
        );
    }
    ok(
        kind,
        None,
        format!(
            "on (rollback {}); deployment {} {state}, {} failed task(s) of the threshold {}",
            if breaker.rollback { "on" } else { "off" },
            primary.id,
            primary.failed_tasks,
            berth_ecs::service::failure_threshold(svc.desired_count)
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use berth_ecs::service::CreateServiceInput;
    use berth_ecs::{Attribute, RegisterContainerInstanceInput, Resource};
    use berth_iam::Iam;
    use berth_store::SqliteStore;
    use serde_json::json;

    use super::*;

    const A: &str = "000000000000";
    const R: &str = "us-east-1";
    const NOW: u64 = 1_780_000_000;

    fn opts(cluster: &str, service: &str) -> ServiceOptions {
        ServiceOptions {
            account: A.into(),
            region: R.into(),
            cluster: cluster.into(),
            service: service.into(),
            caller_arn: None,
            now: NOW,
        }
    }

    fn get(r: &ServiceReport, kind: CheckKind) -> &CheckResult {
        r.checks.iter().find(|c| c.check == kind).unwrap()
    }

    #[test]
    fn names_the_unmet_constraint_and_the_attribute_that_meets_it() {
        let store = SqliteStore::in_memory().unwrap();
        let key = RootKey::generate();
        Iam::new(&store, &key).create_account(A, NOW).unwrap();
        let ecs = berth_ecs::Ecs::new(&store, A, R);
        let caller = berth_ecs::Caller {
            identity: "arn:aws:iam::000000000000:root",
            root: true,
        };

        let r = diagnose_service(&store, &key, &opts("shop", "web")).unwrap();
        assert!(!r.passed());
        let c = get(&r, CheckKind::Cluster);
        assert!(!c.ok && c.fix.as_deref() == Some("aws ecs create-cluster --cluster-name shop"));

        ecs.create_cluster(Some("shop"), Vec::new(), Vec::new(), None, NOW)
            .unwrap();
        let r = diagnose_service(&store, &key, &opts("shop", "web")).unwrap();
        let c = get(&r, CheckKind::Service);
        assert!(
            !c.ok && c.reason == "service web not found in cluster shop",
            "{c:?}"
        );

        let instance = ecs
            .register_container_instance(
                RegisterContainerInstanceInput {
                    cluster: Some("shop".into()),
                    total_resources: vec![
                        Resource::integer("CPU", 1024),
                        Resource::integer("MEMORY", 1024),
                    ],
                    ..Default::default()
                },
                &caller,
                NOW,
            )
            .unwrap();
        let td: berth_ecs::RegisterTaskDefinitionInput = serde_json::from_value(json!({
            "family": "web",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]
        }))
        .unwrap();
        ecs.register_task_definition(td, caller.identity, NOW)
            .unwrap();
        ecs.create_service(
            CreateServiceInput {
                cluster: Some("shop".into()),
                service_name: Some("web".into()),
                task_definition: Some("web".into()),
                desired_count: Some(1),
                placement_constraints: vec![
                    json!({"type": "memberOf", "expression": "attribute:stack == prod"}),
                ],
                ..Default::default()
            },
            caller.identity,
            NOW,
        )
        .unwrap();
        let r = diagnose_service(&store, &key, &opts("shop", "web")).unwrap();
        assert!(get(&r, CheckKind::Capacity).ok, "{r:#?}");
        let c = get(&r, CheckKind::Constraints);
        assert!(!c.ok, "{c:?}");
        assert!(
            c.reason
                .contains("the service's memberOf 'attribute:stack == prod'")
        );
        assert_eq!(
            c.fix.as_deref(),
            Some(
                format!(
                    "aws ecs put-attributes --cluster shop --attributes name=stack,value=prod,targetId={}",
                    instance.container_instance_arn
                )
                .as_str()
            )
        );

        // The fix: the instance is a member, the check passes.
        ecs.put_attributes(
            Some("shop"),
            &[Attribute {
                name: "stack".into(),
                value: Some("prod".into()),
                target_type: None,
                target_id: Some(instance.container_instance_arn.clone()),
            }],
        )
        .unwrap();
        let r = diagnose_service(&store, &key, &opts("shop", "web")).unwrap();
        let c = get(&r, CheckKind::Constraints);
        assert!(c.ok && c.reason.starts_with("1 instance(s) meet"), "{c:?}");
        assert!(get(&r, CheckKind::CircuitBreaker).ok);
        assert!(get(&r, CheckKind::StoppedTasks).ok);
    }
}
