"""`berth doctor`: explains, without running anything, whether a task definition's start would
succeed. It opens the data dir next to the running server and evaluates what the real path
evaluates; each failed check names the smallest fix."""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import REGION, berth_bin, free_port, stop_process
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from helpers import allow, other_account

ACCOUNT = "000000000000"
OTHER = "111111111111"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
GOOD = json.dumps({"username": "privateRegistryUsername", "password": "privateRegistryPassword"})


def doctor(berth, *args, env=None):
    p = subprocess.run(
        [berth_bin(), "doctor", "--data-dir", str(berth.data_dir), "--region", REGION, *args],
        capture_output=True, text=True, timeout=60, env=env,
    )
    return p.returncode, p.stdout, p.stderr


def doctor_json(berth, *args):
    code, out, err = doctor(berth, *args, "--output", "json")
    assert code in (0, 1), err
    report = json.loads(out)
    return code, {c["check"]: c for c in report["checks"]}


def role(berth, policy=None):
    iam = berth.client("iam")
    iam.create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps(TRUST))
    if policy is not None:
        iam.put_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="p", PolicyDocument=json.dumps(policy))


def register(berth, secret_id, image="127.0.0.1:5000/app:1", fargate=True):
    extra = dict(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512") if fargate else {}
    berth.client("ecs").register_task_definition(
        family="private-app",
        executionRoleArn="ecsTaskExecutionRole",
        containerDefinitions=[{
            "name": "app", "image": image, "memory": 128,
            "repositoryCredentials": {"credentialsParameter": secret_id},
        }],
        **extra,
    )


def test_happy_path_passes(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=GOOD)["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn)
    code, out, err = doctor(berth, "--task-definition", "private-app")
    assert code == 0, out + err
    assert "FAIL" not in out
    for check in ("execution-role", "pass-role", "secret", "get-secret-value", "kms-decrypt", "secret-value", "placement"):
        assert f"ok   {check}" in out, out
    assert "no kms permission is needed" in out
    assert "privateRegistryPassword" not in out + err
    # The same by ARN, as JSON.
    code, checks = doctor_json(berth, "--task-definition", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/private-app:1")
    assert code == 0
    assert all(c["ok"] for c in checks.values())


def test_file_source(berth, tmp_path):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=GOOD)["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    f = tmp_path / "td.json"
    f.write_text(json.dumps({
        "family": "from-file", "executionRoleArn": "ecsTaskExecutionRole", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "127.0.0.1:5000/app:1",
                                  "repositoryCredentials": {"credentialsParameter": "registry-creds"}}],
    }))
    code, out, err = doctor(berth, "--file", str(f))
    assert code == 0, out + err


def test_missing_get_secret_value_names_the_statement(berth):
    arn = berth.client("secretsmanager").create_secret(Name="registry-creds", SecretString=GOOD)["ARN"]
    role(berth)
    register(berth, arn)
    code, out, _ = doctor(berth, "--task-definition", "private-app")
    assert code == 1
    assert "FAIL get-secret-value [app]" in out
    _, checks = doctor_json(berth, "--task-definition", "private-app")
    fix = checks["get-secret-value"]["fix"]
    assert "aws iam put-role-policy --role-name ecsTaskExecutionRole --policy-name berth-doctor-GetSecretValue-" in fix
    doc = json.loads(fix[fix.index("--policy-document '") + len("--policy-document '"):].rstrip().rstrip("'"))
    assert doc["Statement"] == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]


def test_custom_key_without_decrypt_names_the_statement(berth):
    key = berth.client("kms").create_key()["KeyMetadata"]["Arn"]
    arn = berth.client("secretsmanager").create_secret(Name="registry-creds", KmsKeyId=key, SecretString=GOOD)["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn)
    code, checks = doctor_json(berth, "--task-definition", "private-app")
    assert code == 1
    c = checks["kms-decrypt"]
    assert not c["ok"]
    assert "Access to KMS is not allowed" in c["reason"]
    fix = c["fix"]
    [stmt] = json.loads(fix[fix.index("--policy-document '") + len("--policy-document '"):].rstrip().rstrip("'"))["Statement"]
    assert stmt["Action"] == "kms:Decrypt" and stmt["Resource"] == key
    assert stmt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}
    # With the statement the role passes.
    berth.client("iam").put_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="kms",
                                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [stmt]}))
    code, out, err = doctor(berth, "--task-definition", "private-app")
    assert code == 0, out + err


def test_cross_account_secret_without_resource_policy_names_it(berth):
    owner = other_account(berth, OTHER)
    key = berth.client("kms", creds=owner).create_key()["KeyMetadata"]["Arn"]
    arn = berth.client("secretsmanager", creds=owner).create_secret(
        Name="shared", KmsKeyId=key, SecretString=GOOD)["ARN"]
    role(berth, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}]})
    # By name across accounts: must be the full ARN.
    register(berth, f"arn:aws:secretsmanager:{REGION}:{OTHER}:secret:shared")
    _, checks = doctor_json(berth, "--task-definition", "private-app")
    assert "cross-account secrets must be referenced by full ARN" in checks["secret"]["reason"]
    register(berth, arn)
    code, checks = doctor_json(berth, "--task-definition", "private-app")
    assert code == 1
    c = checks["get-secret-value"]
    assert not c["ok"]
    assert f"resource policy of {arn}" in c["fix"]
    assert ROLE_ARN in c["fix"]


def test_malformed_secret_names_the_field(berth):
    arn = berth.client("secretsmanager").create_secret(
        Name="registry-creds", SecretString=json.dumps({"username": "u", "Pass": "not-the-field"}))["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn)
    code, out, err = doctor(berth, "--task-definition", "private-app")
    assert code == 1
    assert "FAIL secret-value [app]" in out
    assert '"password"' in out
    assert "not-the-field" not in out + err


def test_wrong_registry_password_is_refused(berth, registry):  # noqa: F811
    user, password = REGISTRY_USER
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=json.dumps({"username": user, "password": password}))["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn, image=registry.image)
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check")
    assert code == 0, out + err
    assert "ok   registry [app]" in out
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": user, "password": "wrong"}))
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check")
    assert code == 1
    assert "FAIL registry [app]: the registry refused the credentials" in out
    assert password not in out + err


@pytest.fixture
def tls_registry(tmp_path, docker_ready):  # noqa: F811
    """A registry on https only (a test CA's certificate for 127.0.0.1), htpasswd Basic auth.
    Yields (host, CA file)."""
    for tool in ("docker-registry", "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/install-test-deps")
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, text=True, timeout=60)  # noqa: E731
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "tls.key", "tls.csr", "tls.pem"))
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=berth test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    htpasswd = tmp_path / "htpasswd"
    user, password = REGISTRY_USER
    htpasswd.write_text(run("htpasswd", "-Bbn", user, password).stdout)
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {cert}\n    key: {key}\n"
        f"auth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n"
    )
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, "the TLS registry did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", ca
    finally:
        stop_process(proc)


def test_registry_check_speaks_https(berth, tls_registry):
    host, ca = tls_registry
    user, password = REGISTRY_USER
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=json.dumps({"username": user, "password": password}))["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn, image=f"{host}/app:1")
    trusted = dict(os.environ, SSL_CERT_FILE=str(ca))
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check", env=trusted)
    assert code == 0, out + err
    assert f"ok   registry [app]: {host} accepts the credentials" in out
    # A certificate this machine does not trust: https fails, and plain http is no registry.
    untrusted = {k: v for k, v in os.environ.items() if not k.startswith("SSL_CERT_")}  # the system's roots
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check", env=untrusted)
    assert code == 1, out + err
    line = next(line for line in out.splitlines() if line.startswith("FAIL registry [app]"))
    assert "https:" in line and "invalid peer certificate: UnknownIssuer" in line, out
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": user, "password": "wrong"}))
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check", env=trusted)
    assert code == 1
    assert "FAIL registry [app]: the registry refused the credentials" in out
    assert password not in out + err


def test_no_placement_target(berth):
    arn = berth.client("secretsmanager").create_secret(Name="registry-creds", SecretString=GOOD)["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn, fargate=False)
    code, checks = doctor_json(berth, "--task-definition", "private-app")
    assert code == 1
    assert "no ACTIVE container instance" in checks["placement"]["reason"]


def test_usage_error(berth):
    # Neither --task-definition nor --file: a usage error (clap's exit code 2), nothing checked.
    code, out, err = doctor(berth)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("error: the following required arguments were not provided:\n"), err
    assert "<--task-definition <TASK_DEFINITION>|--file <FILE>|--service <SERVICE>>" in err
    assert "panicked" not in err


def test_unknown_task_definition(berth):
    # A check that fails: exit code 1 (docs/doctor.md), the failed check and its fix.
    code, out, err = doctor(berth, "--task-definition", "nosuch")
    assert code == 1, (code, out, err)
    assert out.splitlines() == [
        "task definition nosuch",
        f"FAIL task-definition: task definition nosuch not found in account {ACCOUNT} region {REGION}: "
        "TaskDefinition not found.",
        "     fix: register the task definition, or pass it with --file",
    ], out
    assert "panicked" not in err
    code, checks = doctor_json(berth, "--task-definition", "nosuch")
    assert code == 1
    assert checks["task-definition"]["ok"] is False


def test_pass_role_is_asked_on_the_role_as_stored(berth):
    # RunTask decides iam:PassRole on the role's ARN as IAM stores it (role names are unique
    # without regard to case); the doctor asks the same question, even when the task
    # definition spells the role otherwise.
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=GOOD)["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    iam = berth.client("iam")
    iam.create_user(UserName="deployer")
    iam.put_user_policy(UserName="deployer", PolicyName="p", PolicyDocument=json.dumps(allow("iam:PassRole", ROLE_ARN)))
    berth.client("ecs").register_task_definition(
        family="shouting",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ECSTASKEXECUTIONROLE",
        containerDefinitions=[{
            "name": "app", "image": "127.0.0.1:5000/app:1", "memory": 128,
            "repositoryCredentials": {"credentialsParameter": arn},
        }],
    )
    _, checks = doctor_json(berth, "--task-definition", "shouting", "--caller-arn", f"arn:aws:iam::{ACCOUNT}:user/deployer")
    assert checks["pass-role"]["ok"], checks["pass-role"]
    assert ROLE_ARN in checks["pass-role"]["reason"], checks["pass-role"]
