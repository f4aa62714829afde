"""Agent faults end to end (issue 9, reliability): the registry down, a wrong registry password,
dockerd restarted while the task's container runs, the registry secret deleted between RunTask
and the pull, the execution role deleted between RunTask and the hand-out to the agent. Each
ends in STOPPED with ECS's stopCode and reason, leaves no container labelled for the task, and
the same agent then runs a good task to completion. The last test scans everything the others
left (data dir, logs, DescribeTasks / DescribeTaskDefinition output) for secret values.

One `berth server` serves the whole module, so the secrecy scan sees what every fault left.
The dockerd restart runs against a private dockerd (own socket, data and exec roots, pid file,
bridge and subnet, no iptables changes): the shared daemon is never restarted.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import Berth, free_port, stop_process, store_bytes
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import AgentProcess, PrivateApp, assert_succeeded, creds, wait_for_instance, wait_running

TASK_LABEL = "com.amazonaws.ecs.task-arn"
WRONG_PASSWORD = "wrong-Registry-Pass-7f3a"

# What the faults left, for the secrecy scan: (cluster, task ARN), families, agent logs.
SEEN = {"tasks": [], "families": set(), "logs": []}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    b = Berth(tmp_path_factory.mktemp("faults") / "data")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def agent_logs(tmp_path_factory):
    # (module-wide: a passed test's tmp_path is removed, and the secrecy scan reads every log)
    return tmp_path_factory.mktemp("agent-logs")


@pytest.fixture
def agents(agent_logs):
    started = []

    def start(b, cluster, env_extra=None):
        log = agent_logs / f"agent-{cluster}-{len(started)}.log"
        a = AgentProcess(b, cluster, log, env_extra=env_extra)
        started.append(a)
        SEEN["logs"].append(log)
        return a

    yield start
    for a in started:
        a.stop()


def new_cluster(b):
    cluster = f"f{uuid.uuid4().hex[:8]}"
    b.client("ecs").create_cluster(clusterName=cluster)
    return cluster


def run(b, cluster, app):
    arn = app.run(b, cluster)
    SEEN["tasks"].append((cluster, arn))
    SEEN["families"].add(app.family)
    return arn


def wait_stopped(b, cluster, arn, agent, timeout=60):
    ecs = b.client("ecs")
    deadline = time.time() + timeout
    while True:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if t["lastStatus"] == "STOPPED":
            # (a failed start's task and container reasons come in one report: the task is
            # never seen STOPPED without its container's reason)
            return t
        if time.time() > deadline:
            raise AssertionError(f"task not STOPPED after {timeout}s: {t}\nagent log:\n{agent.log()}")
        time.sleep(0.3)


def task_containers(arn, docker_host=None):
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    out = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label={TASK_LABEL}={arn}"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    ).stdout
    return out.split()


# How a pull's error reaches the task: the ECS agent's prefix, then the Engine API's error
# answer as the Docker client shows it.
DAEMON_ERROR = "CannotPullContainerError: Error response from daemon: "


def assert_stopped_and_clean(t, stop_code, docker_host=None):
    assert t["lastStatus"] == "STOPPED", t
    assert t["stopCode"] == stop_code, t
    assert all(c["lastStatus"] == "STOPPED" for c in t["containers"]), t
    # Containers are removed before the task is reported STOPPED.
    assert task_containers(t["taskArn"], docker_host) == [], t


def assert_healthy(b, cluster, agent, app):
    """The same agent process runs a good task to completion."""
    assert agent.proc.poll() is None, agent.log()
    arn = run(b, cluster, app)
    assert_succeeded(wait_stopped(b, cluster, arn, agent))
    assert agent.proc.poll() is None, agent.log()


class Image:
    def __init__(self, image):
        self.image = image


class OwnRegistry:
    """A second registry process serving a copy of the session registry's storage, with the
    same htpasswd, on its own port: this one can be stopped."""

    def __init__(self, registry, work: Path):
        assert registry.root is not None
        self.host = f"127.0.0.1:{free_port()}"
        self.image = f"{self.host}/app:1"
        shutil.copytree(registry.root / "data", work / "data")
        config = work / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {work / 'data'}\n"
            f"http:\n  addr: {self.host}\n"
            f"auth:\n  htpasswd:\n    realm: berth-test\n    path: {registry.root / 'htpasswd'}\n"
        )
        self._log = open(work / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while self.status() != 401:
            assert self.proc.poll() is None and time.time() < deadline, (work / "registry.log").read_text()
            time.sleep(0.1)

    def status(self):
        try:
            return urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError, OSError):
            return None

    def stop(self):
        stop_process(self.proc)
        self._log.close()


def test_registry_down(server, registry, agents, tmp_path):
    own = OwnRegistry(registry, tmp_path / "registry")
    try:
        cluster = new_cluster(server)
        agent = agents(server, cluster)
        wait_for_instance(server, cluster, agent)
        app = PrivateApp(server, Image(own.image), creds(REGISTRY_USER))
        own.stop()
        assert own.status() is None
        started = time.time()
        arn = run(server, cluster, app)
        t = wait_stopped(server, cluster, arn, agent)
        assert_stopped_and_clean(t, "TaskFailedToStart")
        # The Engine API's error answer (its `message`, as the ECS agent passes it on after
        # `CannotPullContainerError: `) names the registry and the refused connection; how the
        # daemon words the rest (Go's URL error quoting, `dial tcp`) is its version's own.
        reason = t["stoppedReason"]
        assert reason.startswith(DAEMON_ERROR), reason
        assert own.host in reason and "connection refused" in reason, reason
        assert t["containers"][0]["reason"] == reason, t
        assert "exitCode" not in t["containers"][0], t
        # Not an authentication failure: the agent tried 5 times (1.1 s, 2.2 s, 4.4 s, 5 s apart).
        assert agent.log().count("pull failed; retrying") == 4, agent.log()
        assert time.time() - started >= 12
        assert_healthy(server, cluster, agent, PrivateApp(server, registry, creds(REGISTRY_USER)))
    finally:
        own.stop()


def test_registry_wrong_password(server, registry, agents):
    cluster = new_cluster(server)
    agent = agents(server, cluster)
    wait_for_instance(server, cluster, agent)
    app = PrivateApp(server, registry, {"username": REGISTRY_USER[0], "password": WRONG_PASSWORD})
    arn = run(server, cluster, app)
    t = wait_stopped(server, cluster, arn, agent)
    assert_stopped_and_clean(t, "TaskFailedToStart")
    reason = t["stoppedReason"]
    # Distribution answers 401 (error code UNAUTHORIZED) to the wrong password; the Engine
    # API's error answer says so (dockerd 20.10: `unauthorized: authentication required`;
    # later versions add the URL or word it `401 Unauthorized`), and the ECS agent passes it on
    # after `CannotPullContainerError: `.
    assert reason.startswith(DAEMON_ERROR), reason
    assert "unauthorized" in reason.lower(), reason
    assert "connection refused" not in reason, reason
    assert t["containers"][0]["reason"] == reason, t
    assert "pull failed; retrying" not in agent.log()
    assert_healthy(server, cluster, agent, PrivateApp(server, registry, creds(REGISTRY_USER)))


class PrivateDockerd:
    """A dockerd of the test's own: its socket, data root, exec root (with its own containerd),
    pid file and a bridge on a subnet no route uses; iptables untouched. Its containers' names
    and ids never meet the shared daemon's."""

    def __init__(self):
        if os.geteuid() != 0:
            pytest.fail("the dockerd-restart test starts a private dockerd: it must run as root")
        if shutil.which("dockerd") is None or shutil.which("ip") is None:
            pytest.fail("dockerd and ip are needed: run scripts/install-test-deps")
        self.work = Path(tempfile.mkdtemp(prefix="berth-pd-"))
        self.host = f"unix://{self.work / 'docker.sock'}"
        self.bridge = f"bpd{uuid.uuid4().hex[:8]}"
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
        for _ in range(100):
            net = f"10.{200 + int.from_bytes(os.urandom(1), 'big') % 50}.{int.from_bytes(os.urandom(1), 'big')}"
            if f"{net}." not in routes:
                break
        subprocess.run(["ip", "link", "add", "name", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{net}.1/24", "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        self.proc = None
        self.log_path = self.work / "dockerd.log"
        self.start()

    def start(self):
        w = self.work
        args = [
            "dockerd", "--host", self.host, "--data-root", str(w / "data"), "--exec-root", str(w / "exec"),
            "--pidfile", str(w / "docker.pid"), "--bridge", self.bridge, "--iptables=false", "--ip-masq=false",
            "--ip-forward=false", "--storage-driver", "vfs",
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not self.answers():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"private dockerd did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def answers(self):
        p = subprocess.run(["docker", "-H", self.host, "version"], capture_output=True, timeout=30)
        return p.returncode == 0

    def stop_daemon(self):
        if self.proc:
            stop_process(self.proc, timeout=40)

    def restart(self):
        self.stop_daemon()
        self.start()

    def crash(self):
        """dockerd and its containerd SIGKILLed, then dockerd started again: the containers'
        shims outlive them, and the new daemon (no live-restore) kills what still runs."""
        pid_file = self.work / "exec" / "containerd" / "containerd.pid"
        containerd = int(pid_file.read_text().strip())
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        os.kill(containerd, signal.SIGKILL)
        deadline = time.time() + 30
        while Path(f"/proc/{containerd}").exists() and not _zombie(containerd):
            assert time.time() < deadline, "the private containerd did not die"
            time.sleep(0.1)
        # A zombie keeps its pid alive for `kill -0`: the new dockerd must not mistake it for
        # a running containerd.
        pid_file.unlink(missing_ok=True)
        self.start()

    def close(self):
        self.stop_daemon()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture
def private_dockerd(docker_ready):
    d = PrivateDockerd()
    yield d
    d.close()


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_dockerd_restarted_mid_task(server, registry, agents, private_dockerd, how):
    """dockerd restarted while the task's only, essential container runs, without
    live-restore: `restart` (SIGTERM, then started again) kills the container on the daemon's
    way down; `crash` (dockerd and containerd SIGKILLed) breaks the agent's wait, and the new
    daemon kills the container on its way up. Either way ECS sees the essential container exit
    with Docker's code and stops the task. The agent outlives the daemon, reconnects, removes
    the container and runs the next task."""
    cluster = new_cluster(server)
    agent = agents(server, cluster, env_extra={"DOCKER_HOST": private_dockerd.host})
    wait_for_instance(server, cluster, agent)
    app = PrivateApp(server, registry, creds(REGISTRY_USER), command=("sh", "-c", "sleep 300"))
    arn = run(server, cluster, app)
    t = wait_running(server, cluster, arn, agent)
    [container] = task_containers(arn, private_dockerd.host)
    if how == "restart":
        private_dockerd.restart()
    else:
        private_dockerd.crash()
    t = wait_stopped(server, cluster, arn, agent)
    assert_stopped_and_clean(t, "EssentialContainerExited", private_dockerd.host)
    assert t["stoppedReason"] == "Essential container in task exited", t
    # busybox sh as PID 1 ignores SIGTERM: dockerd's shutdown SIGKILLs it.
    assert t["containers"][0]["exitCode"] == 137, t
    assert container not in task_containers(arn, private_dockerd.host)
    if how == "crash":
        # The wait broke with the daemon; the exit code came from inspecting after reconnecting.
        assert "the wait for a container broke" in agent.log(), agent.log()
    assert_healthy(server, cluster, agent, PrivateApp(server, registry, creds(REGISTRY_USER)))


def start_task_while_agent_is_down(server, agents, app, tmp_path):
    """Registers the instance with an agent that keeps its ARN in a file, stops the agent, runs
    the task (accepted by RunTask, placed, not handed out), and returns (cluster, arn, restart)
    where restart() starts the agent again on the same instance."""
    cluster = new_cluster(server)
    env = {"BERTH_AGENT_INSTANCE_FILE": str(tmp_path / "instance")}
    first = agents(server, cluster, env_extra=env)
    instance = wait_for_instance(server, cluster, first)
    first.stop()
    arn = run(server, cluster, app)
    t = server.client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    assert t["containerInstanceArn"] == instance and t["lastStatus"] != "STOPPED", t

    def restart():
        again = agents(server, cluster, env_extra=env)
        wait_for_instance(server, cluster, again)
        assert server.client("ecs").list_container_instances(cluster=cluster)["containerInstanceArns"] == [instance]
        return again

    return cluster, arn, restart


@pytest.mark.parametrize("how", ["force", "recovery-window"])
def test_secret_deleted_between_run_task_and_pull(server, registry, agents, tmp_path, how):
    app = PrivateApp(server, registry, creds(REGISTRY_USER))
    cluster, arn, restart = start_task_while_agent_is_down(server, agents, app, tmp_path)
    sm = server.client("secretsmanager")
    if how == "force":
        sm.delete_secret(SecretId=app.secret_arn, ForceDeleteWithoutRecovery=True)
        error = "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    else:
        sm.delete_secret(SecretId=app.secret_arn, RecoveryWindowInDays=7)
        error = (
            "InvalidRequestException: You can't perform this operation on the secret because it was "
            "marked for deletion."
        )
    agent = restart()
    t = wait_stopped(server, cluster, arn, agent)
    assert_stopped_and_clean(t, "TaskFailedToStart")
    # The ECS agent's asm resource words, with the SDK's error (whitespace collapsed).
    prefix = f"Asm fetching secret from the service for {app.secret_arn}: {error} status code: 400, request id: "
    assert t["stoppedReason"].startswith(prefix), t
    assert "pullStartedAt" not in t, t
    assert_healthy(server, cluster, agent, PrivateApp(server, registry, creds(REGISTRY_USER)))


def test_execution_role_deleted_before_hand_out(server, registry, agents, tmp_path):
    app = PrivateApp(server, registry, creds(REGISTRY_USER))
    cluster, arn, restart = start_task_while_agent_is_down(server, agents, app, tmp_path)
    iam = server.client("iam")
    role_name = app.role_arn.rsplit("/", 1)[1]
    iam.delete_role_policy(RoleName=role_name, PolicyName="private-registry")
    iam.delete_role(RoleName=role_name)
    agent = restart()
    t = wait_stopped(server, cluster, arn, agent)
    assert_stopped_and_clean(t, "TaskFailedToStart")
    assert t["stoppedReason"] == (
        f"ECS was unable to assume the role '{app.role_arn}' that was provided for this task. Please verify "
        "that the role being passed has the proper trust relationship and permissions and that your IAM user "
        "has permissions to pass this role."
    ), t
    assert "pullStartedAt" not in t, t
    # The task never reached the agent.
    assert arn not in agent.log()
    assert_healthy(server, cluster, agent, PrivateApp(server, registry, creds(REGISTRY_USER)))


def test_no_secret_value_anywhere_after_the_faults(server):
    """After the faults above: no registry password (right or wrong) in the data dir, berth's
    log, any agent's log, or any DescribeTasks / DescribeTaskDefinition answer."""
    assert len(SEEN["tasks"]) >= 10 and SEEN["logs"], "run the whole module: the fault tests feed this scan"
    secrets = [REGISTRY_USER[1], WRONG_PASSWORD]
    files = [p for p in server.data_dir.rglob("*") if p.is_file()]
    stored = store_bytes(server.data_dir)
    for path, data in [(p, p.read_bytes()) for p in files] + [("the store", stored)]:
        for s in secrets:
            assert s.encode() not in data, path
    logs = [server.log()] + [p.read_text(errors="replace") for p in SEEN["logs"]]
    for text in logs:
        for s in secrets:
            assert s not in text
    ecs = server.client("ecs")
    for cluster, arn in SEEN["tasks"]:
        out = json.dumps(ecs.describe_tasks(cluster=cluster, tasks=[arn]), default=str)
        assert arn in out
        for s in secrets:
            assert s not in out
    for family in SEEN["families"]:
        out = json.dumps(ecs.describe_task_definition(taskDefinition=family), default=str)
        assert family in out
        for s in secrets:
            assert s not in out
