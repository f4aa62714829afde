"""ECS limits: RegisterTaskDefinition's numeric members and list lengths, RunTask's count and
overrides, the Describe calls' list lengths, placement that no negative size can game, and the
agent channel's answer, a page at a time."""

import json

import pytest

from conftest import json_body

TARGET = "AmazonEC2ContainerServiceV20141113."


def ecs_raw(berth, op, body):
    status, _, raw = berth.raw(
        json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op},
        sign=("ecs", "us-east-1"),
    )
    return status, json_body(raw)


def refused(berth, op, body):
    """The error code and message of a call that must fail with 400."""
    status, out = ecs_raw(berth, op, body)
    assert status == 400, out
    return out["__type"].split("#")[-1], out.get("message") or out.get("Message")


def app(**kw):
    c = {"name": "app", "image": "busybox", "memory": 64}
    c.update(kw)
    return c


def register_instance(berth, memory=1024, cpu=1024):
    status, out = ecs_raw(berth, "RegisterContainerInstance", {
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
        ],
    })
    assert status == 200, out
    return out["containerInstance"]["containerInstanceArn"]


@pytest.mark.parametrize(
    "definition,message",
    [
        ({"containerDefinitions": [app(name=f"c{n}") for n in range(11)]}, "Too many containers."),
        ({"containerDefinitions": [app(memory=-1024)]}, "Invalid 'memory' setting for container 'app'."),
        ({"containerDefinitions": [app(memory=0)]}, "Invalid 'memory' setting for container 'app'."),
        ({"containerDefinitions": [app(memory=5)]}, "Invalid 'memory' setting for container 'app'."),
        ({"containerDefinitions": [app(cpu=-512)]}, "Invalid 'cpu' setting for container 'app'."),
        ({"containerDefinitions": [app(memoryReservation=128)]},
         "Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'."),
        ({"containerDefinitions": [app(portMappings=[{"containerPort": 80, "hostPort": 70000}])]},
         "Invalid 'hostPort' setting for container 'app'."),
        ({"containerDefinitions": [app(portMappings=[{"containerPort": -80}])]},
         "Invalid 'containerPort' setting for container 'app'."),
        ({"containerDefinitions": [app(stopTimeout=-1)]}, "Invalid 'stopTimeout' setting for container 'app'."),
        ({"containerDefinitions": [app(stopTimeout=121)], "requiresCompatibilities": ["FARGATE"],
          "networkMode": "awsvpc", "cpu": "256", "memory": "512"},
         "Invalid 'stopTimeout' setting for container 'app'."),
        ({"containerDefinitions": [app()], "memory": "-512"}, "Invalid 'memory' setting for task."),
        ({"containerDefinitions": [app()], "cpu": "-1024"}, "Invalid 'cpu' setting for task."),
        ({"containerDefinitions": [app(memory=None, memoryReservation=600)], "memory": "512"},
         "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."),
    ],
)
def test_register_refuses_out_of_range_members(berth, definition, message):
    body = {"family": "limits", **definition}
    for c in body["containerDefinitions"]:
        if c.get("memory") is None:
            c.pop("memory", None)
    assert refused(berth, "RegisterTaskDefinition", body) == ("ClientException", message)


def test_register_refuses_a_definition_over_64_kib(berth):
    big = app(environment=[{"name": f"V{n}", "value": "x" * 1000} for n in range(70)])
    code, message = refused(berth, "RegisterTaskDefinition", {"family": "big", "containerDefinitions": [big]})
    assert code == "ClientException"
    assert message.startswith("Actual length: '") and message.endswith("'. Max allowed length is '65536' bytes.")


def test_ten_containers_and_the_edges_are_accepted(berth):
    status, out = ecs_raw(berth, "RegisterTaskDefinition", {
        "family": "ten",
        "containerDefinitions": [app(name=f"c{n}", memory=6, portMappings=[{"containerPort": 65535, "hostPort": 0}])
                                 for n in range(10)],
    })
    assert status == 200, out
    assert len(out["taskDefinition"]["containerDefinitions"]) == 10


def test_run_task_count_overrides_and_describe_lengths(berth):
    assert ecs_raw(berth, "RegisterTaskDefinition", {"family": "small", "containerDefinitions": [app()]})[0] == 200
    register_instance(berth)
    assert refused(berth, "RunTask", {"taskDefinition": "small", "count": 11}) == (
        "InvalidParameterException", "Task count can not be greater than 10")
    assert refused(berth, "RunTask", {
        "taskDefinition": "small",
        "overrides": {"containerOverrides": [{"name": "app", "memory": -100000}]},
    }) == ("InvalidParameterException", "Invalid 'memory' setting for container 'app'.")
    assert refused(berth, "RunTask", {
        "taskDefinition": "small",
        "overrides": {"containerOverrides": [{"name": "app", "command": ["x" * 9000]}]},
    }) == ("InvalidParameterException", "Container Overrides length must be at most 8192.")
    ids = [f"{n:032x}" for n in range(101)]
    assert refused(berth, "DescribeTasks", {"tasks": ids}) == (
        "InvalidParameterException", "taskIds can have at most 100 items.")
    assert refused(berth, "DescribeClusters", {"clusters": [f"c{n}" for n in range(101)]}) == (
        "InvalidParameterException", "clusters can have at most 100 items.")
    status, out = ecs_raw(berth, "DescribeTasks", {"tasks": ids[:100]})
    assert status == 200 and len(out["failures"]) == 100


def test_a_negative_override_makes_no_room_on_an_instance(berth):
    """A task whose containers' overrides add up to less than nothing used to free memory on
    its instance, so that a task bigger than the instance was placed."""
    assert ecs_raw(berth, "RegisterTaskDefinition", {
        "family": "pair", "containerDefinitions": [app(name="a"), app(name="b")]})[0] == 200
    assert ecs_raw(berth, "RegisterTaskDefinition", {
        "family": "huge", "containerDefinitions": [app(memory=4096)]})[0] == 200
    register_instance(berth, memory=1024)
    status, out = ecs_raw(berth, "RunTask", {
        "taskDefinition": "pair",
        "overrides": {"containerOverrides": [{"name": "a", "memoryReservation": 6, "memory": 6},
                                             {"name": "b", "memory": -1000000}]},
    })
    assert status == 400, out
    status, out = ecs_raw(berth, "RunTask", {"taskDefinition": "huge"})
    assert status == 200, out
    assert out["tasks"] == [] and out["failures"][0]["reason"] == "RESOURCE:MEMORY"


def test_the_agent_poll_answers_a_page_at_a_time(berth):
    assert ecs_raw(berth, "RegisterTaskDefinition", {
        "family": "tiny", "containerDefinitions": [app(memory=6)]})[0] == 200
    instance = register_instance(berth, memory=4096)
    placed = set()
    for _ in range(3):
        status, out = ecs_raw(berth, "RunTask", {"taskDefinition": "tiny", "count": 10})
        assert status == 200 and len(out["tasks"]) == 10, out
        placed |= {t["taskArn"] for t in out["tasks"]}
    seen, seq, answers = set(), None, 0
    while True:
        body = {"containerInstance": instance, "waitSeconds": 1}
        if seq is not None:
            body["seq"] = seq
        status, out = ecs_raw(berth, "BerthPollTasks", body)
        assert status == 200, out
        answers += 1
        assert len(out["tasksToStart"]) <= 10
        new = {t["taskArn"] for t in out["tasksToStart"]} - seen
        if not new:
            break
        seen |= new
        seq = out["seq"]
    assert seen == placed
    assert answers == 4
