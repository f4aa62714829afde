"""`versionConsistency`: a service deployment resolves each container's image tag to the digest
its first task pulled, and its later tasks run `repository@digest`, so a tag pushed again
between two tasks of a service does not change what the service runs. A container with
`versionConsistency: disabled` runs the tag as it is at each start. Standalone tasks report the
digest they pulled (`imageDigest`)."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import agent_factory, wait_for_instance  # noqa: F401


def push(registry, ref, version):
    """`ref`: a static busybox whose /version says `version`, pushed to the local registry.
    Returns the digest the registry gave it."""
    work = Path(tempfile.mkdtemp(prefix="berth-vc-"))
    try:
        (work / "rootfs" / "bin").mkdir(parents=True)
        shutil.copy2(shutil.which("busybox") or "/bin/busybox", work / "rootfs" / "bin" / "busybox")
        for applet in ("sh", "cat", "sleep"):
            os.symlink("busybox", work / "rootfs" / "bin" / applet)
        (work / "rootfs" / "version").write_text(version)
        tar = subprocess.Popen(["tar", "-C", str(work / "rootfs"), "-cf", "-", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", "ENV PATH=/bin", "-", ref], stdin=tar.stdout,
                       capture_output=True, timeout=120, check=True)
        tar.wait()
        env = dict(os.environ, DOCKER_CONFIG=str(work / "docker-config"))
        subprocess.run(["docker", "login", registry.host, "-u", REGISTRY_USER[0], "--password-stdin"],
                       input=REGISTRY_USER[1], text=True, env=env, capture_output=True, timeout=60, check=True)
        out = subprocess.run(["docker", "push", ref], env=env, capture_output=True, text=True, timeout=120,
                             check=True).stdout
        subprocess.run(["docker", "rmi", ref], capture_output=True, timeout=60)
        return next(w for w in out.split() if w.startswith("sha256:"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def engine_auth(registry):
    encoded = base64.b64encode(f"{REGISTRY_USER[0]}:{REGISTRY_USER[1]}".encode()).decode()
    return {"ECS_ENGINE_AUTH_TYPE": "dockercfg",
            "ECS_ENGINE_AUTH_DATA": json.dumps({registry.host: {"auth": encoded, "email": "x"}})}


def running_tasks(ecs, cluster, count, timeout=60):
    deadline = time.time() + timeout
    tasks = []
    while time.time() < deadline:
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        if len(tasks) >= count and all(t["lastStatus"] == "RUNNING" for t in tasks):
            return sorted(tasks, key=lambda t: t["createdAt"])
        time.sleep(0.2)
    raise AssertionError(f"{count} running tasks expected: {tasks}")


def container_of(task, name):
    c = next(c for c in task["containers"] if c["name"] == name)
    seen = json.loads(subprocess.run(["docker", "inspect", c["runtimeId"]], capture_output=True, text=True,
                                     timeout=60, check=True).stdout)[0]
    version = subprocess.run(["docker", "exec", c["runtimeId"], "cat", "/version"], capture_output=True,
                             text=True, timeout=60).stdout
    return c, seen["Config"]["Image"], version


def test_a_service_runs_the_digest_its_deployment_resolved(berth, registry, agent_factory):
    ref = f"{registry.host}/vc-{uuid.uuid4().hex[:8]}:1"
    first = push(registry, ref, "one")
    ecs = berth.client("ecs")
    cluster = f"c{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    agent = agent_factory(berth, cluster, env_extra=engine_auth(registry))
    wait_for_instance(berth, cluster, agent)
    command = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    ecs.register_task_definition(family="vc", containerDefinitions=[
        {"name": "pinned", "image": ref, "memory": 16, "command": command},
        {"name": "floating", "image": ref, "memory": 16, "command": command, "versionConsistency": "disabled"},
    ])
    ecs.create_service(cluster=cluster, serviceName="vc", taskDefinition="vc", desiredCount=1)
    try:
        check_pinning(ecs, cluster, registry, ref, first)
    finally:
        # The agent leaves running containers behind when it stops: the test removes its own.
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.cluster={cluster}"],
                             capture_output=True, text=True, timeout=60).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "-f", ref, f"{ref.rsplit(':', 1)[0]}@{first}"], capture_output=True,
                       timeout=60)


def check_pinning(ecs, cluster, registry, ref, first):
    [one] = running_tasks(ecs, cluster, 1)
    for name in ("pinned", "floating"):
        c, image, version = container_of(one, name)
        assert (c["imageDigest"], image, version) == (first, ref, "one"), (name, c, image)

    # The tag moves on; the deployment's next task still runs what its first one pulled.
    second = push(registry, ref, "two")
    assert second != first
    ecs.update_service(cluster=cluster, service="vc", desiredCount=2)
    tasks = running_tasks(ecs, cluster, 2)
    two = next(t for t in tasks if t["taskArn"] != one["taskArn"])
    c, image, version = container_of(two, "pinned")
    assert (c["imageDigest"], image, version) == (first, f"{ref.rsplit(':', 1)[0]}@{first}", "one"), (c, image)
    # As ECS shows it: the image as the definition names it, the digest it runs.
    assert c["image"] == ref, c
    c, image, version = container_of(two, "floating")
    assert (c["imageDigest"], image, version) == (second, ref, "two"), (c, image)

    # A standalone task is not pinned: it runs the tag and reports the digest it pulled.
    out = ecs.run_task(cluster=cluster, taskDefinition="vc")
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    deadline = time.time() + 60
    while time.time() < deadline:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if t["lastStatus"] == "RUNNING":
            break
        time.sleep(0.2)
    c, image, version = container_of(t, "pinned")
    assert (c["imageDigest"], image, version) == (second, ref, "two"), (c, image)
