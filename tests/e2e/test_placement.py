"""ECS task placement end to end: `memberOf` constraints in the cluster query language (custom
attributes from PutAttributes or registration, compound expressions, the task definition's
constraints with the call's), `distinctInstance`, the `spread` / `binpack` / `random`
strategies, their validation in AWS's words through boto3 and the unmodified AWS CLI, and
services (REPLICA and DAEMON) placed by them on real agents, with `berth doctor --service`
naming a constraint no instance meets and the fix that places the task."""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, berth_bin, error_code, error_message
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import AgentProcess, PrivateApp, creds, wait_for_instance
from test_services import LONG, containers_of, register_long, remove_containers, service_tasks, until, wait_stable

MEMBER_OF = "MemberOf placement constraint unsatisfied"
DISTINCT = "DistinctInstance placement constraint unsatisfied"


def register_instance(ecs, cluster, attributes, memory=4096):
    """A container instance registered through the API (no agent: it counts as connected for
    90 s after registering, long enough for placement to choose it)."""
    return ecs.register_container_instance(
        cluster=cluster,
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
        ],
        versionInfo={"agentVersion": "1.80.0", "agentHash": "berth", "dockerVersion": "24.0.0"},
        attributes=[{"name": n, "value": v} for n, v in attributes],
    )["containerInstance"]["containerInstanceArn"]


def member_of(expression):
    return [{"type": "memberOf", "expression": expression}]


def placed_on(out):
    return [t["containerInstanceArn"] for t in out["tasks"]]


def client_error(fn, **kwargs):
    with pytest.raises(ClientError) as e:
        fn(**kwargs)
    return error_code(e.value), error_message(e.value)


def test_constraints_and_strategies_choose_the_instance(berth):
    ecs = berth.client("ecs")
    cluster = "place"
    ecs.create_cluster(clusterName=cluster)
    # Memory sizes that no number of 128 MiB tasks makes equal (binpack has one answer).
    a = register_instance(ecs, cluster, [("stack", "prod"), ("zone", "a")], memory=4096)
    b = register_instance(ecs, cluster, [("stack", "dev"), ("zone", "a")], memory=4096 + 64)
    c = register_instance(ecs, cluster, [("stack", "dev"), ("zone", "b")], memory=4096 + 32)
    zone = {a: "a", b: "a", c: "b"}
    ecs.register_task_definition(family="web", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128}])

    def run(count=1, **kw):
        return ecs.run_task(cluster=cluster, taskDefinition="web", count=count, **kw)

    # memberOf on a custom attribute: only that instance.
    out = run(3, placementConstraints=member_of("attribute:stack == prod"))
    assert placed_on(out) == [a, a, a] and out["failures"] == []
    # Nothing matches: one failure per instance, in AWS's words.
    out = run(placementConstraints=member_of("attribute:stack == qa"))
    assert out["tasks"] == []
    assert sorted(f["arn"] for f in out["failures"]) == sorted([a, b, c])
    assert {f["reason"] for f in out["failures"]} == {MEMBER_OF}
    # Compound expressions, lists, patterns.
    out = run(2, placementConstraints=member_of("attribute:stack == dev and not (attribute:zone in [b, c])"))
    assert placed_on(out) == [b, b]
    out = run(placementConstraints=member_of("attribute:zone =~ [b-z] || attribute:stack !exists"))
    assert placed_on(out) == [c]
    # The task definition's memberOf constraints hold together with the call's.
    ecs.register_task_definition(family="zoned", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128}],
                                 placementConstraints=member_of("attribute:zone == a"))
    out = ecs.run_task(cluster=cluster, taskDefinition="zoned", count=2,
                       placementConstraints=member_of("attribute:stack == dev"))
    assert placed_on(out) == [b, b]

    # distinctInstance: each task of the group on its own instance; the fourth finds none.
    out = run(4, group="distinct", placementConstraints=[{"type": "distinctInstance"}])
    assert sorted(placed_on(out)) == sorted([a, b, c])
    assert sorted(f["arn"] for f in out["failures"]) == sorted([a, b, c])
    assert {f["reason"] for f in out["failures"]} == {DISTINCT}
    assert all(t["group"] == "distinct" for t in out["tasks"])

    # spread over instances: one task of the group on each.
    out = run(3, group="spread", placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert sorted(placed_on(out)) == sorted([a, b, c])
    # spread over an attribute: one task in each zone.
    out = run(2, group="zones", placementStrategy=[{"type": "spread", "field": "attribute:zone"}])
    assert sorted(zone[i] for i in placed_on(out)) == ["a", "b"]

    # binpack on memory: every task on the instance with the least memory left.
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=[a, b, c])["containerInstances"]
    left = {i["containerInstanceArn"]: next(r["integerValue"] for r in i["remainingResources"] if r["name"] == "MEMORY")
            for i in described}
    fullest = min(left, key=left.get)
    out = run(3, group="pack", placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert placed_on(out) == [fullest] * 3
    # Chained: spread over zones first, then binpack within the zone.
    out = run(1, group="chain", placementStrategy=[{"type": "spread", "field": "attribute:zone"},
                                                   {"type": "binpack", "field": "memory"}])
    assert len(out["tasks"]) == 1 and out["failures"] == []
    # random: placed, on an instance of the cluster.
    out = run(3, placementStrategy=[{"type": "random"}])
    assert len(out["tasks"]) == 3 and set(placed_on(out)) <= {a, b, c}

    # Refused at the request, in AWS's words where they are known.
    code, msg = client_error(ecs.run_task, cluster=cluster, taskDefinition="web",
                             placementConstraints=[{"type": "distinctInstance", "expression": "attribute:a exists"}])
    assert (code, msg) == ("InvalidParameterException", "distinctInstance expression should not be specified.")
    code, msg = client_error(ecs.register_task_definition, family="x",
                             containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128}],
                             placementConstraints=[{"type": "distinctInstance"}])
    assert (code, msg) == ("ClientException", "constraint.type 'distinctInstance' is not supported.")
    code, msg = client_error(ecs.run_task, cluster=cluster, taskDefinition="web",
                             placementStrategy=[{"type": "random"}] * 6)
    assert code == "InvalidParameterException" and "at most 5" in msg
    code, msg = client_error(ecs.create_service, cluster=cluster, serviceName="s", taskDefinition="web",
                             desiredCount=1, placementStrategy=[{"type": "binpack", "field": "disk"}])
    assert code == "InvalidParameterException" and "binpack" in msg
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []

    # A bad expression through the AWS CLI.
    rc, _, err = berth.aws("ecs", "run-task", "--cluster", cluster, "--task-definition", "web",
                           "--placement-constraints", "type=memberOf,expression=attribute:stack ==")
    assert rc == 255, err
    assert "InvalidParameterException" in err
    assert "invalid memberOf placement constraint expression 'attribute:stack ==': expected a value" in err
    rc, _, err = berth.aws("ecs", "create-service", "--cluster", cluster, "--service-name", "s",
                           "--task-definition", "web", "--desired-count", "1",
                           "--placement-constraints", "type=memberOf,expression=color == blue")
    assert rc == 255 and "unknown subject 'color'" in err, err


def doctor(berth, *args):
    p = subprocess.run(
        [berth_bin(), "doctor", "--data-dir", str(berth.data_dir), "--region", REGION, *args],
        capture_output=True, text=True, timeout=60,
    )
    return p.returncode, p.stdout, p.stderr


def test_services_are_placed_by_their_constraints_and_doctor_names_the_unmet_one(berth, registry, tmp_path):
    ecs = berth.client("ecs")
    cluster = f"c{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    region = ecs.meta.region_name
    # The first agent carries its custom attribute from ECS_INSTANCE_ATTRIBUTES (as the ECS
    # agent takes it) and a zone of its own; the second is in the region's default zone.
    first = AgentProcess(berth, cluster, tmp_path / "agent-1.log", env_extra={
        "BERTH_AGENT_INSTANCE_FILE": str(tmp_path / "instance-1"),
        "ECS_INSTANCE_ATTRIBUTES": json.dumps({"stack": "prod"}),
        "BERTH_AVAILABILITY_ZONE": f"{region}b"})
    second = None
    app = None
    try:
        one = wait_for_instance(berth, cluster, first)
        second = AgentProcess(berth, cluster, tmp_path / "agent-2.log", env_extra={
            "BERTH_AGENT_INSTANCE_FILE": str(tmp_path / "instance-2")})
        both = until("two instances", lambda: (lambda x: x if len(x) == 2 else None)(
            ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]), log=second.log)
        two = next(x for x in both if x != one)
        attrs = {i["containerInstanceArn"]: {a["name"]: a.get("value") for a in i["attributes"]}
                 for i in ecs.describe_container_instances(cluster=cluster, containerInstances=both)["containerInstances"]}
        assert attrs[one]["stack"] == "prod"
        assert attrs[one]["ecs.availability-zone"] == f"{region}b"
        assert "stack" not in attrs[two]
        assert attrs[two]["ecs.availability-zone"] == f"{region}a"
        app = PrivateApp(berth, registry, creds(REGISTRY_USER), command=LONG)
        register_long(ecs, app, registry)

        # A REPLICA service spread over instances but held to the prod instance by memberOf.
        ecs.create_service(cluster=cluster, serviceName="web", taskDefinition=app.family, desiredCount=2,
                           placementConstraints=member_of("attribute:stack == prod"),
                           placementStrategy=[{"type": "spread", "field": "instanceId"}])
        s = wait_stable(ecs, cluster, "web")
        assert s["runningCount"] == 2
        assert [t["containerInstanceArn"] for t in service_tasks(ecs, cluster, "web")] == [one, one]
        assert [t["availabilityZone"] for t in service_tasks(ecs, cluster, "web")] == [f"{region}b"] * 2
        assert s["placementConstraints"] == member_of("attribute:stack == prod")

        # A DAEMON service runs only where its memberOf selects.
        ecs.create_service(cluster=cluster, serviceName="daemon", taskDefinition=app.family,
                           schedulingStrategy="DAEMON", placementConstraints=member_of("attribute:stack != prod"))
        s = wait_stable(ecs, cluster, "daemon")
        assert s["desiredCount"] == 1
        assert [t["containerInstanceArn"] for t in service_tasks(ecs, cluster, "daemon")] == [two]
        assert [t["availabilityZone"] for t in service_tasks(ecs, cluster, "daemon")] == [f"{region}a"]

        # A constraint no instance meets: the service's event says so, and so does the doctor.
        ecs.create_service(cluster=cluster, serviceName="nowhere", taskDefinition=app.family, desiredCount=1,
                           placementConstraints=member_of("attribute:stack == qa"))
        unplaced = "(service nowhere) was unable to place a task because no container instance met all of its requirements."
        until("the unplaced event", lambda: any(
            e["message"].startswith(unplaced) and MEMBER_OF in e["message"]
            for e in ecs.describe_services(cluster=cluster, services=["nowhere"])["services"][0]["events"]),
            log=berth.log)
        code, out, err = doctor(berth, "--service", "nowhere", "--cluster", cluster)
        assert code == 1, out + err
        lines = out.splitlines()
        assert lines[0] == f"service nowhere in cluster {cluster}", out
        assert any(line.startswith("ok   cluster:") for line in lines), out
        assert any(line.startswith("ok   service:") for line in lines), out
        assert any(line.startswith("FAIL constraints:") and "attribute:stack == qa" in line for line in lines), out
        fix = next(line.strip() for line in lines if line.strip().startswith("aws ecs put-attributes"))
        assert f"--cluster {cluster}" in fix and "name=stack,value=qa" in fix, fix
        # The fix, pasted (the AWS CLI's words after `aws`): the task is placed and runs.
        rc, _, err = berth.aws(*fix.split()[1:])
        assert rc == 0, err
        s = wait_stable(ecs, cluster, "nowhere")
        assert s["runningCount"] == 1
        # The doctor names an instance without the attribute: the prod instance stays prod.
        assert service_tasks(ecs, cluster, "nowhere")[0]["containerInstanceArn"] == two
        code, out, _ = doctor(berth, "--service", "nowhere", "--cluster", cluster, "--output", "json")
        report = json.loads(out)
        assert code == 0, out
        assert {c["check"] for c in report["checks"]} >= {"cluster", "service", "capacity", "constraints"}

        for name in ("web", "daemon", "nowhere"):
            ecs.delete_service(cluster=cluster, service=name, force=True)
        until("containers removed", lambda: containers_of(app.family) == [],
              log=lambda: first.log() + second.log())
    finally:
        first.stop()
        if second:
            second.stop()
        if app is not None:
            remove_containers(app.family)
