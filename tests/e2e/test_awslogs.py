"""The awslogs log driver end to end: `berth server` + `berth agent` (or berth's Fargate capacity)
+ real Docker. A container's stdout and stderr reach its CloudWatch Logs stream through berth's
API, signed with the task's execution-role credentials; the stream is the shipper's checkpoint,
so a SIGKILLed and restarted agent ships every line exactly once."""

import json
import subprocess
import time
import uuid

from conftest import REGION, berth_bin
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from helpers import allow, user_creds
from test_agent import TRUST, agent_factory, start, wait_running, wait_stopped  # noqa: F401
from test_console import browser, page, sign_in  # noqa: F401

NET = {"awsvpcConfiguration": {"subnets": ["subnet-12345678"]}}
LOGS_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# 1,000 numbered lines, one every few milliseconds. (Docker stamps stdout and stderr as it reads
# each pipe, so lines of the two streams written within a few milliseconds of each other may be
# stamped out of order; the order tests write to one stream.)
SLOW_LINES = 'i=1; while [ $i -le 1000 ]; do echo "line $i"; i=$((i+1)); sleep 0.01; done'
FAST_LINES = 'i=1; while [ $i -le 1000 ]; do echo "line $i"; i=$((i+1)); done'


class LoggedApp:
    """A registry secret, an execution role allowed to read it and `logs_actions` on the
    group's streams, and a task definition whose container uses awslogs."""

    def __init__(self, b, registry, command, logs_actions=LOGS_ACTIONS, create_group=False, fargate=False,
                 prefix="app-logs", make_group=True, more_options=None):
        suffix = uuid.uuid4().hex[:8]
        self.b = b
        sm, iam, ecs = b.client("secretsmanager"), b.client("iam"), b.client("ecs")
        secret = sm.create_secret(Name=f"registry-{suffix}", SecretString=json.dumps(
            {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
        self.group = f"/ecs/awslogs-{suffix}"
        if make_group:
            b.client("logs").create_log_group(logGroupName=self.group)
        role = f"exec-{suffix}"
        self.role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        statements = [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret}]
        if logs_actions:
            statements.append({
                "Effect": "Allow",
                "Action": list(logs_actions),
                "Resource": f"arn:aws:logs:{REGION}:000000000000:log-group:{self.group}:*",
            })
        iam.put_role_policy(RoleName=role, PolicyName="p",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        options = {"awslogs-group": self.group, "awslogs-region": REGION, "awslogs-stream-prefix": prefix}
        if create_group:
            options["awslogs-create-group"] = "true"
        options.update(more_options or {})
        self.family = f"logged-{suffix}"
        extra = dict(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512") if fargate else {}
        ecs.register_task_definition(
            family=self.family,
            executionRoleArn=self.role_arn,
            containerDefinitions=[{
                "name": "app",
                "image": registry.image,
                "memory": 64,
                "essential": True,
                "stopTimeout": 2,
                "repositoryCredentials": {"credentialsParameter": secret},
                "command": ["sh", "-c", command],
                "logConfiguration": {"logDriver": "awslogs", "options": options},
            }],
            **extra,
        )
        self.prefix = prefix

    def run(self, cluster=None, fargate=False):
        kw = dict(launchType="FARGATE", networkConfiguration=NET) if fargate else dict(cluster=cluster, launchType="EC2")
        out = self.b.client("ecs").run_task(taskDefinition=self.family, **kw)
        assert not out["failures"], out["failures"]
        return out["tasks"][0]["taskArn"]

    def stream(self, task_arn):
        return f"{self.prefix}/app/{task_arn.rsplit('/', 1)[1]}"

    def events(self, task_arn):
        """Every event of the task's stream, oldest first, through the AWS CLI's paging."""
        code, out, err = self.b.aws(
            "logs", "get-log-events", "--log-group-name", self.group, "--log-stream-name", self.stream(task_arn),
            "--start-from-head", "--output", "json", check=True,
        )
        return [e["message"] for e in json.loads(out)["events"]]


def wait_events(app, task_arn, count, agent, timeout=60):
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        try:
            got = app.events(task_arn)
        except AssertionError:
            got = []
        if len(got) >= count:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{len(got)} events after {timeout}s\n{agent.log() if agent else ''}")


def expected(n=1000):
    return [f"line {i}" for i in range(1, n + 1)]


def test_every_line_reaches_the_stream_once_in_order(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    ci = berth.client("ecs").describe_container_instances(
        cluster=cluster, containerInstances=berth.client("ecs").list_container_instances(cluster=cluster)["containerInstanceArns"]
    )["containerInstances"][0]
    names = {a["name"] for a in ci["attributes"]}
    assert {"com.amazonaws.ecs.capability.logging-driver.awslogs", "ecs.capability.execution-role-awslogs"} <= names
    app = LoggedApp(berth, registry, FAST_LINES)
    arn = app.run(cluster)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["containers"][0]["exitCode"] == 0, t
    # Drained before the container was removed: everything is there once the task is STOPPED.
    assert app.events(arn) == expected()
    # Shipped as the execution role, which is all the shipper's writes need.
    assert "PutLogEvents refused" not in agent.log()


def test_a_sigkilled_agent_resumes_after_the_stream_s_last_event(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(berth, registry, SLOW_LINES)
    arn = app.run(cluster)
    wait_running(berth, cluster, arn, agent)
    # Some lines are shipped, the container still writes: the kill lands mid-way.
    first = wait_events(app, arn, 50, agent)
    assert len(first) < 1000
    agent.proc.kill()
    agent.proc.wait(timeout=10)
    [container] = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    assert container
    again = agent_factory(berth, cluster)
    t = wait_stopped(berth, cluster, arn, again, timeout=120)
    assert t["containers"][0]["exitCode"] == 0, t
    got = app.events(arn)
    assert len(got) == len(set(got)), [x for x in got if got.count(x) > 1][:5]
    assert got == expected(), f"{len(got)} events; missing {sorted(set(expected()) - set(got))[:5]}"


def test_multiline_events_are_grouped_as_docker_groups_them(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(
        berth, registry,
        "echo 'INFO start'; echo '  at one'; echo '  at two'; echo 'INFO next'; sleep 0.1; echo 'ERROR last'",
        more_options={"awslogs-multiline-pattern": "INFO|ERROR"},
    )
    arn = app.run(cluster)
    wait_stopped(berth, cluster, arn, agent)
    assert app.events(arn) == ["INFO start\n  at one\n  at two", "INFO next", "ERROR last"]
    # An option Docker's driver does not know: the container is not made, in Docker's words.
    bad = LoggedApp(berth, registry, "echo x", more_options={"awslogs-colour": "blue"})
    t = wait_stopped(berth, cluster, bad.run(cluster), agent)
    assert t["containers"][0]["reason"] == (
        "CannotCreateContainerError: Error response from daemon: unknown log opt 'awslogs-colour' for awslogs log driver"
    ), t


def test_without_create_log_stream_the_container_does_not_start(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(berth, registry, "echo hello", logs_actions=("logs:PutLogEvents",))
    arn = app.run(cluster)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = t["containers"][0]["reason"]
    assert reason.startswith(
        "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: "
        "failed to create Cloudwatch log stream: AccessDeniedException: "), reason
    assert "is not authorized to perform: logs:CreateLogStream" in reason, reason
    assert t["stoppedReason"].startswith("CannotStartContainerError"), t


def test_create_group_without_create_log_group_the_container_does_not_start(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(berth, registry, "echo hello", create_group=True, make_group=False)
    t = wait_stopped(berth, cluster, app.run(cluster), agent)
    assert t["stopCode"] == "TaskFailedToStart", t
    reason = t["containers"][0]["reason"]
    assert "failed to create Cloudwatch log group: AccessDeniedException: " in reason, reason
    assert "logs:CreateLogGroup" in reason, reason
    # With the permission, the group is made before the container starts.
    app2 = LoggedApp(berth, registry, "echo made; sleep 0.2; echo 'on stderr' >&2", create_group=True, make_group=False,
                     logs_actions=LOGS_ACTIONS + ("logs:CreateLogGroup",))
    arn = app2.run(cluster)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["containers"][0]["exitCode"] == 0, t
    assert app2.events(arn) == ["made", "on stderr"]


def test_without_put_log_events_the_container_runs_and_doctor_names_the_permission(berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(berth, registry, "echo one; echo two", logs_actions=("logs:CreateLogStream",))
    arn = app.run(cluster)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["containers"][0]["exitCode"] == 0, t
    assert t["stopCode"] == "EssentialContainerExited", t
    # The stream exists and stays empty; the agent's log says why.
    streams = berth.client("logs").describe_log_streams(logGroupName=app.group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [app.stream(arn)]
    assert app.events(arn) == []
    log = agent.log()
    assert "PutLogEvents refused" in log and "logs:PutLogEvents" in log, log
    assert "secretAccessKey" not in log
    p = subprocess.run(
        [berth_bin(), "doctor", "--data-dir", str(berth.data_dir), "--region", REGION,
         "--task-definition", app.family, "--output", "json"],
        capture_output=True, text=True, timeout=60,
    )
    checks = [c for c in json.loads(p.stdout)["checks"] if c["check"] == "awslogs"]
    failed = [c for c in checks if not c["ok"]]
    assert len(failed) == 1, checks
    assert "may not logs:PutLogEvents" in failed[0]["reason"], failed
    assert '"logs:PutLogEvents"' in failed[0]["fix"], failed
    assert any(c["ok"] and "logs:CreateLogStream" in c["reason"] for c in checks), checks


def test_fargate_ships_the_container_s_output(berth, registry):
    app = LoggedApp(berth, registry, FAST_LINES, fargate=True)
    arn = app.run(fargate=True)
    ecs = berth.client("ecs")
    deadline = time.time() + 120
    while time.time() < deadline:
        t = ecs.describe_tasks(tasks=[arn])["tasks"][0]
        if t["lastStatus"] == "STOPPED":
            break
        time.sleep(0.3)
    assert t["lastStatus"] == "STOPPED", t
    assert t["containers"][0]["exitCode"] == 0, f"{t}\n{berth.log()}"
    assert app.events(arn) == expected()


def test_fargate_refuses_awslogs_without_a_stream_prefix(berth):
    ecs = berth.client("ecs")
    try:
        ecs.register_task_definition(
            family="no-prefix", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            executionRoleArn="arn:aws:iam::000000000000:role/exec",
            containerDefinitions=[{"name": "app", "image": "busybox", "logConfiguration": {
                "logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": REGION}}}],
        )
        raise AssertionError("registered")
    except ecs.exceptions.ClientException as e:
        assert e.response["Error"]["Message"] == (
            "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs."
        )


def test_the_console_shows_the_task_s_log_newest_first(berth, registry, agent_factory, page):
    cluster, agent = start(berth, agent_factory)
    app = LoggedApp(berth, registry, FAST_LINES)
    arn = app.run(cluster)
    wait_stopped(berth, cluster, arn, agent)
    sign_in(page, berth)
    page.goto(f"{berth.endpoint}/console/tasks?cluster={cluster}")
    page.get_by_role("link", name="Log of app").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 50
    assert rows.nth(0).inner_text().endswith("line 1000")
    assert rows.nth(49).inner_text().endswith("line 951")
    page.get_by_role("link", name="Older lines").click()
    assert page.locator("table tbody tr").nth(0).inner_text().endswith("line 950")
    # A principal without logs:GetLogEvents sees CloudWatch Logs' denial, in its words.
    creds = user_creds(berth, "viewer", allow(["ecs:Describe*", "ecs:List*"]))
    page.context.clear_cookies()
    sign_in(page, berth, creds)
    page.goto(f"{berth.endpoint}/console/tasks?cluster={cluster}")
    page.get_by_role("link", name="Log of app").click()
    body = page.content()
    assert "AccessDeniedException" in body and "logs:GetLogEvents" in body, body


def test_a_line_docker_splits_is_one_event(berth, registry, agent_factory):
    """Docker keeps a line over 16 KiB as partial messages; the shipper joins them, as Docker's
    awslogs driver does: a 40 KiB line is one event."""
    cluster, agent = start(berth, agent_factory)
    command = ('s=x; i=0; while [ $i -lt 12 ]; do s=$s$s; i=$((i+1)); done; '
               'echo before; echo "$s$s$s$s$s$s$s$s$s$s"; echo after')
    app = LoggedApp(berth, registry, command)
    arn = app.run(cluster)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["containers"][0]["exitCode"] == 0, t
    events = app.events(arn)
    assert [len(e) for e in events] == [6, 40960, 5], [len(e) for e in events]
    assert events[1] == "x" * 40960 and events[0] == "before" and events[2] == "after"
