"""EFS volumes on berth's Fargate capacity: a file system mapped to a directory in the server's
environment (`BERTH_EFS_<FILE SYSTEM ID>=<dir>`) is mounted where the definition mounts it, with
its `rootDirectory` under it; the access point and IAM authorization rules are checked at
registration, on every launch type."""

import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_fargate import NET, FargateApp, creds, wait_status

ROOT = 'When using an EFS access point, the root directory must either be set to "/" or be omitted.'
AP_TLS = "When using an EFS access point, transit encryption must be enabled."
IAM_TLS = "When using EFS IAM authorization, transit encryption must be enabled."


def test_a_fargate_task_mounts_the_mapped_file_system(berth_factory, registry, tmp_path):
    efs = tmp_path / "efs"
    (efs / "app").mkdir(parents=True)
    (efs / "app" / "note.txt").write_text("on efs\n")
    b = berth_factory(env_extra={"BERTH_EFS_FS_12345678": str(efs)})
    fg = FargateApp(b, registry, creds(REGISTRY_USER))
    ecs = b.client("ecs")
    ecs.register_task_definition(
        family=fg.family + "-efs", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", executionRoleArn=fg.role_arn,
        volumes=[{"name": "files", "efsVolumeConfiguration": {
            "fileSystemId": "fs-12345678", "rootDirectory": "/app", "transitEncryption": "ENABLED",
            "authorizationConfig": {"iam": "ENABLED"}}}],
        containerDefinitions=[{
            "name": "app", "image": registry.image, "essential": True,
            "repositoryCredentials": {"credentialsParameter": fg.secret_arn},
            "mountPoints": [{"sourceVolume": "files", "containerPath": "/files"}],
            "command": ["sh", "-c", "cat /files/note.txt || exit 3; echo from-task > /files/new"]}])
    arn = ecs.run_task(taskDefinition=fg.family + "-efs", launchType="FARGATE",
                       networkConfiguration=NET)["tasks"][0]["taskArn"]
    try:
        t = wait_status(b, arn, "STOPPED")
        assert t["containers"][0].get("exitCode") == 0, t
        # Written through the mount, into the file system's root directory.
        assert (efs / "app" / "new").read_text() == "from-task\n"
    finally:
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                             capture_output=True, text=True, timeout=60).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)


@pytest.mark.parametrize("efs, message", [
    ({"rootDirectory": "/data", "transitEncryption": "ENABLED", "authorizationConfig": {"accessPointId": "fsap-1"}},
     ROOT),
    ({"authorizationConfig": {"accessPointId": "fsap-1"}}, AP_TLS),
    ({"transitEncryption": "DISABLED", "authorizationConfig": {"iam": "ENABLED"}}, IAM_TLS),
])
@pytest.mark.parametrize("fargate", [False, True], ids=["ec2", "fargate"])
def test_efs_authorization_rules_at_registration(berth, efs, message, fargate):
    ecs = berth.client("ecs")
    kw = dict(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512") if fargate else {}
    container = {"name": "app", "image": "busybox", "memory": 32,
                 "mountPoints": [{"sourceVolume": "files", "containerPath": "/files"}]}
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family="efs", containerDefinitions=[container], volumes=[
            {"name": "files", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678", **efs}}], **kw)
    assert (error_code(e.value), error_message(e.value)) == ("ClientException", message)
    # The same with transit encryption and the root directory as the access point wants it.
    fixed = dict(efs, transitEncryption="ENABLED")
    fixed.pop("rootDirectory", None)
    ecs.register_task_definition(family="efs", containerDefinitions=[container], volumes=[
        {"name": "files", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678", **fixed}}], **kw)
