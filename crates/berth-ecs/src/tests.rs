//! Domain tests over an in-memory SQLite store.

#![allow(clippy::unwrap_used)]

use berth_store::{SqliteStore, StoreExt};
use serde_json::json;

use crate::task::ContainerChange;
use crate::*;

const A: &str = "000000000000";
const R: &str = "us-east-1";
const CAP: &str = taskdef::PRIVATE_REGISTRY_CAPABILITY;
const ROOT: Caller<'static> = Caller {
    identity: "arn:aws:iam::000000000000:root",
    root: true,
};

fn store() -> SqliteStore {
    SqliteStore::in_memory().unwrap()
}

fn seed_def(secret: &str) -> RegisterTaskDefinitionInput {
    serde_json::from_value(json!({
        "family": "private-app",
        "executionRoleArn": "ecsTaskExecutionRole",
        "containerDefinitions": [{
            "name": "app", "image": "private-repo/private-image", "memory": 128,
            "repositoryCredentials": {"credentialsParameter": secret}
        }]
    }))
    .unwrap()
}

fn instance(ecs: &Ecs<'_>, attrs: &[&str], now: u64) -> ContainerInstance {
    let input: RegisterContainerInstanceInput = serde_json::from_value(json!({
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}
        ],
        "attributes": attrs.iter().map(|a| json!({"name": a})).collect::<Vec<_>>(),
    }))
    .unwrap();
    ecs.register_container_instance(input, &ROOT, now).unwrap()
}

fn run(ecs: &Ecs<'_>, def: &str, now: u64) -> (Vec<Task>, Vec<Failure>) {
    ecs.run_task(
        RunTaskInput {
            task_definition: def.into(),
            ..Default::default()
        },
        now,
    )
    .unwrap()
}

#[test]
fn a_bare_family_names_its_latest_active_revision_across_chunks() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    for _ in 0..40 {
        ecs.register_task_definition(seed_def("s"), "root", 10)
            .unwrap();
    }
    // Another family whose name extends this one's must not be taken for it.
    let mut longer = seed_def("s");
    longer.family = Some("private-app2".into());
    ecs.register_task_definition(longer, "root", 10).unwrap();
    assert_eq!(
        ecs.describe_task_definition("private-app")
            .unwrap()
            .0
            .revision,
        40
    );
    // The newest 20 deregistered: the answer is further back than one chunk.
    for rev in 21..=40 {
        ecs.deregister_task_definition(&format!("private-app:{rev}"), 11)
            .unwrap();
    }
    assert_eq!(
        ecs.describe_task_definition("private-app")
            .unwrap()
            .0
            .revision,
        20
    );
    for rev in 1..=20 {
        ecs.deregister_task_definition(&format!("private-app:{rev}"), 11)
            .unwrap();
    }
    assert!(ecs.describe_task_definition("private-app").is_err());
}

#[test]
fn revisions_never_reused_even_after_delete() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    for want in 1..=3 {
        let (d, _) = ecs
            .register_task_definition(seed_def("s"), "arn:aws:iam::000000000000:root", 10)
            .unwrap();
        assert_eq!(d.revision, want);
    }
    for rev in 1..=3 {
        ecs.deregister_task_definition(&format!("private-app:{rev}"), 11)
            .unwrap();
    }
    let refs: Vec<String> = (1..=3).map(|r| format!("private-app:{r}")).collect();
    let (deleted, failures) = ecs.delete_task_definitions(&refs, 12).unwrap();
    assert_eq!((deleted.len(), failures.len()), (3, 0));
    let (d, _) = ecs
        .register_task_definition(seed_def("s"), "root", 13)
        .unwrap();
    assert_eq!(d.revision, 4);
    assert_eq!(
        d.task_definition_arn,
        "arn:aws:ecs:us-east-1:000000000000:task-definition/private-app:4"
    );
}

#[test]
fn accounts_and_regions_do_not_see_each_other() {
    let s = store();
    let mine = Ecs::new(&s, A, R);
    let (d, _) = mine
        .register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    for other in [
        Ecs::new(&s, "111122223333", R),
        Ecs::new(&s, A, "eu-west-1"),
    ] {
        assert!(matches!(
            other.describe_task_definition(&d.task_definition_arn),
            Err(EcsError::Client(m)) if m == "Unable to describe task definition."
        ));
        assert!(other.describe_task_definition("private-app").is_err());
    }
}

#[test]
fn a_failed_registration_leaves_no_trace() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    let mut bad = seed_def("s");
    bad.execution_role_arn = None;
    assert!(matches!(
        ecs.register_task_definition(bad, "root", 1),
        Err(EcsError::Client(m)) if m == taskdef::PRIVATE_REGISTRY_NEEDS_ROLE
    ));
    let (d, _) = ecs
        .register_task_definition(seed_def("s"), "root", 2)
        .unwrap();
    assert_eq!(d.revision, 1);
}

#[test]
fn placement_payload_and_secret_region() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("plain-name"), "root", 1)
        .unwrap();
    let plain = instance(&ecs, &[], 1);
    let (tasks, failures) = run(&ecs, "private-app", 2);
    assert!(tasks.is_empty());
    assert_eq!(
        failures,
        vec![Failure::new(&plain.container_instance_arn, "ATTRIBUTE")]
    );
    let capable = instance(&ecs, &[CAP], 3);
    let (tasks, _) = run(&ecs, "private-app", 4);
    assert_eq!(
        tasks[0].container_instance_arn.as_deref(),
        Some(capable.container_instance_arn.as_str())
    );
    let poll = ecs
        .poll(None, &capable.container_instance_arn, &ROOT, 5)
        .unwrap();
    let auth = poll.tasks_to_start[0].containers[0]
        .registry_authentication
        .clone()
        .unwrap();
    assert_eq!(auth.kind, "asm");
    // A secret named without an ARN lives in the task's own region: it is fetched from there.
    assert_eq!(auth.asm_auth_data.region, R);
    assert_eq!(auth.asm_auth_data.credentials_parameter, "plain-name");
    assert!(poll.tasks_to_start[0].execution_role_credentials.is_none());
    assert!(
        ecs.poll(None, &plain.container_instance_arn, &ROOT, 5)
            .unwrap()
            .tasks_to_start
            .is_empty()
    );
}

#[test]
fn cursor_moves_on_placement_and_stop() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    let i = instance(&ecs, &[CAP], 1);
    let arn = i.container_instance_arn.as_str();
    let s0 = ecs.instance_seq(None, arn, &ROOT).unwrap();
    let (tasks, _) = run(&ecs, "private-app", 2);
    let s1 = ecs.instance_seq(None, arn, &ROOT).unwrap();
    assert!(s1 > s0);
    // A poll does not move the cursor.
    ecs.poll(None, arn, &ROOT, 3).unwrap();
    assert_eq!(ecs.instance_seq(None, arn, &ROOT).unwrap(), s1);
    ecs.stop_task(None, &tasks[0].task_arn, None, 4).unwrap();
    assert!(ecs.instance_seq(None, arn, &ROOT).unwrap() > s1);
}

#[test]
fn stopped_tasks_visible_for_an_hour_then_gone() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    instance(&ecs, &[CAP], 1);
    let (tasks, _) = run(&ecs, "private-app", 50);
    let arn = tasks[0].task_arn.clone();
    let stop = TaskStateChangeInput {
        task: Some(arn.clone()),
        status: Some("STOPPED".into()),
        ..Default::default()
    };
    ecs.submit_task_state_change(&stop, &ROOT, 200).unwrap();
    let (found, _) = ecs
        .describe_tasks(None, std::slice::from_ref(&arn), 200 + 3599)
        .unwrap();
    assert_eq!(found[0].last_status, "STOPPED");
    let (found, failures) = ecs
        .describe_tasks(None, std::slice::from_ref(&arn), 200 + 3600)
        .unwrap();
    assert!(found.is_empty());
    assert_eq!(failures[0].reason.as_deref(), Some("MISSING"));
    // A later write purges it from the store.
    run(&ecs, "private-app", 200 + 3600);
    let left: Vec<(String, Vec<u8>)> = s.read(|tx| tx.scan("ecs_tasks", "")).unwrap();
    assert!(
        !left
            .iter()
            .any(|(k, _)| arn.ends_with(k.rsplit('/').next().unwrap()))
    );
}

#[test]
fn lifecycle_through_agent_reports() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    let i = instance(&ecs, &[CAP], 1);
    let (tasks, _) = run(&ecs, "private-app", 2);
    let arn = tasks[0].task_arn.clone();
    let report = |status: &str, now| {
        ecs.submit_task_state_change(
            &TaskStateChangeInput {
                task: Some(arn.clone()),
                status: Some(status.into()),
                container_instance: Some(i.container_instance_arn.clone()),
                ..Default::default()
            },
            &ROOT,
            now,
        )
        .unwrap()
    };
    let cases = [
        ("ACTIVATING", "ACTIVATING"),
        ("RUNNING", "RUNNING"),
        ("PENDING", "RUNNING"),
        ("DEACTIVATING", "DEACTIVATING"),
        ("STOPPING", "STOPPING"),
        ("DEPROVISIONING", "DEPROVISIONING"),
        ("STOPPED", "STOPPED"),
        ("RUNNING", "STOPPED"),
    ];
    for (n, (reported, want)) in cases.into_iter().enumerate() {
        let t = report(reported, 10 + n as u64);
        assert_eq!(t.last_status, want, "after {reported}");
    }
    let t = report("STOPPED", 30);
    assert_eq!(t.started_at, Some(11));
    assert_eq!(t.stopping_at, Some(13));
    assert_eq!(t.stopped_at, Some(16));
    assert_eq!(t.stop_code.as_deref(), Some("EssentialContainerExited"));
}

#[test]
fn default_cluster_only_made_for_default() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    assert!(matches!(
        ecs.run_task(
            RunTaskInput {
                cluster: Some("prod".into()),
                task_definition: "private-app".into(),
                ..Default::default()
            },
            2
        ),
        Err(EcsError::ClusterNotFound)
    ));
    // RunTask on `default` makes the cluster, then finds it empty; the failure rolls back.
    assert!(matches!(
        ecs.run_task(
            RunTaskInput {
                task_definition: "private-app".into(),
                ..Default::default()
            },
            2
        ),
        Err(EcsError::InvalidParameter(m)) if m == task::NO_INSTANCES
    ));
}

#[test]
fn agents_are_bound_to_their_instances() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    let agent = |identity| Caller {
        identity,
        root: false,
    };
    let a = agent("arn:aws:iam::000000000000:role/agent-a");
    let b = agent("arn:aws:iam::000000000000:role/agent-b");
    let register = |caller: &Caller<'_>, memory: i64| {
        let input: RegisterContainerInstanceInput = serde_json::from_value(json!({
            "totalResources": [{"name": "MEMORY", "type": "INTEGER", "integerValue": memory}],
            "attributes": [{"name": CAP}],
        }))
        .unwrap();
        ecs.register_container_instance(input, caller, 1).unwrap()
    };
    let ia = register(&a, 1024);
    let ib = register(&b, 64);
    let (tasks, _) = run(&ecs, "private-app", 2);
    let change = TaskStateChangeInput {
        task: Some(tasks[0].task_arn.clone()),
        status: Some("RUNNING".into()),
        ..Default::default()
    };
    let cases: [(&Caller<'_>, Option<&str>, bool); 5] = [
        (&b, None, false),
        (&b, Some(&ib.container_instance_arn), false),
        (&a, Some(&ib.container_instance_arn), false),
        (&a, Some(&ia.container_instance_arn), true),
        (&ROOT, None, true),
    ];
    for (caller, instance, ok) in cases {
        let c = TaskStateChangeInput {
            container_instance: instance.map(String::from),
            ..change.clone()
        };
        let r = ecs.submit_task_state_change(&c, caller, 3);
        assert_eq!(r.is_ok(), ok, "{} {instance:?}", caller.identity);
        if !ok {
            assert!(matches!(r, Err(EcsError::NotPlacedHere(_))));
        }
    }
    assert!(matches!(
        ecs.poll(None, &ia.container_instance_arn, &b, 4),
        Err(EcsError::NotPlacedHere(_))
    ));
    assert_eq!(
        ecs.poll(None, &ia.container_instance_arn, &a, 4)
            .unwrap()
            .tasks_to_start
            .len(),
        1
    );
}

fn fargate_def(ecs: &Ecs<'_>) {
    let input: RegisterTaskDefinitionInput = serde_json::from_value(json!({
        "family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512", "executionRoleArn": "exec",
        "containerDefinitions": [{"name": "app", "image": "127.0.0.1:5000/app:1", "essential": true,
            "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:000000000000:secret:s"}}]
    }))
    .unwrap();
    ecs.register_task_definition(input, "arn:aws:iam::000000000000:root", 1)
        .unwrap();
}

fn run_fargate(ecs: &Ecs<'_>, net: Option<serde_json::Value>) -> Result<Task, EcsError> {
    let (tasks, _) = ecs.run_task(
        RunTaskInput {
            task_definition: "fg".into(),
            launch_type: Some("FARGATE".into()),
            platform_version: Some("1.3.0".into()),
            network_configuration: net,
            ..Default::default()
        },
        10,
    )?;
    Ok(tasks.into_iter().next().unwrap())
}

#[test]
fn fargate_needs_awsvpc_configuration_with_subnets_and_records_them() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    fargate_def(&ecs);
    let required = task::NETWORK_CONFIGURATION_REQUIRED;
    for net in [
        None,
        Some(json!({})),
        Some(json!({"awsvpcConfiguration": null})),
    ] {
        let e = run_fargate(&ecs, net).unwrap_err();
        assert_eq!(e.to_string(), required);
    }
    for net in [
        json!({"awsvpcConfiguration": {}}),
        json!({"awsvpcConfiguration": {"subnets": []}}),
    ] {
        let e = run_fargate(&ecs, Some(net)).unwrap_err();
        assert_eq!(e.to_string(), "subnets can not be empty.");
    }
    let t = run_fargate(
        &ecs,
        Some(json!({"awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"]}})),
    )
    .unwrap();
    assert_eq!(t.platform_version.as_deref(), Some("1.3.0"));
    assert_eq!(t.last_status, "PROVISIONING");
    assert_eq!(t.attachments[0]["type"], "ElasticNetworkInterface");
    assert_eq!(
        t.attachments[0]["details"][0],
        json!({"name": "subnetId", "value": "subnet-1"})
    );
}

#[test]
fn the_fargate_runner_takes_reports_and_stops_tasks() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    fargate_def(&ecs);
    let net = Some(json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}}));
    let t = run_fargate(&ecs, net.clone()).unwrap();
    // Another region's Fargate task is found too, with its scope.
    let other = Ecs::new(&s, A, "eu-west-1");
    fargate_def(&other);
    let t2 = run_fargate(&other, net.clone()).unwrap();

    let work = fargate::fargate_work(&s, "local", 30, 20).unwrap();
    assert_eq!(work.tasks_to_start.len(), 2);
    let mine = work
        .tasks_to_start
        .iter()
        .find(|w| w.task.task_arn == t.task_arn)
        .unwrap();
    assert_eq!((mine.account.as_str(), mine.region.as_str()), (A, R));
    assert!(mine.task.containers[0].registry_authentication.is_some());
    // Taken: PENDING.
    let (d, _) = ecs
        .describe_tasks(None, std::slice::from_ref(&t.task_arn), 20)
        .unwrap();
    assert_eq!(d[0].last_status, "PENDING");

    // Agents cannot report on Fargate tasks; the runner can, and no agent one.
    let change: TaskStateChangeInput = serde_json::from_value(json!({
        "task": t.task_arn, "status": "RUNNING",
        "containers": [{"containerName": "app", "status": "RUNNING",
                        "networkInterfaces": [{"privateIpv4Address": "172.30.0.2"}]}]
    }))
    .unwrap();
    assert!(ecs.submit_task_state_change(&change, &ROOT, 21).is_err());
    let running = ecs.submit_fargate_task_state_change(&change, 21).unwrap();
    assert_eq!(running.last_status, "RUNNING");
    assert_eq!(
        running.containers[0].network_interfaces,
        vec![
            json!({"privateIpv4Address": "172.30.0.2", "attachmentId": running.attachments[0]["id"]})
        ]
    );
    assert!(
        running.attachments[0]["details"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "privateIPv4Address", "value": "172.30.0.2"}))
    );
    assert_eq!(running.attachments[0]["status"], "ATTACHED");

    // StopTask on a taken task waits for the runner.
    let stopping = ecs.stop_task(None, &t.task_arn, None, 22).unwrap();
    assert_eq!(stopping.desired_status, "STOPPED");
    assert_eq!(stopping.last_status, "RUNNING");
    let work = fargate::fargate_work(&s, "local", 30, 23).unwrap();
    assert_eq!(work.tasks_to_stop.len(), 1);
    assert_eq!(work.tasks_to_stop[0].task_arn, t.task_arn);
    assert_eq!(work.tasks_to_start.len(), 1);
    let exit: ContainerStateChangeInput = serde_json::from_value(
        json!({"task": t.task_arn, "containerName": "app", "status": "STOPPED", "exitCode": 137}),
    )
    .unwrap();
    ecs.submit_fargate_container_state_change(&exit, 24)
        .unwrap();
    let stopped: TaskStateChangeInput =
        serde_json::from_value(json!({"task": t.task_arn, "status": "STOPPED"})).unwrap();
    let done = ecs.submit_fargate_task_state_change(&stopped, 25).unwrap();
    assert_eq!(done.last_status, "STOPPED");
    assert_eq!(done.stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(done.attachments[0]["status"], "DELETED");
    assert!(
        fargate::fargate_work(&s, "local", 30, 26)
            .unwrap()
            .tasks_to_stop
            .is_empty()
    );

    // A task the runner never took stops at once.
    let t3 = run_fargate(&ecs, net).unwrap();
    let gone = ecs.stop_task(None, &t3.task_arn, None, 27).unwrap();
    assert_eq!(gone.last_status, "STOPPED");
    // The other region's task failed to start, with the runner's reason.
    let failed: TaskStateChangeInput = serde_json::from_value(
        json!({"task": t2.task_arn, "status": "STOPPED", "reason": "ResourceInitializationError: x"}),
    )
    .unwrap();
    let f = other.submit_fargate_task_state_change(&failed, 28).unwrap();
    assert_eq!(f.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert_eq!(
        f.stopped_reason.as_deref(),
        Some("ResourceInitializationError: x")
    );
}

#[test]
fn an_instance_whose_agent_stopped_polling_takes_no_tasks() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    let i = instance(&ecs, &[CAP], 1);
    let arn = i.container_instance_arn.as_str();
    ecs.poll(None, arn, &ROOT, 10).unwrap();
    // 90 s after its last poll the agent still counts as connected; one second later not.
    let (tasks, failures) = run(&ecs, "private-app", 100);
    assert_eq!((tasks.len(), failures.len()), (1, 0));
    let (tasks, failures) = run(&ecs, "private-app", 101);
    assert!(tasks.is_empty());
    assert_eq!(failures[0].reason.as_deref(), Some("AGENT"));
    assert_eq!(failures[0].arn.as_deref(), Some(arn));
    // A poll reconnects it.
    ecs.poll(None, arn, &ROOT, 102).unwrap();
    let (tasks, _) = run(&ecs, "private-app", 103);
    assert_eq!(tasks.len(), 1);
}

#[test]
fn a_failed_start_reported_in_one_call_keeps_the_task_wording_and_the_container_reason() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(seed_def("s"), "root", 1)
        .unwrap();
    let i = instance(&ecs, &[CAP], 1);
    let task_reason = "CannotPullContainerError: pull access denied";
    let container_reason = "CannotPullContainerError: the container's own words";
    // A new task stopped by one report carrying `containers`.
    let stop = |containers: Vec<ContainerChange>| {
        let (tasks, _) = run(&ecs, "private-app", 2);
        let change = TaskStateChangeInput {
            task: Some(tasks[0].task_arn.clone()),
            status: Some("STOPPED".into()),
            reason: Some(task_reason.into()),
            containers,
            execution_stopped_at: Some(7),
            container_instance: Some(i.container_instance_arn.clone()),
            ..Default::default()
        };
        ecs.submit_task_state_change(&change, &ROOT, 9).unwrap()
    };
    // The agent's report: the task's stop and its failed container together.
    let one = stop(vec![ContainerChange {
        container_name: Some("app".into()),
        status: Some("STOPPED".into()),
        reason: Some(container_reason.into()),
        ..Default::default()
    }]);
    assert_eq!(one.last_status, "STOPPED");
    assert_eq!(one.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert_eq!(one.execution_stopped_at, Some(7));
    assert_eq!(one.containers[0].last_status, "STOPPED");
    assert_eq!(one.containers[0].reason.as_deref(), Some(container_reason));
    // The task has the words it has when its stop is reported alone.
    let alone = stop(Vec::new());
    assert!(
        alone
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("pull access denied")
    );
    assert_eq!(one.stopped_reason, alone.stopped_reason);
    assert_eq!(one.stop_code, alone.stop_code);
}

fn small_def(family: &str) -> RegisterTaskDefinitionInput {
    serde_json::from_value(json!({
        "family": family,
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 6}]
    }))
    .unwrap()
}

fn message(e: EcsError) -> String {
    match e {
        EcsError::InvalidParameter(m) | EcsError::Client(m) => m,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn run_task_count_overrides_and_describe_lists_are_bounded() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(small_def("small"), "root", 1)
        .unwrap();
    instance(&ecs, &[], 1);
    let run_with = |count: Option<i64>, overrides: Option<serde_json::Value>| {
        ecs.run_task(
            RunTaskInput {
                task_definition: "small".into(),
                count,
                overrides,
                ..Default::default()
            },
            2,
        )
    };
    let cases = [
        (Some(11), None, "Task count can not be greater than 10"),
        (Some(0), None, "Task count must be at least 1"),
        (
            None,
            Some(json!({"containerOverrides": [{"name": "app", "memory": -100000}]})),
            "Invalid 'memory' setting for container 'app'.",
        ),
        (
            None,
            Some(json!({"containerOverrides": [{"name": "app", "cpu": -4096}]})),
            "Invalid 'cpu' setting for container 'app'.",
        ),
        (
            None,
            Some(json!({"containerOverrides": [{"name": "app", "memory": "64"}]})),
            "Invalid 'memory' setting for container 'app'.",
        ),
        (
            None,
            Some(json!({"memory": "-64"})),
            "Invalid 'memory' setting for task.",
        ),
        (
            None,
            Some(json!({"containerOverrides": [{"name": "app", "command": ["x".repeat(9000)]}]})),
            "Container Overrides length must be at most 8192.",
        ),
    ];
    for (count, overrides, want) in cases {
        assert_eq!(message(run_with(count, overrides).unwrap_err()), want);
    }
    let (tasks, _) = run_with(Some(10), None).unwrap();
    assert_eq!(tasks.len(), 10);

    let many: Vec<String> = (0..101).map(|n| format!("t{n}")).collect();
    assert_eq!(
        message(ecs.describe_tasks(None, &many, 3).unwrap_err()),
        "taskIds can have at most 100 items."
    );
    assert_eq!(
        ecs.describe_tasks(None, &many[..100], 3).unwrap().1.len(),
        100
    );
    assert_eq!(
        message(ecs.describe_clusters(&many, 3).unwrap_err()),
        "clusters can have at most 100 items."
    );
    assert_eq!(
        message(
            ecs.describe_container_instances(None, &many, 3)
                .unwrap_err()
        ),
        "containerInstances can have at most 100 items."
    );
    assert_eq!(
        message(ecs.delete_task_definitions(&many[..11], 3).unwrap_err()),
        "taskDefinitions can have at most 10 items."
    );
}

/// A task recorded with a negative reservation (from before the limits) makes no room on its
/// instance, and sizes saturate.
#[test]
fn a_negative_reservation_makes_no_room() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(small_def("small"), "root", 1)
        .unwrap();
    let mut big = small_def("big");
    big.container_definitions[0].memory = Some(2048);
    ecs.register_task_definition(big, "root", 1).unwrap();
    let i = instance(&ecs, &[], 1);
    let (tasks, _) = run(&ecs, "small", 2);
    let id = tasks[0].task_arn.rsplit('/').next().unwrap().to_string();
    let key = format!("{A}/{R}/default/{id}");
    s.write(|tx| {
        let mut t: crate::records::StoredTask =
            berth_store::get_json(tx, crate::records::T_TASKS, &key)?.unwrap();
        t.reserved_memory = -1_000_000;
        t.reserved_cpu = i64::MIN;
        berth_store::put_json(tx, crate::records::T_TASKS, &key, &t)
    })
    .unwrap();
    let (_, failures) = run(&ecs, "big", 3);
    assert_eq!(failures[0].reason.as_deref(), Some("RESOURCE:MEMORY"));
    let (view, _) = ecs
        .describe_container_instances(None, std::slice::from_ref(&i.container_instance_arn), 3)
        .unwrap();
    let remaining = |name: &str| {
        view[0]
            .remaining_resources
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .and_then(Resource::number)
            .unwrap()
    };
    assert_eq!(remaining("MEMORY"), 1024);
    assert_eq!(remaining("CPU"), 1024);

    let def: TaskDefinition = serde_json::from_value(json!({
        "taskDefinitionArn": "x", "family": "f", "revision": 1, "status": "ACTIVE",
        "registeredAt": 1,
        "containerDefinitions": [
            {"name": "a", "memory": -5000, "cpu": i64::MAX},
            {"name": "b", "memory": 64, "cpu": i64::MAX}
        ]
    }))
    .unwrap();
    assert_eq!(crate::task::task_size(&def, &json!({})), (i64::MAX, 64));
}

#[test]
fn an_agent_poll_answers_a_page_at_a_time() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    ecs.register_task_definition(small_def("small"), "root", 1)
        .unwrap();
    let i = instance(&ecs, &[], 1);
    let arn = i.container_instance_arn.as_str();
    let mut all = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let (tasks, _) = ecs
            .run_task(
                RunTaskInput {
                    task_definition: "small".into(),
                    count: Some(10),
                    ..Default::default()
                },
                2,
            )
            .unwrap();
        all.extend(tasks.into_iter().map(|t| t.task_arn));
    }
    assert_eq!(all.len(), 30);
    let mut seen = std::collections::BTreeSet::new();
    for page in 0..3 {
        let p = ecs.poll(None, arn, &ROOT, 3).unwrap();
        assert_eq!(p.tasks_to_start.len(), crate::task::POLL_PAGE);
        seen.extend(p.tasks_to_start.into_iter().map(|t| t.task_arn));
        let stored = ecs.instance_seq(None, arn, &ROOT).unwrap();
        // More to come: the agent's next poll (with this seq) answers at once.
        assert_eq!(stored != p.seq, page < 2, "page {page}");
    }
    assert_eq!(seen, all);
    // The cycle starts again.
    let p = ecs.poll(None, arn, &ROOT, 4).unwrap();
    assert_eq!(p.tasks_to_start.len(), crate::task::POLL_PAGE);
}

#[test]
fn the_fargate_runner_gets_a_page_and_untaken_tasks_first() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    let def: RegisterTaskDefinitionInput = serde_json::from_value(json!({
        "family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox"}]
    }))
    .unwrap();
    ecs.register_task_definition(def, "root", 1).unwrap();
    let mut all = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let (tasks, _) = ecs
            .run_task(
                RunTaskInput {
                    task_definition: "fg".into(),
                    count: Some(8),
                    launch_type: Some("FARGATE".into()),
                    network_configuration: Some(
                        json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}}),
                    ),
                    ..Default::default()
                },
                2,
            )
            .unwrap();
        all.extend(tasks.into_iter().map(|t| t.task_arn));
    }
    let first = fargate::fargate_work(&s, "local", 30, 3).unwrap();
    assert_eq!(first.tasks_to_start.len(), fargate::FARGATE_START_PAGE);
    let second = fargate::fargate_work(&s, "local", 30, 3).unwrap();
    assert_eq!(second.tasks_to_start.len(), fargate::FARGATE_START_PAGE);
    let seen: std::collections::BTreeSet<String> = first
        .tasks_to_start
        .iter()
        .chain(&second.tasks_to_start)
        .map(|w| w.task.task_arn.clone())
        .collect();
    assert_eq!(seen, all);
}

#[test]
fn secrets_place_on_capable_instances_and_reach_the_agent_resolved() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    let asm = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-AbCdEf";
    let input: RegisterTaskDefinitionInput = serde_json::from_value(json!({
        "family": "app", "executionRoleArn": "exec",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
            "secrets": [{"name": "DB", "valueFrom": format!("{asm}:password::")},
                        {"name": "P", "valueFrom": "/app/p"}]}]
    }))
    .unwrap();
    ecs.register_task_definition(input, "root", 1).unwrap();
    let plain = instance(&ecs, &[], 1);
    let (tasks, failures) = run(&ecs, "app", 2);
    assert!(tasks.is_empty());
    assert_eq!(
        failures,
        vec![Failure::new(&plain.container_instance_arn, "ATTRIBUTE")]
    );
    let capable = instance(&ecs, &secrets::AGENT_CAPABILITIES, 3);
    let (tasks, _) = run(&ecs, "app", 4);
    assert_eq!(
        tasks[0].container_instance_arn.as_deref(),
        Some(capable.container_instance_arn.as_str())
    );
    let poll = ecs
        .poll(None, &capable.container_instance_arn, &ROOT, 5)
        .unwrap();
    let got: Vec<(String, String, String)> = poll.tasks_to_start[0].containers[0]
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.region.clone(), s.provider.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("DB".into(), "eu-west-1".into(), "asm".into()),
            ("P".into(), R.into(), "ssm".into()),
        ]
    );

    // FARGATE: a JSON key needs platform version 1.4.0.
    let input: RegisterTaskDefinitionInput = serde_json::from_value(json!({
        "family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512", "executionRoleArn": "exec",
        "containerDefinitions": [{"name": "app", "image": "busybox",
            "secrets": [{"name": "DB", "valueFrom": format!("{asm}:password::")}]}]
    }))
    .unwrap();
    ecs.register_task_definition(input, "root", 6).unwrap();
    let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}});
    let fargate = |version: &str| {
        ecs.run_task(
            RunTaskInput {
                task_definition: "fg".into(),
                launch_type: Some("FARGATE".into()),
                platform_version: Some(version.into()),
                network_configuration: Some(net.clone()),
                ..Default::default()
            },
            7,
        )
    };
    assert!(matches!(
        fargate("1.3.0"),
        Err(EcsError::PlatformIncompatible)
    ));
    assert!(fargate("1.4.0").is_ok());
    assert!(fargate("LATEST").is_ok());
}

#[test]
fn a_deployment_pins_images_by_digest() {
    use crate::service::is_deployment_id;
    use crate::task::pinned_reference;
    let d = "sha256:0123";
    assert_eq!(pinned_reference("busybox", d), "busybox@sha256:0123");
    assert_eq!(pinned_reference("busybox:1.36", d), "busybox@sha256:0123");
    assert_eq!(
        pinned_reference("127.0.0.1:5000/app:1", d),
        "127.0.0.1:5000/app@sha256:0123"
    );
    assert_eq!(
        pinned_reference("127.0.0.1:5000/app", d),
        "127.0.0.1:5000/app@sha256:0123"
    );
    assert_eq!(pinned_reference("app@sha256:ffff", d), "app@sha256:0123");
    assert!(is_deployment_id("ecs-svc/1234567890123456789"));
    assert!(!is_deployment_id("ecs-svc/123"));
    assert!(!is_deployment_id("my-batch"));
}

#[test]
fn a_fargate_task_runs_under_one_replicas_lease_and_is_lost_with_it() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    fargate_def(&ecs);
    let net = Some(json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}}));
    let t = run_fargate(&ecs, net.clone()).unwrap();

    // Replica "a" takes it (lease until 20 + 10); "b" is never handed it while it lasts.
    let work = fargate::fargate_work(&s, "a", 10, 20).unwrap();
    assert_eq!(work.tasks_to_start.len(), 1);
    assert!(
        fargate::fargate_work(&s, "b", 10, 21)
            .unwrap()
            .tasks_to_start
            .is_empty()
    );
    // Stopping it is "a"'s job too.
    ecs.stop_task(None, &t.task_arn, None, 22).unwrap();
    assert_eq!(
        fargate::fargate_work(&s, "a", 10, 22)
            .unwrap()
            .tasks_to_stop
            .len(),
        1
    );
    assert!(
        fargate::fargate_work(&s, "b", 10, 22)
            .unwrap()
            .tasks_to_stop
            .is_empty()
    );

    let t2 = run_fargate(&ecs, net).unwrap();
    assert_eq!(
        fargate::fargate_work(&s, "a", 10, 23)
            .unwrap()
            .tasks_to_start
            .len(),
        1
    );
    // Renewed only once half the lease is gone; "b" finds nothing lapsed meanwhile.
    assert_eq!(
        fargate::fargate_leases(&s, "a", 10, 24).unwrap(),
        fargate::LeasePass::default()
    );
    let renewed = fargate::fargate_leases(&s, "a", 10, 29).unwrap();
    assert_eq!(renewed.renewed, 2);
    assert!(
        fargate::fargate_leases(&s, "b", 10, 38)
            .unwrap()
            .lost
            .is_empty()
    );
    assert!(
        fargate::fargate_work(&s, "b", 10, 38)
            .unwrap()
            .tasks_to_start
            .is_empty()
    );

    // "a" stops renewing: at the lease's end "b" stops both as on a lost host. The task told
    // to stop keeps its reason; the running one gets the lost host's.
    let pass = fargate::fargate_leases(&s, "b", 10, 39).unwrap();
    assert_eq!(pass.lost.len(), 2);
    let (d, _) = ecs
        .describe_tasks(None, &[t.task_arn.clone(), t2.task_arn.clone()], 39)
        .unwrap();
    for task in &d {
        assert_eq!(task.last_status, "STOPPED");
        assert_eq!(task.desired_status, "STOPPED");
        assert_eq!(task.stopped_at, Some(39));
    }
    let by_arn = |arn: &str| d.iter().find(|x| x.task_arn == arn).unwrap();
    assert_eq!(
        by_arn(&t.task_arn).stop_code.as_deref(),
        Some("UserInitiated")
    );
    let lost = by_arn(&t2.task_arn);
    assert_eq!(
        lost.stop_code.as_deref(),
        Some(fargate::HOST_LOST_STOP_CODE)
    );
    assert_eq!(
        lost.stopped_reason.as_deref(),
        Some(fargate::host_lost_reason("a").as_str())
    );
    assert!(lost.containers.iter().all(|c| c.last_status == "STOPPED"));
    // Nothing is left for "b"; "a", should it come back, is told to stop what it still runs.
    let w = fargate::fargate_work(&s, "b", 10, 40).unwrap();
    assert!(w.tasks_to_start.is_empty() && w.tasks_to_stop.is_empty());
    let w = fargate::fargate_work(&s, "a", 10, 40).unwrap();
    assert!(w.tasks_to_start.is_empty());
    let mut told: Vec<&str> = w
        .tasks_to_stop
        .iter()
        .map(|x| x.task_arn.as_str())
        .collect();
    told.sort_unstable();
    let mut both = [t.task_arn.as_str(), t2.task_arn.as_str()];
    both.sort_unstable();
    assert_eq!(told, both);
    assert_eq!(
        fargate::fargate_leases(&s, "b", 10, 40).unwrap(),
        fargate::LeasePass::default()
    );
}

#[test]
fn a_taken_fargate_task_without_a_lease_is_adopted_by_the_first_runner() {
    let s = store();
    let ecs = Ecs::new(&s, A, R);
    fargate_def(&ecs);
    let net = Some(json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}}));
    let t = run_fargate(&ecs, net).unwrap();
    fargate::fargate_work(&s, "a", 10, 20).unwrap();
    // As stored before leases existed: taken, no claim.
    s.write(|tx| {
        let all: Vec<(String, crate::records::StoredTask)> =
            berth_store::scan_json(tx, crate::records::T_TASKS, "")?;
        for (key, mut st) in all {
            st.claim = None;
            berth_store::put_json(tx, crate::records::T_TASKS, &key, &st)?;
        }
        Ok::<_, EcsError>(())
    })
    .unwrap();
    let w = fargate::fargate_work(&s, "b", 10, 21).unwrap();
    assert_eq!(w.tasks_to_start[0].task.task_arn, t.task_arn);
    assert!(
        fargate::fargate_work(&s, "a", 10, 21)
            .unwrap()
            .tasks_to_start
            .is_empty()
    );
    // Adopted, not lost: a pass of "a" leaves it to "b".
    assert!(
        fargate::fargate_leases(&s, "a", 10, 22)
            .unwrap()
            .lost
            .is_empty()
    );
}
