"""A container definition's Linux and Docker settings and its task's volumes, seen with `docker
inspect` and from inside the running container: an EC2 task run by `berth agent` carrying every
setting at once, a FARGATE task with what Fargate takes, and the members berth does not run
failing the task (or its placement) with a reason that names them.

The task's `app` container prints what it sees (its hostname, /etc/hosts, resolv.conf, its open
files limit, a write to its read-only root, the bind-mounted file) and waits; the test reads its
`docker logs` and `docker inspect`s the task's containers while it runs, then stops the task and
checks that the task's own volumes went with it and the shared one stayed.
"""

import subprocess
import time
import uuid

import pytest

from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import PrivateApp, agent_factory, start, wait_stopped  # noqa: F401
from test_container_settings import container_of, docker, inspect, leftovers, logs_until_ready  # noqa: F401
from test_fargate import NET, FargateApp, wait_status
from test_fargate import creds as fargate_creds

MIB = 1024 * 1024

SCRIPT = r"""
echo "hostname=$(cat /proc/sys/kernel/hostname)"
echo "nofile=$(ulimit -n)"
if echo x > /rootfs-write 2>/dev/null; then echo "rootfs=writable"; else echo "rootfs=read-only"; fi
echo "data=$(cat /data/hello.txt)"
if echo x > /data/new 2>/dev/null; then echo "data=writable"; else echo "data=read-only"; fi
echo x > /scratch/ok && echo "scratch=writable"
echo x > /shared/ok && echo "shared=writable"
echo "--hosts--"; cat /etc/hosts; echo "--resolv--"; cat /etc/resolv.conf; echo "--end--"
echo "--ready--"
trap 'exit 0' TERM
while :; do sleep 0.1; done
"""

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


def task_volumes(arn):
    out = docker("volume", "ls", "-q", "--filter", f"label=berth.task-arn={arn}")
    return set(out.split())


def wait_gone(arn, timeout=30):
    deadline = time.time() + timeout
    while task_volumes(arn) and time.time() < deadline:
        time.sleep(0.2)
    return task_volumes(arn)


def test_ec2_linux_and_docker_settings_and_volumes(leftovers, berth, registry, agent_factory, tmp_path):
    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    data = tmp_path / "hostdir"
    data.mkdir()
    (data / "hello.txt").write_text("from the host\n")
    shared = f"berth-shared-{uuid.uuid4().hex[:8]}"
    base = {"image": registry.image, "repositoryCredentials": auth, "memory": 32, "stopTimeout": 2}
    containers = [
        # Defined after `app` but made first: app links to it.
        {**base, "name": "app", "essential": True, "memory": 64,
         "entryPoint": ["/bin/sh", "-c", SCRIPT],
         "links": ["db:database"],
         "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
         "linuxParameters": {
             "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
             "initProcessEnabled": True, "sharedMemorySize": 64,
             "tmpfs": [{"containerPath": "/tmpfs", "size": 16, "mountOptions": ["noexec"]}],
             "maxSwap": 16, "swappiness": 10,
         },
         "readonlyRootFilesystem": True,
         "dockerLabels": {"team": "berth", "com.amazonaws.ecs.cluster": "spoofed"},
         "extraHosts": [{"hostname": "extra.example", "ipAddress": "10.9.8.7"}],
         "dnsServers": ["10.0.0.2"], "dnsSearchDomains": ["corp.example"],
         "hostname": "apphost",
         "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
         "dockerSecurityOptions": ["no-new-privileges"],
         "interactive": True, "pseudoTerminal": True,
         "mountPoints": [
             {"sourceVolume": "hostdir", "containerPath": "/data", "readOnly": True},
             {"sourceVolume": "scratch", "containerPath": "/scratch"},
             {"sourceVolume": shared, "containerPath": "/shared"},
             {"sourceVolume": "mine", "containerPath": "/mine"},
         ]},
        {**base, "name": "db", "essential": False, "entryPoint": SLEEPER,
         "linuxParameters": {"devices": [
             {"hostPath": "/dev/null", "containerPath": "/dev/berth-null", "permissions": ["read", "write"]}]}},
        {**base, "name": "reader", "essential": False, "entryPoint": SLEEPER,
         "volumesFrom": [{"sourceContainer": "app", "readOnly": True}]},
    ]
    family = app.family + "-fields"
    ecs.register_task_definition(
        family=family, executionRoleArn=app.role_arn, containerDefinitions=containers,
        pidMode="task", ipcMode="task",
        volumes=[
            {"name": "hostdir", "host": {"sourcePath": str(data)}},
            {"name": "scratch", "host": {}},
            {"name": shared, "dockerVolumeConfiguration": {
                "scope": "shared", "autoprovision": True, "driver": "local", "labels": {"purpose": "test"}}},
            {"name": "mine", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
        ],
    )
    out = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="EC2")
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    task = lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # noqa: E731
    try:
        app_id = container_of(arn, "app", task)
        seen = logs_until_ready(app_id, task)
        lines = dict(line.split("=", 1) for line in seen.replace("\r", "").splitlines() if "=" in line and "--" not in line)
        assert lines["hostname"] == "apphost", seen
        assert lines["nofile"] == "1024", seen
        assert lines["rootfs"] == "read-only", seen
        assert "from the host" in seen and "data=read-only" in seen, seen
        assert "scratch=writable" in seen and "shared=writable" in seen, seen
        assert "10.9.8.7" in seen and "extra.example" in seen, seen
        assert "nameserver 10.0.0.2" in seen and "corp.example" in seen, seen

        c = inspect(app_id)
        host, config = c["HostConfig"], c["Config"]
        db_name = inspect(container_of(arn, "db", task))["Name"]
        assert any(link.startswith(f"{db_name}:") and link.endswith("/database") for link in host["Links"]), host["Links"]
        assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], host["Ulimits"]
        assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["MKNOD"], host
        assert host["Init"] is True, host
        assert host["ShmSize"] == 64 * MIB, host
        assert host["Tmpfs"] == {"/tmpfs": "size=16m,noexec"}, host
        assert host["ReadonlyRootfs"] is True and not host["Privileged"], host
        # maxSwap: Docker's MemorySwap is memory plus swap (swappiness needs cgroup v1).
        assert host["MemorySwap"] == (64 + 16) * MIB, host
        assert host["MemorySwappiness"] in (10, None), host
        assert config["Labels"]["team"] == "berth", config["Labels"]
        assert config["Labels"]["com.amazonaws.ecs.cluster"] == cluster, config["Labels"]
        assert host["ExtraHosts"] == ["extra.example:10.9.8.7"], host
        assert host["Dns"] == ["10.0.0.2"] and host["DnsSearch"] == ["corp.example"], host
        assert config["Hostname"] == "apphost", config
        assert host["Sysctls"] == {"net.core.somaxconn": "1024"}, host
        assert host["SecurityOpt"] == ["no-new-privileges"], host
        assert config["Tty"] is True and config["OpenStdin"] is True, config
        assert config["StopTimeout"] == 2, config
        binds = set(host["Binds"])
        assert f"{data}:/data:ro" in binds, binds
        # A shared volume is called by the definition's name; the task's own by the task.
        assert f"{shared}:/shared" in binds, binds
        mine = next(b.split(":")[0] for b in binds if b.endswith(":/mine"))
        scratch = next(b.split(":")[0] for b in binds if b.endswith(":/scratch"))
        assert task_volumes(arn) == {mine, scratch}, task_volumes(arn)
        # The task's namespaces are its first container's (db: app links to it).
        db = inspect(container_of(arn, "db", task))
        # (Docker keeps the owner by id.)
        assert host["PidMode"] == f"container:{db['Id']}", host["PidMode"]
        assert host["IpcMode"] == f"container:{db['Id']}", host["IpcMode"]
        assert db["HostConfig"]["IpcMode"] == "shareable", db["HostConfig"]
        assert db["HostConfig"]["Devices"] == [
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/berth-null", "CgroupPermissions": "rw"}], db["HostConfig"]
        reader = inspect(container_of(arn, "reader", task))
        assert reader["HostConfig"]["VolumesFrom"] == [c["Name"].lstrip("/") + ":ro"], reader["HostConfig"]
        # `requiresAttributes` the instance satisfies, as placed.
        td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        names = {a["name"] for a in td["requiresAttributes"]}
        assert {"com.amazonaws.ecs.capability.docker-remote-api.1.25", "ecs.capability.container-ordering",
                "ecs.capability.docker-plugin.local"} <= names, names

        ecs.stop_task(cluster=cluster, task=arn, reason="done")
        t = wait_stopped(berth, cluster, arn, agent)
        assert t["lastStatus"] == "STOPPED", t
        assert wait_gone(arn) == set(), "the task's own volumes are removed with it"
        assert docker("volume", "inspect", shared, "--format", "{{.Labels.purpose}}").strip() == "test"
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", shared], capture_output=True, timeout=60)


def missing_capabilities():
    """The capabilities this host's bounding set lacks (init's: the Docker daemon cannot hold
    more), by number."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    line = next(x for x in open("/proc/1/status").read().splitlines() if x.startswith("CapBnd:"))
    bounding = int(line.split()[1], 16)
    return [i for i in range(last + 1) if not bounding & (1 << i)]


def test_a_privileged_container_in_the_tasks_pid_namespace(leftovers, berth, registry, agent_factory):
    # A privileged container asks runc for every capability. Where the host's bounding set
    # lacks one (some VMs and sandboxes drop CAP_SYS_RESOURCE from init), no privileged
    # container can start there, joined to a PID namespace or not: the task stops with Docker's
    # words and what failed. Elsewhere it runs, privileged, in the task's PID namespace.
    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    base = {"image": registry.image, "repositoryCredentials": {"credentialsParameter": app.secret_arn},
            "memory": 32, "stopTimeout": 2, "entryPoint": SLEEPER}
    family = app.family + "-privileged"
    ecs.register_task_definition(
        family=family, executionRoleArn=app.role_arn, pidMode="task",
        containerDefinitions=[{**base, "name": "app", "essential": True},
                              {**base, "name": "reader", "essential": False, "privileged": True}])
    names = {a["name"] for a in ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["requiresAttributes"]}
    assert "com.amazonaws.ecs.capability.privileged-container" in names, names
    out = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="EC2")
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    task = lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # noqa: E731
    missing = missing_capabilities()
    if missing:
        t = wait_stopped(berth, cluster, arn, agent)
        reason = t["stoppedReason"]
        assert reason.startswith("CannotStartContainerError: "), t
        assert "unable to apply caps: operation not permitted" in reason, t
        assert ("(the container is privileged, which asks for every capability, and this host's capability "
                "bounding set (and so the Docker daemon's) lacks CAP_") in reason, t
        reader = next(c for c in t["containers"] if c["name"] == "reader")
        assert "unable to apply caps" in reader.get("reason", ""), t
        return
    reader_id = container_of(arn, "reader", task)
    deadline = time.time() + 60
    while task()["lastStatus"] != "RUNNING":
        assert task()["lastStatus"] != "STOPPED" and time.time() < deadline, (task(), agent.log())
        time.sleep(0.3)
    reader = inspect(reader_id)
    assert reader["HostConfig"]["Privileged"] is True, reader["HostConfig"]
    app_name = inspect(container_of(arn, "app", task))["Name"].lstrip("/")
    assert reader["HostConfig"]["PidMode"] == f"container:{app_name}", reader["HostConfig"]
    assert reader["State"]["Running"] is True, reader["State"]
    ecs.stop_task(cluster=cluster, task=arn)
    wait_stopped(berth, cluster, arn, agent)


def test_fargate_settings_within_fargate_limits(leftovers, berth, registry):
    ecs = berth.client("ecs")
    app = FargateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    base = {"image": registry.image, "repositoryCredentials": auth, "stopTimeout": 2}
    containers = [
        {**base, "name": "app", "essential": True, "entryPoint": SLEEPER,
         "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"]}, "initProcessEnabled": True},
         "readonlyRootFilesystem": True, "dockerLabels": {"team": "berth"},
         "ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 4096}],
         "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}]},
        {**base, "name": "side", "essential": False, "entryPoint": SLEEPER,
         "volumesFrom": [{"sourceContainer": "app"}]},
    ]
    family = app.family + "-fields"
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=app.role_arn, containerDefinitions=containers, pidMode="task",
        volumes=[{"name": "scratch", "host": {}}], ephemeralStorage={"sizeInGiB": 30},
    )
    out = ecs.run_task(taskDefinition=family, launchType="FARGATE", networkConfiguration=NET)
    assert not out["failures"], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    task = lambda: ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]  # noqa: E731
    wait_status(berth, arn, "RUNNING")
    c = inspect(container_of(arn, "app", task))
    host = c["HostConfig"]
    assert host["CapAdd"] == ["SYS_PTRACE"] and host["Init"] is True and host["ReadonlyRootfs"] is True, host
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 4096, "Hard": 4096}], host
    assert c["Config"]["Labels"]["team"] == "berth"
    # pidMode task: the PID namespace of the task's pause container.
    pause = docker("ps", "-aq", "--no-trunc", "--filter", "label=berth.pause",
                   "--filter", f"label=com.amazonaws.ecs.task-arn={arn}").split()
    assert len(pause) == 1, pause
    assert host["PidMode"] == f"container:{pause[0]}", host["PidMode"]
    side = inspect(container_of(arn, "side", task))
    assert side["HostConfig"]["VolumesFrom"] == [c["Name"].lstrip("/")], side["HostConfig"]
    assert len(task_volumes(arn)) == 1, task_volumes(arn)
    ecs.stop_task(cluster="default", task=arn, reason="done")
    wait_status(berth, arn, "STOPPED")
    assert wait_gone(arn) == set()


def test_what_berth_does_not_run_fails_with_the_member_named(leftovers, berth, registry, agent_factory):
    cluster, agent = start(berth, agent_factory)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    auth = {"credentialsParameter": app.secret_arn}
    base = {"name": "app", "image": registry.image, "repositoryCredentials": auth, "memory": 32,
            "command": ["true"]}
    # environmentFiles: the instance lacks the capability, so the task is not placed (as on AWS).
    ecs.register_task_definition(family=app.family + "-env", executionRoleArn=app.role_arn, containerDefinitions=[
        {**base, "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}]}])
    out = ecs.run_task(cluster=cluster, taskDefinition=app.family + "-env", launchType="EC2")
    assert [f["reason"] for f in out["failures"]] == ["ATTRIBUTE"], out
    # A GPU: no instance of berth's has one.
    ecs.register_task_definition(family=app.family + "-gpu", executionRoleArn=app.role_arn, containerDefinitions=[
        {**base, "resourceRequirements": [{"type": "GPU", "value": "1"}]}])
    out = ecs.run_task(cluster=cluster, taskDefinition=app.family + "-gpu", launchType="EC2")
    assert [f["reason"] for f in out["failures"]] == ["RESOURCE:GPU"], out
    # An EFS volume on Fargate: stopped, the volume named.
    fg = FargateApp(berth, registry, fargate_creds(REGISTRY_USER))
    ecs.register_task_definition(
        family=fg.family + "-efs", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", executionRoleArn=fg.role_arn,
        volumes=[{"name": "files", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}}],
        containerDefinitions=[{"name": "app", "image": registry.image, "command": ["true"],
                               "repositoryCredentials": {"credentialsParameter": fg.secret_arn},
                               "mountPoints": [{"sourceVolume": "files", "containerPath": "/files"}]}])
    out = ecs.run_task(taskDefinition=fg.family + "-efs", launchType="FARGATE", networkConfiguration=NET)
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    t = wait_status(berth, arn, "STOPPED")
    assert "does not provide EFS volumes: volume 'files' has efsVolumeConfiguration" in t["stoppedReason"], t


def test_an_efs_volume_mapped_to_a_directory(leftovers, berth, registry, agent_factory, tmp_path):
    """An agent started with BERTH_EFS_<FILE SYSTEM ID>=<dir> advertises `ecs.capability.efs`
    and mounts the directory (with the volume's rootDirectory under it) where the definition
    mounts the file system."""
    import uuid as _uuid

    efs = tmp_path / "efs"
    (efs / "app").mkdir(parents=True)
    (efs / "app" / "note.txt").write_text("on efs\n")
    cluster = f"c{_uuid.uuid4().hex[:8]}"
    berth.client("ecs").create_cluster(clusterName=cluster)
    from test_agent import wait_for_instance
    agent = agent_factory(berth, cluster, env_extra={"BERTH_EFS_FS_12345678": str(efs)})
    wait_for_instance(berth, cluster, agent)
    ecs = berth.client("ecs")
    app = PrivateApp(berth, registry, fargate_creds(REGISTRY_USER))
    ecs.register_task_definition(
        family=app.family + "-efs", executionRoleArn=app.role_arn,
        volumes=[{"name": "files", "efsVolumeConfiguration": {
            "fileSystemId": "fs-12345678", "rootDirectory": "/app", "transitEncryption": "ENABLED"}}],
        containerDefinitions=[{
            "name": "app", "image": registry.image, "memory": 32, "essential": True,
            "repositoryCredentials": {"credentialsParameter": app.secret_arn},
            "mountPoints": [{"sourceVolume": "files", "containerPath": "/files", "readOnly": True}],
            "command": ["sh", "-c", "cat /files/note.txt || exit 3; if echo x 2>/dev/null > /files/new; then exit 4; fi"]}])
    td = ecs.describe_task_definition(taskDefinition=app.family + "-efs")["taskDefinition"]
    assert {"name": "ecs.capability.efs"} in td["requiresAttributes"], td["requiresAttributes"]
    out = ecs.run_task(cluster=cluster, taskDefinition=app.family + "-efs", launchType="EC2")
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    leftovers.append(arn)
    t = wait_stopped(berth, cluster, arn, agent)
    assert t["containers"][0].get("exitCode") == 0, t
    assert not (efs / "app" / "new").exists()
