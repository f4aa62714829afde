"""Task IAM roles and the task endpoint on 169.254.170.2, end to end: `berth up` (server, agent
and Fargate capacity in one process) on the local Docker Engine. A container of a task with a
`taskRoleArn` fetches its role's credentials from 169.254.170.2 with busybox `wget`; the test
signs with them against berth; the task metadata endpoint answers with the task and Docker's
numbers; nothing berth added to the host's network is left once it stops."""

import ipaddress
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import REGION
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import UpProcess, agent_factory, task_containers  # noqa: F401

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NET = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "ENABLED"}}

# What each task's container prints (stdout), one marked line per fetch, then it waits.
SCRIPT = (
    'echo "ENV_CREDS=$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; '
    'echo "ENV_API=$AWS_ENDPOINT_URL"; '
    'echo "ENV_META=$ECS_CONTAINER_METADATA_URI_V4"; '
    'echo "ENV_FULL=$AWS_CONTAINER_CREDENTIALS_FULL_URI"; '
    'U=${AWS_CONTAINER_CREDENTIALS_FULL_URI:-http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}; '
    'echo "CREDS=$(wget -q -O - $U 2>&1)"; '
    'echo "TASK=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/task 2>&1)"; '
    'echo "SELF=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4 2>&1)"; '
    'echo "STATS=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/stats 2>&1)"; '
    'echo "TSTATS=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/task/stats 2>&1)"; '
    'echo "TWT=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/taskWithTags 2>&1)"; '
    'echo "V3TASK=$(wget -q -O - $ECS_CONTAINER_METADATA_URI/task 2>&1)"; '
    'echo "V3STATS=$(wget -q -O - $ECS_CONTAINER_METADATA_URI/stats 2>&1)"; '
    'echo "API=$(wget -q -O - $AWS_ENDPOINT_URL/_berth/health 2>&1)"; '
    'if [ -n "$OTHER_URL" ]; then echo "OTHER=$(wget -q -O - $OTHER_URL 2>&1)"; fi; '
    "echo DONE; sleep 600"
)


TASK_TAGS = [{"key": "team", "value": "berth"}]


def address_on_host():
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "to", "169.254.170.2/32"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    link = subprocess.run(["ip", "-o", "link", "show", "dev", "berth-ecs0"], capture_output=True, text=True, timeout=10)
    return out.strip() or (link.stdout.strip() if link.returncode == 0 else "")


def _listening_rows():
    """/proc/net/tcp rows of sockets listening at 169.254.170.2 (state 0A is LISTEN)."""
    want = "02AAFEA9"
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [r for r in rows if r[1].split(":")[0] == want and r[3] == "0A"]


def listeners_on_address():
    """Ports some process listens on at 169.254.170.2."""
    return [int(r[1].split(":")[1], 16) for r in _listening_rows()]


def holders_of_address():
    """The processes (pid and command line) whose sockets listen at 169.254.170.2, to name them
    when the address is taken."""
    inodes = {f"socket:[{r[9]}]" for r in _listening_rows()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {command}")
        except OSError:
            continue
    return found


def leave_berths_address():
    """Puts 169.254.170.2 on lo with berth's label, as a berth killed before it cleaned up leaves it."""
    subprocess.run(["ip", "addr", "add", "169.254.170.2/32", "dev", "lo", "label", "lo:berth"],
                   check=True, capture_output=True, timeout=10)


def no_address_on_host():
    """The host as a test of the address needs it: 169.254.170.2 absent. A berth killed before
    its clean stop (an earlier test's SIGKILL, a run cut short) leaves its own address behind
    with nothing serving on it; that is removed here. Anything else on the address fails the test."""
    found = address_on_host()
    if found and not listeners_on_address():
        if "berth-ecs0" in found or subprocess.run(["ip", "-o", "link", "show", "dev", "berth-ecs0"],
                                                   capture_output=True, timeout=10).returncode == 0:
            subprocess.run(["ip", "link", "del", "berth-ecs0"], capture_output=True, timeout=10)
        elif "lo:berth" in found:
            subprocess.run(["ip", "addr", "del", "169.254.170.2/32", "dev", "lo"], capture_output=True, timeout=10)
    found = address_on_host()
    assert found == "", ("169.254.170.2 is on this host before berth starts (listeners on it: "
                         f"{listeners_on_address()}, held by {holders_of_address()}): {found}")


@pytest.fixture
def up(tmp_path, docker_ready):  # noqa: F811
    no_address_on_host()
    u = UpProcess(tmp_path / "data")
    ecs = u.client("ecs")
    deadline = time.time() + 30
    while True:
        try:
            if ecs.list_container_instances(cluster="default")["containerInstanceArns"]:
                break
        except Exception:  # noqa: BLE001 - not listening yet, or the cluster not made yet
            pass
        assert u.proc.poll() is None and time.time() < deadline, u.log()
        time.sleep(0.2)
    try:
        yield u
    finally:
        u.stop()
        # Containers left running on stop (the next start would adopt them), and Fargate's
        # task networks.
        for arn in list(getattr(u, "tasks", [])):
            for cid in task_containers(arn):
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60)
            subprocess.run(["docker", "network", "rm", "berth-task-" + arn.rsplit("/", 1)[1]],
                           capture_output=True, timeout=60)
    # berth removed what it added to the host's network.
    assert address_on_host() == "", u.log()


class Roles:
    """A registry secret and an execution role to pull the test image with, and a task role
    allowed to read one secret (`allowed`) and nothing else."""

    def __init__(self, u, registry):  # noqa: F811
        suffix = uuid.uuid4().hex[:8]
        sm, iam = u.client("secretsmanager"), u.client("iam")
        user, password = REGISTRY_USER
        self.registry = registry
        self.pull_secret = sm.create_secret(
            Name=f"registry-{suffix}", SecretString=json.dumps({"username": user, "password": password}))["ARN"]
        self.exec_role = iam.create_role(RoleName=f"exec-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=f"exec-{suffix}", PolicyName="pull", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": self.pull_secret}]}))
        self.allowed = sm.create_secret(Name=f"allowed-{suffix}", SecretString="for the task")["ARN"]
        self.denied = sm.create_secret(Name=f"denied-{suffix}", SecretString="not for the task")["ARN"]
        self.role_name = f"app-{suffix}"
        self.task_role = iam.create_role(RoleName=self.role_name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=self.role_name, PolicyName="app", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": self.allowed}]}))
        self.suffix = suffix

    def register(self, u, fargate=False, network_mode=None, task_role=True):
        family = f"roles-{'fg' if fargate else 'ec2'}-{uuid.uuid4().hex[:6]}"
        container = {
            "name": "app", "image": self.registry.image, "essential": True, "memory": 64,
            "repositoryCredentials": {"credentialsParameter": self.pull_secret},
            "command": ["sh", "-c", SCRIPT],
        }
        kw = {}
        if task_role:
            kw["taskRoleArn"] = self.task_role
        if fargate:
            kw.update(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
        elif network_mode:
            kw["networkMode"] = network_mode
        u.client("ecs").register_task_definition(
            family=family, executionRoleArn=self.exec_role, containerDefinitions=[container], **kw)
        return family


def run(u, family, fargate=False, env=None, cluster="default"):
    kw = {"launchType": "FARGATE", "networkConfiguration": NET} if fargate else {}
    if env:
        kw["overrides"] = {"containerOverrides": [
            {"name": "app", "environment": [{"name": k, "value": v} for k, v in env.items()]}]}
    out = u.client("ecs").run_task(cluster=cluster, taskDefinition=family, tags=TASK_TAGS, **kw)
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    u.tasks = getattr(u, "tasks", []) + [arn]
    return arn


def output(u, arn, timeout=90, cluster="default"):
    """The marked lines the task's container printed, once it printed DONE."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = task_containers(arn)
        app = [c for c in ids if "berth-pause" not in
               subprocess.run(["docker", "inspect", "-f", "{{.Name}}", c], capture_output=True, text=True).stdout]
        if app:
            logs = subprocess.run(["docker", "logs", app[0]], capture_output=True, text=True, timeout=30).stdout
            if "DONE" in logs.splitlines():
                lines = dict(line.split("=", 1) for line in logs.splitlines() if "=" in line)
                full_id = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", app[0]],
                                         capture_output=True, text=True, check=True).stdout.strip()
                return lines, full_id
        t = u.client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        assert t["lastStatus"] != "STOPPED", f"{t}\n{u.log()}"
        time.sleep(0.3)
    raise AssertionError(f"the task's container printed nothing in {timeout}s:\n{u.log()}")


def creds_url(lines):
    """The credentials URL a container was given: relative to 169.254.170.2, or in full when
    another berth on the host serves port 80."""
    return lines["ENV_FULL"] or "http://169.254.170.2" + lines["ENV_CREDS"]


def account_of(u):
    return u.client("sts").get_caller_identity()["Account"]


def check_credentials(u, roles, arn, lines):
    task_id = arn.rsplit("/", 1)[1]
    creds = json.loads(lines["CREDS"])
    assert list(creds) == ["RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"], creds
    assert creds["RoleArn"] == roles.task_role
    assert creds["Expiration"].endswith("Z") and "T" in creds["Expiration"], creds
    uri = lines["ENV_CREDS"] or lines["ENV_FULL"].split(":", 2)[2].split("/", 1)[1]
    assert ("/" + uri.lstrip("/")).startswith("/v2/credentials/") and len(uri.split("/")[-1]) == 36, lines
    import boto3

    session = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["Token"], region_name=REGION, endpoint_url=u.endpoint)
    who = boto3.client("sts", **session).get_caller_identity()
    account = account_of(u)
    assert who["Arn"] == f"arn:aws:sts::{account}:assumed-role/{roles.role_name}/{task_id}", who
    sm = boto3.client("secretsmanager", **session)
    assert sm.get_secret_value(SecretId=roles.allowed)["SecretString"] == "for the task"
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=roles.denied)
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDeniedException", err
    assert err["Message"].startswith(
        f"User: arn:aws:sts::{account}:assumed-role/{roles.role_name}/{task_id} is not authorized to perform: "
        f"secretsmanager:GetSecretValue on resource: {roles.denied}"), err
    return creds


def check_metadata(arn, docker_id, lines, launch_type):
    task = json.loads(lines["TASK"])
    assert task["TaskARN"] == arn, task
    assert task["LaunchType"] == launch_type, task
    # The zone as berth names it: the instance's (by default the region's first), or for
    # Fargate the region's; v3 has it too.
    assert task["AvailabilityZone"] == f"{REGION}a", task
    assert task["KnownStatus"] in ("PENDING", "RUNNING", "ACTIVATING"), task
    assert [c["DockerId"] for c in task["Containers"]] == [docker_id], task
    c = task["Containers"][0]
    assert c["Name"] == "app" and c["KnownStatus"] == "RUNNING" and c["Type"] == "NORMAL", c
    assert c["ImageID"].startswith("sha256:") and c["Labels"]["com.amazonaws.ecs.task-arn"] == arn, c
    assert c["Networks"][0]["IPv4Addresses"], c
    me = json.loads(lines["SELF"])
    assert me["DockerId"] == docker_id, me
    stats = json.loads(lines["STATS"])
    # Docker's own document: its memory and CPU numbers.
    assert stats["memory_stats"]["usage"] > 0 and "cpu_usage" in stats["cpu_stats"], stats
    task_stats = json.loads(lines["TSTATS"])
    assert list(task_stats) == [docker_id] and task_stats[docker_id]["memory_stats"]["usage"] > 0, task_stats
    assert json.loads(lines["API"]) == {"status": "ready"}, lines
    # v4's members, and the v3 document without them.
    assert task["FaultInjectionEnabled"] is False and "TaskTags" not in task, task
    # (no logConfiguration in the definition: no LogDriver, as the ECS agent answers)
    assert c["ContainerARN"].startswith("arn:aws:ecs:") and "LogDriver" not in c, c
    assert task["PullStartedAt"] <= task["PullStoppedAt"], task
    v3 = json.loads(lines["V3TASK"])
    assert v3["AvailabilityZone"] == f"{REGION}a", v3
    assert v3["TaskARN"] == arn and "LaunchType" not in v3 and "FaultInjectionEnabled" not in v3, v3
    assert "ContainerARN" not in v3["Containers"][0] and "LogDriver" not in v3["Containers"][0], v3
    # Network rates from two samples, on v4 only.
    rates = stats["network_rate_stats"]
    assert set(rates) == {"rx_bytes_per_sec", "tx_bytes_per_sec"} and rates["rx_bytes_per_sec"] >= 0, stats
    assert "network_rate_stats" not in json.loads(lines["V3STATS"]), lines["V3STATS"]
    # taskWithTags: the task's tags (and, on an instance, the instance's).
    twt = json.loads(lines["TWT"])
    assert twt["TaskTags"] == {"team": "berth"}, twt
    return task, c, twt


def test_a_task_role_reaches_its_containers_and_no_other(up, registry):  # noqa: F811
    roles = Roles(up, registry)
    family = roles.register(up)
    ecs = up.client("ecs")
    instance = ecs.list_container_instances(cluster="default")["containerInstanceArns"][0]
    ecs.tag_resource(resourceArn=instance, tags=[{"key": "rack", "value": "r1"}])
    a = run(up, family)
    lines_a, docker_a = output(up, a)
    assert lines_a["ENV_API"].startswith("http://169.254.170.2:"), lines_a
    check_credentials(up, roles, a, lines_a)
    task, c, twt = check_metadata(a, docker_a, lines_a, "EC2")
    assert task["Cluster"] == "default" and c["Networks"][0]["NetworkMode"] == "bridge", task
    assert twt["ContainerInstanceTags"] == {"rack": "r1"}, twt
    # The digest the image was pulled by, in DescribeTasks as ECS reports it.
    digest = subprocess.run(["docker", "inspect", "-f", "{{index .RepoDigests 0}}", registry.image],
                            capture_output=True, text=True, check=True).stdout.strip().split("@")[1]
    described = up.client("ecs").describe_tasks(cluster="default", tasks=[a])["tasks"][0]
    assert described["containers"][0]["imageDigest"] == digest, described
    # The host is not one of the task's containers: refused as an unknown id is.
    url = creds_url(lines_a)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=5)
    assert e.value.code == 400
    assert json.loads(e.value.read()) == {
        "code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found"}
    # Another task's container: its own credentials work, the first task's do not.
    b = run(up, family, env={"OTHER_URL": url})
    lines_b, _ = output(up, b)
    assert json.loads(lines_b["CREDS"])["RoleArn"] == roles.task_role
    assert creds_url(lines_b) != url
    assert "400 Bad Request" in lines_b["OTHER"], lines_b


def test_credentials_go_when_the_task_stops(up, registry):  # noqa: F811
    # In host network mode the endpoint cannot tell the task's containers by address (as on
    # ECS), so the test itself may read them while the task runs.
    roles = Roles(up, registry)
    a = run(up, roles.register(up, network_mode="host"))
    lines, _ = output(up, a)
    # The host-mode container reached the endpoint itself, as through the ECS agent's
    # 127.0.0.1:51679 redirect for host-mode tasks.
    assert json.loads(lines["CREDS"])["RoleArn"] == roles.task_role, lines
    assert json.loads(lines["SELF"])["Networks"] == [{"NetworkMode": "host"}], lines
    url = creds_url(lines)
    with urllib.request.urlopen(url, timeout=5) as r:
        assert json.loads(r.read())["RoleArn"] == roles.task_role
    ecs = up.client("ecs")
    ecs.stop_task(cluster="default", task=a, reason="done")
    deadline = time.time() + 60
    while ecs.describe_tasks(cluster="default", tasks=[a])["tasks"][0]["lastStatus"] != "STOPPED":
        assert time.time() < deadline, up.log()
        time.sleep(0.1)
    stopped_at = time.time()
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 400 and json.loads(e.read())["code"] == "InvalidIdInRequest"
            break
        assert time.time() - stopped_at < 1.0, "the credentials are still served a second after STOPPED"
        time.sleep(0.05)


def test_fargate_task_role_and_metadata(up, registry):  # noqa: F811
    roles = Roles(up, registry)
    a = run(up, roles.register(up, fargate=True), fargate=True)
    lines, docker_id = output(up, a)
    check_credentials(up, roles, a, lines)
    task, c, twt = check_metadata(a, docker_id, lines, "FARGATE")
    assert task["Cluster"].startswith("arn:aws:ecs:") and "ContainerInstanceTags" not in twt, twt
    # The task network's interface, as the ECS agent describes an ENI.
    net = c["Networks"][0]
    ip = net["IPv4Addresses"][0]
    assert net["NetworkMode"] == "awsvpc" and net["AttachmentIndex"] == 0, net
    assert len(net["MACAddress"].split(":")) == 6, net
    cidr = ipaddress.ip_network(net["IPv4SubnetCIDRBlock"])
    assert ipaddress.ip_address(ip) in cidr, net
    gateway = net["SubnetGatewayIpv4Address"].split("/")
    assert ipaddress.ip_address(gateway[0]) in cidr and gateway[1] == str(cidr.prefixlen), net
    assert net["PrivateDNSName"] == "ip-" + ip.replace(".", "-") + (
        ".ec2.internal" if REGION == "us-east-1" else f".{REGION}.compute.internal"), net
    assert c["Snapshotter"] == "overlayfs", c


def test_doctor_host_says_what_is_missing_without_root():
    from conftest import berth_bin

    no_address_on_host()

    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", berth_bin(),
                        "doctor", "--host"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL task-endpoint: 169.254.170.2 is not on this host and berth runs without root" in p.stdout, p.stdout
    assert "fix: run berth as root" in p.stdout and "ip addr add 169.254.170.2/32 dev berth-ecs0" in p.stdout
    ok = subprocess.run([berth_bin(), "doctor", "--host"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "ok   task-endpoint" in ok.stdout, ok.stdout


def test_a_second_berth_on_the_host_serves_its_tasks_on_its_own_port(berth, agent_factory, registry):  # noqa: F811
    # `berth server` (its Fargate capacity) serves port 80; the agent beside it on this host
    # serves its own tasks on a port of its own, with the full URI.
    assert address_on_host() != "", berth.log()
    cluster = f"roles-{uuid.uuid4().hex[:6]}"
    berth.client("ecs").create_cluster(clusterName=cluster)
    agent = agent_factory(berth, cluster)
    deadline = time.time() + 30
    while not berth.client("ecs").list_container_instances(cluster=cluster)["containerInstanceArns"]:
        assert agent.proc.poll() is None and time.time() < deadline, agent.log()
        time.sleep(0.2)
    berth.log = lambda agent=agent, log=berth.log: log() + "\nagent:\n" + agent.log()
    roles = Roles(berth, registry)
    a = run(berth, roles.register(berth), cluster=cluster)
    try:
        lines, docker_id = output(berth, a, cluster=cluster)
        assert lines["ENV_CREDS"] == "", lines
        assert lines["ENV_FULL"].startswith("http://169.254.170.2:") and "/v2/credentials/" in lines["ENV_FULL"], lines
        assert lines["ENV_META"].startswith("http://169.254.170.2:"), lines
        check_credentials(berth, roles, a, lines)
        check_metadata(a, docker_id, lines, "EC2")
    finally:
        berth.client("ecs").stop_task(cluster=cluster, task=a)
        deadline = time.time() + 60
        while task_containers(a) and time.time() < deadline:
            time.sleep(0.2)


def test_containers_adopted_after_a_restart_keep_their_endpoint(tmp_path, registry, docker_ready):  # noqa: F811
    # A host-mode task (the test may read its endpoint): berth stops, its container keeps
    # running, the next start adopts it, and its credentials and metadata URIs still answer.
    no_address_on_host()
    first = UpProcess(tmp_path / "data")
    second = None
    arn = None
    try:
        ecs = first.client("ecs")
        deadline = time.time() + 30
        while True:
            try:
                if ecs.list_container_instances(cluster="default")["containerInstanceArns"]:
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            assert first.proc.poll() is None and time.time() < deadline, first.log()
            time.sleep(0.2)
        roles = Roles(first, registry)
        arn = run(first, roles.register(first, network_mode="host"))
        lines, docker_id = output(first, arn)
        first.stop()
        assert address_on_host() == "", first.log()
        second = UpProcess(tmp_path / "data")
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(lines["ENV_META"] + "/task", timeout=5) as r:
                    task = json.loads(r.read())
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert second.proc.poll() is None and time.time() < deadline, second.log()
                time.sleep(0.2)
        assert task["TaskARN"] == arn and [c["DockerId"] for c in task["Containers"]] == [docker_id], task
        with urllib.request.urlopen("http://169.254.170.2" + lines["ENV_CREDS"], timeout=5) as r:
            assert json.loads(r.read())["RoleArn"] == roles.task_role
    finally:
        for u in (second, first):
            if u is not None and u.proc.poll() is None:
                u.stop()
        if arn:
            for cid in task_containers(arn):
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60)
    assert address_on_host() == ""


def test_a_killed_berths_address_is_taken_over_and_removed_on_a_clean_stop(tmp_path, docker_ready):  # noqa: F811
    # berth killed before its clean stop leaves 169.254.170.2 on the host; the next berth uses
    # it, serves on it, and removes it when it stops.
    no_address_on_host()
    leave_berths_address()
    assert "lo:berth" in address_on_host() and listeners_on_address() == []
    u = UpProcess(tmp_path / "data")
    try:
        deadline = time.time() + 30
        while 80 not in listeners_on_address():
            assert u.proc.poll() is None and time.time() < deadline, u.log()
            time.sleep(0.2)
        assert "lo:berth" in address_on_host(), u.log()
    finally:
        u.stop()
    assert address_on_host() == "", u.log()


@pytest.mark.parametrize("nohup", [False, True], ids=["plain", "nohup"])
def test_berth_up_stops_cleanly_when_its_terminal_goes(tmp_path, docker_ready, nohup):  # noqa: F811
    # `berth up` in a terminal (util-linux `script`) under a shell that stays its parent, as a
    # user's shell does. A SIGHUP while the terminal is there (a reload) leaves it serving; the
    # terminal going away (`script` killed, as a closed window) stops it as SIGTERM would, and
    # it removes what it added to the host. Under `nohup` it keeps serving until SIGTERM.
    import shlex
    import signal

    from conftest import berth_bin, free_port, parent_of, stop_process
    from test_agent import berths_of, stop_berths_of

    no_address_on_host()
    port, data, log = free_port(), tmp_path / "data", tmp_path / "berth.log"
    command = shlex.join(["nohup"] * nohup + [berth_bin(), "up", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_ROOT_"))}
    env.update(RUST_LOG="info", SHELL="/bin/sh")
    term = subprocess.Popen(
        ["script", "-qfec", f"{command} 2>{shlex.quote(str(log))}; exit $?", "/dev/null"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True,
    )

    def text():
        return log.read_text(errors="replace") if log.exists() else ""

    try:
        deadline = time.time() + 30
        while "task endpoint ready" not in text():
            assert term.poll() is None and time.time() < deadline, text()
            time.sleep(0.2)
        [pid] = berths_of(data)
        assert Path(f"/proc/{parent_of(pid)}/comm").read_text().strip() == "sh", "the shell did not stay berth's parent"
        assert address_on_host() != "", text()

        os.kill(pid, signal.SIGHUP)
        time.sleep(2)
        assert berths_of(data) == [pid], text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_berth/health", timeout=5) as r:
            assert r.status == 200
        assert "the terminal is gone" not in text()

        os.killpg(term.pid, signal.SIGKILL)
        term.wait(timeout=10)
        if nohup:
            time.sleep(3)
            assert berths_of(data) == [pid], text()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_berth/health", timeout=5) as r:
                assert r.status == 200
            os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 30
        while berths_of(data):
            assert time.time() < deadline, text()
            time.sleep(0.2)
        out = text()
        assert ("SIGHUP: the terminal is gone" in out) != nohup and "shutting down" in out, out
        assert "removed 169.254.170.2 from this host" in out, out
        assert address_on_host() == "" and listeners_on_address() == [], out
    finally:
        stop_process(term, timeout=5, group=True)
        stop_berths_of(data)
