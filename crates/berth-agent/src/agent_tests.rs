#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use crate::runtime::VolumeSpec;

use zeroize::Zeroizing;

use super::*;

/// A runtime in memory. A container whose command is `["exit", "N"]` exits with N as soon as
/// it starts; others run until stopped (exit 143).
#[derive(Default)]
struct FakeRuntime {
    s: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    next: u32,
    containers: HashMap<String, (ContainerSpec, ContainerState)>,
    pulls: Vec<(String, Option<(String, String)>)>,
    pull_error: Option<String>,
    stops: Vec<(String, Duration)>,
    removed: Vec<String>,
    networks: Vec<String>,
    removed_networks: Vec<String>,
    /// The daemon restarts (no live-restore) while a wait is open: its running containers
    /// are killed (137), the wait breaks, and the next `outage` calls find no daemon.
    restart_during_wait: bool,
    outage: u32,
    unreachable_calls: u32,
    /// What `ensure_pause_image` answers (`None`: no pause image on this host).
    pause_image: Option<String>,
    /// How many times `ensure_pause_image` was asked.
    pause_asked: u32,
    /// A container whose name contains this cannot be started.
    fail_start: Option<String>,
    /// Every container spec created, in order.
    specs: Vec<ContainerSpec>,
    /// Creations, starts, removals and network calls in order: `create NAME`, `start ID`,
    /// `remove ID`, `network NAME`, `remove network NAME`.
    events: Vec<String>,
    /// Docker volumes that exist.
    volumes: Vec<VolumeSpec>,
    /// What every container writes (`docker logs`).
    output: Vec<crate::runtime::LogLine>,
    /// A live `docker logs --follow` for the next follow (instead of `output`).
    follow: Option<tokio::sync::mpsc::Receiver<Result<crate::runtime::LogLine, RuntimeError>>>,
}

impl FakeRuntime {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.s.lock().unwrap()
    }

    /// `Unavailable` while the fake daemon is away.
    fn away(&self) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        if s.outage > 0 {
            s.outage -= 1;
            s.unreachable_calls += 1;
            return Err(RuntimeError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

impl ContainerRuntime for FakeRuntime {
    fn follow_logs(
        &self,
        _id: &str,
        since_secs: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<crate::runtime::LogLine, RuntimeError>> {
        if let Some(live) = self.lock().follow.take() {
            return live;
        }
        let lines: Vec<_> = self
            .lock()
            .output
            .iter()
            .filter(|l| l.nanos >= i128::from(since_secs) * 1_000_000_000)
            .cloned()
            .collect();
        let (tx, rx) = tokio::sync::mpsc::channel(lines.len().max(1));
        for l in lines {
            let _ = tx.try_send(Ok(l));
        }
        rx
    }

    async fn pull(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.pulls.push((
            image.to_string(),
            auth.map(|a| (a.username.to_string(), a.password.to_string())),
        ));
        match &s.pull_error {
            Some(m) => Err(RuntimeError::Pull(m.clone())),
            None => Ok(()),
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        let mut s = self.lock();
        s.next += 1;
        let id = format!("c{}", s.next);
        s.events.push(format!("create {}", spec.name));
        s.specs.push(spec.clone());
        let state = ContainerState {
            health: None,
            id: id.clone(),
            running: false,
            exit_code: None,
            started: false,
            labels: spec.labels.clone(),
            network_bindings: spec
                .port_mappings
                .iter()
                .map(|p| crate::runtime::NetworkBinding {
                    bind_ip: "0.0.0.0".into(),
                    container_port: p.container_port,
                    host_port: if p.host_port == 0 { 49153 } else { p.host_port },
                    protocol: p.protocol.clone(),
                })
                .collect(),
            ip_addresses: spec
                .network
                .iter()
                .map(|n| (n.clone(), format!("172.30.0.{}", s.next + 1)))
                .collect(),
        };
        s.containers.insert(id.clone(), (spec.clone(), state));
        Ok(id)
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.events.push(format!("start {id}"));
        let refused = s.fail_start.clone();
        let (spec, st) = s
            .containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::NotFound(id.into()))?;
        if refused.is_some_and(|r| spec.name.contains(&r)) {
            return Err(RuntimeError::Other("refused".into()));
        }
        st.started = true;
        match spec.command.as_deref() {
            Some([exit, code]) if exit == "exit" => st.exit_code = Some(code.parse().unwrap()),
            _ => st.running = true,
        }
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        self.away()?;
        self.lock()
            .containers
            .get(id)
            .map(|(_, st)| st.clone())
            .ok_or_else(|| RuntimeError::NotFound(id.into()))
    }

    async fn wait(&self, id: &str) -> Result<i64, RuntimeError> {
        {
            let mut s = self.lock();
            if s.restart_during_wait {
                s.restart_during_wait = false;
                for (_, st) in s.containers.values_mut() {
                    if st.running {
                        st.running = false;
                        st.exit_code = Some(137);
                    }
                }
                s.outage = 3;
                return Err(RuntimeError::Unavailable("connection reset".into()));
            }
        }
        loop {
            if let Some(code) = self.inspect(id).await?.exit_code {
                return Ok(code);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stop(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        self.away()?;
        let mut s = self.lock();
        s.stops.push((id.to_string(), timeout));
        if let Some((_, st)) = s.containers.get_mut(id)
            && st.running
        {
            st.running = false;
            st.exit_code = Some(143);
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        self.away()?;
        let mut s = self.lock();
        s.containers.remove(id);
        s.removed.push(id.to_string());
        s.events.push(format!("remove {id}"));
        Ok(())
    }

    async fn create_network(
        &self,
        name: &str,
        _labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.networks.push(name.to_string());
        s.events.push(format!("network {name}"));
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.networks.retain(|n| n != name);
        s.removed_networks.push(name.to_string());
        s.events.push(format!("remove network {name}"));
        Ok(())
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.events.push(format!("volume {}", spec.name));
        if !s.volumes.iter().any(|v| v.name == spec.name) {
            s.volumes.push(spec.clone());
        }
        Ok(())
    }

    async fn volume_exists(&self, name: &str) -> Result<bool, RuntimeError> {
        Ok(self.lock().volumes.iter().any(|v| v.name == name))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        let mut s = self.lock();
        s.volumes.retain(|v| v.name != name);
        s.events.push(format!("remove volume {name}"));
        Ok(())
    }

    async fn volumes_by_label(&self, key: &str, value: &str) -> Result<Vec<String>, RuntimeError> {
        Ok(self
            .lock()
            .volumes
            .iter()
            .filter(|v| v.labels.get(key).map(String::as_str) == Some(value))
            .map(|v| v.name.clone())
            .collect())
    }

    async fn ensure_pause_image(&self) -> Result<Option<String>, RuntimeError> {
        let mut s = self.lock();
        s.pause_asked += 1;
        Ok(s.pause_image.clone())
    }

    async fn list_by_label(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<ContainerState>, RuntimeError> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|(_, st)| match value {
                Some(v) => st.labels.get(key).map(String::as_str) == Some(v),
                None => st.labels.contains_key(key),
            })
            .map(|(_, st)| st.clone())
            .collect())
    }
}

/// (secret id, stage, version id, region, access key) of a GetSecretValue of a version.
type VersionCall = (String, Option<String>, Option<String>, String, String);

#[derive(Default)]
struct FakeControl {
    task_changes: Mutex<Vec<Value>>,
    container_changes: Mutex<Vec<Value>>,
    /// (secret id, region, access key id) of every GetSecretValue.
    secret_calls: Mutex<Vec<(String, String, String)>>,
    secrets: HashMap<String, Result<Option<String>, ApiError>>,
    /// Every GetSecretValue of a version: (secret id, stage, version id, region, access key).
    version_calls: Mutex<Vec<VersionCall>>,
    /// Versions by `secret id|stage|version id` (a missing one: ResourceNotFoundException).
    versions: HashMap<String, Result<Option<String>, ApiError>>,
    /// Every GetParameters: (region, names, access key).
    ssm_calls: Mutex<Vec<(String, Vec<String>, String)>>,
    /// Parameter values by `region|name as asked` (a missing one is an invalid parameter).
    parameters: HashMap<String, String>,
    /// What every GetParameters answers instead, when set.
    ssm_error: Option<ApiError>,
    /// CloudWatch Logs calls: (operation, input, access key id or `own`).
    logs_calls: Mutex<Vec<(String, Value, String)>>,
    /// Operations refused with AccessDeniedException.
    logs_denied: Vec<String>,
    /// What a stream's tail read answers.
    tail: Vec<u64>,
}

impl ControlPlane for FakeControl {
    async fn register(&self, _input: Value) -> Result<Value, ApiError> {
        Ok(json!({"containerInstanceArn": "arn:ci"}))
    }

    async fn poll(
        &self,
        _cluster: &str,
        _instance_arn: &str,
        _seq: Option<u64>,
    ) -> Result<berth_ecs::AgentPoll, ApiError> {
        Err(ApiError::Transport("not in these tests".into()))
    }
}

impl TaskControl for FakeControl {
    async fn submit_task_state_change(&self, input: Value) -> Result<(), ApiError> {
        self.task_changes.lock().unwrap().push(input);
        Ok(())
    }

    async fn submit_container_state_change(&self, input: Value) -> Result<(), ApiError> {
        self.container_changes.lock().unwrap().push(input);
        Ok(())
    }

    async fn get_secret_string(
        &self,
        secret_id: &str,
        region: &str,
        creds: &Credentials,
    ) -> Result<Option<Zeroizing<String>>, ApiError> {
        self.secret_calls.lock().unwrap().push((
            secret_id.into(),
            region.into(),
            creds.access_key_id.clone(),
        ));
        self.secrets
            .get(secret_id)
            .cloned()
            .unwrap_or(Ok(None))
            .map(|v| v.map(Zeroizing::new))
    }

    async fn get_secret_version(
        &self,
        request: &crate::control::SecretVersion,
        region: &str,
        creds: &Credentials,
    ) -> Result<Option<Zeroizing<String>>, ApiError> {
        self.version_calls.lock().unwrap().push((
            request.secret_id.clone(),
            request.version_stage.clone(),
            request.version_id.clone(),
            region.into(),
            creds.access_key_id.clone(),
        ));
        let key = format!(
            "{}|{}|{}",
            request.secret_id,
            request.version_stage.as_deref().unwrap_or(""),
            request.version_id.as_deref().unwrap_or("")
        );
        self.versions
            .get(&key)
            .cloned()
            .unwrap_or_else(|| {
                Err(ApiError::Service {
                    code: "ResourceNotFoundException".into(),
                    message: "Secrets Manager can't find the specified secret.".into(),
                    status: 400,
                    request_id: "r-1".into(),
                })
            })
            .map(|v| v.map(Zeroizing::new))
    }

    async fn get_parameters(
        &self,
        names: &[String],
        region: &str,
        creds: &Credentials,
    ) -> Result<crate::control::Parameters, ApiError> {
        self.ssm_calls.lock().unwrap().push((
            region.into(),
            names.to_vec(),
            creds.access_key_id.clone(),
        ));
        if let Some(e) = &self.ssm_error {
            return Err(e.clone());
        }
        let mut out = crate::control::Parameters::default();
        for n in names {
            match self.parameters.get(&format!("{region}|{n}")) {
                Some(v) => out.values.push((n.clone(), Zeroizing::new(v.clone()))),
                None => out.invalid.push(n.clone()),
            }
        }
        Ok(out)
    }

    async fn logs_call(
        &self,
        operation: &str,
        input: Value,
        _region: &str,
        creds: Option<&Credentials>,
    ) -> Result<Value, ApiError> {
        self.logs_calls.lock().unwrap().push((
            operation.to_string(),
            input,
            creds.map_or("own".to_string(), |c| c.access_key_id.clone()),
        ));
        if self.logs_denied.iter().any(|o| o == operation) {
            return Err(ApiError::Service {
                code: "AccessDeniedException".into(),
                message: format!("not authorized to perform: logs:{operation}"),
                status: 400,
                request_id: "r1".into(),
            });
        }
        Ok(json!({}))
    }

    async fn log_tail(
        &self,
        _task_arn: &str,
        _region: &str,
        _group: &str,
        _stream: &str,
        _limit: usize,
        _creds: Option<&Credentials>,
    ) -> Result<Vec<u64>, ApiError> {
        Ok(self.tail.clone())
    }
}

const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:reg-AbCdEf";
const TASK_ARN: &str = "arn:aws:ecs:us-east-1:000000000000:task/c1/0123456789abcdef";

fn task(containers: Value, with_creds: bool) -> AgentTask {
    let creds = with_creds.then(|| {
        json!({"credentialsId": "id", "roleArn": "arn:aws:iam::000000000000:role/exec",
               "accessKeyId": "ASIAEXEC", "secretAccessKey": "s", "sessionToken": "t",
               "expiration": "2026-11-29T03:00:00Z"})
    });
    serde_json::from_value(json!({
        "taskArn": TASK_ARN,
        "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/c1",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1",
        "family": "app", "revision": 1, "desiredStatus": "RUNNING", "lastStatus": "PENDING",
        "launchType": "EC2", "networkMode": null, "cpu": null, "memory": null,
        "taskRoleArn": null, "executionRoleArn": "arn:aws:iam::000000000000:role/exec",
        "volumes": [], "containers": containers, "executionRoleCredentials": creds,
    }))
    .unwrap()
}

fn container(name: &str, command: &[&str], essential: bool, secret: Option<&str>) -> Value {
    json!({
        "containerArn": format!("arn:container/{name}"),
        "name": name,
        "definition": {"name": name, "image": "127.0.0.1:5000/app:1", "memory": 64,
                       "essential": essential, "command": command, "stopTimeout": 7,
                       "portMappings": [{"containerPort": 80}, {"containerPort": 53, "hostPort": 5353, "protocol": "udp"}],
                       "environment": [{"name": "A", "value": "1"}]},
        "registryAuthentication": secret.map(|s| json!({"type": "asm",
            "asmAuthData": {"credentialsParameter": s, "region": "eu-west-1"}})),
    })
}

fn control_with(value: Result<Option<&str>, ApiError>) -> FakeControl {
    FakeControl {
        secrets: HashMap::from([(SECRET.to_string(), value.map(|v| v.map(str::to_string)))]),
        ..Default::default()
    }
}

async fn run(rt: &Arc<FakeRuntime>, control: &Arc<FakeControl>, t: AgentTask, stop: bool) {
    let (tx, rx) = watch::channel(stop);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: "arn:ci".into(),
        task: t,
        engine_auth: Arc::new(EngineAuth::default()),
        fargate: false,
    };
    tokio::time::timeout(Duration::from_secs(10), run.run(rx))
        .await
        .unwrap();
    drop(tx);
}

fn statuses(changes: &Mutex<Vec<Value>>) -> Vec<String> {
    changes
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("status").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_task_runs_with_one_fetch_per_secret_and_stops_when_its_essential_container_exits() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(
        r#"{"username":"u","password":"abc>>>def"}"#,
    ))));
    let t = task(
        json!([
            container("app", &["exit", "0"], true, Some(SECRET)),
            container("side", &["sleep", "1000"], false, Some(SECRET)),
        ]),
        true,
    );
    run(&rt, &control, t, false).await;

    let calls = control.secret_calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![(
            SECRET.to_string(),
            "eu-west-1".to_string(),
            "ASIAEXEC".to_string()
        )]
    );
    let s = rt.lock();
    assert_eq!(s.pulls.len(), 2);
    assert!(
        s.pulls
            .iter()
            .all(|(_, a)| a == &Some(("u".to_string(), "abc>>>def".to_string())))
    );
    // The essential exit stopped the other container with its stopTimeout.
    assert!(s.stops.iter().any(|(_, t)| *t == Duration::from_secs(7)));
    assert!(s.containers.is_empty(), "containers removed");
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    let running = control.task_changes.lock().unwrap()[1].clone();
    assert_eq!(
        running["containers"][0]["networkBindings"][0],
        json!({"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 49153, "protocol": "tcp"})
    );
    let changes = control.container_changes.lock().unwrap().clone();
    let app = changes
        .iter()
        .find(|c| c["containerName"] == "app")
        .unwrap();
    assert_eq!(app["status"], "STOPPED");
    assert_eq!(app["exitCode"], 0);
    let first = &control.task_changes.lock().unwrap()[0];
    assert!(first.get("pullStartedAt").is_some() && first.get("pullStoppedAt").is_some());
    assert_eq!(first["containers"][0]["status"], "PULLED");
}

#[tokio::test]
async fn containers_carry_the_tasks_labels_and_limits() {
    let t = task(json!([container("app", &["sh"], true, None)]), false);
    let spec = container_spec(&t, &t.containers[0], "c1", "arn:ci");
    assert_eq!(spec.labels[LABEL_TASK_ARN], TASK_ARN);
    assert_eq!(spec.labels[LABEL_CONTAINER_NAME], "app");
    assert_eq!(spec.labels[LABEL_CLUSTER], "c1");
    assert_eq!(spec.memory_mib, Some(64));
    assert_eq!(spec.env, ["A=1"]);
    assert_eq!(spec.command, Some(vec!["sh".to_string()]));
    assert_eq!(spec.name, "ecs-app-1-app-0123456789abcdef");
    assert_eq!(
        spec.port_mappings,
        vec![
            PortMapping {
                container_port: 80,
                host_port: 0,
                protocol: "tcp".into()
            },
            PortMapping {
                container_port: 53,
                host_port: 5353,
                protocol: "udp".into()
            },
        ]
    );
}

#[tokio::test]
async fn secret_failures_stop_the_task_with_the_agents_reason() {
    let denied = ApiError::Service {
        code: "AccessDeniedException".into(),
        message: "Access to KMS is not allowed".into(),
        status: 400,
        request_id: "r-1".into(),
    };
    let cases: Vec<(FakeControl, bool, String)> = vec![
        (
            control_with(Err(denied)),
            true,
            format!(
                "Asm fetching secret from the service for {SECRET}: AccessDeniedException: Access to KMS is not allowed status code: 400, request id: r-1"
            ),
        ),
        (
            control_with(Ok(Some(r#"{"username":"u"}"#))),
            true,
            "Asm fetching password: AuthorizationData is malformed, empty field".into(),
        ),
        (
            control_with(Ok(None)),
            true,
            "Asm fetching authorization data: empty secrets value".into(),
        ),
        (
            control_with(Ok(Some(r#"{"username":"u"}"#))),
            false,
            "Asm resource: unable to find execution role credentials".into(),
        ),
    ];
    for (control, with_creds, want) in cases {
        let rt = Arc::new(FakeRuntime::default());
        let control = Arc::new(control);
        let t = task(
            json!([container("app", &["exit", "0"], true, Some(SECRET))]),
            with_creds,
        );
        run(&rt, &control, t, false).await;
        assert!(rt.lock().pulls.is_empty(), "no pull after {want}");
        let changes = control.task_changes.lock().unwrap().clone();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0]["status"], "STOPPED");
        assert_eq!(changes[0]["reason"], want.as_str());
    }
}

#[tokio::test]
async fn pull_failures_name_the_container_and_hint_at_denied_access() {
    let rt = Arc::new(FakeRuntime::default());
    rt.lock().pull_error = Some(
        "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied".into(),
    );
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    run(&rt, &control, t, false).await;
    let want = "CannotPullContainerError: The task can\u{2019}t pull the image. Check whether the image exists. pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
    // One report: the task's stop and the failed container's reason together.
    let changes = control.task_changes.lock().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["status"], "STOPPED");
    assert_eq!(changes[0]["reason"], want);
    let c = &changes[0]["containers"][0];
    assert_eq!(c["containerName"], "app");
    assert_eq!(c["status"], "STOPPED");
    assert_eq!(c["reason"], want);
    assert!(control.container_changes.lock().unwrap().is_empty());
    assert!(rt.lock().containers.is_empty());
}

#[tokio::test]
async fn running_containers_are_adopted_not_duplicated() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["sleep", "1000"], true, Some(SECRET))]),
        true,
    );
    // An earlier agent process made and started the container.
    let spec = container_spec(&t, &t.containers[0], "c1", "arn:ci");
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();

    let (tx, rx) = watch::channel(false);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: "arn:ci".into(),
        task: t,
        engine_auth: Arc::new(EngineAuth::default()),
        fargate: false,
    };
    let handle = tokio::spawn(run.run(rx));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!handle.is_finished());
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();

    let s = rt.lock();
    assert!(s.pulls.is_empty(), "no pull for an adopted container");
    assert!(control.secret_calls.lock().unwrap().is_empty());
    assert_eq!(s.next, 1, "no second container");
    assert_eq!(s.stops, vec![(id.clone(), Duration::from_secs(7))]);
    assert_eq!(s.removed, vec![id]);
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    assert_eq!(
        control.container_changes.lock().unwrap()[0]["exitCode"],
        143
    );
}

#[test]
fn reasons() {
    assert_eq!(
        task_reason("asm fetching  secret\n\tstatus code: 400"),
        "Asm fetching secret status code: 400"
    );
    assert_eq!(task_reason(""), "");
    assert_eq!(task_reason(&"x".repeat(2000)).chars().count(), 1024);
    assert_eq!(
        pull_reason("Error response from daemon: unauthorized: authentication required"),
        "CannotPullContainerError: Error response from daemon: unauthorized: authentication required"
    );
}

#[test]
fn registration_advertises_the_agents_capabilities() {
    let cfg = AgentConfig {
        cluster: "c1".into(),
        external: true,
        docker_api_version: "1.41".into(),
        cpu_units: 2048,
        memory_mib: 4096,
        instance_file: None,
        engine_auth: Arc::new(crate::engine_auth::EngineAuthSource::default()),
        availability_zone: "us-east-1a".into(),
        instance_attributes: vec![("stack".into(), "prod".into())],
    };
    let input = registration(&cfg, Some("arn:old"));
    let names: Vec<&str> = input["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    for want in [
        "ecs.capability.private-registry-authentication.secretsmanager",
        "ecs.capability.execution-role-ecr-pull",
        "com.amazonaws.ecs.capability.docker-remote-api.1.17",
        "com.amazonaws.ecs.capability.docker-remote-api.1.41",
        "ecs.capability.external",
        "ecs.capability.secrets.asm.environment-variables",
        "ecs.capability.secrets.ssm.environment-variables",
        "ecs.capability.secrets.asm.bootstrap.log-driver",
        "ecs.capability.secrets.ssm.bootstrap.log-driver",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    assert!(!names.contains(&"com.amazonaws.ecs.capability.docker-remote-api.1.42"));
    let value = |name: &str| {
        input["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["value"].clone())
    };
    assert_eq!(value("ecs.availability-zone"), Some(json!("us-east-1a")));
    assert_eq!(value("stack"), Some(json!("prod")));
    assert_eq!(input["containerInstanceArn"], "arn:old");
    assert_eq!(input["totalResources"][0]["integerValue"], 2048);
    let ec2 = registration(
        &AgentConfig {
            external: false,
            ..cfg
        },
        None,
    );
    assert!(!ec2.to_string().contains("ecs.capability.external"));
    assert!(ec2.get("containerInstanceArn").is_none());
}

#[tokio::test(start_paused = true)]
async fn pulls_are_retried_but_not_after_an_auth_failure() {
    let rt = FakeRuntime::default();
    rt.lock().pull_error = Some("connection reset by peer".into());
    assert!(pull_with_retries(&rt, "i", None).await.is_err());
    assert_eq!(rt.lock().pulls.len(), 5);
    let rt = FakeRuntime::default();
    rt.lock().pull_error =
        Some("Error response from daemon: unauthorized: authentication required".into());
    assert!(pull_with_retries(&rt, "i", None).await.is_err());
    assert_eq!(rt.lock().pulls.len(), 1);
}

#[tokio::test]
async fn a_stop_before_the_start_makes_nothing() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    run(&rt, &control, t, true).await;
    assert!(rt.lock().pulls.is_empty() && rt.lock().next == 0);
    let changes = control.task_changes.lock().unwrap().clone();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["status"], "STOPPED");
    assert!(changes[0].get("reason").is_none());
}

#[tokio::test]
async fn engine_auth_serves_only_containers_without_registry_authentication() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(
        r#"{"username":"task","password":"t"}"#,
    ))));
    let t = task(
        json!([
            container("app", &["exit", "0"], true, Some(SECRET)),
            container("plain", &["exit", "0"], false, None),
        ]),
        true,
    );
    let (_tx, rx) = watch::channel(false);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: "arn:ci".into(),
        task: t,
        engine_auth: Arc::new(EngineAuth::parse(
            Some("docker"),
            Some(r#"{"127.0.0.1:5000": {"username": "env", "password": "e"}}"#),
        )),
        fargate: false,
    };
    tokio::time::timeout(Duration::from_secs(10), run.run(rx))
        .await
        .unwrap();
    let pulls = rt.lock().pulls.clone();
    assert_eq!(pulls[0].1, Some(("task".to_string(), "t".to_string())));
    assert_eq!(pulls[1].1, Some(("env".to_string(), "e".to_string())));
}

async fn run_fargate(rt: &Arc<FakeRuntime>, control: &Arc<FakeControl>, t: AgentTask) {
    let (_tx, rx) = watch::channel(false);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: String::new(),
        task: t,
        engine_auth: Arc::new(EngineAuth::default()),
        fargate: true,
    };
    tokio::time::timeout(Duration::from_secs(10), run.run(rx))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_fargate_task_runs_on_its_own_network_without_host_ports_or_an_instance() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    let spec = fargate_container_spec(&t, &t.containers[0], "c1");
    assert_eq!(spec.network.as_deref(), Some("berth-task-0123456789abcdef"));
    assert!(spec.port_mappings.is_empty());
    assert!(!spec.labels.contains_key(LABEL_INSTANCE));
    assert_eq!(spec.labels[LABEL_LAUNCH_TYPE], "FARGATE");
    assert_eq!(spec.memory_mib, Some(64), "the container's own limit");
    let mut sized = t.clone();
    sized.memory = Some("1 GB".into());
    sized.containers[0].definition.memory = None;
    let spec = fargate_container_spec(&sized, &sized.containers[0], "c1");
    assert_eq!(spec.memory_mib, Some(1024), "the task's size");
    run_fargate(&rt, &control, t).await;
    let s = rt.lock();
    assert!(s.networks.is_empty(), "network removed");
    assert_eq!(s.removed_networks, ["berth-task-0123456789abcdef"]);
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    for c in control.task_changes.lock().unwrap().iter() {
        assert!(c.get("containerInstance").is_none(), "{c}");
    }
    let running = control.task_changes.lock().unwrap()[1].clone();
    assert_eq!(
        running["containers"][0]["networkInterfaces"],
        json!([{"privateIpv4Address": "172.30.0.2"}])
    );
}

#[tokio::test]
async fn fargate_secret_failures_read_like_fargate_after_one_retry() {
    let rt = Arc::new(FakeRuntime::default());
    let denied = ApiError::Service {
        code: "AccessDeniedException".into(),
        message: "Access to KMS is not allowed".into(),
        status: 400,
        request_id: "r-1".into(),
    };
    let control = Arc::new(control_with(Err(denied)));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    assert_eq!(control.secret_calls.lock().unwrap().len(), 2, "one retry");
    let changes = control.task_changes.lock().unwrap().clone();
    assert_eq!(
        changes[0]["reason"],
        format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {SECRET} from secrets manager: AccessDeniedException: Access to KMS is not allowed status code: 400, request id: r-1"
        )
    );
    assert!(rt.lock().pulls.is_empty());

    // A malformed secret: Fargate's prefix, then the parser's words.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u"}"#))));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    let reason = control.task_changes.lock().unwrap()[0]["reason"].clone();
    assert_eq!(
        reason,
        format!(
            "{FARGATE_SECRETS_PREFIX}asm fetching password: AuthorizationData is malformed, empty field"
        )
    );
}

#[tokio::test]
async fn fargate_never_uses_the_agents_engine_credentials() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    let t = task(
        json!([container("plain", &["exit", "0"], true, None)]),
        false,
    );
    let (_tx, rx) = watch::channel(false);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: String::new(),
        task: t,
        engine_auth: Arc::new(EngineAuth::default()),
        fargate: true,
    };
    tokio::time::timeout(Duration::from_secs(10), run.run(rx))
        .await
        .unwrap();
    assert_eq!(rt.lock().pulls[0].1, None);
}

/// dockerd restarted while the task runs (no live-restore): the wait breaks, the daemon kills
/// the container; the agent waits for the daemon, reads the exit code Docker recorded, reports
/// it, removes the container and only then reports the task STOPPED.
#[tokio::test]
async fn a_daemon_restart_mid_task_reports_the_exit_and_leaves_no_container() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["sleep", "1000"], true, Some(SECRET))]),
        true,
    );
    rt.lock().restart_during_wait = true;
    run(&rt, &control, t, false).await;

    let s = rt.lock();
    assert_eq!(s.unreachable_calls, 3);
    assert!(s.containers.is_empty());
    assert_eq!(s.removed, vec!["c1".to_string()]);
    drop(s);
    let changes = control.container_changes.lock().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["status"], "STOPPED");
    assert_eq!(changes[0]["exitCode"], 137);
    assert_eq!(
        statuses(&control.task_changes),
        vec!["RUNNING".to_string(), "STOPPED".to_string()]
    );
}

/// The sweep removes only what a finished run left: stopped containers of this instance whose
/// run by this process is over. Running containers, other instances' and tasks this process
/// never ran (adopted or stopped through the poll) are left alone.
#[tokio::test]
async fn the_sweep_removes_only_leftovers_of_finished_runs() {
    let rt = Arc::new(FakeRuntime::default());
    let make = |task: &str, instance: &str, running: bool| {
        let mut s = rt.lock();
        s.next += 1;
        let id = format!("c{}", s.next);
        let labels = HashMap::from([
            (LABEL_TASK_ARN.to_string(), task.to_string()),
            (LABEL_INSTANCE.to_string(), instance.to_string()),
        ]);
        let state = ContainerState {
            health: None,
            id: id.clone(),
            running,
            exit_code: (!running).then_some(137),
            started: true,
            labels,
            network_bindings: Vec::new(),
            ip_addresses: HashMap::new(),
        };
        s.containers
            .insert(id.clone(), (ContainerSpec::default(), state));
        id
    };
    let leftover = make("t-done", "arn:ci", false);
    let still_running = make("t-done", "arn:ci", true);
    let never_ran = make("t-other", "arn:ci", false);
    let elsewhere = make("t-done", "arn:other", false);
    let agent = Agent::new(
        rt.clone(),
        Arc::new(FakeControl::default()),
        AgentConfig {
            cluster: "c1".into(),
            external: false,
            docker_api_version: "1.41".into(),
            cpu_units: 1024,
            memory_mib: 1024,
            instance_file: None,
            engine_auth: Arc::new(crate::engine_auth::EngineAuthSource::default()),
            availability_zone: "us-east-1a".into(),
            instance_attributes: Vec::new(),
        },
    );
    let ran = HashSet::from(["t-done".to_string()]);
    agent.sweep("arn:ci", &HashMap::new(), &ran).await;
    let s = rt.lock();
    assert_eq!(s.removed, vec![leftover]);
    for id in [still_running, never_ran, elsewhere] {
        assert!(s.containers.contains_key(&id), "{id}");
    }
}

const NETWORK: &str = "berth-task-0123456789abcdef";
const PAUSE_NAME: &str = "berth-pause-0123456789abcdef";

fn with_pause_image() -> Arc<FakeRuntime> {
    let rt = Arc::new(FakeRuntime::default());
    rt.lock().pause_image = Some("berth/pause:test".into());
    rt
}

/// With a pause image, a Fargate task's pause container is made and started first, on the
/// task's network; every container joins its namespace (no network, no ports of its own) and
/// has its address; on the way out the containers go first, then the pause container, then
/// the network, all before STOPPED.
#[tokio::test]
async fn fargate_containers_share_the_pause_containers_namespace() {
    let rt = with_pause_image();
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([
            container("sidecar", &["serve"], false, Some(SECRET)),
            container("app", &["exit", "0"], true, Some(SECRET)),
        ]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    let s = rt.lock();
    let pause = &s.specs[0];
    assert_eq!(pause.name, PAUSE_NAME);
    assert_eq!(pause.image, "berth/pause:test");
    assert_eq!(pause.network.as_deref(), Some(NETWORK));
    assert_eq!(pause.network_container, None);
    assert_eq!(pause.labels[LABEL_PAUSE], "true");
    assert_eq!(pause.labels[LABEL_TASK_ARN], TASK_ARN);
    assert_eq!(pause.labels[LABEL_LAUNCH_TYPE], "FARGATE");
    assert!(!pause.labels.contains_key(LABEL_CONTAINER_NAME));
    assert!(!pause.labels.contains_key(LABEL_INSTANCE));
    assert_eq!(s.specs.len(), 3);
    for spec in &s.specs[1..] {
        assert_eq!(
            spec.network_container.as_deref(),
            Some("c1"),
            "{}",
            spec.name
        );
        assert_eq!(spec.network, None);
        assert!(spec.port_mappings.is_empty());
    }
    let events = s.events.clone();
    assert_eq!(
        events[..3],
        [
            format!("network {NETWORK}"),
            format!("create {PAUSE_NAME}"),
            "start c1".to_string(),
        ],
        "{events:?}"
    );
    let end = &events[events.len() - 4..];
    let mut containers = end[..2].to_vec();
    containers.sort();
    assert_eq!(containers, ["remove c2", "remove c3"], "{events:?}");
    assert_eq!(
        end[2..],
        ["remove c1".to_string(), format!("remove network {NETWORK}")],
        "{events:?}"
    );
    assert!(s.containers.is_empty() && s.networks.is_empty());
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    let running = control.task_changes.lock().unwrap()[1].clone();
    for c in running["containers"].as_array().unwrap() {
        assert_eq!(
            c["networkInterfaces"],
            json!([{"privateIpv4Address": "172.30.0.2"}]),
            "the pause container's address: {c}"
        );
    }
}

/// Without a pause image (the Docker runtime answers `None` when the host has no static
/// busybox to build it from) every container is attached to the task's network itself, with its
/// ECS name as its alias there (the `LABEL_CONTAINER_NAME` label the Docker runtime makes the
/// endpoint's alias) and never in `container:` network mode; no pause container is made, and
/// each container reports its own address on that network.
#[tokio::test]
async fn without_a_pause_image_fargate_containers_join_the_task_network() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([
            container("sidecar", &["serve"], false, Some(SECRET)),
            container("app", &["exit", "0"], true, Some(SECRET)),
        ]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    let s = rt.lock();
    assert_eq!(s.pause_asked, 1, "the runtime is asked for a pause image");
    assert_eq!(s.specs.len(), 2, "{:?}", s.events);
    let mut aliases = Vec::new();
    for spec in &s.specs {
        assert!(!spec.name.contains("berth-pause"), "{}", spec.name);
        assert_eq!(spec.network.as_deref(), Some(NETWORK), "{}", spec.name);
        assert_eq!(
            spec.network_container, None,
            "{}: no container: network mode",
            spec.name
        );
        assert!(!spec.labels.contains_key(LABEL_PAUSE), "{}", spec.name);
        aliases.push(spec.labels[LABEL_CONTAINER_NAME].clone());
    }
    aliases.sort();
    assert_eq!(aliases, ["app", "sidecar"]);
    assert!(
        !s.events.iter().any(|e| e.contains("berth-pause")),
        "{:?}",
        s.events
    );
    assert_eq!(s.events[0], format!("network {NETWORK}"), "{:?}", s.events);
    assert_eq!(
        s.events.last().unwrap(),
        &format!("remove network {NETWORK}")
    );
    assert!(s.containers.is_empty() && s.networks.is_empty());
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    let running = control.task_changes.lock().unwrap()[1].clone();
    let mut addresses: Vec<String> = running["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["networkInterfaces"][0]["privateIpv4Address"]
                .as_str()
                .unwrap_or_else(|| panic!("no address: {c}"))
                .to_string()
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(
        addresses.len(),
        2,
        "each container its own address: {running}"
    );
}

/// A container that cannot be created: what was made is removed, the pause container after
/// the task's containers and before the network.
#[tokio::test]
async fn a_failed_start_removes_the_pause_container_before_the_network() {
    let rt = with_pause_image();
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([
            container("app", &["serve"], true, Some(SECRET)),
            container("ghost", &["serve"], true, Some(SECRET)),
        ]),
        true,
    );
    rt.lock().fail_start = Some("-ghost-".into());
    run_fargate(&rt, &control, t).await;
    let s = rt.lock();
    let events = s.events.clone();
    let tail = &events[events.len() - 4..];
    let mut containers = tail[..2].to_vec();
    containers.sort();
    assert_eq!(containers, ["remove c2", "remove c3"], "{events:?}");
    assert_eq!(
        tail[2..],
        ["remove c1".to_string(), format!("remove network {NETWORK}")],
        "{events:?}"
    );
    assert!(s.containers.is_empty());
    drop(s);
    let changes = control.task_changes.lock().unwrap();
    let last = changes.last().unwrap();
    assert_eq!(last["status"], "STOPPED");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("CannotStartContainerError"),
        "{last}"
    );
}

/// Leftovers of a Fargate task an earlier process ran: the pause container is removed last
/// (not stopped: it only holds the namespace), then the network.
#[tokio::test]
async fn leftovers_lose_their_pause_container_last() {
    let rt = Arc::new(FakeRuntime::default());
    let make = |labels: HashMap<String, String>| {
        let mut s = rt.lock();
        s.next += 1;
        let id = format!("c{}", s.next);
        let state = ContainerState {
            health: None,
            id: id.clone(),
            running: true,
            exit_code: None,
            started: true,
            labels,
            network_bindings: Vec::new(),
            ip_addresses: HashMap::new(),
        };
        s.containers
            .insert(id.clone(), (ContainerSpec::default(), state));
        id
    };
    let pause = make(HashMap::from([
        (LABEL_TASK_ARN.to_string(), TASK_ARN.to_string()),
        (LABEL_PAUSE.to_string(), "true".to_string()),
    ]));
    let app = make(HashMap::from([
        (LABEL_TASK_ARN.to_string(), TASK_ARN.to_string()),
        (LABEL_CONTAINER_NAME.to_string(), "app".to_string()),
    ]));
    let control = Arc::new(FakeControl::default());
    stop_leftover(rt.clone(), control.clone(), "c1", None, TASK_ARN).await;
    let s = rt.lock();
    assert_eq!(s.removed, [app.clone(), pause.clone()]);
    assert_eq!(s.stops.len(), 1, "only the task's container is stopped");
    assert_eq!(s.stops[0].0, app);
    assert_eq!(s.removed_networks, [NETWORK]);
    drop(s);
    let changes = control.task_changes.lock().unwrap();
    assert_eq!(changes[0]["containers"].as_array().unwrap().len(), 1);
}

/// A restarted runner adopts the pause container with the task's containers: no second pause
/// container, and it is removed with them.
#[tokio::test]
async fn an_adopted_task_keeps_its_pause_container() {
    let rt = with_pause_image();
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    {
        let mut s = rt.lock();
        let labels = HashMap::from([
            (LABEL_TASK_ARN.to_string(), TASK_ARN.to_string()),
            (LABEL_PAUSE.to_string(), "true".to_string()),
        ]);
        s.next += 1;
        let state = ContainerState {
            health: None,
            id: "c1".into(),
            running: true,
            exit_code: None,
            started: true,
            labels,
            network_bindings: Vec::new(),
            ip_addresses: HashMap::from([(NETWORK.to_string(), "172.30.0.9".to_string())]),
        };
        s.containers
            .insert("c1".into(), (ContainerSpec::default(), state));
    }
    run_fargate(&rt, &control, t).await;
    let s = rt.lock();
    assert_eq!(s.specs.len(), 1, "only the task's container is made");
    assert_eq!(s.specs[0].network_container.as_deref(), Some("c1"));
    let events = s.events.clone();
    assert_eq!(
        events[events.len() - 3..],
        [
            "remove c2".to_string(),
            "remove c1".to_string(),
            format!("remove network {NETWORK}")
        ],
        "{events:?}"
    );
    drop(s);
    let running = control.task_changes.lock().unwrap()[1].clone();
    assert_eq!(
        running["containers"][0]["networkInterfaces"],
        json!([{"privateIpv4Address": "172.30.0.9"}])
    );
}

/// A capacity whose polls answer from a script (then wait for ever), recording what the loop
/// asks of it and says.
struct Scripted {
    runtime: Arc<FakeRuntime>,
    control: Arc<FakeControl>,
    script: Arc<Mutex<std::collections::VecDeque<Result<Orders, ApiError>>>>,
    seqs: Arc<Mutex<Vec<Option<u64>>>>,
    said: Arc<Mutex<Vec<String>>>,
}

impl Capacity for Scripted {
    type Runtime = FakeRuntime;
    type Control = FakeControl;

    const MIN_POLL_INTERVAL: Option<Duration> = None;

    fn runtime(&self) -> &Arc<FakeRuntime> {
        &self.runtime
    }

    fn control(&self) -> &Arc<FakeControl> {
        &self.control
    }

    async fn poll(&self, seq: Option<u64>) -> Result<Orders, ApiError> {
        let n = {
            let mut seqs = self.seqs.lock().unwrap();
            seqs.push(seq);
            seqs.len()
        };
        if n == 3 {
            // The third poll answers once the first run's container is up.
            while !self
                .runtime
                .lock()
                .events
                .iter()
                .any(|e| e.starts_with("start "))
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let next = self.script.lock().unwrap().pop_front();
        match next {
            Some(orders) => orders,
            None => std::future::pending().await,
        }
    }

    fn task_run(&self, task: AgentTask) -> TaskRun<FakeRuntime, FakeControl> {
        TaskRun {
            runtime: self.runtime.clone(),
            control: self.control.clone(),
            cluster: "c1".into(),
            instance_arn: "arn:ci".into(),
            task,
            engine_auth: Arc::new(EngineAuth::default()),
            fargate: false,
        }
    }

    fn leftover(&self, _task_arn: &str) -> Leftover {
        Leftover {
            cluster: "c1".into(),
            instance_arn: Some("arn:ci".into()),
        }
    }

    async fn after_poll(&mut self, _runs: &Runs) {}

    fn log(&self, event: Event<'_>) {
        let said = match event {
            Event::PollFailed(e) => format!("poll failed: {e}"),
            Event::Starting(task) => format!("starting {task}"),
            Event::Stopping(task) => format!("stopping {task}"),
            Event::ShuttingDown => "shutting down".into(),
        };
        self.said.lock().unwrap().push(said);
    }
}

/// The one supervise loop: a failed poll is retried without a cursor; a task is run once
/// however often the (level-triggered) poll names it; a stop order stops its run; a task this
/// process does not run has its leftovers stopped and is reported STOPPED; shutdown ends it.
#[tokio::test(start_paused = true)]
async fn the_supervise_loop_starts_once_stops_and_clears_leftovers() {
    const OTHER: &str = "arn:aws:ecs:us-east-1:000000000000:task/c1/fedcba9876543210";
    let runtime = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    let app = || {
        task(
            json!([container("app", &["sleep", "60"], true, None)]),
            false,
        )
    };
    let orders = |seq, start: Vec<AgentTask>, stop: &[&str]| {
        Ok(Orders {
            seq,
            tasks_to_start: start,
            tasks_to_stop: stop.iter().map(|s| s.to_string()).collect(),
        })
    };
    let script = std::collections::VecDeque::from([
        Err(ApiError::Transport("refused".into())),
        orders(1, vec![app()], &[]),
        orders(2, vec![app()], &[TASK_ARN]),
        orders(3, vec![], &[TASK_ARN, OTHER]),
    ]);
    let scripted = Scripted {
        runtime: runtime.clone(),
        control: control.clone(),
        script: Arc::new(Mutex::new(script)),
        seqs: Arc::default(),
        said: Arc::default(),
    };
    let (seqs, said) = (scripted.seqs.clone(), scripted.said.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let loop_ = tokio::spawn(supervise(scripted, async move {
        let _ = stopped.await;
    }));
    let stopped_tasks = || -> Vec<String> {
        control
            .task_changes
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "STOPPED")
            .map(|c| c["task"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        while stopped_tasks().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), loop_)
        .await
        .unwrap()
        .unwrap();

    let mut tasks = stopped_tasks();
    tasks.sort();
    assert_eq!(tasks, [TASK_ARN.to_string(), OTHER.to_string()]);
    assert_eq!(runtime.lock().specs.len(), 1, "one run, one container");
    assert_eq!(runtime.lock().stops.len(), 1);
    assert_eq!(
        *seqs.lock().unwrap(),
        [None, None, Some(1), Some(2), Some(3)]
    );
    assert_eq!(
        *said.lock().unwrap(),
        [
            "poll failed: refused".to_string(),
            format!("starting {TASK_ARN}"),
            format!("stopping {TASK_ARN}"),
            "shutting down".to_string(),
        ]
    );
}

// ---- secrets and secretOptions ------------------------------------------------------------

const DB: &str = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-AbCdEf";

fn secret(name: &str, from: &str, region: &str, provider: &str, log: bool) -> Value {
    json!({"name": name, "valueFrom": from, "region": region, "provider": provider,
           "type": if log { "BOOTSTRAP" } else { "ENVIRONMENT_VARIABLE" },
           "target": if log { "LOG_DRIVER" } else { "CONTAINER" }})
}

fn with_secrets(mut c: Value, secrets: Value, log: Option<Value>) -> Value {
    c["secrets"] = secrets;
    if let Some(l) = log {
        c["definition"]["logConfiguration"] = l;
    }
    c
}

fn denied(code: &str, message: &str) -> ApiError {
    ApiError::Service {
        code: code.into(),
        message: message.into(),
        status: 400,
        request_id: "r-9".into(),
    }
}

fn ok_version(v: &str) -> Result<Option<String>, ApiError> {
    Ok(Some(v.to_string()))
}

fn reason_of(control: &FakeControl) -> String {
    let changes = control.task_changes.lock().unwrap();
    let last = changes.last().unwrap();
    assert_eq!(last["status"], "STOPPED");
    last["reason"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn secrets_become_the_containers_variables_and_log_options() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        versions: HashMap::from([
            (format!("{DB}||"), ok_version("whole-value")),
            (
                format!("{DB}|AWSPREVIOUS|"),
                ok_version(r#"{"password":"old-pass","n":100000000}"#),
            ),
            (format!("{DB}||v-1"), ok_version(r#"{"size":"10m"}"#)),
        ]),
        parameters: HashMap::from([
            ("us-east-1|/app/p".to_string(), "ssm-value".to_string()),
            (
                "ap-south-1|arn:aws:ssm:ap-south-1:000000000000:parameter/q".to_string(),
                "far".to_string(),
            ),
        ]),
        ..Default::default()
    });
    let secrets = json!([
        secret("WHOLE", DB, "eu-west-1", "asm", false),
        secret(
            "A",
            &format!("{DB}:password:AWSPREVIOUS:"),
            "eu-west-1",
            "asm",
            false
        ),
        secret(
            "N",
            &format!("{DB}:n:AWSPREVIOUS:"),
            "eu-west-1",
            "asm",
            false
        ),
        secret("P", "/app/p", "us-east-1", "ssm", false),
        secret(
            "Q",
            "arn:aws:ssm:ap-south-1:000000000000:parameter/q",
            "ap-south-1",
            "ssm",
            false
        ),
        secret(
            "max-size",
            &format!("{DB}:size::v-1"),
            "eu-west-1",
            "asm",
            true
        ),
        secret("tag", "/app/p", "us-east-1", "ssm", true),
    ]);
    let log = json!({"logDriver": "json-file", "options": {"max-file": "2"}});
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets,
            Some(log)
        )]),
        true,
    );
    run(&rt, &control, t, false).await;

    // One GetSecretValue per distinct valueFrom, selectors stripped, stage and id passed.
    let mut calls = control.version_calls.lock().unwrap().clone();
    calls.sort();
    let want = |stage: Option<&str>, id: Option<&str>| {
        (
            DB.to_string(),
            stage.map(str::to_string),
            id.map(str::to_string),
            "eu-west-1".to_string(),
            "ASIAEXEC".to_string(),
        )
    };
    let mut expected = vec![
        want(None, None),
        want(Some("AWSPREVIOUS"), None),
        want(Some("AWSPREVIOUS"), None),
        want(None, Some("v-1")),
    ];
    expected.sort();
    assert_eq!(calls, expected);
    // Parameter Store: per region, every name as asked (not deduplicated, as the agent).
    let mut ssm = control.ssm_calls.lock().unwrap().clone();
    ssm.sort();
    assert_eq!(
        ssm,
        vec![
            (
                "ap-south-1".to_string(),
                vec!["arn:aws:ssm:ap-south-1:000000000000:parameter/q".to_string()],
                "ASIAEXEC".to_string()
            ),
            (
                "us-east-1".to_string(),
                vec!["/app/p".to_string(), "/app/p".to_string()],
                "ASIAEXEC".to_string()
            ),
        ]
    );
    let s = rt.lock();
    let spec = &s.specs[0];
    for kv in [
        "A=old-pass",
        "WHOLE=whole-value",
        "N=1e+08",
        "P=ssm-value",
        "Q=far",
    ] {
        assert!(spec.env.iter().any(|e| e == kv), "{kv} in {:?}", spec.env);
    }
    // The definition's own variables stay; the log secrets are not variables.
    assert!(spec.env.iter().any(|e| e == "A=old-pass") && !spec.env.iter().any(|e| e == "A=1"));
    assert!(
        !spec
            .env
            .iter()
            .any(|e| e.starts_with("max-size") || e.starts_with("tag="))
    );
    let log = spec.log_config.as_ref().unwrap();
    assert_eq!(log.driver, "json-file");
    assert_eq!(log.options["max-size"], "10m");
    assert_eq!(log.options["tag"], "ssm-value");
    assert_eq!(log.options["max-file"], "2");
    drop(s);
    assert_eq!(statuses(&control.task_changes), ["RUNNING", "STOPPED"]);
    // No report carries a value.
    let reports = format!(
        "{:?}{:?}",
        control.task_changes.lock().unwrap(),
        control.container_changes.lock().unwrap()
    );
    for v in ["whole-value", "old-pass", "ssm-value", "far", "10m"] {
        assert!(!reports.contains(v), "{v} in the reports");
    }
}

#[tokio::test]
async fn parameter_store_is_asked_ten_names_at_a_time_per_region() {
    let rt = Arc::new(FakeRuntime::default());
    let mut parameters = HashMap::new();
    let mut secrets = Vec::new();
    for i in 0..23 {
        parameters.insert(format!("us-east-1|/p/{i}"), format!("v{i}"));
        secrets.push(secret(
            &format!("P{i}"),
            &format!("/p/{i}"),
            "us-east-1",
            "ssm",
            false,
        ));
    }
    for i in 0..2 {
        let arn = format!("arn:aws:ssm:eu-west-1:000000000000:parameter/e{i}");
        parameters.insert(format!("eu-west-1|{arn}"), format!("e{i}"));
        secrets.push(secret(&format!("E{i}"), &arn, "eu-west-1", "ssm", false));
    }
    let control = Arc::new(FakeControl {
        parameters,
        ..Default::default()
    });
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            Value::Array(secrets),
            None
        )]),
        true,
    );
    run(&rt, &control, t, false).await;
    let mut sizes: Vec<(String, usize)> = control
        .ssm_calls
        .lock()
        .unwrap()
        .iter()
        .map(|(r, n, _)| (r.clone(), n.len()))
        .collect();
    sizes.sort();
    assert_eq!(
        sizes,
        vec![
            ("eu-west-1".to_string(), 2),
            ("us-east-1".to_string(), 3),
            ("us-east-1".to_string(), 10),
            ("us-east-1".to_string(), 10),
        ]
    );
    let env = rt.lock().specs[0].env.clone();
    assert!(env.contains(&"P22=v22".to_string()) && env.contains(&"E1=e1".to_string()));
}

#[tokio::test]
async fn parameter_store_failures_stop_the_task_with_the_agents_words() {
    // Names it does not find.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        parameters: HashMap::from([("us-east-1|/ok".to_string(), "v".to_string())]),
        ..Default::default()
    });
    let secrets = json!([
        secret("A", "/ok", "us-east-1", "ssm", false),
        secret("B", "/missing", "us-east-1", "ssm", false),
        secret("C", "/gone", "us-east-1", "ssm", false),
    ]);
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets.clone(),
            None
        )]),
        true,
    );
    run(&rt, &control, t, false).await;
    assert_eq!(
        reason_of(&control),
        "Fetching secret data from SSM Parameter Store in us-east-1: invalid parameters: /missing,/gone"
    );
    assert!(rt.lock().specs.is_empty() && rt.lock().pulls.is_empty());

    // A refusal: the SDK's words inside the agent's.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        ssm_error: Some(denied(
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/exec/t is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:000000000000:parameter/ok because no identity-based policy allows the ssm:GetParameters action",
        )),
        ..Default::default()
    });
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets.clone(),
            None
        )]),
        true,
    );
    run(&rt, &control, t, false).await;
    assert_eq!(
        reason_of(&control),
        "Fetching secret data from SSM Parameter Store in us-east-1: operation error SSM: GetParameters, https response error StatusCode: 400, RequestID: r-9, api error AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec/t is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:000000000000:parameter/ok because no identity-based policy allows the ssm:GetParameters action"
    );

    // Fargate: one retry, Fargate's words.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets.clone(),
            None
        )]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    assert_eq!(
        control.ssm_calls.lock().unwrap().len(),
        1,
        "no retry of an answer"
    );
    assert_eq!(
        reason_of(&control),
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: /ok,/missing,/gone"
    );

    // Without the execution role's credentials.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets,
            None
        )]),
        false,
    );
    run(&rt, &control, t, false).await;
    assert_eq!(
        reason_of(&control),
        "Ssm secret resource: unable to find execution role credentials"
    );
}

#[tokio::test]
async fn secrets_manager_failures_stop_the_task_with_the_agents_words() {
    let other = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:other-XyZabc";
    let control = Arc::new(FakeControl {
        versions: HashMap::from([
            (format!("{DB}||"), ok_version(r#"{"user":"u"}"#)),
            (
                format!("{other}||"),
                Err(denied(
                    "AccessDeniedException",
                    "Access to KMS is not allowed",
                )),
            ),
        ]),
        ..Default::default()
    });
    let rt = Arc::new(FakeRuntime::default());
    let secrets = json!([
        secret("K", &format!("{DB}:password::"), "eu-west-1", "asm", false),
        secret(
            "G",
            "arn:aws:secretsmanager:eu-west-1:000000000000:secret:gone-AAAAAA",
            "eu-west-1",
            "asm",
            false
        ),
        secret("D", other, "eu-west-1", "asm", false),
        secret("X", &format!("{DB}:password"), "eu-west-1", "asm", false),
    ]);
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets.clone(),
            None
        )]),
        true,
    );
    run(&rt, &control, t, false).await;
    let sdk = "operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: r-9, api error AccessDeniedException: Access to KMS is not allowed";
    let want = [
        "Retrieved secret from Secrets Manager did not contain json key password".to_string(),
        "ResourceNotFoundException: The task can't retrieve the secret with ARN 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:gone-AAAAAA' from AWS Secrets Manager. Check whether the secret exists in the specified Region: operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: r-1, ResourceNotFoundException: Secrets Manager can't find the specified secret.".to_string(),
        format!("secret {other}: {sdk}: {sdk}"),
        format!("trying to retrieve secret with value {DB}:password resulted in error: an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again."),
    ]
    .join(";");
    // The stop reason is cut at 1024 characters.
    assert_eq!(
        reason_of(&control),
        want.chars().take(1024).collect::<String>()
    );
    assert!(rt.lock().specs.is_empty());

    // Fargate: one retry of a failed call, Fargate's words.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        versions: HashMap::from([(
            format!("{other}||"),
            Err(denied(
                "AccessDeniedException",
                "Access to KMS is not allowed",
            )),
        )]),
        ..Default::default()
    });
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            json!([secret("D", other, "eu-west-1", "asm", false)]),
            None
        )]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    assert_eq!(control.version_calls.lock().unwrap().len(), 2);
    assert_eq!(
        reason_of(&control),
        format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {other} from secrets manager: AccessDeniedException: Access to KMS is not allowed status code: 400, request id: r-9"
        )
    );
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        versions: HashMap::from([(format!("{DB}||"), ok_version(r#"{"user":"u"}"#))]),
        ..Default::default()
    });
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            json!([secret(
                "K",
                &format!("{DB}:password::"),
                "eu-west-1",
                "asm",
                false
            )]),
            None
        )]),
        true,
    );
    run_fargate(&rt, &control, t).await;
    assert_eq!(
        reason_of(&control),
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret from Secrets Manager did not contain json key password"
    );

    // Without the execution role's credentials.
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    let t = task(
        json!([with_secrets(
            container("app", &["exit", "0"], true, None),
            secrets,
            None
        )]),
        false,
    );
    run(&rt, &control, t, false).await;
    assert_eq!(
        reason_of(&control),
        "ASM secret resource: unable to find execution role credentials"
    );
}

#[test]
fn fetched_secrets_do_not_print() {
    let mut s = crate::secrets::TaskSecrets::default();
    let spec_secret: berth_ecs::secrets::AgentSecret =
        serde_json::from_value(secret("A", "/p", "us-east-1", "ssm", false)).unwrap();
    assert_eq!(s.value(&spec_secret), "");
    let shown = format!("{s:?}");
    assert!(shown.contains("0 values"));
    let p = crate::control::parameters_of(&json!({
        "Parameters": [{"Name": "/p", "Value": "hunter2", "Type": "SecureString", "Version": 1}],
        "InvalidParameters": ["/q"]
    }));
    assert_eq!(p.invalid, ["/q"]);
    assert_eq!(p.values[0].0, "/p");
    assert!(!format!("{p:?}").contains("hunter2"));
    s = crate::secrets::TaskSecrets::default();
    drop(s);
}

/// awsvpc on an instance publishes on ports the daemon picks (placement reserves none), and
/// `dockerLabels` never override the agent's own labels.
#[test]
fn awsvpc_ports_are_not_fixed_and_agent_labels_win() {
    let mut t = task(json!([container("app", &["true"], true, None)]), false);
    t.network_mode = Some("awsvpc".into());
    t.containers[0].definition.extra.insert(
        "dockerLabels".into(),
        json!({"team": "a", "com.amazonaws.ecs.cluster": "spoofed"}),
    );
    let spec = container_spec(&t, &t.containers[0], "c1", "arn:instance");
    assert!(
        spec.port_mappings.iter().all(|p| p.host_port == 0),
        "{:?}",
        spec.port_mappings
    );
    assert_eq!(spec.labels["team"], "a");
    assert_eq!(spec.labels[LABEL_CLUSTER], "c1");
}

/// A task's own Docker volumes are made before its containers and removed after them; a shared
/// one stays; a leftover task's volumes go with its containers.
#[tokio::test]
async fn task_volumes_are_made_and_removed_with_the_task() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(control_with(Ok(Some(r#"{"username":"u","password":"p"}"#))));
    let mut t = task(
        json!([container("app", &["exit", "0"], true, Some(SECRET))]),
        true,
    );
    t.volumes = vec![
        json!({"name": "scratch", "host": {}}),
        json!({"name": "keep", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}}),
    ];
    t.containers[0].definition.extra.insert(
        "mountPoints".into(),
        json!([{"sourceVolume": "scratch", "containerPath": "/s"},
               {"sourceVolume": "keep", "containerPath": "/k"}]),
    );
    run(&rt, &control, t, false).await;
    {
        let s = rt.lock();
        let at = |e: &str| s.events.iter().position(|x| x.starts_with(e));
        assert!(
            at("volume ecs-app-1-scratch-").unwrap() < at("create ").unwrap(),
            "{:?}",
            s.events
        );
        assert!(
            at("remove volume ecs-app-1-scratch-").unwrap() > at("remove ").unwrap(),
            "{:?}",
            s.events
        );
        assert_eq!(
            s.volumes
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            ["keep"]
        );
    }

    // A leftover task (the runner restarted after it stopped): its labelled volume goes.
    rt.create_volume(&VolumeSpec {
        name: "left".into(),
        labels: HashMap::from([(
            crate::settings::LABEL_VOLUME_TASK.to_string(),
            TASK_ARN.to_string(),
        )]),
        ..Default::default()
    })
    .await
    .unwrap();
    stop_leftover(rt.clone(), control.clone(), "c1", Some("arn:ci"), TASK_ARN).await;
    assert_eq!(
        rt.lock()
            .volumes
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["keep"]
    );
}

fn awslogs_task(prefix: bool) -> AgentTask {
    let mut c = container("app", &["exit", "0"], true, None);
    let mut opts = json!({"awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1"});
    if prefix {
        opts["awslogs-stream-prefix"] = json!("web");
    }
    c["definition"]["logConfiguration"] = json!({"logDriver": "awslogs", "options": opts});
    task(json!([c]), true)
}

fn output(lines: &[(i64, &str)]) -> Vec<crate::runtime::LogLine> {
    lines
        .iter()
        .map(|(ms, t)| crate::runtime::LogLine {
            nanos: i128::from(*ms) * 1_000_000 + 7,
            text: t.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn awslogs_creates_the_stream_before_the_start_and_ships_every_line() {
    let rt = Arc::new(FakeRuntime::default());
    rt.lock().output = output(&[(1_000, "one"), (1_000, "two"), (1_001, "three")]);
    let control = Arc::new(FakeControl::default());
    run(&rt, &control, awslogs_task(true), false).await;
    let calls = control.logs_calls.lock().unwrap().clone();
    assert_eq!(calls[0].0, "CreateLogStream");
    assert_eq!(calls[0].1["logStreamName"], "web/app/0123456789abcdef");
    assert_eq!(calls[0].2, "ASIAEXEC");
    let shipped: Vec<String> = calls
        .iter()
        .filter(|c| c.0 == "PutLogEvents")
        .flat_map(|c| c.1["logEvents"].as_array().unwrap().clone())
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shipped, ["one", "two", "three"]);
    // Docker runs it with json-file.
    let spec = rt.lock().specs[0].clone();
    assert_eq!(spec.log_config.unwrap().driver, "json-file");
}

/// Polls `cond` every 20 ms for up to 10 s.
async fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn awslogs_keeps_shipping_with_the_execution_credentials_a_poll_renews() {
    use crate::awslogs::{execution_credentials, refresh_execution_credentials, ship};
    // A task of its own: the credentials held for a task are shared by its shippers.
    const ARN: &str = "arn:aws:ecs:us-east-1:000000000000:task/c1/renewal00000000";
    let now = berth_core::time::epoch_secs(std::time::SystemTime::now());
    let with = |key: &str, expires: u64| {
        let mut t = awslogs_task(true);
        t.task_arn = ARN.into();
        t.execution_role_credentials = Some(berth_ecs::RoleCredentials {
            credentials_id: "id".into(),
            role_arn: "arn:aws:iam::000000000000:role/exec".into(),
            access_key_id: key.into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: berth_core::time::iso8601(expires),
        });
        t
    };
    // The first session expires a second from now.
    let first = with("ASIAFIRST", now + 1);
    let creds = execution_credentials(&first);
    assert_eq!(creds.as_ref().and_then(|c| c.expires()), Some(now + 1));
    let target = crate::awslogs::Target {
        task_arn: ARN.into(),
        container: "app".into(),
        region: "eu-west-1".into(),
        group: "/ecs/app".into(),
        stream: "web/app/renewal".into(),
        creds,
        multiline: None,
    };
    let rt = Arc::new(FakeRuntime::default());
    let (lines, live) = tokio::sync::mpsc::channel(8);
    rt.lock().follow = Some(live);
    let control = Arc::new(FakeControl::default());
    let shipper = tokio::spawn(ship(
        rt.clone(),
        control.clone(),
        target,
        "c0".into(),
        false,
    ));
    let puts = |control: &FakeControl| -> Vec<(String, String)> {
        let calls = control.logs_calls.lock().unwrap();
        calls
            .iter()
            .filter(|c| c.0 == "PutLogEvents")
            .map(|c| {
                let msg = c.1["logEvents"][0]["message"].as_str().unwrap();
                (msg.to_string(), c.2.clone())
            })
            .collect()
    };
    let line = |text: &str| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Ok(crate::runtime::LogLine {
            nanos: i128::try_from(nanos).unwrap(),
            text: text.into(),
        })
    };
    lines.send(line("before")).await.unwrap();
    eventually(|| puts(&control).len() == 1).await;
    // Polls bring credentials: an older session changes nothing, the renewed one replaces
    // the first.
    refresh_execution_credentials(&with("ASIAOLDER", now));
    refresh_execution_credentials(&with("ASIASECOND", now + 3600));
    // Another container of the task, started now, gets the renewed session too.
    let other = execution_credentials(&first).unwrap();
    assert_eq!(other.current().access_key_id, "ASIASECOND");
    eventually(|| berth_core::time::epoch_secs(std::time::SystemTime::now()) > now + 1).await;
    lines.send(line("after")).await.unwrap();
    drop(lines);
    tokio::time::timeout(Duration::from_secs(10), shipper)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        puts(&control),
        [
            ("before".to_string(), "ASIAFIRST".to_string()),
            ("after".to_string(), "ASIASECOND".to_string())
        ]
    );
}

#[tokio::test]
async fn awslogs_without_a_prefix_names_the_stream_after_the_container_id() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl::default());
    run(&rt, &control, awslogs_task(false), false).await;
    let calls = control.logs_calls.lock().unwrap().clone();
    let stream = calls[0].1["logStreamName"].as_str().unwrap().to_string();
    assert!(!stream.contains('/'), "{stream}");
    assert!(
        rt.lock()
            .events
            .iter()
            .any(|e| e == &format!("start {stream}"))
    );
}

#[tokio::test]
async fn a_denied_create_log_stream_fails_the_start_in_ecs_words() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        logs_denied: vec!["CreateLogStream".into()],
        ..Default::default()
    });
    run(&rt, &control, awslogs_task(true), false).await;
    assert!(!rt.lock().events.iter().any(|e| e.starts_with("start")));
    let changes = control.task_changes.lock().unwrap().clone();
    let last = changes.last().unwrap();
    assert_eq!(last["status"], "STOPPED");
    let reason = last["containers"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("CannotStartContainerError: Error response from daemon: failed to initialize logging driver: failed to create Cloudwatch log stream: AccessDeniedException: "),
        "{reason}"
    );
}

#[tokio::test]
async fn a_denied_put_log_events_does_not_stop_the_container() {
    let rt = Arc::new(FakeRuntime::default());
    rt.lock().output = output(&[(1_000, "one")]);
    let control = Arc::new(FakeControl {
        logs_denied: vec!["PutLogEvents".into()],
        ..Default::default()
    });
    run(&rt, &control, awslogs_task(true), false).await;
    let changes = control.container_changes.lock().unwrap().clone();
    assert!(
        changes
            .iter()
            .any(|c| c["status"] == "STOPPED" && c["exitCode"] == 0)
    );
    assert!(rt.lock().events.iter().any(|e| e.starts_with("start")));
}

#[tokio::test]
async fn an_adopted_container_ships_after_its_stream_s_last_event() {
    let rt = Arc::new(FakeRuntime::default());
    rt.lock().output = output(&[(1_000, "a"), (2_000, "b"), (2_000, "c"), (2_500, "d")]);
    // The stream has a, b already.
    let control = Arc::new(FakeControl {
        tail: vec![1_000, 2_000],
        ..Default::default()
    });
    let t = awslogs_task(true);
    // An earlier run made and started the container; it has exited.
    let spec = container_spec(&t, &t.containers[0], "c1", "arn:ci");
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();
    run(&rt, &control, t, false).await;
    let calls = control.logs_calls.lock().unwrap().clone();
    assert!(!calls.iter().any(|c| c.0 == "CreateLogStream"));
    let shipped: Vec<String> = calls
        .iter()
        .filter(|c| c.0 == "PutLogEvents")
        .flat_map(|c| c.1["logEvents"].as_array().unwrap().clone())
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shipped, ["c", "d"]);
}

#[tokio::test]
async fn on_fargate_a_denied_create_log_stream_is_tried_twice_in_fargate_words() {
    let rt = Arc::new(FakeRuntime::default());
    let control = Arc::new(FakeControl {
        logs_denied: vec!["CreateLogStream".into()],
        ..Default::default()
    });
    let (tx, rx) = watch::channel(false);
    let run = TaskRun {
        runtime: rt.clone(),
        control: control.clone(),
        cluster: "c1".into(),
        instance_arn: String::new(),
        task: awslogs_task(true),
        engine_auth: Arc::new(EngineAuth::default()),
        fargate: true,
    };
    tokio::time::timeout(Duration::from_secs(10), run.run(rx))
        .await
        .unwrap();
    drop(tx);
    let creates = control
        .logs_calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.0 == "CreateLogStream")
        .count();
    assert_eq!(creates, 2);
    let changes = control.task_changes.lock().unwrap().clone();
    let reason = changes.last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.starts_with("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: AccessDeniedException: "),
        "{reason}"
    );
}
