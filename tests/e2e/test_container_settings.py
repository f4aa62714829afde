"""The container settings berth's docs say it honours, seen from inside the running container
(its output) or with `docker inspect` where the container cannot see them: for an EC2 task run
by `berth agent` and a FARGATE task run by the server. One task per launch type carries every
setting at once.

The task's essential container `app` prints what it sees (its argv, `pwd`, `id`, its
environment, its cgroup's CPU shares and memory limits), starts busybox `httpd` on 8080 and
waits; the test reads its `docker logs` and `docker inspect`s it while it runs (berth removes a
task's containers as the task stops), then sends it SIGUSR1, on which it exits 7. A
non-essential container `side` exits 3 at once, which must not stop the task; another,
`linger`, runs until the task stops it.
"""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import PrivateApp, agent_factory, start, wait_stopped  # noqa: F401
from test_fargate import NET, FargateApp, wait_status
from test_fargate import creds as fargate_creds

MIB = 1024 * 1024

SCRIPT = r"""
trap 'echo got-usr1; exit 7' USR1
trap 'echo got-term; exit 143' TERM
echo "argv0=$0"
for a in "$@"; do echo "arg=$a"; done
echo "pwd=$(pwd)"
echo "uid=$(busybox id -u)"
echo "gid=$(busybox id -g)"
for f in cpu/cpu.shares memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes cpu.weight memory.max memory.low; do
  if [ -r /sys/fs/cgroup/$f ]; then echo "cgroup:$f=$(cat /sys/fs/cgroup/$f)"; fi
done
echo "--env--"
env
echo "--end env--"
httpd -p 8080 -h /
echo "--ready--"
while :; do sleep 0.1; done
"""

ENVIRONMENT = [
    {"name": "GREETING", "value": "hello world"},
    {"name": "WITH_EQUALS", "value": "a=b=c"},
    {"name": "EMPTY", "value": ""},
]


def app_container(auth, cpu, memory, reservation, **extra):
    return {
        "name": "app", "image": None, "essential": True, "repositoryCredentials": auth,
        "entryPoint": ["/bin/sh", "-c", SCRIPT, "berth-argv0"],
        "command": ["first arg", "second"],
        "workingDirectory": "/srv/berth-wd",
        "user": "1234:5678",
        "environment": ENVIRONMENT,
        "cpu": cpu, "memory": memory, "memoryReservation": reservation,
        "stopTimeout": 2,
        **extra,
    }


def side_container(auth, **extra):
    # (an entryPoint, so that the app's command is the only one)
    return {"name": "side", "image": None, "essential": False, "repositoryCredentials": auth,
            "entryPoint": ["sh", "-c", "exit 3"], **extra}


def linger_container(auth, **extra):
    """Non-essential, runs until stopped: only the essential container's exit stops the task."""
    return {"name": "linger", "image": None, "essential": False, "repositoryCredentials": auth, "stopTimeout": 2,
            "entryPoint": ["sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.1; done"], **extra}


@pytest.fixture
def leftovers():
    """Task ARNs whose containers and networks are removed after the test (and after berth
    stopped: this fixture comes first): a failing test leaves its tasks running otherwise. The
    task's containers are found by name too (`...-<task id>`), for a run without labels."""
    arns = []
    yield arns
    for arn in arns:
        task_id = arn.rsplit("/", 1)[1]
        ids = set()
        for flt in (f"label=com.amazonaws.ecs.task-arn={arn}", f"name={task_id}"):
            ids |= set(subprocess.run(["docker", "ps", "-aq", "--filter", flt], capture_output=True, text=True,
                                      timeout=60).stdout.split())
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)
        subprocess.run(["docker", "network", "rm", f"berth-task-{task_id}"], capture_output=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=True).stdout


def not_stopped(task):
    """Fails at once, with the task, when `task()` (DescribeTasks' task) is STOPPED."""
    t = task()
    assert t["lastStatus"] != "STOPPED", t
    return t


def container_of(arn, name, task, timeout=60):
    """The id of the container labelled with task `arn` and container name `name`, once it
    exists."""
    deadline = time.time() + timeout
    while True:
        out = docker("ps", "-aq", "--no-trunc", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}",
                     "--filter", f"label=com.amazonaws.ecs.container-name={name}").split()
        if out or time.time() > deadline:
            break
        not_stopped(task)
        time.sleep(0.2)
    assert len(out) == 1, (arn, name, out)
    return out[0]


def inspect(cid):
    return json.loads(docker("inspect", cid))[0]


def logs_until_ready(cid, task, timeout=60):
    """The container's output once it printed `--ready--`."""
    deadline = time.time() + timeout
    while True:
        p = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        if "--ready--" in out:
            return out
        t = not_stopped(task)
        assert time.time() < deadline, f"the container did not get ready: {out}\n{t}"
        time.sleep(0.2)


def parse(out):
    """(argv, key=value lines before the environment, the environment)."""
    head, rest = out.split("--env--\n", 1)
    env_text = rest.split("--end env--", 1)[0]
    env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    fields, args = {}, []
    for line in head.splitlines():
        key, _, value = line.partition("=")
        if key == "arg":
            args.append(value)
        elif _:
            fields[key] = value
    return fields, args, env


def assert_seen_inside(out, cpu, memory, reservation):
    fields, args, env = parse(out)
    # entryPoint, with command after it as its arguments.
    assert fields["argv0"] == "berth-argv0", out
    assert args == ["first arg", "second"], out
    assert fields["pwd"] == "/srv/berth-wd", out
    assert (fields["uid"], fields["gid"]) == ("1234", "5678"), out
    assert env.get("GREETING") == "hello world", env
    assert env.get("WITH_EQUALS") == "a=b=c", env
    assert env.get("EMPTY") == "", env
    # The cgroup (v1 or v2) the container runs in.
    if "cgroup:cpu/cpu.shares" in fields:
        assert fields["cgroup:cpu/cpu.shares"] == str(cpu), out
        assert fields["cgroup:memory/memory.limit_in_bytes"] == str(memory * MIB), out
        assert fields["cgroup:memory/memory.soft_limit_in_bytes"] == str(reservation * MIB), out
    else:
        assert fields["cgroup:cpu.weight"] == str(1 + ((cpu - 2) * 9999) // 262142), out
        assert fields["cgroup:memory.max"] == str(memory * MIB), out
        assert fields["cgroup:memory.low"] == str(reservation * MIB), out


def assert_inspected(c, arn, name, cluster, cpu, memory, reservation):
    host = c["HostConfig"]
    assert host["CpuShares"] == cpu, host
    assert host["Memory"] == memory * MIB, host
    assert host["MemoryReservation"] == reservation * MIB, host
    config = c["Config"]
    assert config["Entrypoint"] == ["/bin/sh", "-c", SCRIPT, "berth-argv0"], config
    assert config["Cmd"] == ["first arg", "second"], config
    assert config["WorkingDir"] == "/srv/berth-wd" and config["User"] == "1234:5678", config
    labels = config["Labels"]
    assert labels["com.amazonaws.ecs.task-arn"] == arn, labels
    assert labels["com.amazonaws.ecs.container-name"] == name, labels
    assert labels["com.amazonaws.ecs.cluster"] == cluster, labels


def http_status(url, timeout=15):
    deadline = time.time() + timeout
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2).status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.time() > deadline:
                return None
            time.sleep(0.2)


def wait_side_exited(ecs, cluster, arn, timeout=60):
    """The task once DescribeTasks shows `side` STOPPED; the task itself must stay RUNNING."""
    deadline = time.time() + timeout
    while True:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        side = next(c for c in t["containers"] if c["name"] == "side")
        if side["lastStatus"] == "STOPPED":
            return t
        assert t["lastStatus"] != "STOPPED" and time.time() < deadline, t
        time.sleep(0.2)


def finish(ecs, cluster, arn, app_id, stopped):
    """A non-essential exit leaves the task running; the essential one's exit stops it (and
    `linger` with it), with every exit code."""
    t = wait_side_exited(ecs, cluster, arn)
    assert t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING", t
    assert next(c for c in t["containers"] if c["name"] == "side")["exitCode"] == 3, t
    assert inspect(app_id)["State"]["Running"], t
    docker("kill", "--signal", "USR1", app_id)
    t = stopped()
    codes = {c["name"]: c.get("exitCode") for c in t["containers"]}
    assert codes == {"app": 7, "side": 3, "linger": 143}, t
    assert t["stopCode"] == "EssentialContainerExited", t
    assert t["stoppedReason"] == "Essential container in task exited", t


def test_ec2_container_settings_are_honoured(leftovers, berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    cpu, memory, reservation = 512, 96, 48
    static = free_port()
    main = app_container(auth, cpu, memory, reservation, portMappings=[
        {"containerPort": 8080, "hostPort": static, "protocol": "tcp"},
        {"containerPort": 9090, "protocol": "udp"},
    ])
    containers = [main, side_container(auth, memoryReservation=16), linger_container(auth, memoryReservation=16)]
    for c in containers:
        c["image"] = registry.image
    family = app.family + "-settings"
    ecs.register_task_definition(family=family, executionRoleArn=app.role_arn, containerDefinitions=containers)
    out = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="EC2")
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    task = lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # noqa: E731

    app_id = container_of(arn, "app", task)
    assert_seen_inside(logs_until_ready(app_id, task), cpu, memory, reservation)
    c = inspect(app_id)
    assert_inspected(c, arn, "app", cluster, cpu, memory, reservation)
    # portMappings: published on the host, the missing hostPort picked by Docker, both
    # reported as the container's networkBindings.
    bindings = c["HostConfig"]["PortBindings"] or {}
    assert [b["HostPort"] for b in bindings.get("8080/tcp") or []] == [str(static)], bindings
    assert [b["HostPort"] for b in bindings.get("9090/udp") or []] in ([""], [None]), bindings
    published = c["NetworkSettings"]["Ports"] or {}
    udp = {int(b["HostPort"]) for b in published.get("9090/udp") or []}
    assert udp and 0 not in udp, published
    assert http_status(f"http://127.0.0.1:{static}/") in (200, 403, 404)
    deadline = time.time() + 30
    while True:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        reported = next(x for x in t["containers"] if x["name"] == "app").get("networkBindings", [])
        if reported or time.time() > deadline:
            break
        time.sleep(0.2)
    seen = {(b["containerPort"], b["hostPort"], b["protocol"]) for b in reported}
    assert (8080, static, "tcp") in seen, reported
    assert {p for (cp, p, proto) in seen if cp == 9090 and proto == "udp"} <= udp, reported
    assert any(cp == 9090 and proto == "udp" for (cp, _, proto) in seen), reported

    finish(ecs, cluster, arn, app_id, lambda: wait_stopped(berth, cluster, arn, agent))


def test_fargate_container_settings_are_honoured(leftovers, berth, registry):
    ecs = berth.client("ecs")
    app = FargateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    cpu, memory, reservation, task_memory = 192, 96, 48, 512
    main = app_container(auth, cpu, memory, reservation, portMappings=[{"containerPort": 8080, "protocol": "tcp"}])
    containers = [main, side_container(auth), linger_container(auth)]
    for c in containers:
        c["image"] = registry.image
    family = app.family + "-settings"
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory=str(task_memory), executionRoleArn=app.role_arn, containerDefinitions=containers,
    )
    out = ecs.run_task(taskDefinition=family, launchType="FARGATE", networkConfiguration=NET)
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    cluster = arn.split("/")[1]
    task = lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # noqa: E731

    t = wait_status(berth, arn, "RUNNING")
    app_id = container_of(arn, "app", task)
    assert_seen_inside(logs_until_ready(app_id, task), cpu, memory, reservation)
    c = inspect(app_id)
    assert_inspected(c, arn, "app", "default", cpu, memory, reservation)
    # A container without its own memory gets the task's as its limit.
    assert inspect(container_of(arn, "side", task))["HostConfig"]["Memory"] == task_memory * MIB
    # No ports are published on the host; the task is reachable at its address.
    assert not c["HostConfig"].get("PortBindings"), c["HostConfig"]
    ip = next(x for x in t["containers"] if x["name"] == "app")["networkInterfaces"][0]["privateIpv4Address"]
    assert http_status(f"http://{ip}:8080/") in (200, 403, 404)

    finish(ecs, "default", arn, app_id, lambda: wait_status(berth, arn, "STOPPED"))


@pytest.mark.parametrize("launch_type", ["EC2", "FARGATE"])
def test_stop_timeout_is_the_grace_before_sigkill(leftovers, berth, registry, agent_factory, launch_type):
    """StopTask sends SIGTERM, then SIGKILL after the container's `stopTimeout`: a container
    that ignores SIGTERM (a shell as PID 1 without a trap) stops after about 3 s, not the
    default 30 s, and not at once."""
    ecs = berth.client("ecs")
    grace = 3
    container = {"name": "app", "image": registry.image, "essential": True, "stopTimeout": grace,
                 "command": ["sh", "-c", "echo --ready--; while :; do sleep 0.1; done"]}
    if launch_type == "EC2":
        cluster, agent = start(berth, agent_factory)
        app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
        container.update(memory=32, repositoryCredentials={"credentialsParameter": app.secret_arn})
        ecs.register_task_definition(family=app.family + "-stop", executionRoleArn=app.role_arn,
                                     containerDefinitions=[container])
        out = ecs.run_task(cluster=cluster, taskDefinition=app.family + "-stop", launchType="EC2")
        stopped = lambda: wait_stopped(berth, cluster, arn, agent)  # noqa: E731
    else:
        cluster = "default"
        app = FargateApp(berth, registry, fargate_creds(REGISTRY_USER))
        container.update(repositoryCredentials={"credentialsParameter": app.secret_arn})
        ecs.register_task_definition(
            family=app.family + "-stop", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=app.role_arn, containerDefinitions=[container])
        out = ecs.run_task(taskDefinition=app.family + "-stop", launchType="FARGATE", networkConfiguration=NET)
        stopped = lambda: wait_status(berth, arn, "STOPPED")  # noqa: E731
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    task = lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # noqa: E731
    logs_until_ready(container_of(arn, "app", task), task)
    began = time.time()
    ecs.stop_task(cluster=cluster, task=arn, reason="grace")
    t = stopped()
    took = time.time() - began
    assert t["containers"][0]["exitCode"] == 137, t
    assert grace - 0.5 <= took < grace + 15, took
