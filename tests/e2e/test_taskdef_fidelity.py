"""RegisterTaskDefinition answers as AWS does: published task definitions (`taskdefs/`, sources
in `taskdefs/SOURCES.md`) register or are refused in AWS's words, with the `compatibilities` and
`requiresAttributes` AWS computes; the Fargate and `awsvpc` rules in AWS's words; a port
mapping's host port filled in under `awsvpc`; wrongly typed members refused."""

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from test_taskdef_limits import ecs_raw, refused

CORPUS = Path(__file__).resolve().parent / "taskdefs"

AWSLOGS_ROLE = "Fargate requires task definition to have execution role ARN to support log driver awslogs."
ECR_ROLE = "Fargate requires task definition to have execution role ARN to support ECR images."
PORTS_MATCH = "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
NO_LINKS = "Links are not supported when networkMode=awsvpc."
NO_HOSTNAME = "hostname is not supported on container when networkMode=awsvpc."


def names(td):
    return {a["name"] for a in td["requiresAttributes"]}


# file -> what AWS answers: ("ok", compatibilities, attributes that must be there) or
# ("refused", message).
CORPUS_ANSWERS = {
    "nginx_ec2.json": ("ok", ["EC2", "EXTERNAL"], {
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "com.amazonaws.ecs.capability.docker-remote-api.1.19",
    }),
    "nginx_fargate.json": ("refused", AWSLOGS_ROLE),
    "consul_server.json": ("ok", ["EC2", "EXTERNAL"], {
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "com.amazonaws.ecs.capability.docker-remote-api.1.21",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
    }),
    "webserver_fargate.json": ("ok", ["EC2", "FARGATE"], {
        "ecs.capability.task-eni",
        "ecs.capability.execution-role-awslogs",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
    }),
    "ecr_image_task_role.json": ("ok", ["EC2", "EXTERNAL"], {"com.amazonaws.ecs.capability.task-iam-role"}),
    "entrypoint_ping.json": ("ok", ["EC2", "EXTERNAL"], set()),
    "appmesh_container_dependency.json": (
        "refused",
        "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.",
    ),
}


def test_the_corpus_is_complete():
    """Every published definition in the corpus has its answer here, and a source."""
    files = {p.name for p in CORPUS.glob("*.json")}
    assert files == set(CORPUS_ANSWERS), files ^ set(CORPUS_ANSWERS)
    sources = (CORPUS / "SOURCES.md").read_text()
    for f in files:
        assert f"`{f}`" in sources, f


@pytest.mark.parametrize("name", sorted(CORPUS_ANSWERS))
def test_published_definitions_get_aws_answer(berth, name):
    ecs = berth.client("ecs")
    definition = json.loads((CORPUS / name).read_text())
    want = CORPUS_ANSWERS[name]
    if want[0] == "refused":
        with pytest.raises(ClientError) as e:
            ecs.register_task_definition(**definition)
        assert (error_code(e.value), error_message(e.value)) == ("ClientException", want[1])
        return
    td = ecs.register_task_definition(**definition)["taskDefinition"]
    assert td["compatibilities"] == want[1], td
    assert want[2] <= names(td), td["requiresAttributes"]
    # Every member given comes back (the container definitions as given, defaults added).
    for key, value in definition.items():
        if key in ("containerDefinitions", "cpu", "memory"):
            continue
        assert td[key] == value, key
    for given, got in zip(definition["containerDefinitions"], td["containerDefinitions"]):
        for key, value in given.items():
            if key == "portMappings" and definition.get("networkMode") in ("awsvpc", "host"):
                value = [dict(m, hostPort=m["containerPort"]) for m in value]
            assert got[key] == value, (key, got[key])


def fargate(**container):
    c = {"name": "app", "image": "busybox"}
    c.update(container)
    return dict(family="fg", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                memory="512", executionRoleArn="ecsTaskExecutionRole", containerDefinitions=[c])


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("executionRoleArn") and d["containerDefinitions"][0].update(
        logConfiguration={"logDriver": "awslogs", "options": {}}), AWSLOGS_ROLE),
    (lambda d: d.pop("executionRoleArn") and d["containerDefinitions"][0].update(
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"), ECR_ROLE),
    (lambda d: d.update(ipcMode="host"), "Tasks using the Fargate launch type do not support ipcMode."),
    (lambda d: d.update(pidMode="host"),
     "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."),
    (lambda d: d["containerDefinitions"][0].update(privileged=True),
     "Tasks using the Fargate launch type do not support privileged."),
    (lambda d: d["containerDefinitions"][0].update(linuxParameters={"devices": [{"hostPath": "/dev/null"}]}),
     "Tasks using the Fargate launch type do not support linuxParameters.devices."),
    (lambda d: d["containerDefinitions"][0].update(portMappings=[{"containerPort": 80, "hostPort": 81}]),
     PORTS_MATCH),
    (lambda d: d["containerDefinitions"][0].update(links=["db"]), NO_LINKS),
    (lambda d: d["containerDefinitions"][0].update(hostname="h"), NO_HOSTNAME),
])
def test_fargate_and_awsvpc_refusals_in_aws_words(berth, change, message):
    d = fargate()
    change(d)
    with pytest.raises(ClientError) as e:
        berth.client("ecs").register_task_definition(**d)
    assert (error_code(e.value), error_message(e.value)) == ("ClientException", message)


def test_links_only_on_the_bridge(berth):
    ecs = berth.client("ecs")
    containers = [{"name": "app", "image": "busybox", "memory": 16, "links": ["db"]},
                  {"name": "db", "image": "busybox", "memory": 16}]
    for mode in ("host", "none"):
        with pytest.raises(ClientError) as e:
            ecs.register_task_definition(family="l", networkMode=mode, containerDefinitions=containers)
        assert error_message(e.value) == f"Links are not supported when networkMode={mode}."
    td = ecs.register_task_definition(family="l", networkMode="bridge", containerDefinitions=containers)
    assert td["taskDefinition"]["containerDefinitions"][0]["links"] == ["db"]


def test_awsvpc_host_ports_and_compatibilities(berth):
    ecs = berth.client("ecs")
    d = fargate(portMappings=[{"containerPort": 8080}, {"containerPort": 53, "hostPort": 53, "protocol": "udp"}],
                linuxParameters={"capabilities": {"add": ["SYS_PTRACE"]}, "initProcessEnabled": True})
    d["pidMode"] = "task"
    td = ecs.register_task_definition(**d)["taskDefinition"]
    maps = td["containerDefinitions"][0]["portMappings"]
    assert [(m["containerPort"], m["hostPort"]) for m in maps] == [(8080, 8080), (53, 53)], maps
    assert td["compatibilities"] == ["EC2", "FARGATE"], td
    assert "com.amazonaws.ecs.capability.docker-remote-api.1.25" in names(td)
    # Without FARGATE required, a member Fargate refuses leaves FARGATE out instead.
    d.pop("requiresCompatibilities")
    d["containerDefinitions"][0]["privileged"] = True
    td = ecs.register_task_definition(**d)["taskDefinition"]
    assert td["compatibilities"] == ["EC2"], td
    with pytest.raises(ClientError) as e:
        ecs.run_task(taskDefinition="fg", launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": ["subnet-12345678"]}})
    assert (error_code(e.value), error_message(e.value)) == (
        "InvalidParameterException", "Task definition does not support launch_type FARGATE.")


def test_members_the_linux_settings_need(berth):
    ecs = berth.client("ecs")
    td = ecs.register_task_definition(family="attrs", containerDefinitions=[{
        "name": "app", "image": "busybox", "memory": 32, "stopTimeout": 5,
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
    }], runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"})["taskDefinition"]
    assert {"com.amazonaws.ecs.capability.docker-remote-api.1.18", "ecs.capability.container-ordering"} <= names(td)
    assert {"name": "ecs.cpu-architecture", "value": "arm64"} in td["requiresAttributes"]


def test_wrongly_typed_members(berth):
    # A containerPort sent as a string (the wire, not boto3, which refuses it itself).
    code, message = refused(berth, "RegisterTaskDefinition", {
        "family": "s", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 16, "portMappings": [{"containerPort": "80"}]}]})
    assert (code, message) == ("SerializationException", "STRING_VALUE cannot be converted to Integer")
    # A mapping with only a hostPort: AWS's words.
    code, message = refused(berth, "RegisterTaskDefinition", {
        "family": "s", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 16, "portMappings": [{"hostPort": 80}]}]})
    assert (code, message) == ("ClientException", "Invalid 'containerPort' setting for container 'app'.")
    # tags as a map instead of a list.
    status, out = ecs_raw(berth, "RegisterTaskDefinition", {
        "family": "s", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16}],
        "tags": {"team": "a"}})
    assert status == 400, out
    assert out["__type"].split("#")[-1] == "SerializationException", out
    assert out["message"] == "Start of structure or map found where not expected", out


def test_doctor_lists_the_members_berth_does_not_run(berth):
    """`berth doctor` names, for the definition's launch type, each member berth refuses, does
    not place or run, or emulates."""
    from test_doctor import doctor

    ecs = berth.client("ecs")
    ecs.register_task_definition(family="doc", enableFaultInjection=True, containerDefinitions=[{
        "name": "app", "image": "busybox", "memory": 32, "privileged": True,
        "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
        "versionConsistency": "enabled"}])
    code, out, err = doctor(berth, "--task-definition", "doc", "--output", "json")
    assert code == 1, (out, err)
    fields = [c for c in json.loads(out)["checks"] if c["check"] == "field"]
    failed = {c["reason"].split(":")[0] for c in fields if not c["ok"]}
    listed = {c["reason"].split(":")[0] for c in fields if c["ok"]}
    assert failed == {"environmentFiles on EC2"}, fields
    # (versionConsistency is applied: not listed)
    assert listed == {"enableFaultInjection on EC2"}, fields
    assert [c.get("container") for c in fields if not c["ok"]] == ["app"], fields
