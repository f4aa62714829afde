"""ECS control plane: clusters, task definitions, container instances, RunTask placement, the
agent channel and the task lifecycle, driven by boto3, the AWS CLI and signed raw requests."""

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, berth_bin, error_code, error_message, json_body
from helpers import allow, user_creds

ACCOUNT = "000000000000"
CAP = "ecs.capability.private-registry-authentication.secretsmanager"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:secret_name"
SEED_CONTAINER = {
    "name": "app",
    "image": "private-repo/private-image",
    "memory": 128,
    "repositoryCredentials": {"credentialsParameter": SECRET_ARN},
}
NEEDS_ROLE = "Private repository authentication requires that the task definition specify a value for executionRoleArn."
TARGET = "AmazonEC2ContainerServiceV20141113."


ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ],
}


@pytest.fixture(autouse=True)
def execution_role(berth):
    """The seed's execution role, trusting ECS tasks: the control plane assumes it when it
    hands a task to its agent."""
    berth.client("iam").create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
    return f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"


def register_seed(ecs, family="private-app", **kw):
    args = dict(family=family, containerDefinitions=[SEED_CONTAINER], executionRoleArn="ecsTaskExecutionRole")
    args.update(kw)
    return ecs.register_task_definition(**args)["taskDefinition"]


def register_instance(ecs, cluster="default", attributes=(), cpu=2048, memory=4096, external=False, ports=None):
    attrs = [{"name": a} for a in attributes]
    if external:
        attrs.append({"name": "ecs.capability.external"})
    args = dict(
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
        ],
        versionInfo={"agentVersion": "1.80.0", "agentHash": "berth", "dockerVersion": "24.0.0"},
        attributes=attrs,
    )
    if ports is not None:
        args["totalResources"].append({"name": "PORTS", "type": "STRINGSET", "stringSetValue": ports})
    if cluster is not None:
        args["cluster"] = cluster
    return ecs.register_container_instance(**args)["containerInstance"]


def ecs_raw(berth, op, body, creds=None):
    status, _, raw = berth.raw(
        json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op},
        sign=("ecs", "us-east-1"),
        creds=creds,
    )
    return status, json_body(raw)


def poll(berth, instance_arn, cluster="default", seq=None, wait=0, creds=None):
    body = {"cluster": cluster, "containerInstance": instance_arn, "waitSeconds": wait}
    if seq is not None:
        body["seq"] = seq
    status, out = ecs_raw(berth, "BerthPollTasks", body, creds=creds)
    assert status == 200, out
    return out


def client_error(fn, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    return error_code(e.value), error_message(e.value)


# ---- task definitions -----------------------------------------------------------------------


def test_seed_definition_requires_private_registry_capability(berth):
    ecs = berth.client("ecs")
    td = register_seed(ecs)
    assert td["taskDefinitionArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/private-app:1"
    assert td["revision"] == 1 and td["status"] == "ACTIVE"
    assert {"name": CAP} in td["requiresAttributes"]
    # A bare role name is completed with the account id.
    assert td["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
    assert td["compatibilities"] == ["EC2", "EXTERNAL"]
    c = td["containerDefinitions"][0]
    assert c["repositoryCredentials"] == {"credentialsParameter": SECRET_ARN}
    assert c["essential"] is True and c["cpu"] == 0 and c["portMappings"] == []
    assert td["registeredBy"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_private_registry_without_execution_role_is_refused(berth):
    ecs = berth.client("ecs")
    code, msg = client_error(ecs.register_task_definition, family="x", containerDefinitions=[SEED_CONTAINER])
    assert (code, msg) == ("ClientException", NEEDS_ROLE)
    rc, _, err = berth.aws(
        "ecs", "register-task-definition", "--family", "x", "--container-definitions", json.dumps([SEED_CONTAINER])
    )
    assert rc == 255
    assert f"An error occurred (ClientException) when calling the RegisterTaskDefinition operation: {NEEDS_ROLE}" in err


def test_full_container_definition_round_trips(berth):
    ecs = berth.client("ecs")
    container = {
        "name": "web",
        "image": "registry.example.com:5000/team/web:1.2",
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 256,
        "links": ["db"],
        "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
        "essential": False,
        "entryPoint": ["/bin/sh", "-c"],
        "command": ["exec web"],
        "environment": [{"name": "MODE", "value": "prod"}],
        "environmentFiles": [{"value": "arn:aws:s3:::bucket/env", "type": "s3"}],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": True}],
        "volumesFrom": [],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
        "dependsOn": [{"containerName": "db", "condition": "START"}],
        "startTimeout": 30,
        "stopTimeout": 20,
        "hostname": "web",
        "user": "1000:1000",
        "workingDirectory": "/srv",
        "disableNetworking": False,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "dnsServers": ["10.0.0.2"],
        "dnsSearchDomains": ["example.com"],
        "extraHosts": [{"hostname": "db.local", "ipAddress": "10.0.0.3"}],
        "dockerSecurityOptions": ["no-new-privileges"],
        "interactive": False,
        "pseudoTerminal": False,
        "dockerLabels": {"team": "a"},
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
        "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}},
        "healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10},
        "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"add": ["SYS_PTRACE"]}},
        "repositoryCredentials": {"credentialsParameter": SECRET_ARN},
        "restartPolicy": {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60},
        "versionConsistency": "disabled",
    }
    db = {"name": "db", "image": "busybox", "memory": 64}
    td = ecs.register_task_definition(
        family="full",
        containerDefinitions=[container, db],
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/service-role/exec",
        taskRoleArn="app-role",
        volumes=[{"name": "data", "host": {"sourcePath": "/srv/data"}}],
        placementConstraints=[{"type": "memberOf", "expression": "attribute:stack == prod"}],
        pidMode="task",
        ipcMode="none",
        tags=[{"key": "team", "value": "a"}],
    )["taskDefinition"]
    got = ecs.describe_task_definition(taskDefinition="full:1")["taskDefinition"]
    assert got == td
    assert got["containerDefinitions"][0] == container
    assert got["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/app-role"
    assert got["volumes"] == [{"name": "data", "host": {"sourcePath": "/srv/data"}}]
    assert got["pidMode"] == "task" and got["ipcMode"] == "none"
    names = {a["name"] for a in got["requiresAttributes"]}
    assert {CAP, "com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.container-health-check",
            "ecs.capability.secrets.asm.environment-variables", "ecs.capability.container-ordering"} <= names


def test_revisions_only_go_up_and_describe_forms(berth):
    ecs = berth.client("ecs")
    c = [{"name": "a", "image": "busybox", "memory": 32}]
    assert ecs.register_task_definition(family="f", containerDefinitions=c)["taskDefinition"]["revision"] == 1
    second = ecs.register_task_definition(family="f", containerDefinitions=c, tags=[{"key": "k", "value": "v"}])
    assert second["taskDefinition"]["revision"] == 2
    assert second["tags"] == [{"key": "k", "value": "v"}]
    arn2 = second["taskDefinition"]["taskDefinitionArn"]
    # Family alone: the latest ACTIVE revision; with include TAGS, its tags.
    out = ecs.describe_task_definition(taskDefinition="f", include=["TAGS"])
    assert out["taskDefinition"]["revision"] == 2 and out["tags"] == [{"key": "k", "value": "v"}]
    assert "tags" not in ecs.describe_task_definition(taskDefinition="f")
    assert ecs.describe_task_definition(taskDefinition=arn2)["taskDefinition"]["revision"] == 2
    dereg = ecs.deregister_task_definition(taskDefinition="f:2")["taskDefinition"]
    assert dereg["status"] == "INACTIVE" and "deregisteredAt" in dereg
    assert ecs.describe_task_definition(taskDefinition="f")["taskDefinition"]["revision"] == 1
    assert ecs.describe_task_definition(taskDefinition="f:2")["taskDefinition"]["status"] == "INACTIVE"
    assert ecs.register_task_definition(family="f", containerDefinitions=c)["taskDefinition"]["revision"] == 3
    # Delete: only INACTIVE revisions; the numbers are still never reused.
    out = ecs.delete_task_definitions(taskDefinitions=["f:2", "f:3", "f:99"])
    assert [d["revision"] for d in out["taskDefinitions"]] == [2]
    assert out["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"
    reasons = {f["arn"]: f["reason"] for f in out["failures"]}
    assert reasons["f:99"] == "The specified task definition does not exist."
    assert f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/f:3" in reasons
    ecs.deregister_task_definition(taskDefinition="f:1")
    ecs.deregister_task_definition(taskDefinition="f:3")
    assert ecs.register_task_definition(family="f", containerDefinitions=c)["taskDefinition"]["revision"] == 4


def test_describe_and_deregister_missing(berth):
    ecs = berth.client("ecs")
    assert client_error(ecs.describe_task_definition, taskDefinition="nope") == (
        "ClientException", "Unable to describe task definition.")
    assert client_error(ecs.describe_task_definition, taskDefinition="nope:3") == (
        "ClientException", "Unable to describe task definition.")
    assert client_error(ecs.deregister_task_definition, taskDefinition="nope:1") == (
        "ClientException", "The specified task definition does not exist.")


@pytest.mark.parametrize(
    "kwargs,code,message",
    [
        (dict(family="bad family!"), "ClientException", "Family contains invalid characters."),
        (dict(containerDefinitions=[]), "ClientException", "Container list cannot be empty."),
        (dict(containerDefinitions=[{"name": "", "image": "x", "memory": 1}]), "ClientException",
         "Container.name should not be null or empty."),
        (dict(containerDefinitions=[{"name": "a b", "image": "x", "memory": 1}]), "ClientException",
         "Container.name contains invalid characters."),
        (dict(containerDefinitions=[{"name": "a", "memory": 1}]), "ClientException",
         "Container.image should not be null or empty."),
        (dict(containerDefinitions=[{"name": "a", "image": "x"}]), "ClientException",
         "Invalid setting for container 'a'. At least one of 'memory' or 'memoryReservation' must be specified."),
        (dict(executionRoleArn="arn:aws:iam::000000000000:user/bob"), "ClientException", "Role is not valid"),
        (dict(taskRoleArn="not a role"), "ClientException", "Role is not valid"),
        (dict(requiresCompatibilities=["FARGATE"], cpu="256", memory="512"), "ClientException",
         "Fargate only supports network mode \u2018awsvpc\u2019."),
        (dict(requiresCompatibilities=["FARGATE"], networkMode="awsvpc", memory="512"), "ClientException",
         "Fargate requires that 'cpu' be defined at the task level."),
        (dict(requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="8192"),
         "ClientException", "No Fargate configuration exists for given values."),
    ],
)
def test_register_validation(berth, kwargs, code, message):
    args = dict(family="v", containerDefinitions=[{"name": "a", "image": "busybox", "memory": 16}])
    args.update(kwargs)
    assert client_error(berth.client("ecs").register_task_definition, **args) == (code, message)


def test_fargate_compatibility_and_sizes(berth):
    ecs = berth.client("ecs")
    td = ecs.register_task_definition(
        family="fg", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="1 vCPU", memory="2 GB",
        containerDefinitions=[{"name": "a", "image": "busybox"}],
    )["taskDefinition"]
    assert td["cpu"] == "1024" and td["memory"] == "2048"
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert {"name": "ecs.capability.task-eni"} in td["requiresAttributes"]


def test_list_task_definitions_and_families(berth):
    ecs = berth.client("ecs")
    c = [{"name": "a", "image": "busybox", "memory": 32}]
    for fam in ["alpha", "alpha", "alpha", "beta", "alphabet"]:
        ecs.register_task_definition(family=fam, containerDefinitions=c)
    ecs.deregister_task_definition(taskDefinition="beta:1")
    arn = lambda f, r: f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{f}:{r}"
    assert ecs.list_task_definitions(familyPrefix="alpha")["taskDefinitionArns"] == [
        arn("alpha", 1), arn("alpha", 2), arn("alpha", 3)]
    assert ecs.list_task_definitions(familyPrefix="alpha", sort="DESC")["taskDefinitionArns"][0] == arn("alpha", 3)
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == [arn("beta", 1)]
    page1 = ecs.list_task_definitions(maxResults=2)
    assert len(page1["taskDefinitionArns"]) == 2 and "nextToken" in page1
    page2 = ecs.list_task_definitions(maxResults=2, nextToken=page1["nextToken"])
    assert page1["taskDefinitionArns"] + page2["taskDefinitionArns"] == [
        arn("alpha", 1), arn("alpha", 2), arn("alpha", 3), arn("alphabet", 1)]
    assert "nextToken" not in page2
    assert ecs.list_task_definition_families()["families"] == ["alpha", "alphabet"]
    assert ecs.list_task_definition_families(familyPrefix="alpha")["families"] == ["alpha", "alphabet"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["beta"]
    assert ecs.list_task_definition_families(status="ALL")["families"] == ["alpha", "alphabet", "beta"]
    # The paginator of boto3 follows nextToken.
    pages = ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 1})
    assert sum(len(p["taskDefinitionArns"]) for p in pages) == 4


def test_other_accounts_task_definition_is_not_visible(berth):
    p = subprocess.run(
        [berth_bin(), "account", "create", "111122223333", "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, check=True,
    )
    out = json.loads(p.stdout)
    other = berth.client("ecs", creds=Creds(out["AccessKeyId"], out["SecretAccessKey"]))
    mine = berth.client("ecs")
    arn = register_seed(mine)["taskDefinitionArn"]
    assert client_error(other.describe_task_definition, taskDefinition=arn) == (
        "ClientException", "Unable to describe task definition.")
    assert client_error(other.describe_task_definition, taskDefinition="private-app") == (
        "ClientException", "Unable to describe task definition.")
    register_instance(other, attributes=[CAP])
    assert client_error(other.run_task, taskDefinition=arn) == ("ClientException", "TaskDefinition not found.")
    # Its own registration of the same family starts at revision 1 in its own namespace.
    td = register_seed(other)
    assert td["taskDefinitionArn"] == "arn:aws:ecs:us-east-1:111122223333:task-definition/private-app:1"
    assert td["executionRoleArn"] == "arn:aws:iam::111122223333:role/ecsTaskExecutionRole"


def test_regions_are_separate(berth):
    east = berth.client("ecs")
    west = berth.client("ecs", region="us-west-2")
    register_seed(east)
    assert client_error(west.describe_task_definition, taskDefinition="private-app") == (
        "ClientException", "Unable to describe task definition.")


# ---- clusters -------------------------------------------------------------------------------


def test_clusters(berth):
    ecs = berth.client("ecs")
    c = ecs.create_cluster(clusterName="prod", tags=[{"key": "env", "value": "prod"}])["cluster"]
    assert c["clusterArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"
    assert c["status"] == "ACTIVE" and c["registeredContainerInstancesCount"] == 0
    assert ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"] == c["clusterArn"]
    ecs.create_cluster()  # the default cluster
    assert ecs.list_clusters()["clusterArns"] == [
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default", c["clusterArn"]]
    out = ecs.describe_clusters(clusters=["prod", "ghost"], include=["TAGS"])
    assert out["clusters"][0]["tags"] == [{"key": "env", "value": "prod"}]
    assert out["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ghost", "reason": "MISSING"}]
    assert "tags" not in ecs.describe_clusters(clusters=[c["clusterArn"]])["clusters"][0]
    inst = register_instance(ecs, cluster="prod")
    assert ecs.describe_clusters(clusters=["prod"])["clusters"][0]["registeredContainerInstancesCount"] == 1
    assert client_error(ecs.delete_cluster, cluster="prod") == (
        "ClusterContainsContainerInstancesException",
        "The Cluster cannot be deleted while Container Instances are active or draining.")
    ecs.deregister_container_instance(cluster="prod", containerInstance=inst["containerInstanceArn"])
    deleted = ecs.delete_cluster(cluster="prod")["cluster"]
    assert deleted["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default"]
    assert ecs.describe_clusters(clusters=["prod"])["clusters"][0]["status"] == "INACTIVE"
    assert client_error(ecs.delete_cluster, cluster="ghost") == ("ClusterNotFoundException", "Cluster not found.")
    assert client_error(ecs.list_tasks, cluster="ghost") == ("ClusterNotFoundException", "Cluster not found.")


def test_default_cluster_made_on_first_use(berth):
    ecs = berth.client("ecs")
    assert ecs.list_clusters()["clusterArns"] == []
    inst = register_instance(ecs, cluster=None)
    assert inst["containerInstanceArn"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/default/")
    assert ecs.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default"]


# ---- container instances --------------------------------------------------------------------


def test_container_instances_and_attributes(berth):
    ecs = berth.client("ecs")
    inst = register_instance(ecs, attributes=[CAP], cpu=1024, memory=2048)
    arn = inst["containerInstanceArn"]
    assert inst["status"] == "ACTIVE" and inst["agentConnected"] is True
    assert inst["versionInfo"]["agentVersion"] == "1.80.0"
    assert {"name": CAP} in inst["attributes"]
    remaining = {r["name"]: r["integerValue"] for r in inst["remainingResources"]}
    assert remaining == {"CPU": 1024, "MEMORY": 2048}
    assert ecs.list_container_instances()["containerInstanceArns"] == [arn]
    out = ecs.put_attributes(attributes=[{"name": "stack", "value": "prod", "targetId": arn}])
    assert out["attributes"] == [{"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": arn}]
    desc = ecs.describe_container_instances(containerInstances=[arn, "ffffffffffffffffffffffffffffffff"])
    assert {"name": "stack", "value": "prod"} in desc["containerInstances"][0]["attributes"]
    assert desc["failures"] == [{
        "arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/default/ffffffffffffffffffffffffffffffff",
        "reason": "MISSING"}]
    ecs.delete_attributes(attributes=[{"name": "stack", "targetId": arn}])
    attrs = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]["attributes"]
    assert all(a["name"] != "stack" for a in attrs)
    code, _ = client_error(ecs.put_attributes, attributes=[{"name": "x", "targetId": "0" * 32}])
    assert code == "TargetNotFoundException"
    ecs.deregister_container_instance(containerInstance=arn)
    assert ecs.list_container_instances()["containerInstanceArns"] == []
    assert ecs.list_container_instances(status="INACTIVE")["containerInstanceArns"] == [arn]


# ---- RunTask, placement, the agent channel ---------------------------------------------------


def test_run_task_attribute_failure_then_placement_and_delivery(berth):
    """The issue's 'done when': ATTRIBUTE failure, placement on the capable instance, delivery
    through the agent channel with registry authentication, lifecycle to STOPPED."""
    ecs = berth.client("ecs")
    td = register_seed(ecs)
    plain = register_instance(ecs)
    out = ecs.run_task(taskDefinition="private-app")
    assert out["tasks"] == []
    assert out["failures"] == [{"arn": plain["containerInstanceArn"], "reason": "ATTRIBUTE"}]

    capable = register_instance(ecs, attributes=[CAP])
    out = ecs.run_task(taskDefinition="private-app", startedBy="e2e")
    assert out["failures"] == []
    (task,) = out["tasks"]
    assert task["containerInstanceArn"] == capable["containerInstanceArn"]
    assert task["lastStatus"] == "PENDING" and task["desiredStatus"] == "RUNNING"
    assert task["launchType"] == "EC2" and task["taskDefinitionArn"] == td["taskDefinitionArn"]
    assert task["group"] == "family:private-app" and task["startedBy"] == "e2e"
    assert task["taskArn"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/default/")
    assert task["containers"][0]["name"] == "app" and task["containers"][0]["lastStatus"] == "PENDING"

    # Nothing for the plain instance; the task for the capable one.
    assert poll(berth, plain["containerInstanceArn"])["tasksToStart"] == []
    got = poll(berth, capable["containerInstanceArn"])
    (payload,) = got["tasksToStart"]
    assert payload["taskArn"] == task["taskArn"]
    assert payload["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
    creds = payload["executionRoleCredentials"]
    assert creds["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
    assert creds["accessKeyId"].startswith("ASIA") and creds["sessionToken"]
    (container,) = payload["containers"]
    assert container["registryAuthentication"] == {
        "type": "asm", "asmAuthData": {"credentialsParameter": SECRET_ARN, "region": "us-east-1"}}
    assert container["definition"]["image"] == "private-repo/private-image"
    assert got["tasksToStop"] == []

    # The agent reports: running, then the essential container exits.
    ecs.submit_task_state_change(
        cluster="default", task=task["taskArn"], status="RUNNING",
        containers=[{"containerName": "app", "status": "RUNNING", "runtimeId": "c0ffee"}],
    )
    running = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert running["lastStatus"] == "RUNNING" and "startedAt" in running
    assert running["containers"][0]["runtimeId"] == "c0ffee"
    assert ecs.list_tasks()["taskArns"] == [task["taskArn"]]
    inst = ecs.describe_container_instances(containerInstances=[capable["containerInstanceArn"]])["containerInstances"][0]
    assert inst["runningTasksCount"] == 1
    assert {r["name"]: r["integerValue"] for r in inst["remainingResources"]}["MEMORY"] == 4096 - 128

    ecs.submit_container_state_change(
        cluster="default", task=task["taskArn"], containerName="app", status="STOPPED", exitCode=3)
    # The task is to stop: the agent hears it.
    stopping = poll(berth, capable["containerInstanceArn"])
    assert stopping["tasksToStart"] == [] and stopping["tasksToStop"][0]["taskArn"] == task["taskArn"]
    ecs.submit_task_state_change(cluster="default", task=task["taskArn"], status="STOPPED")
    stopped = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED" and stopped["desiredStatus"] == "STOPPED"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 3 and stopped["containers"][0]["lastStatus"] == "STOPPED"
    assert "stoppedAt" in stopped and "stoppingAt" in stopped
    assert ecs.list_tasks()["taskArns"] == []
    assert ecs.list_tasks(desiredStatus="STOPPED")["taskArns"] == [task["taskArn"]]
    assert poll(berth, capable["containerInstanceArn"])["tasksToStop"] == []
    # Resources are free again.
    inst = ecs.describe_container_instances(containerInstances=[capable["containerInstanceArn"]])["containerInstances"][0]
    assert {r["name"]: r["integerValue"] for r in inst["remainingResources"]}["MEMORY"] == 4096


def test_stop_task_is_user_initiated(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    inst = register_instance(ecs, attributes=[CAP])
    task = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    ecs.submit_task_state_change(task=task["taskArn"], status="RUNNING",
                                 containers=[{"containerName": "app", "status": "RUNNING"}])
    out = ecs.stop_task(task=task["taskArn"].rsplit("/", 1)[1])["task"]
    assert out["desiredStatus"] == "STOPPED" and out["stopCode"] == "UserInitiated"
    assert out["stoppedReason"] == "Task stopped by user"
    assert poll(berth, inst["containerInstanceArn"])["tasksToStop"] == [
        {"taskArn": task["taskArn"], "reason": "Task stopped by user"}]
    ecs.submit_task_state_change(task=task["taskArn"], status="STOPPED",
                                 containers=[{"containerName": "app", "status": "STOPPED", "exitCode": 137}])
    done = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert done["lastStatus"] == "STOPPED" and done["stopCode"] == "UserInitiated"
    assert done["containers"][0]["exitCode"] == 137
    # With a reason of the caller's.
    task2 = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    assert ecs.stop_task(task=task2["taskArn"], reason="deploy")["task"]["stoppedReason"] == "deploy"
    assert client_error(ecs.stop_task, task="0" * 32) == (
        "InvalidParameterException", "The referenced task was not found.")


def test_failed_pull_is_task_failed_to_start(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    register_instance(ecs, attributes=[CAP])
    task = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    reason = "CannotPullContainerError: pull access denied"
    ecs.submit_task_state_change(task=task["taskArn"], status="STOPPED", reason=reason,
                                 containers=[{"containerName": "app", "status": "STOPPED", "reason": reason}])
    t = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert (t["lastStatus"], t["stopCode"], t["stoppedReason"]) == ("STOPPED", "TaskFailedToStart", reason)
    assert t["containers"][0]["reason"] == reason


def test_state_change_from_another_instance_is_refused(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    capable = register_instance(ecs, attributes=[CAP])
    other = register_instance(ecs, attributes=[CAP], memory=64)  # too small to take the task
    task = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    assert task["containerInstanceArn"] == capable["containerInstanceArn"]
    status, out = ecs_raw(berth, "SubmitTaskStateChange", {
        "cluster": "default", "task": task["taskArn"], "status": "RUNNING",
        "containerInstance": other["containerInstanceArn"]})
    assert status == 400 and out["__type"] == "AccessDeniedException"
    assert ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "PENDING"
    status, out = ecs_raw(berth, "SubmitContainerStateChange", {
        "cluster": "default", "task": task["taskArn"], "containerName": "app", "status": "RUNNING",
        "containerInstance": other["containerInstanceArn"]})
    assert status == 400 and out["__type"] == "AccessDeniedException"
    status, out = ecs_raw(berth, "SubmitTaskStateChange", {
        "cluster": "default", "task": task["taskArn"], "status": "RUNNING",
        "containerInstance": capable["containerInstanceArn"]})
    assert status == 200
    assert ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"


def test_stale_reports_do_not_move_a_task_back(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    register_instance(ecs, attributes=[CAP])
    task = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    ecs.submit_task_state_change(task=task["taskArn"], status="RUNNING")
    ecs.submit_task_state_change(task=task["taskArn"], status="PENDING")
    assert ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"


def test_long_poll_wakes_when_a_task_is_placed(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    inst = register_instance(ecs, attributes=[CAP])
    first = poll(berth, inst["containerInstanceArn"])
    assert first["tasksToStart"] == []
    result = {}

    def waiter():
        started = time.time()
        result["poll"] = poll(berth, inst["containerInstanceArn"], seq=first["seq"], wait=15)
        result["elapsed"] = time.time() - started

    before = {c[0] for c in tcp_sockets(os.getpid())[0] if c[1] == berth.port}
    t = threading.Thread(target=waiter)
    t.start()
    wait_until_server_holds_a_poll(berth, os.getpid(), before)
    task = ecs.run_task(taskDefinition="private-app")["tasks"][0]
    t.join(timeout=20)
    # It was waiting when the task was placed (at least the two looks apart), and woke for it.
    assert 0.1 <= result["elapsed"] < 10, result
    assert [p["taskArn"] for p in result["poll"]["tasksToStart"]] == [task["taskArn"]]
    assert result["poll"]["seq"] != first["seq"]
    # With nothing new, the poll waits its time out and answers the same state.
    started = time.time()
    again = poll(berth, inst["containerInstanceArn"], seq=result["poll"]["seq"], wait=1)
    assert time.time() - started >= 0.9
    assert again["seq"] == result["poll"]["seq"]


def tcp_sockets(pid):
    """The TCP sockets of process `pid`: (local port, remote port, state, tx queue, rx queue),
    and every TCP socket of its network namespace by (local port, remote port)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    own, every = [], {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            local, remote = int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16)
            tx, rx = (int(q, 16) for q in f[4].split(":"))
            entry = (local, remote, f[3], tx, rx)
            every[(local, remote)] = entry
            if f[9] in inodes:
                own.append(entry)
    return own, every


def wait_until_server_holds_a_poll(berth, pid, before=(), alive=None, timeout=15):
    """Waits until a connection of process `pid` to the server, other than those from local
    ports `before`, carries a request the server has read and not answered: established,
    nothing queued either way, across two looks between which the server answered no request.
    Returns how many requests the server had answered then. `alive`, a Popen, must not exit."""
    deadline = time.time() + timeout
    seen = None
    while True:
        assert time.time() < deadline and (alive is None or alive.poll() is None), berth.log()
        answered = berth.log().count("DEBUG berth_api::server: request ")
        own, every = tcp_sockets(pid)
        conns = [c for c in own if c[1] == berth.port and c[0] not in before and c[2] == "01"]
        quiet = (
            len(conns) == 1
            and conns[0][3:] == (0, 0)
            and every.get((berth.port, conns[0][0]), (0,) * 5)[3:] == (0, 0)
        )
        now = (conns[0][0], answered) if quiet else None
        if now is not None and now == seen:
            return answered
        seen = now
        time.sleep(0.1)


def test_agent_channel_is_signed_and_authorised(berth):
    status, raw_headers, raw = berth.raw(
        json.dumps({"containerInstance": "x"}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + "BerthPollTasks"},
    )
    assert status == 400 and json_body(raw)["__type"] == "MissingAuthenticationTokenException"
    status, out = ecs_raw(berth, "BerthPollTasks", {"containerInstance": "0" * 32, "waitSeconds": 0})
    assert status == 400 and out["__type"] == "ClusterNotFoundException"


def test_run_task_errors(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    ecs.create_cluster(clusterName="empty")
    assert client_error(ecs.run_task, cluster="empty", taskDefinition="private-app") == (
        "InvalidParameterException", "No Container Instances were found in your cluster.")
    assert client_error(ecs.run_task, cluster="ghost", taskDefinition="private-app") == (
        "ClusterNotFoundException", "Cluster not found.")
    assert client_error(ecs.run_task, cluster="empty", taskDefinition="nope") == (
        "ClientException", "TaskDefinition not found.")
    register_instance(ecs, cluster="empty", attributes=[CAP])
    assert client_error(ecs.run_task, cluster="empty", taskDefinition="private-app", platformVersion="1.4.0") == (
        "InvalidParameterException", "The platform version must be null when specifying an EC2 launch type.")
    ecs.deregister_task_definition(taskDefinition="private-app:1")
    assert client_error(ecs.run_task, cluster="empty", taskDefinition="private-app:1") == (
        "ClientException", "TaskDefinition is inactive")
    code, _ = client_error(ecs.run_task, cluster="empty", taskDefinition="private-app:1", count=11)
    assert code == "InvalidParameterException"


def test_placement_by_resources(berth):
    ecs = berth.client("ecs")
    ecs.register_task_definition(family="big", containerDefinitions=[
        {"name": "a", "image": "busybox", "memory": 1024, "cpu": 512}])
    small = register_instance(ecs, cpu=256, memory=4096)
    out = ecs.run_task(taskDefinition="big")
    assert out["failures"] == [{"arn": small["containerInstanceArn"], "reason": "RESOURCE:CPU"}]
    roomy = register_instance(ecs, cpu=1024, memory=1500)
    out = ecs.run_task(taskDefinition="big", count=2)
    assert len(out["tasks"]) == 1 and out["tasks"][0]["containerInstanceArn"] == roomy["containerInstanceArn"]
    reasons = {f["arn"]: f["reason"] for f in out["failures"]}
    assert reasons == {small["containerInstanceArn"]: "RESOURCE:CPU", roomy["containerInstanceArn"]: "RESOURCE:MEMORY"}


def test_placement_by_host_ports(berth):
    ecs = berth.client("ecs")
    web = lambda port: [{"name": "web", "image": "busybox", "memory": 16,
                         "portMappings": [{"containerPort": 80, "hostPort": port}]}]
    ecs.register_task_definition(family="web", containerDefinitions=web(8080))
    ecs.register_task_definition(family="ssh", containerDefinitions=web(22))
    ecs.register_task_definition(family="dyn", containerDefinitions=web(0))
    inst = register_instance(ecs, ports=["22", "2375", "51678"])
    arn = inst["containerInstanceArn"]
    assert len(ecs.run_task(taskDefinition="web")["tasks"]) == 1
    assert ecs.run_task(taskDefinition="web")["failures"] == [{"arn": arn, "reason": "RESOURCE:PORTS"}]
    assert ecs.run_task(taskDefinition="ssh")["failures"] == [{"arn": arn, "reason": "RESOURCE:PORTS"}]
    assert len(ecs.run_task(taskDefinition="dyn", count=2)["tasks"]) == 2
    remaining = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]["remainingResources"]
    ports = next(r for r in remaining if r["name"] == "PORTS")["stringSetValue"]
    assert set(ports) == {"22", "2375", "51678", "8080"}


def test_external_launch_type(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    ec2 = register_instance(ecs, attributes=[CAP])
    out = ecs.run_task(taskDefinition="private-app", launchType="EXTERNAL")
    assert out["tasks"] == [] and out["failures"] == [{"arn": ec2["containerInstanceArn"], "reason": "ATTRIBUTE"}]
    ext = register_instance(ecs, attributes=[CAP], external=True)
    task = ecs.run_task(taskDefinition="private-app", launchType="EXTERNAL")["tasks"][0]
    assert task["launchType"] == "EXTERNAL" and task["containerInstanceArn"] == ext["containerInstanceArn"]
    # An EC2 task never lands on the external instance.
    for _ in range(3):
        t = ecs.run_task(taskDefinition="private-app")["tasks"][0]
        assert t["containerInstanceArn"] == ec2["containerInstanceArn"]


def test_fargate_platform_versions(berth):
    ecs = berth.client("ecs")
    ecs.register_task_definition(
        family="fg", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="ecsTaskExecutionRole", containerDefinitions=[SEED_CONTAINER],
    )
    ecs.register_task_definition(family="ec2only", containerDefinitions=[{"name": "a", "image": "x", "memory": 8}])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    run = lambda **kw: ecs.run_task(taskDefinition="fg", launchType="FARGATE", networkConfiguration=net, **kw)
    for version in ["1.0.0", "1.1.0"]:
        assert client_error(run, platformVersion=version) == (
            "PlatformTaskDefinitionIncompatibilityException",
            "One or more of the requested capabilities are not supported.")
    assert client_error(run, platformVersion="9.9.9") == (
        "PlatformUnknownException", "The specified platform does not exist.")
    for version, shown in [("1.2.0", "1.2.0"), ("1.3.0", "1.3.0"), ("1.4.0", "1.4.0"), ("LATEST", "1.4.0"), (None, "1.4.0")]:
        kw = {"platformVersion": version} if version else {}
        task = run(**kw)["tasks"][0]
        assert task["launchType"] == "FARGATE" and task["platformVersion"] == shown
        # Accepted in PROVISIONING; berth's Fargate runner takes it from there.
        assert task["lastStatus"] == "PROVISIONING" and "containerInstanceArn" not in task
    assert client_error(ecs.run_task, taskDefinition="fg", launchType="FARGATE") == (
        "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    assert client_error(ecs.run_task, taskDefinition="ec2only", launchType="FARGATE", networkConfiguration=net) == (
        "InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    # StopTask on a Fargate task: the runner may have taken it already (here its execution role
    # does not exist, so it also fails to start); either way it ends STOPPED.
    task = run()["tasks"][0]
    stopped = ecs.stop_task(task=task["taskArn"])["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    deadline = time.time() + 30
    while stopped["lastStatus"] != "STOPPED" and time.time() < deadline:
        time.sleep(0.2)
        stopped = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED", stopped
    assert stopped["stopCode"] in ("UserInitiated", "TaskFailedToStart"), stopped


def test_client_token_idempotency_overrides_and_tags(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    register_instance(ecs, attributes=[CAP])
    kw = dict(
        taskDefinition="private-app", clientToken="tok-1", count=2,
        overrides={"containerOverrides": [{"name": "app", "command": ["echo", "hi"], "memory": 256}]},
        tags=[{"key": "k", "value": "v"}],
    )
    first = ecs.run_task(**kw)["tasks"]
    again = ecs.run_task(**kw)["tasks"]
    assert [t["taskArn"] for t in first] == [t["taskArn"] for t in again] and len(first) == 2
    assert len(ecs.list_tasks()["taskArns"]) == 2
    code, _ = client_error(ecs.run_task, taskDefinition="private-app", clientToken="tok-1")
    assert code == "InvalidParameterException"
    assert first[0]["overrides"]["containerOverrides"][0]["command"] == ["echo", "hi"]
    assert first[0]["containers"][0]["memory"] == "256"
    desc = ecs.describe_tasks(tasks=[first[0]["taskArn"]], include=["TAGS"])["tasks"][0]
    assert desc["tags"] == [{"key": "k", "value": "v"}]
    assert "tags" not in ecs.describe_tasks(tasks=[first[0]["taskArn"]])["tasks"][0]


def test_start_task_and_list_filters(berth):
    ecs = berth.client("ecs")
    register_seed(ecs)
    ecs.register_task_definition(family="other", containerDefinitions=[{"name": "a", "image": "x", "memory": 8}])
    a = register_instance(ecs, attributes=[CAP])
    b = register_instance(ecs)
    out = ecs.start_task(taskDefinition="private-app", containerInstances=[a["containerInstanceArn"], b["containerInstanceArn"]],
                         startedBy="me")
    assert [t["containerInstanceArn"] for t in out["tasks"]] == [a["containerInstanceArn"]]
    assert out["failures"] == [{"arn": b["containerInstanceArn"], "reason": "ATTRIBUTE"}]
    other = ecs.start_task(taskDefinition="other", containerInstances=[b["containerInstanceArn"].rsplit("/", 1)[1]])["tasks"][0]
    assert set(ecs.list_tasks()["taskArns"]) == {out["tasks"][0]["taskArn"], other["taskArn"]}
    assert ecs.list_tasks(family="other")["taskArns"] == [other["taskArn"]]
    assert ecs.list_tasks(startedBy="me")["taskArns"] == [out["tasks"][0]["taskArn"]]
    assert ecs.list_tasks(containerInstance=b["containerInstanceArn"])["taskArns"] == [other["taskArn"]]
    assert ecs.list_tasks(launchType="FARGATE")["taskArns"] == []
    assert ecs.list_tasks(serviceName="svc")["taskArns"] == []
    assert client_error(ecs.describe_tasks, tasks=[]) == ("InvalidParameterException", "Tasks cannot be empty.")
    desc = ecs.describe_tasks(tasks=[other["taskArn"], "0" * 32])
    assert desc["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/default/{'0' * 32}", "reason": "MISSING"}]
    # A busy instance is not deregistered without force.
    assert client_error(ecs.deregister_container_instance, containerInstance=b["containerInstanceArn"]) == (
        "InvalidParameterException", "Found running tasks on the instance.")
    assert ecs.deregister_container_instance(containerInstance=b["containerInstanceArn"], force=True)[
        "containerInstance"]["status"] == "INACTIVE"


def test_cli_run_task_flow(berth):
    rc, out, err = berth.aws(
        "ecs", "register-task-definition", "--family", "cli", "--execution-role-arn", "ecsTaskExecutionRole",
        "--container-definitions", json.dumps([SEED_CONTAINER]), check=True,
    )
    assert {"name": CAP} in json.loads(out)["taskDefinition"]["requiresAttributes"]
    rc, out, err = berth.aws("ecs", "run-task", "--cluster", "nowhere", "--task-definition", "cli")
    assert rc == 255 and "An error occurred (ClusterNotFoundException) when calling the RunTask operation: Cluster not found." in err
    rc, out, err = berth.aws("ecs", "run-task", "--task-definition", "cli")
    assert rc == 255 and "No Container Instances were found in your cluster." in err


# ---- authorisation --------------------------------------------------------------------------


def test_run_task_needs_pass_role_on_the_execution_role(berth):
    root = berth.client("ecs")
    register_seed(root)
    register_instance(root, attributes=[CAP])
    ecs = berth.client("ecs", creds=user_creds(berth, "deployer", allow(["ecs:*"])))
    code, msg = client_error(ecs.run_task, taskDefinition="private-app")
    assert code == "AccessDeniedException"
    assert "iam:PassRole" in msg and f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole" in msg
    assert ecs.list_tasks()["taskArns"] == []
    passer = berth.client("ecs", creds=user_creds(berth, "passer", allow(["ecs:*", "iam:PassRole"])))
    assert len(passer.run_task(taskDefinition="private-app")["tasks"]) == 1


def test_ecs_calls_are_authorised(berth):
    berth.client("ecs").create_cluster()
    reader = berth.client("ecs", creds=user_creds(berth, "reader", allow(["ecs:List*", "ecs:Describe*"])))
    assert reader.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default"]
    code, msg = client_error(reader.register_task_definition, family="f",
                             containerDefinitions=[{"name": "a", "image": "x", "memory": 8}])
    assert code == "AccessDeniedException" and "ecs:RegisterTaskDefinition" in msg
    code, _ = client_error(reader.create_cluster, clusterName="x")
    assert code == "AccessDeniedException"


def test_agents_act_only_for_their_own_instance(berth):
    root = berth.client("ecs")
    register_seed(root)
    agent_actions = ["ecs:RegisterContainerInstance", "ecs:Poll", "ecs:Submit*"]
    a_creds = user_creds(berth, "agent-a", allow(agent_actions))
    b_creds = user_creds(berth, "agent-b", allow(agent_actions))
    a = register_instance(berth.client("ecs", creds=a_creds), attributes=[CAP])
    b = register_instance(berth.client("ecs", creds=b_creds), attributes=[CAP], memory=64)
    task = root.run_task(taskDefinition="private-app")["tasks"][0]
    assert task["containerInstanceArn"] == a["containerInstanceArn"]
    agent_b = berth.client("ecs", creds=b_creds)
    code, _ = client_error(agent_b.submit_task_state_change, task=task["taskArn"], status="RUNNING")
    assert code == "AccessDeniedException"
    status, out = ecs_raw(berth, "BerthPollTasks", {"containerInstance": a["containerInstanceArn"], "waitSeconds": 0},
                          creds=b_creds)
    assert status == 400 and out["__type"] == "AccessDeniedException"
    assert poll(berth, b["containerInstanceArn"], creds=b_creds)["tasksToStart"] == []
    assert [t["taskArn"] for t in poll(berth, a["containerInstanceArn"], creds=a_creds)["tasksToStart"]] == [task["taskArn"]]
    berth.client("ecs", creds=a_creds).submit_task_state_change(task=task["taskArn"], status="RUNNING")
    assert root.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"


# ---- the execution role (R4) ----------------------------------------------------------------


def test_execution_role_credentials_act_exactly_as_the_role_allows(berth):
    iam, sm, ecs = berth.client("iam"), berth.client("secretsmanager"), berth.client("ecs")
    allowed = sm.create_secret(Name="registry-creds", SecretString=json.dumps({"username": "u", "password": "p"}))["ARN"]
    other = sm.create_secret(Name="other-secret", SecretString="x")["ARN"]
    iam.create_role(RoleName="execRole", AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
    iam.put_role_policy(
        RoleName="execRole",
        PolicyName="read-registry-secret",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [allowed]}],
        }),
    )
    container = dict(SEED_CONTAINER, repositoryCredentials={"credentialsParameter": allowed})
    ecs.register_task_definition(family="with-role", containerDefinitions=[container], executionRoleArn="execRole")
    inst = register_instance(ecs, attributes=[CAP])
    (task,) = ecs.run_task(taskDefinition="with-role")["tasks"]
    (payload,) = poll(berth, inst["containerInstanceArn"])["tasksToStart"]
    c = payload["executionRoleCredentials"]
    session = Creds(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"])
    task_id = task["taskArn"].rsplit("/", 1)[1]
    ident = berth.client("sts", creds=session).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/execRole/{task_id}"
    # The session reads the secret its role allows, and nothing else.
    value = berth.client("secretsmanager", creds=session).get_secret_value(SecretId=allowed)
    assert json.loads(value["SecretString"]) == {"username": "u", "password": "p"}
    code, msg = client_error(berth.client("secretsmanager", creds=session).get_secret_value, SecretId=other)
    assert code == "AccessDeniedException"
    assert msg.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/execRole/{task_id} is not authorized to perform: secretsmanager:GetSecretValue")
    # A later poll hands the same session out again.
    (again,) = poll(berth, inst["containerInstanceArn"])["tasksToStart"]
    assert again["executionRoleCredentials"]["accessKeyId"] == c["accessKeyId"]


def test_a_role_ecs_cannot_assume_stops_the_task(berth):
    iam, ecs = berth.client("iam"), berth.client("ecs")
    wrong_trust = json.loads(json.dumps(ECS_TRUST))
    wrong_trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] = "999999999999"
    iam.create_role(RoleName="badTrust", AssumeRolePolicyDocument=json.dumps(wrong_trust))
    ecs.register_task_definition(family="bad-role", containerDefinitions=[SEED_CONTAINER], executionRoleArn="badTrust")
    inst = register_instance(ecs, attributes=[CAP])
    (task,) = ecs.run_task(taskDefinition="bad-role")["tasks"]
    assert poll(berth, inst["containerInstanceArn"])["tasksToStart"] == []
    stopped = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == (
        f"ECS was unable to assume the role 'arn:aws:iam::{ACCOUNT}:role/badTrust' that was provided for this task. "
        "Please verify that the role being passed has the proper trust relationship and permissions and that your "
        "IAM user has permissions to pass this role."
    )
