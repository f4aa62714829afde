"""Container health checks and `dependsOn`, run by `berth agent` and by berth's Fargate
capacity on real Docker: Docker's own health check, the container's and the task's
`healthStatus` in DescribeTasks, a service's task stopped when an essential container turns
UNHEALTHY (a standalone task keeps running), and containers started only once their
dependencies reached their condition, or stopped in the ECS agent's words when they never can.

AWS's shortest health check interval is 5 s, so the health tests take a few seconds each.
"""

import time

from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import PrivateApp, agent_factory, start, wait_stopped  # noqa: F401
from test_container_settings import container_of, inspect, leftovers  # noqa: F401
from test_fargate import NET, FargateApp, wait_status
from test_fargate import creds as fargate_creds

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
# Healthy once /tmp/ready exists (the container makes it at once).
READY = ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; while :; do sleep 0.1; done"]


def register(berth, app, family, containers, **kw):
    auth = {"credentialsParameter": app.secret_arn}
    defs = [{"memory": 32, "stopTimeout": 2, "repositoryCredentials": auth, **c} for c in containers]
    berth.client("ecs").register_task_definition(family=family, executionRoleArn=app.role_arn,
                                                 containerDefinitions=defs, **kw)


def run(berth, cluster, family, leftovers, **kw):
    out = berth.client("ecs").run_task(cluster=cluster, taskDefinition=family, launchType="EC2", **kw)
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    return arn


def wait_for(berth, cluster, arn, check, what, timeout=60):
    ecs = berth.client("ecs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if check(t):
            return t
        time.sleep(0.3)
    raise AssertionError(f"{what} not seen after {timeout}s: {t}\nserver log:\n{berth.log()}")


def container(t, name):
    return next(c for c in t["containers"] if c["name"] == name)


def started_at(cid):
    return inspect(cid)["State"]["StartedAt"]


def test_healthy_sidecar_gates_the_app_and_the_task_becomes_healthy(leftovers, berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    image = registry.image
    check = {"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "timeout": 2, "retries": 1}
    register(berth, app, app.family + "-hc", [
        # Defined first, started last: it waits for side's HEALTHY and init's COMPLETE.
        {"name": "app", "image": image, "essential": True, "command": READY,
         "healthCheck": check,
         "dependsOn": [{"containerName": "side", "condition": "HEALTHY"},
                       {"containerName": "init", "condition": "COMPLETE"}]},
        {"name": "side", "image": image, "essential": False, "command": READY, "healthCheck": check},
        {"name": "init", "image": image, "essential": False, "command": ["sh", "-c", "exit 3"]},
        {"name": "late", "image": image, "essential": False, "command": SLEEPER,
         "dependsOn": [{"containerName": "app", "condition": "START"}]},
    ])
    arn = run(berth, cluster, app.family + "-hc", leftovers)
    t = wait_for(berth, cluster, arn, lambda t: t.get("healthStatus") == "HEALTHY", "task HEALTHY")
    assert t["lastStatus"] == "RUNNING", t
    assert container(t, "app")["healthStatus"] == "HEALTHY", t
    assert container(t, "side")["healthStatus"] == "HEALTHY", t
    # Docker runs the definition's check.
    side_id = container_of(arn, "side", t)
    hc = inspect(side_id)["Config"]["Healthcheck"]
    # (Docker leaves out a zero StartPeriod)
    assert hc == {"Test": ["CMD-SHELL", "test -f /tmp/ready"], "Interval": 5_000_000_000,
                  "Timeout": 2_000_000_000, "Retries": 1}, hc
    # The app started after its sidecar was healthy (its first check runs 5 s after its start),
    # and after init exited; late after app.
    app_id, init_id, late_id = (container_of(arn, n, t) for n in ("app", "init", "late"))
    assert started_at(app_id) > started_at(side_id), (started_at(app_id), started_at(side_id))
    assert inspect(init_id)["State"]["FinishedAt"] < started_at(app_id)
    assert started_at(late_id) > started_at(app_id)
    assert container(t, "init")["lastStatus"] == "STOPPED" and container(t, "init")["exitCode"] == 3, t
    berth.client("ecs").stop_task(cluster=cluster, task=arn)
    wait_stopped(berth, cluster, arn, agent)


def test_unhealthy_standalone_keeps_running_and_a_service_task_is_stopped(leftovers, berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    register(berth, app, app.family + "-sick", [
        {"name": "app", "image": registry.image, "essential": True, "command": SLEEPER,
         "healthCheck": {"command": ["CMD", "false"], "interval": 5, "retries": 1}},
    ])
    alone = run(berth, cluster, app.family + "-sick", leftovers)
    service = run(berth, cluster, app.family + "-sick", leftovers, startedBy="ecs-svc/123")
    t = wait_stopped(berth, cluster, service, agent, timeout=60)
    assert t["stoppedReason"] == "Task failed container health checks", t
    assert t["stopCode"] == "ServiceSchedulerInitiated", t
    assert t["healthStatus"] == "UNHEALTHY", t
    t = wait_for(berth, cluster, alone, lambda t: t.get("healthStatus") == "UNHEALTHY", "task UNHEALTHY")
    assert container(t, "app")["healthStatus"] == "UNHEALTHY", t
    time.sleep(1)  # (a stop would already be ordered: the same report set the health)
    t = berth.client("ecs").describe_tasks(cluster=cluster, tasks=[alone])["tasks"][0]
    assert t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING", t
    berth.client("ecs").stop_task(cluster=cluster, task=alone)
    wait_stopped(berth, cluster, alone, agent)


def test_a_failed_success_dependency_stops_the_task_in_the_agents_words(leftovers, berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    register(berth, app, app.family + "-dep", [
        {"name": "app", "image": registry.image, "essential": True, "command": SLEEPER,
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "init", "image": registry.image, "essential": False, "command": ["sh", "-c", "exit 1"]},
    ])
    arn = run(berth, cluster, app.family + "-dep", leftovers)
    t = wait_stopped(berth, cluster, arn, agent)
    a = container(t, "app")
    assert a["exitCode"] == 143, t
    assert a["reason"].startswith(
        "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency [init("), a
    assert a["reason"].endswith("as dependency did not exit successfully."), a
    assert container(t, "init")["exitCode"] == 1, t
    assert t["stopCode"] == "TaskFailedToStart", t
    # AWS's registration rules for dependsOn, in its words.
    ecs = berth.client("ecs")
    for deps, message in [
        ([{"containerName": "ghost", "condition": "START"}],
         "Cannot depend on container + 'ghost' because it does not exist"),
        ([{"containerName": "app", "condition": "COMPLETE"}],
         "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"),
    ]:
        try:
            ecs.register_task_definition(family="bad-deps", containerDefinitions=[
                {"name": "app", "image": "busybox", "memory": 32},
                {"name": "b", "image": "busybox", "memory": 32, "dependsOn": deps}])
            raise AssertionError("registered")
        except ecs.exceptions.ClientException as e:
            assert e.response["Error"]["Message"] == message, e.response


def test_fargate_runs_health_checks_and_waits_for_healthy(berth, registry):
    fg = FargateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": fg.secret_arn}
    check = {"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "retries": 1}
    family = fg.family + "-hc"
    berth.client("ecs").register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=fg.role_arn, containerDefinitions=[
            {"name": "app", "image": registry.image, "essential": True, "command": SLEEPER,
             "repositoryCredentials": auth, "stopTimeout": 2,
             "dependsOn": [{"containerName": "side", "condition": "HEALTHY"}]},
            {"name": "side", "image": registry.image, "essential": True, "command": READY,
             "repositoryCredentials": auth, "stopTimeout": 2, "healthCheck": check},
        ])
    out = berth.client("ecs").run_task(taskDefinition=family, launchType="FARGATE", networkConfiguration=NET)
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    try:
        t = wait_status(berth, arn, "RUNNING")
        assert container(t, "side")["healthStatus"] == "HEALTHY", t
        assert t["healthStatus"] == "HEALTHY", t
        side_id, app_id = (container_of(arn, n, t) for n in ("side", "app"))
        assert started_at(app_id) > started_at(side_id)
    finally:
        berth.client("ecs").stop_task(task=arn)
        wait_status(berth, arn, "STOPPED")
