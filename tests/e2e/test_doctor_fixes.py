"""`berth doctor`'s fixes, pasted: a working private-registry task is broken in each way doctor
checks, doctor's printed fixes are pasted verbatim into bash with the AWS CLI (bare `aws`, as the
quickstart's environment file sets it up), and doctor passes again; the task then runs on
`berth up`'s agent. One run of doctor reports every independent failure."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REGION, berth_bin, free_port, stop_process
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401

ACCOUNT = "000000000000"
ROLE = "fixes-exec"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
FAMILY = "fixes-app"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class Up:
    """`berth up` on a fresh data directory, with the environment a user's shell has after
    `source .berth-data/env`."""

    def __init__(self, data: Path):
        self.data = data
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / f"up-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_"))}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [berth_bin(), "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        bin_dir = data.parent / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name, target in (("berth", berth_bin()), ("aws", str(Path(sys.executable).parent / "aws"))):
            if not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(target)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_"))}
        self.env.update(
            PATH=f"{bin_dir}:{os.environ['PATH']}", BERTH_DATA_DIR=str(data), AWS_ENDPOINT_URL=self.endpoint,
            AWS_SHARED_CREDENTIALS_FILE=str(data / "credentials"), AWS_PROFILE="berth",
            AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
        )
        deadline = time.time() + 30
        while not self.bash("aws ecs list-container-instances --cluster default --query "
                            "'length(containerInstanceArns)' --output text 2>/dev/null")[1].strip() == "1":
            assert self.proc.poll() is None and time.time() < deadline, self.log()
            time.sleep(0.2)

    def bash(self, script, timeout=60):
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=self.env, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def aws(self, *args):
        cmd = ["aws", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=60)
        assert p.returncode == 0, (cmd, p.stderr)
        return json.loads(p.stdout) if p.stdout.strip() else None

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.proc, timeout=15, group=True)
        self._log.close()


@pytest.fixture
def up(tmp_path, docker_ready):  # noqa: F811
    u = Up(tmp_path / "berth-data")
    yield u
    u.stop()


def doctor(up, *args):
    """`berth doctor` as a user runs it from that shell: no --data-dir (BERTH_DATA_DIR)."""
    return up.bash("berth doctor --task-definition " + FAMILY + " " + " ".join(args))


def printed_fixes(out):
    """Every fix block of doctor's text output, dedented, as printed."""
    blocks, lines, current = [], out.splitlines(), None
    for line in lines:
        if line == "     fix:":
            current = []
            blocks.append(current)
        elif current is not None and line.startswith("       "):
            current.append(line[7:])
        else:
            current = None
    return ["\n".join(b) for b in blocks]


def paste_fixes(up, out):
    fixes = printed_fixes(out)
    assert fixes, out
    for fix in fixes:
        code, o, e = up.bash(fix)
        assert code == 0, f"the pasted fix failed:\n{fix}\n{o}\n{e}"
    return fixes


def statuses(out):
    """{check [container]: 'ok'|'FAIL'|'skip'} of doctor's text output."""
    got = {}
    for line in out.splitlines()[1:]:
        if line[:4] in ("ok  ", "FAIL", "skip"):
            got[line[5:].split(":", 1)[0]] = line[:4].strip()
    return got


def setup_working(up, registry):  # noqa: F811
    user, password = REGISTRY_USER
    key = up.aws("kms", "create-key", "--description", "doctor fixes")["KeyMetadata"]["Arn"]
    secret = up.aws("secretsmanager", "create-secret", "--name", "fixes/registry", "--kms-key-id", key,
                    "--secret-string", json.dumps({"username": user, "password": password}))["ARN"]
    up.aws("iam", "create-role", "--role-name", ROLE, "--assume-role-policy-document", json.dumps(TRUST))
    up.aws("iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "registry", "--policy-document",
           json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
                "Resource": [secret, key]}]}))
    register(up, registry, secret)
    code, out, err = doctor(up)
    assert code == 0, out + err
    return key, secret


def register(up, registry, secret_id):  # noqa: F811
    up.aws("ecs", "register-task-definition", "--family", FAMILY, "--execution-role-arn", ROLE_ARN,
           "--container-definitions", json.dumps([{
               "name": "app", "image": registry.image, "memory": 64, "essential": True,
               "command": ["sh", "-c", "echo fixed"],
               "repositoryCredentials": {"credentialsParameter": secret_id}}]))


def run_task(up):
    arn = up.aws("ecs", "run-task", "--cluster", "default", "--task-definition", FAMILY)["tasks"][0]["taskArn"]
    deadline = time.time() + 90
    while True:
        t = up.aws("ecs", "describe-tasks", "--cluster", "default", "--tasks", arn)["tasks"][0]
        if t["lastStatus"] == "STOPPED":
            return t
        assert time.time() < deadline, (t, up.log())
        time.sleep(0.3)


def test_one_run_reports_every_failure_and_its_pasted_fixes_make_the_task_run(up, registry):  # noqa: F811
    key, secret = setup_working(up, registry)
    # Three independent breaks: the trust policy, the role's permissions, the secret's reference.
    up.aws("iam", "update-assume-role-policy", "--role-name", ROLE, "--policy-document", json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    up.aws("iam", "delete-role-policy", "--role-name", ROLE, "--policy-name", "registry")
    register(up, registry, secret[:-6] + "zzzzzz")
    code, out, err = doctor(up)
    assert code == 1, out + err
    got = statuses(out)
    assert got["execution-role"] == "FAIL" and got["secret [app]"] == "FAIL", out
    assert got["get-secret-value [app]"] == "FAIL" and got["kms-decrypt [app]"] == "FAIL", out
    assert got["secret-value [app]"] == "ok" and got["placement"] == "ok", out
    fixes = paste_fixes(up, out)
    assert len(fixes) == 4, fixes
    assert any(f"--role-name {ROLE} --policy-name berth-doctor-GetSecretValue-" in f for f in fixes), fixes
    code, out, err = doctor(up)
    assert code == 0, out + err
    t = run_task(up)
    assert t["containers"][0].get("exitCode") == 0, t
    # The fixes replaced no policy: the role holds the doctor's two and nothing was lost.
    names = up.aws("iam", "list-role-policies", "--role-name", ROLE)["PolicyNames"]
    assert len(names) == 2 and all(n.startswith("berth-doctor-") for n in names), names


def test_a_missing_role_is_created_by_its_name_then_its_permissions(up, registry):  # noqa: F811
    setup_working(up, registry)
    up.aws("iam", "delete-role-policy", "--role-name", ROLE, "--policy-name", "registry")
    up.aws("iam", "delete-role", "--role-name", ROLE)
    code, out, err = doctor(up)
    assert code == 1, out + err
    got = statuses(out)
    assert got["execution-role"] == "FAIL" and got["get-secret-value [app]"] == "skip", out
    assert "skip get-secret-value [app]: not checked: needs execution-role" in out, out
    assert f"aws iam create-role --role-name {ROLE} --assume-role-policy-document" in out, out
    paste_fixes(up, out)
    # The role is there now: what it may do is checked, and fixed.
    code, out, err = doctor(up)
    assert code == 1 and statuses(out)["get-secret-value [app]"] == "FAIL", out
    paste_fixes(up, out)
    code, out, err = doctor(up)
    assert code == 0, out + err
    assert run_task(up)["containers"][0].get("exitCode") == 0


def test_denies_and_resource_policies_are_fixed_by_pasting(up, registry):  # noqa: F811
    key, secret = setup_working(up, registry)
    # An explicit deny in an inline policy of the role, among an allow that must stay.
    up.aws("iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "guard", "--policy-document",
           json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"},
               {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    # A key policy that no longer delegates to the account's IAM policies (the root keeps admin).
    up.aws("kms", "put-key-policy", "--key-id", key, "--policy-name", "default", "--policy", json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"], "Resource": "*"}]}))
    # The task fails fetching its registry credentials: the error is the task's stoppedReason,
    # its container has no reason of its own (docs/ecs-agent.md).
    t = run_task(up)
    assert t["stoppedReason"].startswith("Asm fetching secret from the service for "), t
    assert t["containers"][0].get("reason") is None, t
    code, out, err = doctor(up)
    assert code == 1, out + err
    assert f"an explicit deny in the inline policy guard of role {ROLE} refuses it" in out, out
    assert "a identity" not in out, out
    got = statuses(out)
    assert got["get-secret-value [app]"] == "FAIL" and got["kms-decrypt [app]"] == "FAIL", out
    paste_fixes(up, out)
    # The deny is gone, the allow beside it kept; the key policy kept its statement.
    guard = up.aws("iam", "get-role-policy", "--role-name", ROLE, "--policy-name", "guard")["PolicyDocument"]
    assert guard["Statement"] == [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}], guard
    policy = json.loads(up.aws("kms", "get-key-policy", "--key-id", key, "--policy-name", "default")["Policy"])
    assert [s.get("Sid") for s in policy["Statement"]][0] == "admin" and len(policy["Statement"]) == 2, policy
    code, out, err = doctor(up)
    assert code == 0, out + err

    # A Deny in the secret's resource policy.
    up.aws("secretsmanager", "put-resource-policy", "--secret-id", secret, "--resource-policy", json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": ROLE_ARN}, "Action": "secretsmanager:GetSecretValue",
             "Resource": "*"}]}))
    code, out, err = doctor(up)
    assert code == 1 and "aws secretsmanager put-resource-policy --secret-id" in out, out
    paste_fixes(up, out)
    code, out, err = doctor(up)
    assert code == 0, out + err
    assert run_task(up)["containers"][0].get("exitCode") == 0


def test_pass_role_of_a_user_and_a_key_pending_deletion_are_fixed_by_pasting(up, registry):  # noqa: F811
    key, _ = setup_working(up, registry)
    user = up.aws("iam", "create-user", "--user-name", "fixes-deployer")["User"]["Arn"]
    up.aws("kms", "schedule-key-deletion", "--key-id", key, "--pending-window-in-days", "7")
    code, out, err = doctor(up, "--caller-arn", user)
    assert code == 1 and statuses(out)["pass-role"] == "FAIL", out
    assert statuses(out)["kms-decrypt [app]"] == "FAIL" and f"aws kms cancel-key-deletion --key-id {key}" in out, out
    assert "aws iam put-user-policy --user-name fixes-deployer --policy-name berth-doctor-PassRole-" in out, out
    paste_fixes(up, out)
    code, out, err = doctor(up, "--caller-arn", user)
    assert code == 0, out + err
