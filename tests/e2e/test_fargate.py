"""FARGATE tasks end to end: `berth server` runs them itself on the local Docker Engine (no
agent), pulling the private image with credentials from Secrets Manager fetched over the API
with the task's execution-role credentials, each task on its own Docker network."""

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from docker_fixtures import REGISTRY_USER, TRAP_USER, docker_ready, registry  # noqa: F401

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NET = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "ENABLED"}}
PREFIX = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: "
)


def creds(user):
    return {"username": user[0], "password": user[1]}


class FargateApp:
    """The seed's flow on FARGATE: a KMS key, a secret with the registry credentials under it,
    an execution role allowed `allow` on both, and an awsvpc/FARGATE task definition."""

    def __init__(self, b, registry, secret_value, allow=("kms:Decrypt", "secretsmanager:GetSecretValue"),
                 command=("sh", "-c", "echo hello"), stop_timeout=None):
        suffix = uuid.uuid4().hex[:8]
        kms, sm, iam = b.client("kms"), b.client("secretsmanager"), b.client("iam")
        self.key_arn = kms.create_key(Description="registry credentials")["KeyMetadata"]["Arn"]
        value = json.dumps(secret_value)
        self.secret_arn = sm.create_secret(Name=f"registry-{suffix}", SecretString=value, KmsKeyId=self.key_arn)["ARN"]
        self.role_arn = iam.create_role(RoleName=f"exec-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        if allow:
            iam.put_role_policy(
                RoleName=f"exec-{suffix}", PolicyName="private-registry",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": list(allow), "Resource": [self.secret_arn, self.key_arn]}]}),
            )
        self.family = f"fargate-app-{suffix}"
        container = {
            "name": "app", "image": registry.image, "essential": True,
            "repositoryCredentials": {"credentialsParameter": self.secret_arn},
            "command": list(command),
        }
        if stop_timeout is not None:
            container["stopTimeout"] = stop_timeout
        b.client("ecs").register_task_definition(
            family=self.family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=self.role_arn, containerDefinitions=[container],
        )

    def run(self, b, platform_version=None):
        kw = {"platformVersion": platform_version} if platform_version else {}
        out = b.client("ecs").run_task(taskDefinition=self.family, launchType="FARGATE", networkConfiguration=NET, **kw)
        assert not out["failures"], out["failures"]
        return out["tasks"][0]


def describe(b, arn):
    return b.client("ecs").describe_tasks(tasks=[arn])["tasks"][0]


def wait_status(b, arn, status, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = describe(b, arn)
        if t["lastStatus"] == status:
            return t
        if status != "STOPPED":
            assert t["lastStatus"] != "STOPPED", t
        time.sleep(0.3)
    raise AssertionError(f"task not {status} after {timeout}s: {t}\nserver log:\n{b.log()}")


def docker_inspect(container):
    return json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, text=True,
                                     timeout=60, check=True).stdout)[0]


def pause_containers(arn):
    """The ids of a task's pause containers (berth's label), running or not."""
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", "label=berth.pause",
                          "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


def network_names():
    out = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("version,shown", [("LATEST", "1.4.0"), ("1.3.0", "1.3.0")])
def test_fargate_pulls_and_runs_the_private_image(berth, registry, version, shown):
    app = FargateApp(berth, registry, creds(TRAP_USER))
    task = app.run(berth, version)
    assert task["lastStatus"] == "PROVISIONING" and task["platformVersion"] == shown
    assert "containerInstanceArn" not in task
    [eni] = task["attachments"]
    assert eni["type"] == "ElasticNetworkInterface"
    assert {"name": "subnetId", "value": "subnet-0123456789abcdef0"} in eni["details"]
    t = wait_status(berth, task["taskArn"], "STOPPED")
    assert t["stopCode"] == "EssentialContainerExited", t
    assert t["stoppedReason"] == "Essential container in task exited", t
    assert t["containers"][0]["exitCode"] == 0, t
    assert t["platformVersion"] == shown and t["launchType"] == "FARGATE"
    assert t["attachments"][0]["status"] == "DELETED", t
    # Deprovisioned before STOPPED: the task's network is already gone.
    assert f"berth-task-{task['taskArn'].rsplit('/', 1)[1]}" not in network_names()
    assert "pullStartedAt" in t and "pullStoppedAt" in t and "startedAt" in t
    log = berth.log()
    assert TRAP_USER[1] not in log and TRAP_USER[0] not in log


def test_platform_1_1_0_refuses_private_registry_auth(berth, registry):
    app = FargateApp(berth, registry, creds(REGISTRY_USER))
    with pytest.raises(ClientError) as e:
        app.run(berth, "1.1.0")
    assert e.value.response["Error"]["Code"] == "PlatformTaskDefinitionIncompatibilityException"
    assert e.value.response["Error"]["Message"] == "One or more of the requested capabilities are not supported."


def test_iam_denial_reads_like_fargate(berth, registry):
    app = FargateApp(berth, registry, creds(REGISTRY_USER), allow=("kms:Decrypt",))
    t = wait_status(berth, app.run(berth)["taskArn"], "STOPPED")
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = t["stoppedReason"]
    assert reason.startswith(
        PREFIX + f"service call has been retried 1 time(s): failed to fetch secret {app.secret_arn} from secrets "
        "manager: AccessDeniedException: User: "), reason
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in reason, reason
    assert " status code: 400, request id: " in reason, reason


def test_kms_denial_reads_like_fargate(berth, registry):
    app = FargateApp(berth, registry, creds(REGISTRY_USER), allow=("secretsmanager:GetSecretValue",))
    t = wait_status(berth, app.run(berth)["taskArn"], "STOPPED")
    assert t["stopCode"] == "TaskFailedToStart", t
    assert t["stoppedReason"].startswith(
        PREFIX + f"service call has been retried 1 time(s): failed to fetch secret {app.secret_arn} from secrets "
        "manager: AccessDeniedException: Access to KMS is not allowed status code: 400, request id: "), t
    assert "containerInstanceArn" not in t


def test_wrong_password_is_cannot_pull_container_error(berth, registry):
    app = FargateApp(berth, registry, {"username": REGISTRY_USER[0], "password": "wrong-password"})
    t = wait_status(berth, app.run(berth)["taskArn"], "STOPPED")
    assert t["stopCode"] == "TaskFailedToStart", t
    assert t["stoppedReason"].startswith("CannotPullContainerError: "), t
    assert "wrong-password" not in berth.log()


def test_each_task_has_its_own_network_while_it_runs(berth, registry):
    app = FargateApp(berth, registry, creds(REGISTRY_USER), command=("sh", "-c", "sleep 300"), stop_timeout=2)
    arn = app.run(berth)["taskArn"]
    t = wait_status(berth, arn, "RUNNING")
    assert t["attachments"][0]["status"] == "ATTACHED", t
    network = f"berth-task-{arn.rsplit('/', 1)[1]}"
    assert network in network_names()
    container = t["containers"][0]["runtimeId"]
    inspected = docker_inspect(container)
    # The container lives in the network namespace of the task's pause container, which is
    # the one on the task's network.
    [pause] = pause_containers(arn)
    assert inspected["HostConfig"]["NetworkMode"] == f"container:{pause}"
    paused = docker_inspect(pause)
    assert list(paused["NetworkSettings"]["Networks"]) == [network]
    assert paused["State"]["Running"]
    # The pause container's address on its task network is the task's, as ECS shows it.
    ip = paused["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == ip, t
    assert {"name": "privateIPv4Address", "value": ip} in t["attachments"][0]["details"], t
    assert inspected["Config"]["Labels"]["com.amazonaws.ecs.task-arn"] == arn
    assert "berth.container-instance-arn" not in inspected["Config"]["Labels"]
    stopped = berth.client("ecs").stop_task(task=arn, reason="done")["task"]
    # The runner stops it: SIGTERM, SIGKILL after stopTimeout, then STOPPED.
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] != "STOPPED"
    t = wait_status(berth, arn, "STOPPED")
    assert t["stopCode"] == "UserInitiated" and t["stoppedReason"] == "done", t
    assert t["containers"][0]["exitCode"] == 137, t
    assert network not in network_names()
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == ""


def test_berth_up_runs_fargate_tasks_too(tmp_path, registry):
    import urllib.request

    from test_agent import UpProcess

    up = UpProcess(tmp_path / "data")
    try:
        deadline = time.time() + 30
        while True:
            try:
                if urllib.request.urlopen(up.endpoint + "/_berth/health", timeout=1).status == 200:
                    break
            except OSError:
                pass
            assert up.proc.poll() is None and time.time() < deadline, up.log()
            time.sleep(0.1)
        app = FargateApp(up, registry, creds(REGISTRY_USER))
        t = wait_status(up, app.run(up, "1.4.0")["taskArn"], "STOPPED")
        assert t["stopCode"] == "EssentialContainerExited" and t["containers"][0]["exitCode"] == 0, t
        assert t["platformVersion"] == "1.4.0" and "containerInstanceArn" not in t
        assert REGISTRY_USER[1] not in up.log()
    finally:
        up.stop()


def test_a_fargate_task_is_reachable_at_its_address(berth, registry):
    import urllib.error
    import urllib.request

    app = FargateApp(berth, registry, creds(REGISTRY_USER), command=("httpd", "-f", "-p", "8080", "-h", "/tmp"),
                     stop_timeout=2)
    arn = app.run(berth)["taskArn"]
    t = wait_status(berth, arn, "RUNNING")
    ip = t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    deadline = time.time() + 15
    status = None
    while status is None and time.time() < deadline:
        try:
            status = urllib.request.urlopen(f"http://{ip}:8080/", timeout=2).status
        except urllib.error.HTTPError as e:
            status = e.code
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    assert status in (200, 403, 404), status
    berth.client("ecs").stop_task(task=arn)
    assert wait_status(berth, arn, "STOPPED")["stopCode"] == "UserInitiated"


def test_containers_of_a_task_reach_each_other_over_localhost(berth, registry):
    """As on Fargate (awsvpc): the task's containers share one network namespace, berth's pause
    container's, so a sidecar listening on 127.0.0.1 is reachable from its siblings."""
    app = FargateApp(berth, registry, creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    server = {
        "name": "sidecar", "image": registry.image, "essential": False, "repositoryCredentials": auth,
        "stopTimeout": 2,
        "command": ["sh", "-c", "echo served-over-localhost > /tmp/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp"],
    }
    client = {
        "name": "fetcher", "image": registry.image, "essential": True, "repositoryCredentials": auth,
        "command": ["sh", "-c",
                    "i=0; while [ $i -lt 100 ]; do "
                    "got=$(wget -q -O - http://127.0.0.1:8080/index.html) && "
                    "[ \"$got\" = served-over-localhost ] && exit 0; "
                    "i=$((i+1)); sleep 0.1; done; echo \"got: $got\"; exit 3"],
    }
    family = app.family + "-pair"
    berth.client("ecs").register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=app.role_arn, containerDefinitions=[server, client],
    )
    out = berth.client("ecs").run_task(taskDefinition=family, launchType="FARGATE", networkConfiguration=NET)
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    t = wait_status(berth, arn, "STOPPED", timeout=40)
    codes = {c["name"]: c.get("exitCode") for c in t["containers"]}
    assert t["stopCode"] == "EssentialContainerExited", t
    assert codes["fetcher"] == 0, t
    # Deprovisioned before STOPPED: no container, pause container or network is left.
    assert pause_containers(arn) == []
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == ""
    networks = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                              capture_output=True, text=True, timeout=60, check=True).stdout
    assert networks.strip() == ""
    assert f"berth-task-{arn.rsplit('/', 1)[1]}" not in network_names()
