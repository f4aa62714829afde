"""The container agent end to end: `berth server` + `berth agent` + real Docker + a real private
registry with Basic auth. The image's credentials live in a Secrets Manager secret that the agent
reads with the task's execution-role credentials (the seed's flow)."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REGION, berth_bin, berth_processes, stop_pids, stop_process
from docker_fixtures import REGISTRY_USER, TRAP_USER, docker_ready, registry, remove_local_image  # noqa: F401
from test_ecs import wait_until_server_holds_a_poll

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class AgentProcess:
    """`berth agent` as a subprocess, with the root credentials in the standard AWS variables."""

    def __init__(self, berth, cluster: str, log_path: Path, external=False, profile=False, env_extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.pop("ECS_CLUSTER", None)
        env.update(AWS_DEFAULT_REGION=REGION, RUST_LOG="info,berth_agent=debug")
        args = [berth_bin(), "agent", "--endpoint", berth.endpoint]
        if profile:
            # A named profile in a shared credentials file, and the cluster from ECS_CLUSTER.
            cred_file = log_path.parent / f"{log_path.stem}.credentials"
            cred_file.write_text(
                f"[default]\naws_access_key_id = AKIANOTTHISONE000000\naws_secret_access_key = x\n"
                f"[agent]\naws_access_key_id = {berth.root.access_key_id}\n"
                f"aws_secret_access_key = {berth.root.secret_access_key}\n"
            )
            env.update(AWS_SHARED_CREDENTIALS_FILE=str(cred_file), AWS_PROFILE="agent", ECS_CLUSTER=cluster)
        else:
            env.update(
                AWS_ACCESS_KEY_ID=berth.root.access_key_id,
                AWS_SECRET_ACCESS_KEY=berth.root.secret_access_key,
            )
            args += ["--cluster", cluster]
        env.update(env_extra or {})
        if external:
            args.append("--external")
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.proc, timeout=15)
        self._log.close()


@pytest.fixture
def agent_factory(tmp_path):
    started = []

    def start(berth, cluster, external=False, profile=False, env_extra=None):
        a = AgentProcess(berth, cluster, tmp_path / f"agent-{cluster}-{len(started)}.log", external, profile, env_extra)
        started.append(a)
        return a

    yield start
    for a in started:
        a.stop()


def wait_for_instance(b, cluster, agent, timeout=30):
    ecs = b.client("ecs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if agent.proc.poll() is not None:
            raise AssertionError(f"agent exited with {agent.proc.returncode}:\n{agent.log()}")
        try:
            arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
        except ecs.exceptions.ClusterNotFoundException:
            arns = []
        if arns:
            return arns[0]
        time.sleep(0.2)
    raise AssertionError(f"no container instance registered:\n{agent.log()}")


def wait_stopped(b, cluster, task_arn, agent, timeout=90):
    ecs = b.client("ecs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        if t["lastStatus"] == "STOPPED":
            # (a failed start's task and container reasons come in one report: the task is
            # never seen STOPPED without its container's reason)
            return t
        time.sleep(0.3)
    raise AssertionError(f"task not STOPPED after {timeout}s: {t}\nagent log:\n{agent.log()}\nserver log:\n{b.log()}")


class PrivateApp:
    """A KMS key (customer-managed unless `default_key`), a secret with the registry
    credentials encrypted with it, an execution role with the seed's inline policy (minus
    what `deny` names), and a task definition that pulls the private image with them."""

    def __init__(self, b, registry, secret_value, default_key=False, allow=("kms:Decrypt", "secretsmanager:GetSecretValue"),
                 command=("sh", "-c", "echo hello")):
        suffix = uuid.uuid4().hex[:8]
        kms = b.client("kms")
        sm = b.client("secretsmanager")
        iam = b.client("iam")
        ecs = b.client("ecs")
        kwargs = {}
        if default_key:
            self.key_arn = None
        else:
            self.key_arn = kms.create_key(Description="registry credentials")["KeyMetadata"]["Arn"]
            kwargs["KmsKeyId"] = self.key_arn
        value = secret_value if isinstance(secret_value, str) else json.dumps(secret_value)
        self.secret = sm.create_secret(Name=f"registry-{suffix}", SecretString=value, **kwargs)
        self.secret_arn = self.secret["ARN"]
        role = iam.create_role(RoleName=f"exec-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
        self.role_arn = role["Arn"]
        resources = [self.secret_arn] + ([self.key_arn] if self.key_arn else [])
        if allow:
            iam.put_role_policy(
                RoleName=f"exec-{suffix}",
                PolicyName="private-registry",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": list(allow), "Resource": resources}],
                    }
                ),
            )
        self.family = f"private-app-{suffix}"
        ecs.register_task_definition(
            family=self.family,
            executionRoleArn=self.role_arn,
            containerDefinitions=[
                {
                    "name": "app",
                    "image": registry.image,
                    "memory": 64,
                    "essential": True,
                    "repositoryCredentials": {"credentialsParameter": self.secret_arn},
                    "command": list(command),
                }
            ],
        )

    def run(self, b, cluster, launch_type="EC2"):
        out = b.client("ecs").run_task(cluster=cluster, taskDefinition=self.family, launchType=launch_type)
        assert not out["failures"], out["failures"]
        return out["tasks"][0]["taskArn"]


def creds(user):
    return {"username": user[0], "password": user[1]}


def start(b, agent_factory, external=False, profile=False):
    cluster = f"c{uuid.uuid4().hex[:8]}"
    b.client("ecs").create_cluster(clusterName=cluster)
    agent = agent_factory(b, cluster, external=external, profile=profile)
    wait_for_instance(b, cluster, agent)
    return cluster, agent


def assert_succeeded(t):
    assert t["stopCode"] == "EssentialContainerExited", t
    assert t["containers"][0]["exitCode"] == 0, t
    assert t["containers"][0]["lastStatus"] == "STOPPED"


@pytest.mark.parametrize("external", [False, True], ids=["ec2", "external"])
def test_private_image_pulled_with_the_secret(berth, registry, agent_factory, external):
    # The external agent takes its credentials from a profile and its cluster from ECS_CLUSTER.
    cluster, agent = start(berth, agent_factory, external=external, profile=external)
    ci = berth.client("ecs").describe_container_instances(cluster=cluster, containerInstances=[
        berth.client("ecs").list_container_instances(cluster=cluster)["containerInstanceArns"][0]
    ])["containerInstances"][0]
    names = {a["name"] for a in ci["attributes"]}
    assert "ecs.capability.private-registry-authentication.secretsmanager" in names
    assert "ecs.capability.execution-role-ecr-pull" in names
    assert any(n.startswith("com.amazonaws.ecs.capability.docker-remote-api.1.") for n in names)
    assert ("ecs.capability.external" in names) == external
    app = PrivateApp(berth, registry, creds(REGISTRY_USER))
    arn = app.run(berth, cluster, "EXTERNAL" if external else "EC2")
    t = wait_stopped(berth, cluster, arn, agent)
    assert_succeeded(t)
    assert "pullStartedAt" in t and "pullStoppedAt" in t


def test_custom_key_without_decrypt_is_denied(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, creds(REGISTRY_USER), allow=("secretsmanager:GetSecretValue",))
    t = wait_stopped(berth, cluster, app.run(berth, cluster), agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = t["stoppedReason"]
    assert reason.startswith(f"Asm fetching secret from the service for {app.secret_arn}: "), reason
    assert "AccessDeniedException" in reason and "Access to KMS is not allowed" in reason, reason


def test_default_key_needs_no_decrypt(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, creds(REGISTRY_USER), default_key=True, allow=("secretsmanager:GetSecretValue",))
    assert_succeeded(wait_stopped(berth, cluster, app.run(berth, cluster), agent))


def test_role_without_get_secret_value(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, creds(REGISTRY_USER), allow=("kms:Decrypt",))
    t = wait_stopped(berth, cluster, app.run(berth, cluster), agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in t["stoppedReason"], t


def test_wrong_password_then_rotated(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, {"username": REGISTRY_USER[0], "password": "wrong-password"})
    t = wait_stopped(berth, cluster, app.run(berth, cluster), agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    assert t["stoppedReason"].startswith("CannotPullContainerError: "), t
    assert t["containers"][0]["reason"].startswith("CannotPullContainerError: "), t
    # R12: the rotated value is used by the next task.
    berth.client("secretsmanager").put_secret_value(SecretId=app.secret_arn, SecretString=json.dumps(creds(REGISTRY_USER)))
    assert_succeeded(wait_stopped(berth, cluster, app.run(berth, cluster), agent))


def test_secret_without_password(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, {"username": REGISTRY_USER[0]})
    t = wait_stopped(berth, cluster, app.run(berth, cluster), agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    assert t["stoppedReason"] == "Asm fetching password: AuthorizationData is malformed, empty field", t


def test_keys_match_case_insensitively(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, {"UserName": REGISTRY_USER[0], "PASSWORD": REGISTRY_USER[1], "note": "x"})
    assert_succeeded(wait_stopped(berth, cluster, app.run(berth, cluster), agent))


def test_password_with_url_unsafe_base64(berth, registry, agent_factory):
    """bollard's trap: `abc>>>def` encodes with '+'/'/' in standard base64."""
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, creds(TRAP_USER))
    assert_succeeded(wait_stopped(berth, cluster, app.run(berth, cluster), agent))


def test_no_credentials_left_behind(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, creds(TRAP_USER))
    assert_succeeded(wait_stopped(berth, cluster, app.run(berth, cluster), agent))
    password = TRAP_USER[1]
    docker_config = Path.home() / ".docker" / "config.json"
    if docker_config.exists():
        text = docker_config.read_text()
        assert registry.host not in text and password not in text
    for path in berth.data_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    for log in (agent.log(), berth.log()):
        assert password not in log
        assert "trap-user" not in log


def task_containers(task_arn, all_=True):
    args = ["docker", "ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={task_arn}"]
    if all_:
        args.insert(2, "-a")
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


def wait_running(b, cluster, task_arn, agent, timeout=60):
    ecs = b.client("ecs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        if t["lastStatus"] == "RUNNING":
            return t
        assert t["lastStatus"] != "STOPPED", t
        time.sleep(0.3)
    raise AssertionError(f"task not RUNNING: {t}\n{agent.log()}")


def test_restarted_agent_adopts_running_containers_and_stop_task_stops_them(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    instance = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"][0]
    app = PrivateApp(berth, registry, creds(REGISTRY_USER), command=("sh", "-c", "sleep 300"))
    # busybox sh as PID 1 ignores SIGTERM: the stop needs the SIGKILL after stopTimeout.
    ecs.register_task_definition(
        family=app.family,
        executionRoleArn=app.role_arn,
        containerDefinitions=[
            {
                "name": "app",
                "image": registry.image,
                "memory": 64,
                "stopTimeout": 2,
                "repositoryCredentials": {"credentialsParameter": app.secret_arn},
                "command": ["sh", "-c", "sleep 300"],
            }
        ],
    )
    arn = app.run(berth, cluster)
    t = wait_running(berth, cluster, arn, agent)
    assert t["containers"][0]["lastStatus"] == "RUNNING"
    [container] = task_containers(arn, all_=False)

    agent.stop()  # the agent goes; its containers stay
    assert task_containers(arn, all_=False) == [container]
    again = agent_factory(berth, cluster)
    # Same instance (found through the containers' labels), same single container.
    deadline = time.time() + 30
    while "agent registered" not in again.log() or "adopting" not in again.log():
        assert again.proc.poll() is None and time.time() < deadline, again.log()
        time.sleep(0.1)
    assert again.proc.poll() is None, again.log()
    assert ecs.list_container_instances(cluster=cluster)["containerInstanceArns"] == [instance]
    assert task_containers(arn) == [container], again.log()
    assert "adopting" in again.log()

    started = time.time()
    ecs.stop_task(cluster=cluster, task=arn, reason="done here")
    t = wait_stopped(berth, cluster, arn, again)
    assert time.time() - started >= 2
    assert t["stopCode"] == "UserInitiated" and t["stoppedReason"] == "done here", t
    assert t["containers"][0]["exitCode"] == 137, t
    assert task_containers(arn) == []


class UpProcess:
    """`berth up`: server and agent in one process, generated root credentials."""

    def __init__(self, data_dir: Path, tty=False):
        """With `tty`, `berth up` runs on a pseudo-terminal (util-linux `script`), as in a
        user's shell: that is where it draws progress bars."""
        from conftest import Creds, free_port

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"up-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_ROOT_"))}
        env["RUST_LOG"] = "info"
        self._log = open(self.log_path, "wb")
        cmd = [berth_bin(), "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir)]
        if tty:
            # `script` runs its command with $SHELL -c; `exec` makes berth the shell itself, so
            # that `script` signals berth whatever the shell (dash, unlike bash, stays).
            env["COLUMNS"], env["TERM"] = "160", "xterm"
            cmd = ["script", "-qfec", "exec " + shlex.join(cmd), "/dev/null"]
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        deadline = time.time() + 30
        cred_file = data_dir / "credentials"
        # Until the file is there with both keys (it may be seen half written).
        fields = {}
        while not {"aws_access_key_id", "aws_secret_access_key"} <= fields.keys():
            assert self.proc.poll() is None and time.time() < deadline, self.log()
            time.sleep(0.1)
            text = cred_file.read_text() if cred_file.exists() else ""
            fields = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)
        self.root = Creds(fields["aws_access_key_id"], fields["aws_secret_access_key"])

    def client(self, service):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=self.root.access_key_id, aws_secret_access_key=self.root.secret_access_key,
            config=Config(retries={"max_attempts": 1}),
        )

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        # The whole session: `script` and the berth under it; then, whatever `script` did, no
        # berth of this data directory is left running.
        stop_process(self.proc, timeout=15, group=True)
        self._log.close()
        stop_berths_of(self.data_dir)


def berths_of(data_dir):
    """Pids of the berth processes running with `data_dir`."""
    return [pid for pid, cmdline in berth_processes() if str(data_dir) in cmdline]


def stop_berths_of(data_dir, timeout=15):
    """SIGTERM to each berth of `data_dir`, SIGKILL to any still there after `timeout` s; each one
    found is named on stderr (none should be: its parent stopped it)."""
    pids = berths_of(data_dir)
    for pid in pids:
        print(f"berth {pid} of {data_dir} outlived its parent: stopping it", file=sys.stderr)
    stop_pids(pids, timeout)


def run_private_app_on(up, registry):
    """Waits for `berth up`'s agent, runs the private image on it; returns the STOPPED task."""
    from botocore.exceptions import EndpointConnectionError

    ecs = up.client("ecs")

    def instances():
        # Until the agent registered: the server may not listen yet, nor the cluster exist.
        try:
            return ecs.list_container_instances(cluster="default")["containerInstanceArns"]
        except (EndpointConnectionError, ecs.exceptions.ClusterNotFoundException):
            return []

    deadline = time.time() + 30
    while not instances():
        assert up.proc.poll() is None and time.time() < deadline, up.log()
        time.sleep(0.2)
    arn = PrivateApp(up, registry, creds(REGISTRY_USER)).run(up, "default")
    deadline = time.time() + 90
    while True:
        t = ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]
        if t["lastStatus"] == "STOPPED":
            return t
        assert time.time() < deadline, up.log()
        time.sleep(0.3)


def test_berth_up_runs_server_and_agent_in_one_process(tmp_path, registry):
    up = UpProcess(tmp_path / "data")
    try:
        ecs = up.client("ecs")
        t = run_private_app_on(up, registry)
        assert_succeeded(t)
        assert REGISTRY_USER[1] not in up.log()
        # Without a terminal, pulls are reported as log lines.
        assert re.search(rf"image pulled.*image={re.escape(registry.image)}", up.log()), up.log()
        [instance] = ecs.list_container_instances(cluster="default")["containerInstanceArns"]
    finally:
        up.stop()
    # A restart re-registers the same container instance (kept in DATA_DIR/agent-instance).
    again = UpProcess(tmp_path / "data")
    try:
        ecs = again.client("ecs")
        deadline = time.time() + 30
        while "agent registered" not in again.log():
            assert again.proc.poll() is None and time.time() < deadline, again.log()
            time.sleep(0.2)
        assert ecs.list_container_instances(cluster="default")["containerInstanceArns"] == [instance]
    finally:
        again.stop()


def test_berth_up_draws_pull_progress_on_a_terminal(tmp_path, registry):
    remove_local_image(registry.image)  # a cold pull: layers to download
    up = UpProcess(tmp_path / "data", tty=True)
    try:
        assert_succeeded(run_private_app_on(up, registry))
        out = up.log()
        # The bar's last frame: the image, bytes of the total, and every layer done.
        done = re.search(rf"pulling {re.escape(registry.image)} \[=+\] ([0-9.]+ \w+)/([0-9.]+ \w+) 1/1 layers, done", out)
        assert done, out
        assert done.group(1) == done.group(2) and done.group(1) != "0 B", out
        assert REGISTRY_USER[1] not in out
    finally:
        up.stop()


def engine_auth_data(kind, registry, user):
    """ECS_ENGINE_AUTH_TYPE and _DATA of each form for `user` (TRAP_USER's password has '+'
    and '/' in standard base64)."""
    import base64

    name, password = user
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
    if kind == "docker":
        return "docker", {f"http://{registry.host}": {"username": name, "password": password, "email": "x@example.com"}}
    if kind == "dockercfg":
        return "dockercfg", {registry.host: {"auth": encoded, "email": "x"}}
    return "dockercfg", {"auths": {registry.host: {"auth": encoded}}}


def run_plain(berth, cluster, registry, agent):
    """A task without repositoryCredentials (and no execution role); returns it stopped."""
    ecs = berth.client("ecs")
    family = f"env-auth-{uuid.uuid4().hex[:8]}"
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "app", "image": registry.image, "memory": 64, "command": ["true"]}],
    )
    out = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert not out["failures"], out
    return wait_stopped(berth, cluster, out["tasks"][0]["taskArn"], agent)


@pytest.mark.parametrize("kind", ["docker", "dockercfg", "auths", "malformed", "none", "unknown"])
def test_engine_auth_from_the_agents_environment(berth, registry, agent_factory, kind):
    """R9: ECS_ENGINE_AUTH_TYPE / ECS_ENGINE_AUTH_DATA serve containers without
    repositoryCredentials (no execution role needed); without them the pull is refused. A
    malformed entry is skipped and an unknown type ignored, with warnings that carry no
    credential; the agent starts either way."""
    user, password = TRAP_USER
    cluster = f"c{uuid.uuid4().hex[:8]}"
    berth.client("ecs").create_cluster(clusterName=cluster)
    env = {}
    if kind in ("docker", "dockercfg", "auths"):
        auth_type, data = engine_auth_data(kind, registry, TRAP_USER)
        env = {"ECS_ENGINE_AUTH_TYPE": f" {auth_type} ", "ECS_ENGINE_AUTH_DATA": json.dumps(data)}
    elif kind == "malformed":
        auth_type, data = engine_auth_data("dockercfg", registry, TRAP_USER)
        data["bad.example.com"] = {"auth": f"not base64: {password}"}
        env = {"ECS_ENGINE_AUTH_TYPE": auth_type, "ECS_ENGINE_AUTH_DATA": json.dumps(data)}
    elif kind == "unknown":
        _, data = engine_auth_data("docker", registry, TRAP_USER)
        env = {"ECS_ENGINE_AUTH_TYPE": "basic", "ECS_ENGINE_AUTH_DATA": json.dumps(data)}
    agent = agent_factory(berth, cluster, env_extra=env)
    wait_for_instance(berth, cluster, agent)
    registry_image_gone(registry)
    t = run_plain(berth, cluster, registry, agent)
    if kind in ("none", "unknown"):
        assert t["stopCode"] == "TaskFailedToStart", t
        assert t["stoppedReason"].startswith("CannotPullContainerError: "), t
    else:
        assert_succeeded(t)
    if kind == "malformed":
        assert "bad.example.com" in agent.log() and "skipped" in agent.log()
    if kind == "unknown":
        assert "neither docker nor dockercfg" in agent.log()
    for log in (agent.log(), berth.log()):
        assert password not in log and user not in log


def registry_image_gone(registry):
    from docker_fixtures import remove_local_image

    remove_local_image(registry.image)


def test_engine_auth_file_is_reread_without_a_restart(berth, registry, agent_factory, tmp_path):
    """berth beyond the ECS agent: --engine-auth-file (ecs.config lines or the JSON alone) is
    re-read when it changes, so the next task uses the new credentials; SIGHUP re-reads it."""
    import signal

    cluster = f"c{uuid.uuid4().hex[:8]}"
    berth.client("ecs").create_cluster(clusterName=cluster)
    path = tmp_path / "ecs.config"

    def write_config(user):
        auth_type, data = engine_auth_data("docker", registry, user)
        path.write_text(f"ECS_CLUSTER={cluster}\nECS_ENGINE_AUTH_TYPE={auth_type}\nECS_ENGINE_AUTH_DATA={json.dumps(data)}\n")

    write_config((TRAP_USER[0], "not-the-password"))
    agent = agent_factory(berth, cluster, env_extra={"ECS_ENGINE_AUTH_FILE": str(path)})
    wait_for_instance(berth, cluster, agent)
    t = run_plain(berth, cluster, registry, agent)
    assert t["stopCode"] == "TaskFailedToStart" and t["stoppedReason"].startswith("CannotPullContainerError: "), t
    # Rotated in the file: the next task pulls, same agent process.
    write_config(TRAP_USER)
    assert_succeeded(run_plain(berth, cluster, registry, agent))
    # The JSON data alone (Docker's auths wrapper): a wrong password first, read as the file
    # changed, so the next task fails.
    wrong = (REGISTRY_USER[0], "x" * len(REGISTRY_USER[1]))
    path.write_text(json.dumps(engine_auth_data("auths", registry, wrong)[1]))
    t = run_plain(berth, cluster, registry, agent)
    assert t["stopCode"] == "TaskFailedToStart" and t["stoppedReason"].startswith("CannotPullContainerError: "), t
    reads = agent.log().count("engine auth file read")
    # Then the right one, written so that the file looks unchanged (same inode, size and
    # mtime): only SIGHUP makes the agent read it.
    before = os.stat(path)
    good = json.dumps(engine_auth_data("auths", registry, REGISTRY_USER)[1])
    assert len(good) == before.st_size
    with open(path, "r+") as f:
        f.write(good)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    t = run_plain(berth, cluster, registry, agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    assert agent.log().count("engine auth file read") == reads
    agent.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while agent.log().count("engine auth file read") == reads:
        assert agent.proc.poll() is None and time.time() < deadline, agent.log()
        time.sleep(0.1)
    assert_succeeded(run_plain(berth, cluster, registry, agent))
    log = agent.log()
    assert "SIGHUP" in log
    for secret in (TRAP_USER[1], REGISTRY_USER[1], "not-the-password", wrong[1]):
        assert secret not in log and secret not in berth.log()


def test_port_mappings_are_published_and_reported(berth, registry, agent_factory, tmp_path):
    import urllib.error
    import urllib.request

    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, creds(REGISTRY_USER))
    ecs.register_task_definition(
        family=app.family,
        executionRoleArn=app.role_arn,
        containerDefinitions=[
            {
                "name": "web",
                "image": registry.image,
                "memory": 64,
                "stopTimeout": 2,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "repositoryCredentials": {"credentialsParameter": app.secret_arn},
                "command": ["httpd", "-f", "-p", "8080", "-h", "/tmp"],
            }
        ],
    )
    arn = app.run(berth, cluster)
    t = wait_running(berth, cluster, arn, agent)
    bindings = t["containers"][0]["networkBindings"]
    assert bindings and all(b["containerPort"] == 8080 and b["protocol"] == "tcp" for b in bindings), t
    port = bindings[0]["hostPort"]
    assert port > 0
    deadline = time.time() + 15
    while True:
        try:
            status = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status
        except urllib.error.HTTPError as e:
            status = e.code
        except (urllib.error.URLError, ConnectionError, OSError):
            status = None
        if status is not None or time.time() > deadline:
            break
        time.sleep(0.2)
    assert status in (200, 403, 404), status
    ecs.stop_task(cluster=cluster, task=arn)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["stopCode"] == "UserInitiated", t


def test_cross_account_secret_by_full_arn_only(berth, registry, agent_factory):
    """A secret in account B, under B's customer-managed key, read by A's execution role:
    B's resource policy, B's key policy and A's identity policy all allow it. By full ARN the
    pull works; by name the secret is looked up in A's own account and is not found."""
    from helpers import other_account

    other = "111122223333"
    b_creds = other_account(berth, other)
    account = "000000000000"
    b_kms, b_sm = berth.client("kms", creds=b_creds), berth.client("secretsmanager", creds=b_creds)
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{other}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "AllowAccountA", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:Decrypt", "Resource": "*"},
        ],
    }
    key_arn = b_kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    secret_arn = b_sm.create_secret(
        Name="shared-registry", KmsKeyId=key_arn, SecretString=json.dumps(creds(REGISTRY_USER))
    )["ARN"]
    b_sm.put_resource_policy(SecretId=secret_arn, ResourcePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    }))
    iam, ecs = berth.client("iam"), berth.client("ecs")
    iam.create_role(RoleName="cross-exec", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="cross-exec", PolicyName="read-b", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
                       "Resource": [secret_arn, key_arn]}],
    }))
    cluster, agent = start(berth, agent_factory)
    for family, reference in [("by-arn", secret_arn), ("by-name", "shared-registry")]:
        ecs.register_task_definition(
            family=family,
            executionRoleArn="cross-exec",
            containerDefinitions=[{
                "name": "app", "image": registry.image, "memory": 64, "command": ["sh", "-c", "echo hi"],
                "repositoryCredentials": {"credentialsParameter": reference},
            }],
        )
    ok = ecs.run_task(cluster=cluster, taskDefinition="by-arn")["tasks"][0]["taskArn"]
    assert_succeeded(wait_stopped(berth, cluster, ok, agent))
    bad = ecs.run_task(cluster=cluster, taskDefinition="by-name")["tasks"][0]["taskArn"]
    t = wait_stopped(berth, cluster, bad, agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    # The name is looked up in A's own account, where the role may read nothing of that name.
    assert t["stoppedReason"].startswith("Asm fetching secret from the service for shared-registry: "), t
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in t["stoppedReason"], t


def test_server_stops_at_once_while_an_agent_long_polls(berth, agent_factory):
    """SIGTERM answers the agents' waiting polls: the server does not sit out a 20 s long poll
    (nor the grace period)."""
    cluster, agent = start(berth, agent_factory)
    answered = wait_until_server_holds_a_poll(berth, agent.proc.pid, alive=agent.proc)
    started = time.time()
    berth.proc.terminate()
    berth.proc.wait(timeout=15)
    took = time.time() - started
    assert took < 1.5, f"the server took {took:.1f}s to stop:\n{berth.log()}"
    assert berth.proc.returncode == 0, berth.log()
    assert "still open after the grace period" not in berth.log()
    # The poll the agent was waiting in was answered at the shutdown, after waiting.
    waited = [int(us) for us in re.findall(r"DEBUG berth_api::server: request status=200 elapsed_us=(\d+)",
                                            berth.log())[answered:]]
    assert any(us >= 50_000 for us in waited), (waited, berth.log())

