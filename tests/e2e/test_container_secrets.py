"""`secrets` and `logConfiguration.secretOptions` end to end, from Secrets Manager and SSM
Parameter Store: registered, placed on an agent that advertises the secrets capabilities (or
run by berth's Fargate capacity), fetched at task start
over the API with the execution role's credentials, and seen by the container as environment
variables and by its log driver as options; failures stop the task with the agent's (or
Fargate's) words; the values never reach berth's data directory or its logs."""

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from conftest import REGION, berth_bin
from test_agent import TRUST, agent_factory, start, wait_stopped  # noqa: F401
from test_console import browser, page, sign_in  # noqa: F401

NET = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "ENABLED"}}
FARGATE_ASM = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
)
CAPABILITIES = {
    "ecs.capability.secrets.asm.environment-variables",
    "ecs.capability.secrets.asm.bootstrap.log-driver",
}
SCRIPT = 'echo "W=$WHOLE"; echo "J=$J"; echo "N=$N"; echo "S=$S"; echo "PLAIN=$PLAIN"; echo ready; sleep 300'


class SecretsApp:
    """The registry credentials; a customer-managed KMS key and under it three app secrets (a
    whole value, a JSON document, and one with a previous version); an execution role allowed
    `allow` on them and the key; a task definition whose container reads them as variables and whose
    json-file log driver gets `max-size` from a JSON key."""

    def __init__(self, b, registry, allow=("kms:Decrypt", "secretsmanager:GetSecretValue"), key="password",
                 fargate=False, app_secret_allow=True):
        self.tok = uuid.uuid4().hex[:10]
        suffix = self.tok[:8]
        kms, sm, iam = b.client("kms"), b.client("secretsmanager"), b.client("iam")
        self.key_arn = kms.create_key(Description="app secrets")["KeyMetadata"]["Arn"]
        # The registry credentials under the AWS managed key (no kms permission needed).
        reg = sm.create_secret(Name=f"registry-{suffix}", SecretString=json.dumps(
            {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
        self.whole_value = f"whole value {self.tok} with spaces"
        self.json_pass = f"json-Pass-{self.tok}"
        self.old_token = f"old-{self.tok}"
        self.new_token = f"new-{self.tok}"
        self.whole = sm.create_secret(Name=f"whole-{suffix}", KmsKeyId=self.key_arn,
                                      SecretString=self.whole_value)["ARN"]
        self.doc = sm.create_secret(Name=f"doc-{suffix}", KmsKeyId=self.key_arn, SecretString=json.dumps(
            {"password": self.json_pass, "n": 100000000, "size": "5m"}))["ARN"]
        self.staged = sm.create_secret(Name=f"staged-{suffix}", KmsKeyId=self.key_arn,
                                       SecretString=json.dumps({"token": self.old_token}))["ARN"]
        sm.put_secret_value(SecretId=self.staged, SecretString=json.dumps({"token": self.new_token}))
        self.values = [self.whole_value, self.json_pass, self.old_token, self.new_token]
        self.role_name = f"exec-{suffix}"
        self.role_arn = iam.create_role(RoleName=self.role_name,
                                        AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        statements = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": reg}]
        if app_secret_allow:
            statements.append({"Effect": "Allow", "Action": list(allow),
                               "Resource": [self.whole, self.doc, self.staged, self.key_arn]})
        iam.put_role_policy(RoleName=self.role_name, PolicyName="secrets", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        self.family = f"secrets-app-{suffix}"
        container = {
            "name": "app", "image": registry.image, "essential": True, "memory": 64,
            "repositoryCredentials": {"credentialsParameter": reg},
            "command": ["sh", "-c", SCRIPT],
            "environment": [{"name": "PLAIN", "value": "plain-value"}],
            "secrets": [
                {"name": "WHOLE", "valueFrom": self.whole},
                {"name": "J", "valueFrom": f"{self.doc}:{key}::"},
                {"name": "N", "valueFrom": f"{self.doc}:n::"},
                {"name": "S", "valueFrom": f"{self.staged}:token:AWSPREVIOUS:"},
            ],
            "logConfiguration": {"logDriver": "json-file", "options": {"max-file": "2"},
                                 "secretOptions": [{"name": "max-size", "valueFrom": f"{self.doc}:size::"}]},
        }
        kw = dict(family=self.family, executionRoleArn=self.role_arn, containerDefinitions=[container])
        if fargate:
            kw.update(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
        self.registered = b.client("ecs").register_task_definition(**kw)["taskDefinition"]


def docker_out(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=True).stdout


def app_container(arn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = docker_out("ps", "-q", "--no-trunc", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}",
                         "--filter", "label=com.amazonaws.ecs.container-name=app").split()
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError(f"no running app container of {arn}")


def output_when_ready(cid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=60).stdout
        if "ready" in out:
            return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        time.sleep(0.2)
    raise AssertionError(f"the container never said ready: {out}")


def wait_task(b, arn, status, cluster=None, timeout=90):
    ecs = b.client("ecs")
    kw = {"cluster": cluster} if cluster else {}
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = ecs.describe_tasks(tasks=[arn], **kw)["tasks"][0]
        if t["lastStatus"] == status:
            return t
        if status != "STOPPED":
            assert t["lastStatus"] != "STOPPED", t
        time.sleep(0.3)
    raise AssertionError(f"task not {status} after {timeout}s: {t}\nserver log:\n{b.log()}")


def assert_seen_and_not_kept(b, app, arn, logs, cluster=None):
    """The container sees every value, its log driver the option; the data directory and the
    logs hold none of them."""
    cid = app_container(arn)
    seen = output_when_ready(cid)
    assert seen == {"W": app.whole_value, "J": app.json_pass, "N": "1e+08", "S": app.old_token,
                    "PLAIN": "plain-value"}, seen
    inspected = json.loads(docker_out("inspect", cid))[0]
    assert f"WHOLE={app.whole_value}" in inspected["Config"]["Env"]
    log_config = inspected["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-file": "2", "max-size": "5m"}}, log_config
    b.client("ecs").stop_task(task=arn, **({"cluster": cluster} if cluster else {}))
    wait_task(b, arn, "STOPPED", cluster)
    for value in app.values:
        for text in logs():
            assert value not in text
        needle = value.encode()
        for f in b.data_dir.rglob("*"):
            if f.is_file():
                assert needle not in f.read_bytes(), f"{value} in {f}"


def test_registration_needs_the_role_and_adds_the_capabilities(berth, registry):
    app = SecretsApp(berth, registry)
    names = {a["name"] for a in app.registered["requiresAttributes"]}
    assert CAPABILITIES <= names, names
    ecs = berth.client("ecs")
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family="no-role", containerDefinitions=[{
            "name": "app", "image": "x", "memory": 64, "secrets": [{"name": "A", "valueFrom": app.whole}]}])
    assert e.value.response["Error"]["Code"] == "ClientException"
    assert e.value.response["Error"]["Message"] == (
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family="clash", executionRoleArn=app.role_arn, containerDefinitions=[{
            "name": "app", "image": "x", "memory": 64, "environment": [{"name": "A", "value": "1"}],
            "secrets": [{"name": "A", "valueFrom": app.whole}]}])
    assert e.value.response["Error"]["Message"] == (
        "The secret name must be unique and not shared with any new or existing environment variables set on "
        "the container, such as 'A'.")


@pytest.mark.parametrize("external", [False, True], ids=["ec2", "external"])
def test_agent_container_sees_its_secrets(berth, registry, agent_factory, external):
    cluster, agent = start(berth, agent_factory, external=external)
    app = SecretsApp(berth, registry)
    out = berth.client("ecs").run_task(cluster=cluster, taskDefinition=app.family,
                                       launchType="EXTERNAL" if external else "EC2")
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    wait_task(berth, arn, "RUNNING", cluster)
    assert_seen_and_not_kept(berth, app, arn, lambda: [berth.log(), agent.log()], cluster)


@pytest.mark.parametrize("case", ["no-get-secret-value", "no-kms-decrypt", "missing-json-key"])
def test_ec2_failures_stop_the_task_with_the_agents_words(berth, registry, agent_factory, case):
    cluster, agent = start(berth, agent_factory)
    if case == "no-get-secret-value":
        app = SecretsApp(berth, registry, app_secret_allow=False)
    elif case == "no-kms-decrypt":
        app = SecretsApp(berth, registry, allow=("secretsmanager:GetSecretValue",))
    else:
        app = SecretsApp(berth, registry, key="nope")
    out = berth.client("ecs").run_task(cluster=cluster, taskDefinition=app.family)
    t = wait_stopped(berth, cluster, out["tasks"][0]["taskArn"], agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = t["stoppedReason"]
    if case == "missing-json-key":
        assert reason == "Retrieved secret from Secrets Manager did not contain json key nope", reason
    else:
        # Every secret's failure, joined with ';' (the agent fetches them all at once).
        first = reason.split(";")[0]
        assert first.startswith("Secret arn:aws:secretsmanager:us-east-1:"), reason
        sdk = ("operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: ")
        assert sdk in first, reason
        if case == "no-get-secret-value":
            assert (f"api error AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/{app.role_name}/"
                    in first), reason
            assert "is not authorized to perform: secretsmanager:GetSecretValue" in first, reason
        else:
            assert "api error AccessDeniedException: Access to KMS is not allowed" in first, reason
    for value in app.values:
        assert value not in berth.log() and value not in agent.log()


def test_fargate_container_sees_its_secrets(berth, registry):
    app = SecretsApp(berth, registry, fargate=True)
    out = berth.client("ecs").run_task(taskDefinition=app.family, launchType="FARGATE", networkConfiguration=NET)
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    wait_task(berth, arn, "RUNNING")
    assert_seen_and_not_kept(berth, app, arn, lambda: [berth.log()])


def test_fargate_platform_gating_and_words(berth, registry):
    ecs = berth.client("ecs")
    app = SecretsApp(berth, registry, fargate=True, key="nope")
    # JSON keys and version selectors need platform version 1.4.0.
    with pytest.raises(ClientError) as e:
        ecs.run_task(taskDefinition=app.family, launchType="FARGATE", networkConfiguration=NET,
                     platformVersion="1.3.0")
    assert e.value.response["Error"]["Code"] == "PlatformTaskDefinitionIncompatibilityException"
    # Whole secrets run on 1.3.0, not on 1.2.0.
    whole = dict(app.registered)
    c = dict(whole["containerDefinitions"][0], secrets=[{"name": "WHOLE", "valueFrom": app.whole}])
    c.pop("logConfiguration")
    ecs.register_task_definition(family=f"{app.family}-whole", executionRoleArn=app.role_arn, networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                                 containerDefinitions=[c])
    with pytest.raises(ClientError) as e:
        ecs.run_task(taskDefinition=f"{app.family}-whole", launchType="FARGATE", networkConfiguration=NET,
                     platformVersion="1.2.0")
    assert e.value.response["Error"]["Code"] == "PlatformTaskDefinitionIncompatibilityException"
    ok = ecs.run_task(taskDefinition=f"{app.family}-whole", launchType="FARGATE", networkConfiguration=NET,
                      platformVersion="1.3.0")
    assert not ok["failures"], ok
    ecs.stop_task(task=ok["tasks"][0]["taskArn"])
    # A missing JSON key, in Fargate's words.
    out = ecs.run_task(taskDefinition=app.family, launchType="FARGATE", networkConfiguration=NET)
    t = wait_task(berth, out["tasks"][0]["taskArn"], "STOPPED")
    assert t["stopCode"] == "TaskFailedToStart", t
    assert t["stoppedReason"] == FARGATE_ASM + "retrieved secret from Secrets Manager did not contain json key nope", t
    wait_task(berth, ok["tasks"][0]["taskArn"], "STOPPED")


def test_doctor_checks_each_secret(berth, registry):
    app = SecretsApp(berth, registry, key="nope", allow=("secretsmanager:GetSecretValue",))
    p = subprocess.run([berth_bin(), "doctor", "--data-dir", str(berth.data_dir), "--region", "us-east-1",
                        "--task-definition", app.family, "--output", "json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    checks = json.loads(p.stdout)["checks"]
    failed = {(c["check"], c["reason"].split(":")[0]) for c in checks if not c["ok"]}
    # kms:Decrypt of the app secrets' key is missing; the JSON key `nope` is not there.
    assert ("kms-decrypt", "secret WHOLE") in failed, checks
    assert ("kms-decrypt", "secretOptions max-size") in failed, checks
    nope = [c for c in checks if c["check"] == "secret-value" and c["reason"].startswith("secret J:")]
    assert not nope[0]["ok"]
    assert "retrieved secret from Secrets Manager did not contain json key nope" in nope[0]["reason"]
    assert '"nope"' in nope[0]["fix"]
    ok = [c for c in checks if c["reason"].startswith("secret S:") and c["check"] == "secret-value"]
    assert ok[0]["ok"], ok
    # Never a value in the report.
    for value in app.values:
        assert value not in p.stdout


def test_console_doctor_page_shows_the_secrets_checks(berth, registry, page):
    app = SecretsApp(berth, registry, key="nope", fargate=True)
    sign_in(page, berth)
    page.goto(berth.endpoint + f"/console/doctor?taskDefinition={app.family}")
    assert "Verdict: the task would not start (1 check failed)." in page.get_by_role("status").inner_text()
    rows = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="secret-value"))
    failed = [r.get_by_role("cell").all_inner_texts() for r in rows.all()]
    failed = [cells for cells in failed if cells[1] == "FAIL"]
    assert len(failed) == 1, failed
    assert failed[0][0] == "app"
    assert failed[0][2].startswith("secret J: the agent would stop the task with"), failed
    assert "did not contain json key nope" in failed[0][2]
    content = page.content()
    for value in app.values:
        assert value not in content


# ---- SSM Parameter Store ----------------------------------------------------------------------

FARGATE_SSM = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
)


class ParamApp:
    """A String and a SecureString parameter (under a customer key), an execution role allowed
    kms:Decrypt and (unless not `allow_ssm`) ssm:GetParameters on them, and a task definition
    reading them by name and by ARN (and a missing one when `missing`)."""

    def __init__(self, b, registry, allow_ssm=True, missing=False, fargate=False):
        tok = uuid.uuid4().hex[:8]
        self.tok = tok
        ssm, kms, sm, iam = b.client("ssm"), b.client("kms"), b.client("secretsmanager"), b.client("iam")
        key = kms.create_key(Description="params")["KeyMetadata"]["Arn"]
        reg = sm.create_secret(Name=f"registry-{tok}", SecretString=json.dumps(
            {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
        self.plain, self.secure = f"plain-{tok}", f"secure value {tok}"
        ssm.put_parameter(Name=f"/app-{tok}/plain", Value=self.plain, Type="String")
        ssm.put_parameter(Name=f"/app-{tok}/secure", Value=self.secure, Type="SecureString", KeyId=key)
        arn = f"arn:aws:ssm:{REGION}:000000000000:parameter/app-{tok}/secure"
        role = f"exec-{tok}"
        self.role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        stmts = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": reg},
                 {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}]
        if allow_ssm:
            stmts.append({"Effect": "Allow", "Action": "ssm:GetParameters",
                          "Resource": f"arn:aws:ssm:{REGION}:000000000000:parameter/app-{tok}/*"})
        iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": stmts}))
        secrets = [{"name": "P", "valueFrom": f"/app-{tok}/plain"}, {"name": "S", "valueFrom": arn}]
        if missing:
            secrets.append({"name": "M", "valueFrom": f"/app-{tok}/missing"})
        self.family = f"ssm-app-{tok}"
        c = {"name": "app", "image": registry.image, "essential": True, "memory": 64,
             "repositoryCredentials": {"credentialsParameter": reg},
             "command": ["sh", "-c", 'echo "P=$P"; echo "S=$S"; echo ready; sleep 300'], "secrets": secrets}
        kw = dict(family=self.family, executionRoleArn=self.role_arn, containerDefinitions=[c])
        if fargate:
            kw.update(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
        b.client("ecs").register_task_definition(**kw)


def test_ec2_parameter_store_secrets(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = ParamApp(berth, registry)
    arn = berth.client("ecs").run_task(cluster=cluster, taskDefinition=app.family)["tasks"][0]["taskArn"]
    wait_task(berth, arn, "RUNNING", cluster)
    seen = output_when_ready(app_container(arn))
    assert seen == {"P": app.plain, "S": app.secure}, seen
    berth.client("ecs").stop_task(cluster=cluster, task=arn)
    wait_task(berth, arn, "STOPPED", cluster)
    assert app.secure not in berth.log() and app.secure not in agent.log()
    for f in berth.data_dir.rglob("*"):
        if f.is_file():
            assert app.secure.encode() not in f.read_bytes(), f

    bad = ParamApp(berth, registry, missing=True)
    arn = berth.client("ecs").run_task(cluster=cluster, taskDefinition=bad.family)["tasks"][0]["taskArn"]
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["stoppedReason"] == (f"Fetching secret data from SSM Parameter Store in {REGION}: invalid parameters: "
                                  f"/app-{bad.tok}/missing"), t

    denied = ParamApp(berth, registry, allow_ssm=False)
    arn = berth.client("ecs").run_task(cluster=cluster, taskDefinition=denied.family)["tasks"][0]["taskArn"]
    t = wait_stopped(berth, cluster, arn, agent)
    reason = t["stoppedReason"]
    assert reason.startswith(f"Fetching secret data from SSM Parameter Store in {REGION}: operation error SSM: "
                             "GetParameters, https response error StatusCode: 400, RequestID: "), reason
    assert "api error AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/" in reason, reason
    assert "is not authorized to perform: ssm:GetParameters" in reason, reason
    # The doctor names the missing permission and its statement.
    p = subprocess.run([berth_bin(), "doctor", "--data-dir", str(berth.data_dir), "--region", REGION,
                        "--task-definition", denied.family, "--output", "json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    failed = [c for c in json.loads(p.stdout)["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["get-secret-value", "get-secret-value"], failed
    assert all("may not ssm:GetParameters" in c["reason"] for c in failed), failed
    assert '"ssm:GetParameters"' in failed[0]["fix"]


def test_fargate_parameter_store_secrets(berth, registry):
    ecs = berth.client("ecs")
    app = ParamApp(berth, registry, fargate=True)
    arn = ecs.run_task(taskDefinition=app.family, launchType="FARGATE", networkConfiguration=NET)["tasks"][0]["taskArn"]
    wait_task(berth, arn, "RUNNING")
    assert output_when_ready(app_container(arn)) == {"P": app.plain, "S": app.secure}
    ecs.stop_task(task=arn)
    wait_task(berth, arn, "STOPPED")
    bad = ParamApp(berth, registry, missing=True, fargate=True)
    arn = ecs.run_task(taskDefinition=bad.family, launchType="FARGATE", networkConfiguration=NET)["tasks"][0]["taskArn"]
    t = wait_task(berth, arn, "STOPPED")
    assert t["stoppedReason"] == FARGATE_SSM + f"invalid parameters: /app-{bad.tok}/missing", t
