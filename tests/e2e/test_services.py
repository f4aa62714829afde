"""ECS services end to end: the service API in AWS's shapes and words, and berth's service
scheduler keeping `runningCount` at `desiredCount` on real Docker (EC2 through `berth up`'s
agent, FARGATE through the server's own capacity), rolling deployments within the
percentages, the deployment circuit breaker with rollback, tags on every taggable resource, and
a scheduler that picks a rollout up again after the server is SIGKILLed."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, berth_bin, error_code, error_message
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from helpers import allow, user_creds
from test_agent import AgentProcess, PrivateApp, UpProcess, creds, task_containers, wait_for_instance
from test_fargate import FargateApp

NET = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "ENABLED"}}
# busybox sh as PID 1 ignores SIGTERM unless it traps it: this one stops within a second.
LONG = ("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")
FAST = {"Delay": 1, "MaxAttempts": 90}


def wait_stable(ecs, cluster, service):
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=[service], WaiterConfig=FAST)
    return ecs.describe_services(cluster=cluster, services=[service])["services"][0]


def until(what, check, timeout=90, log=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {timeout}s\n{log()}")


def service_tasks(ecs, cluster, service, status="RUNNING"):
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus=status)["taskArns"]
    if not arns:
        return []
    return ecs.describe_tasks(cluster=cluster, tasks=arns, include=["TAGS"])["tasks"]


def containers_of(family):
    """The Docker containers (running or not) of a task definition family's tasks."""
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-definition-family={family}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


def remove_containers(family):
    """Whatever a failed test left of a family's containers."""
    ids = containers_of(family)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=120)


def cli(endpoint, root, *args, timeout=120):
    """The AWS CLI against `endpoint` as `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=root.access_key_id, AWS_SECRET_ACCESS_KEY=root.secret_access_key,
        AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    aws = str(Path(sys.executable).parent / "aws")
    p = subprocess.run([aws, "--endpoint-url", endpoint, *args], capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def register_long(ecs, app, registry, **extra):
    """A revision of `app`'s family that runs until stopped."""
    container = {
        "name": "app", "image": registry.image, "memory": 32, "essential": True,
        "repositoryCredentials": {"credentialsParameter": app.secret_arn}, "command": list(LONG),
    }
    container.update(extra.pop("container", {}))
    return ecs.register_task_definition(family=app.family, executionRoleArn=app.role_arn,
                                        containerDefinitions=[container], **extra)["taskDefinition"]


# ---- the API --------------------------------------------------------------------------------

def test_service_api_in_aws_shapes_and_words(berth):
    ecs = berth.client("ecs")
    ecs.create_cluster(clusterName="prod")
    td = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 32}],
        tags=[{"key": "owner", "value": "td"}],
    )["taskDefinition"]["taskDefinitionArn"]
    out = ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=0,
                             tags=[{"key": "team", "value": "a"}])["service"]
    account = td.split(":")[4]
    assert out["serviceArn"] == f"arn:aws:ecs:us-east-1:{account}:service/prod/web"
    assert out["clusterArn"] == f"arn:aws:ecs:us-east-1:{account}:cluster/prod"
    assert out["status"] == "ACTIVE" and out["taskDefinition"] == td
    assert out["launchType"] == "EC2" and out["schedulingStrategy"] == "REPLICA"
    assert out["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200, "minimumHealthyPercent": 100,
    }
    assert out["deploymentController"] == {"type": "ECS"} and out["propagateTags"] == "NONE"
    [d] = out["deployments"]
    assert d["status"] == "PRIMARY" and d["rolloutState"] == "IN_PROGRESS"
    assert d["id"].startswith("ecs-svc/") and d["rolloutStateReason"] == f"ECS deployment {d['id']} in progress."
    assert hasattr(out["createdAt"], "year")

    def err(f, **kw):
        with pytest.raises(ClientError) as e:
            f(**kw)
        return error_code(e.value), error_message(e.value)

    assert err(ecs.create_service, cluster="prod", serviceName="web", taskDefinition="web", desiredCount=1) == (
        "InvalidParameterException", "Creation of service was not idempotent.")
    assert err(ecs.create_service, cluster="ghost", serviceName="x", taskDefinition="web") == (
        "ClusterNotFoundException", "Cluster not found.")
    assert err(ecs.create_service, cluster="prod", serviceName="x", taskDefinition="nope") == (
        "ClientException", "TaskDefinition not found.")
    assert err(ecs.update_service, cluster="prod", service="ghost", desiredCount=1) == (
        "ServiceNotFoundException", "Service not found.")
    # awsvpc needs its network configuration, as RunTask does.
    ecs.register_task_definition(family="vpc", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512",
                                 containerDefinitions=[{"name": "app", "image": "busybox"}])
    assert err(ecs.create_service, cluster="prod", serviceName="f", taskDefinition="vpc", desiredCount=1,
               launchType="FARGATE") == (
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.")

    # DescribeServices: MISSING failures; tags only when asked for.
    got = ecs.describe_services(cluster="prod", services=["web", "ghost"])
    assert [s["serviceName"] for s in got["services"]] == ["web"] and "tags" not in got["services"][0]
    assert got["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{account}:service/prod/ghost", "reason": "MISSING"}]
    got = ecs.describe_services(cluster="prod", services=[out["serviceArn"]], include=["TAGS"])
    assert got["services"][0]["tags"] == [{"key": "team", "value": "a"}]

    # ListServices: filters and pages.
    ecs.create_service(cluster="prod", serviceName="daemon", taskDefinition="web", schedulingStrategy="DAEMON")
    assert err(ecs.create_service, cluster="prod", serviceName="d2", taskDefinition="web",
               schedulingStrategy="DAEMON", desiredCount=1)[0] == "InvalidParameterException"
    assert ecs.list_services(cluster="prod", schedulingStrategy="DAEMON")["serviceArns"] == [
        f"arn:aws:ecs:us-east-1:{account}:service/prod/daemon"]
    assert ecs.list_services(cluster="prod", launchType="FARGATE")["serviceArns"] == []
    page = ecs.list_services(cluster="prod", maxResults=1)
    assert len(page["serviceArns"]) == 1 and page["nextToken"]
    rest = ecs.list_services(cluster="prod", maxResults=1, nextToken=page["nextToken"])
    assert len(rest["serviceArns"]) == 1 and "nextToken" not in rest
    assert ecs.list_services_by_namespace(namespace="ns")["serviceArns"] == []
    assert ecs.describe_clusters(clusters=["prod"])["clusters"][0]["activeServicesCount"] == 2
    assert err(ecs.delete_cluster, cluster="prod") == (
        "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")

    # DeleteService: not while scaled above 0, unless forced; DRAINING, then INACTIVE.
    ecs.update_service(cluster="prod", service="web", desiredCount=2)
    assert err(ecs.delete_service, cluster="prod", service="web") == (
        "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
    gone = ecs.delete_service(cluster="prod", service="web", force=True)["service"]
    assert gone["status"] == "DRAINING" and gone["desiredCount"] == 0
    assert err(ecs.update_service, cluster="prod", service="web", desiredCount=1) == (
        "ServiceNotActiveException", "Service was not ACTIVE.")
    until("INACTIVE", lambda: ecs.describe_services(cluster="prod", services=["web"])["services"][0]["status"]
          == "INACTIVE", timeout=20, log=berth.log)
    assert "web" not in " ".join(ecs.list_services(cluster="prod")["serviceArns"])
    # The name is free again.
    again = ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=0)
    assert again["service"]["status"] == "ACTIVE"


def test_service_calls_are_authorised_as_ecs_documents(berth):
    ecs = berth.client("ecs")
    iam = berth.client("iam")
    ecs.create_cluster(clusterName="prod")
    role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    ecs.register_task_definition(family="web", executionRoleArn=role,
                                 containerDefinitions=[{"name": "app", "image": "busybox", "memory": 32}])
    account = role.split(":")[4]
    svc_arn = f"arn:aws:ecs:us-east-1:{account}:service/prod/web"
    limited = user_creds(berth, "dev", allow(["ecs:CreateService", "ecs:DescribeServices"], svc_arn))
    dev = berth.client("ecs", creds=limited)
    with pytest.raises(ClientError) as e:
        dev.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=0)
    assert error_code(e.value) == "AccessDeniedException"
    assert "iam:PassRole" in error_message(e.value) and role in error_message(e.value)
    with pytest.raises(ClientError) as e:
        dev.create_service(cluster="prod", serviceName="other", taskDefinition="web", desiredCount=0)
    assert "ecs:CreateService" in error_message(e.value) and "service/prod/other" in error_message(e.value)
    iam.put_user_policy(UserName="dev", PolicyName="pass", PolicyDocument=json.dumps(allow(["iam:PassRole"], role)))
    assert dev.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=0)
    # The ecs:cluster condition key.
    iam.put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*",
            "Condition": {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:us-east-1:{account}:cluster/staging"}}}]}))
    with pytest.raises(ClientError) as e:
        dev.update_service(cluster="prod", service="web", desiredCount=0)
    assert error_code(e.value) == "AccessDeniedException"


def test_tags_round_trip_on_every_resource_type(berth):
    ecs = berth.client("ecs")
    cluster = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 32}])["taskDefinition"]["taskDefinitionArn"]
    from test_ecs import register_instance
    inst = register_instance(ecs, cluster="prod")["containerInstanceArn"]
    task = ecs.run_task(cluster="prod", taskDefinition="web")["tasks"][0]["taskArn"]
    svc = ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=0)["service"]
    for arn in (cluster, td, inst, task, svc["serviceArn"]):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "3"}])
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [
            {"key": "a", "value": "3"}, {"key": "b", "value": "2"}], arn
        ecs.untag_resource(resourceArn=arn, tagKeys=["b", "absent"])
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "3"}], arn
    assert ecs.describe_clusters(clusters=["prod"], include=["TAGS"])["clusters"][0]["tags"] == [
        {"key": "a", "value": "3"}]
    for bad in ([{"key": "aws:x", "value": "1"}], [{"key": f"k{n}", "value": "v"} for n in range(51)],
                [{"key": "k" * 129, "value": "v"}]):
        with pytest.raises(ClientError) as e:
            ecs.tag_resource(resourceArn=svc["serviceArn"], tags=bad)
        assert error_code(e.value) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        ecs.tag_resource(resourceArn=svc["serviceArn"].replace("/web", "/ghost"), tags=[{"key": "a", "value": "1"}])
    assert error_code(e.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ecs.list_tags_for_resource(resourceArn=cluster.replace("/prod", "/ghost"))
    assert error_code(e.value) == "ClusterNotFoundException"


# ---- the scheduler on real Docker -----------------------------------------------------------

def test_ec2_service_on_berth_up_stays_at_desired_count_and_rolls(tmp_path, registry):
    up = UpProcess(tmp_path / "data")
    app = None
    try:
        until("healthy", lambda: cli(up.endpoint, up.root, "ecs", "list-clusters")[0] == 0, log=up.log)
        ecs = up.client("ecs")
        until("agent registered", lambda: ecs.list_container_instances()["containerInstanceArns"], log=up.log)
        app = PrivateApp(up, registry, creds(REGISTRY_USER), command=LONG)
        td1 = register_long(ecs, app, registry, tags=[{"key": "from", "value": "td"}])
        code, out, err = cli(up.endpoint, up.root, "ecs", "create-service", "--service-name", "web",
                             "--task-definition", f"{app.family}:{td1['revision']}", "--desired-count", "3",
                             "--propagate-tags", "SERVICE", "--enable-ecs-managed-tags",
                             "--tags", "key=team,value=a")
        assert code == 0, err
        created = json.loads(out)["service"]
        assert created["desiredCount"] == 3 and created["enableECSManagedTags"] is True
        # The CLI's own waiter (15 s between looks).
        code, _, err = cli(up.endpoint, up.root, "ecs", "wait", "services-stable", "--services", "web")
        assert code == 0, err + up.log()
        s = ecs.describe_services(services=["web"])["services"][0]
        assert s["runningCount"] == 3 and len(s["deployments"]) == 1
        assert s["deployments"][0]["rolloutState"] == "COMPLETED"
        messages = [e["message"] for e in s["events"]]
        assert "(service web) has reached a steady state." in messages
        assert any(m.startswith("(service web) has started 3 tasks: (task ") for m in messages), messages
        tasks = service_tasks(ecs, "default", "web")
        assert len(tasks) == 3
        dep = s["deployments"][0]["id"]
        for t in tasks:
            assert t["startedBy"] == dep and t["group"] == "service:web"
            tags = {x["key"]: x["value"] for x in t["tags"]}
            assert tags == {"team": "a", "aws:ecs:serviceName": "web", "aws:ecs:clusterName": "default"}, tags

        # A task's container killed: the service replaces it.
        victim = tasks[0]["taskArn"]
        [container] = task_containers(victim, all_=False)
        subprocess.run(["docker", "kill", container], check=True, capture_output=True, timeout=60)
        until("replaced", lambda: victim not in [t["taskArn"] for t in service_tasks(ecs, "default", "web")]
              and len([t for t in service_tasks(ecs, "default", "web") if t["lastStatus"] == "RUNNING"]) == 3,
              log=up.log)
        s = wait_stable(ecs, "default", "web")
        assert s["runningCount"] == 3

        # A new revision rolls out without going below 100 % healthy.
        td2 = register_long(ecs, app, registry)
        ecs.update_service(service="web", taskDefinition=f"{app.family}:{td2['revision']}")
        lowest, seen_two = 3, False
        deadline = time.time() + 120
        while time.time() < deadline:
            s = ecs.describe_services(services=["web"])["services"][0]
            lowest = min(lowest, s["runningCount"])
            seen_two |= len(s["deployments"]) == 2
            if len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED" \
                    and s["runningCount"] == 3:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"rollout did not complete: {s}\n{up.log()}")
        assert seen_two and lowest >= 3, lowest
        [primary] = s["deployments"]
        assert primary["status"] == "PRIMARY" and primary["taskDefinition"] == td2["taskDefinitionArn"]
        assert {t["taskDefinitionArn"] for t in service_tasks(ecs, "default", "web")} == {td2["taskDefinitionArn"]}
        assert any(e["message"].startswith("(service web) has stopped 3 running tasks:") or
                   e["message"].startswith("(service web) has stopped 1 running tasks:") for e in s["events"])
        old = [t for t in service_tasks(ecs, "default", "web", status="STOPPED")
               if t["taskDefinitionArn"] == td1["taskDefinitionArn"] and t["taskArn"] != victim]
        assert len(old) == 3, old
        for t in old:
            assert t["stopCode"] == "ServiceSchedulerInitiated", t
            # Named after the deployment that replaced it.
            assert t["stoppedReason"] == f"Scaling activity initiated by (deployment {primary['id']})", t

        # Scaling to 0 and deleting: every task stops.
        ecs.update_service(service="web", desiredCount=0)
        ecs.delete_service(service="web")
        until("INACTIVE", lambda: ecs.describe_services(services=["web"])["services"][0]["status"] == "INACTIVE",
              log=up.log)
        until("containers removed", lambda: containers_of(app.family) == [], log=up.log)
    finally:
        up.stop()
        if app is not None:
            remove_containers(app.family)


def test_fargate_service_and_the_circuit_breaker_rolls_back(berth, registry):
    ecs = berth.client("ecs")
    app = FargateApp(berth, registry, creds(REGISTRY_USER), command=LONG)
    try:
        fargate_service_and_breaker(berth, registry, ecs, app)
    finally:
        remove_containers(app.family)


def fargate_service_and_breaker(berth, registry, ecs, app):
    ecs.create_service(serviceName="api", taskDefinition=app.family, desiredCount=3, launchType="FARGATE",
                       networkConfiguration=NET,
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    s = wait_stable(ecs, "default", "api")
    assert s["runningCount"] == 3 and s["platformVersion"] == "LATEST"
    good = s["taskDefinition"]
    first = s["deployments"][0]["id"]
    tasks = service_tasks(ecs, "default", "api")
    assert len(tasks) == 3 and all(t["launchType"] == "FARGATE" and t["startedBy"] == first for t in tasks)

    # A revision whose image is not in the registry: three tasks fail to start, the breaker trips.
    defn = ecs.describe_task_definition(taskDefinition=app.family)["taskDefinition"]
    c = dict(defn["containerDefinitions"][0], image=registry.image.replace("/app:1", "/missing:1"))
    bad = ecs.register_task_definition(
        family=app.family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=app.role_arn, containerDefinitions=[c])["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(service="api", taskDefinition=bad)
    seen_failed = None
    lowest = 3
    deadline = time.time() + 150
    while time.time() < deadline:
        s = ecs.describe_services(services=["api"])["services"][0]
        lowest = min(lowest, s["runningCount"])
        for d in s["deployments"]:
            if d["taskDefinition"] == bad and d.get("rolloutState") == "FAILED":
                seen_failed = d
        if seen_failed and len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED":
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no rollback: {s}\n{berth.log()}")
    assert lowest >= 3
    assert seen_failed["failedTasks"] >= 3
    assert seen_failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert s["taskDefinition"] == good and s["deployments"][0]["taskDefinition"] == good
    messages = [e["message"] for e in s["events"]]
    assert f"(service api) (deployment {seen_failed['id']}) deployment failed: tasks failed to start." in messages
    assert f"(service api) rolling back to deployment {first}." in messages
    stopped = service_tasks(ecs, "default", "api", status="STOPPED")
    failed = [t for t in stopped if t["taskDefinitionArn"] == bad]
    assert len(failed) >= 3 and all(t["stopCode"] == "TaskFailedToStart" for t in failed), failed
    running = service_tasks(ecs, "default", "api")
    assert len(running) == 3 and {t["taskDefinitionArn"] for t in running} == {good}
    ecs.delete_service(service="api", force=True)
    until("INACTIVE", lambda: ecs.describe_services(services=["api"])["services"][0]["status"] == "INACTIVE",
          log=berth.log)
    until("containers removed", lambda: containers_of(app.family) == [], log=berth.log)


def test_a_rollout_survives_a_sigkilled_server(berth, registry, tmp_path):
    ecs = berth.client("ecs")
    cluster = f"c{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    agent = AgentProcess(berth, cluster, tmp_path / "agent.log")
    app = None
    try:
        wait_for_instance(berth, cluster, agent)
        app = PrivateApp(berth, registry, creds(REGISTRY_USER), command=LONG)
        register_long(ecs, app, registry)
        ecs.create_service(cluster=cluster, serviceName="web", taskDefinition=app.family, desiredCount=2,
                           deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50})
        wait_stable(ecs, cluster, "web")
        td2 = register_long(ecs, app, registry)["taskDefinitionArn"]
        ecs.update_service(cluster=cluster, service="web", taskDefinition=td2)
        new = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]["deployments"][0]["id"]
        # Kill the server once the new deployment has a task, mid-rollout.
        until("a new task", lambda: ecs.list_tasks(cluster=cluster, startedBy=new)["taskArns"], log=berth.log)
        berth.proc.send_signal(signal.SIGKILL)
        berth.proc.wait()
        berth._log.close()
        restart_on_same_port(berth)
        s = wait_stable(berth.client("ecs"), cluster, "web")
        ecs = berth.client("ecs")
        assert s["taskDefinition"] == td2 and s["deployments"][0]["rolloutState"] == "COMPLETED"
        # Exactly the desired count of new tasks was ever started: no duplicates after the restart.
        everything = (ecs.list_tasks(cluster=cluster, startedBy=new)["taskArns"]
                      + ecs.list_tasks(cluster=cluster, startedBy=new, desiredStatus="STOPPED")["taskArns"])
        assert len(everything) == 2, everything
        running = service_tasks(ecs, cluster, "web")
        assert len(running) == 2 and {t["taskDefinitionArn"] for t in running} == {td2}
        ecs.update_service(cluster=cluster, service="web", desiredCount=0)
        until("scaled in", lambda: service_tasks(ecs, cluster, "web") == [], log=berth.log)
        until("containers removed", lambda: containers_of(app.family) == [], log=agent.log)
    finally:
        agent.stop()
        if app is not None:
            remove_containers(app.family)


def test_draining_an_instance_moves_the_service_and_daemon_services_follow_instances(berth, registry, tmp_path):
    ecs = berth.client("ecs")
    cluster = f"c{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    first = AgentProcess(berth, cluster, tmp_path / "agent-1.log", env_extra={
        "BERTH_AGENT_INSTANCE_FILE": str(tmp_path / "instance-1")})
    second = None
    app = None
    try:
        one = wait_for_instance(berth, cluster, first)
        second = AgentProcess(berth, cluster, tmp_path / "agent-2.log", env_extra={
            "BERTH_AGENT_INSTANCE_FILE": str(tmp_path / "instance-2")})
        both = until("two instances", lambda: (lambda a: a if len(a) == 2 else None)(
            ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]), log=second.log)
        two = next(a for a in both if a != one)
        app = PrivateApp(berth, registry, creds(REGISTRY_USER), command=LONG)
        register_long(ecs, app, registry)
        ecs.create_service(cluster=cluster, serviceName="web", taskDefinition=app.family, desiredCount=2)
        wait_stable(ecs, cluster, "web")
        out = ecs.update_container_instances_state(cluster=cluster, containerInstances=[one], status="DRAINING")
        assert out["containerInstances"][0]["status"] == "DRAINING" and out["failures"] == []
        lowest = 2
        deadline = time.time() + 120
        while time.time() < deadline:
            s = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
            lowest = min(lowest, s["runningCount"])
            tasks = service_tasks(ecs, cluster, "web")
            if s["runningCount"] == 2 and s["pendingCount"] == 0 and len(tasks) == 2 \
                    and all(t["containerInstanceArn"] == two and t["lastStatus"] == "RUNNING" for t in tasks):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"not moved: {s}\n{berth.log()}")
        assert lowest >= 2, lowest
        bad = ecs.update_container_instances_state(cluster=cluster, containerInstances=["0" * 32], status="ACTIVE")
        assert bad["failures"][0]["reason"] == "MISSING"
        ecs.update_service(cluster=cluster, service="web", desiredCount=0)
        until("scaled in", lambda: service_tasks(ecs, cluster, "web") == [], log=berth.log)

        # DAEMON: one task on each ACTIVE instance (not on the DRAINING one, until it is ACTIVE).
        ecs.create_service(cluster=cluster, serviceName="daemon", taskDefinition=app.family,
                           schedulingStrategy="DAEMON")
        s = wait_stable(ecs, cluster, "daemon")
        assert s["desiredCount"] == 1 and s["deploymentConfiguration"]["minimumHealthyPercent"] == 0
        assert [t["containerInstanceArn"] for t in service_tasks(ecs, cluster, "daemon")] == [two]
        ecs.update_container_instances_state(cluster=cluster, containerInstances=[one], status="ACTIVE")
        until("one task per instance", lambda: sorted(
            t["containerInstanceArn"] for t in service_tasks(ecs, cluster, "daemon") if t["lastStatus"] == "RUNNING")
            == sorted([one, two]), log=berth.log)
        s = wait_stable(ecs, cluster, "daemon")
        assert s["desiredCount"] == 2 and s["runningCount"] == 2
        # A DAEMON service is deleted without scaling it first.
        assert ecs.delete_service(cluster=cluster, service="daemon")["service"]["status"] == "DRAINING"
        until("INACTIVE", lambda: ecs.describe_services(cluster=cluster, services=["daemon"])["services"][0]["status"]
              == "INACTIVE", log=berth.log)
        until("containers removed", lambda: containers_of(app.family) == [],
              log=lambda: first.log() + second.log())
    finally:
        first.stop()
        if second:
            second.stop()
        if app is not None:
            remove_containers(app.family)


def restart_on_same_port(b):
    """`berth server` again on `b`'s data dir and port (the agent keeps its endpoint)."""
    env = dict(os.environ)
    env["BERTH_ROOT_ACCESS_KEY_ID"] = b.root.access_key_id
    env["BERTH_ROOT_SECRET_ACCESS_KEY"] = b.root.secret_access_key
    env.setdefault("RUST_LOG", "info")
    b.log_path = b.data_dir.parent / f"berth-{b.port}-restarted.log"
    b._log = open(b.log_path, "wb")
    b.proc = subprocess.Popen(
        [berth_bin(), "server", "--listen", f"127.0.0.1:{b.port}", "--data-dir", str(b.data_dir)],
        stdout=b._log, stderr=subprocess.STDOUT, env=env)
    b.wait_ready()
