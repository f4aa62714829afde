"""The published task definitions berth accepts (`taskdefs/`), run as written: on an EC2 agent,
and on berth's Fargate capacity where their compatibilities say so. Only what cannot come from
here changes: each image moves to the test's local registry under its own repository name and tag
(a static busybox with the few files the definition's commands use; nothing is pulled from the
internet), another account's role ARNs move to the local account under the same role name, and
the ping example pings 127.0.0.1. Each run is checked against `docker inspect`: what the
definition asks for is what Docker ran."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import REGION
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import TRUST, agent_factory, wait_for_instance, wait_stopped  # noqa: F401

CORPUS = Path(__file__).resolve().parent / "taskdefs"
ACCOUNT = "000000000000"
MIB = 1024 * 1024
NET = {"awsvpcConfiguration": {"subnets": ["subnet-12345678"]}}

# (file, launch type): every corpus definition berth accepts, on each launch type it is
# compatible with that berth runs (EC2 covers EXTERNAL: the same agent).
RUNS = [
    ("consul_server.json", "EC2"),
    ("ecr_image_task_role.json", "EC2"),
    ("entrypoint_ping.json", "EC2"),
    ("nginx_ec2.json", "EC2"),
    ("webserver_fargate.json", "EC2"),
    ("webserver_fargate.json", "FARGATE"),
]

APPLETS = ["sh", "echo", "sleep", "httpd", "ping", "wget", "cat", "env", "sort", "true"]
UNTIL_TERM = 'trap "exit 0" TERM\n{} &\nwait\n'
FILES = {
    # consul's entry point: says what it was given, then stays up.
    # (Each long-running command ends on SIGTERM, as the real images' servers do: a process
    # that is PID 1 ignores it otherwise, and StopTask would wait for the stop timeout.)
    "usr/local/bin/docker-entrypoint.sh": '#!/bin/sh\necho "consul $*"\n' + UNTIL_TERM.format("sleep 600"),
    # httpd:2.4's foreground command, serving Apache's document root.
    "usr/local/bin/httpd-foreground": "#!/bin/sh\n" + UNTIL_TERM.format("httpd -f -p 80 -h /usr/local/apache2/htdocs"),
    # The image's own command (nginx's, the Node sample's): a web server.
    "usr/local/bin/serve": "#!/bin/sh\n" + UNTIL_TERM.format("httpd -f -p 80 -h /"),
    "usr/local/apache2/htdocs/.keep": "",
    # The page the image's own command (httpd in /) serves.
    "index.html": "berth corpus image\n",
}


def repository(image):
    """`nginx:latest` → `nginx:latest`; `1234….dkr.ecr.…/app:v1` → `app:v1`; `consul` → `consul:latest`."""
    name = image.rsplit("/", 1)[-1]
    return name if ":" in name else f"{name}:latest"


@pytest.fixture(scope="module")
def corpus_images(registry):
    """Every corpus image, pushed to the local registry: repository name → pushed reference."""
    work = Path(tempfile.mkdtemp(prefix="berth-corpus-"))
    rootfs = work / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "tmp").mkdir()
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", rootfs / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", rootfs / "bin" / applet)
    for path, text in FILES.items():
        (rootfs / path).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / path).write_text(text)
        if text.startswith("#!"):
            (rootfs / path).chmod(0o755)
    wanted = {repository(c["image"]) for f, _ in RUNS
              for c in json.loads((CORPUS / f).read_text())["containerDefinitions"]}
    base = f"{registry.host}/corpus-base:{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, DOCKER_CONFIG=str(work / "docker-config"))
    pushed = {}
    try:
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", "ENV PATH=/usr/local/bin:/bin",
                        "--change", 'CMD ["serve"]', "-", base],
                       stdin=tar.stdout, capture_output=True, timeout=120, check=True)
        tar.wait()
        subprocess.run(["docker", "login", registry.host, "-u", REGISTRY_USER[0], "--password-stdin"],
                       input=REGISTRY_USER[1], text=True, env=env, capture_output=True, timeout=60, check=True)
        for repo in sorted(wanted):
            ref = f"{registry.host}/{repo}"
            subprocess.run(["docker", "tag", base, ref], capture_output=True, timeout=60, check=True)
            subprocess.run(["docker", "push", ref], env=env, capture_output=True, timeout=120, check=True)
            subprocess.run(["docker", "rmi", ref], capture_output=True, timeout=60)
            pushed[repo] = ref
        yield pushed
    finally:
        subprocess.run(["docker", "rmi", "-f", base, *pushed.values()], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def local_arn(arn):
    """Another account's role ARN → the same role in the local account, created for the run."""
    return arn.replace(arn.split(":")[4], ACCOUNT, 1)


def ensure_role(berth, arn, statements=()):
    iam = berth.client("iam")
    name = arn.rsplit("/", 1)[1]
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="corpus", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))


def engine_auth(registry):
    """The agent's ECS_ENGINE_AUTH_* for the local registry: EC2 runs pull without adding
    `repositoryCredentials` to the definitions."""
    encoded = base64.b64encode(f"{REGISTRY_USER[0]}:{REGISTRY_USER[1]}".encode()).decode()
    return {"ECS_ENGINE_AUTH_TYPE": "dockercfg",
            "ECS_ENGINE_AUTH_DATA": json.dumps({registry.host: {"auth": encoded, "email": "x"}})}


def prepare(berth, definition, images, launch):
    """The definition with its images and foreign accounts moved here, its log groups made;
    on Fargate the registry's credentials as `repositoryCredentials` (Fargate has no agent
    environment), read by the execution role the definition names."""
    statements = []
    for c in definition["containerDefinitions"]:
        c["image"] = images[repository(c["image"])]
        log = c.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            opts = log["options"]
            region = opts.get("awslogs-region", REGION)
            logs = berth.client("logs", region=region)
            try:
                logs.create_log_group(logGroupName=opts["awslogs-group"])
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            statements.append({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                               "Resource": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{opts['awslogs-group']}:*"})
    if launch == "FARGATE":
        secret = berth.client("secretsmanager").create_secret(
            Name=f"registry-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
        statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret})
        for c in definition["containerDefinitions"]:
            c["repositoryCredentials"] = {"credentialsParameter": secret}
    for key in ("executionRoleArn", "taskRoleArn"):
        if key in definition:
            definition[key] = local_arn(definition[key])
            ensure_role(berth, definition[key], statements if key == "executionRoleArn" else ())
    return definition


def task_container_ids(arn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}",
                              "--filter", "status=running"],
                             capture_output=True, text=True, timeout=60).stdout.split()
        seen = [json.loads(subprocess.run(["docker", "inspect", i], capture_output=True, text=True,
                                          timeout=60).stdout or "[{}]")[0] for i in out]
        apps = [s for s in seen if s and "berth.pause" not in (s["Config"]["Labels"] or {})]
        if apps:
            return apps
        time.sleep(0.1)
    raise AssertionError(f"no running container of {arn}")


def wait_task(berth, cluster, arn, status, timeout=60):
    ecs = berth.client("ecs")
    deadline = time.time() + timeout
    t = {}
    while time.time() < deadline:
        t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if t["lastStatus"] == status:
            return t
        assert t["lastStatus"] != "STOPPED", t
        time.sleep(0.2)
    raise AssertionError(f"not {status}: {t}\n{berth.log()}")


def assert_as_written(definition, c, seen, launch):
    """What the container definition asks for is what Docker ran."""
    config, host = seen["Config"], seen["HostConfig"]
    assert config["Image"] == c["image"], config["Image"]
    if "entryPoint" in c:
        assert config["Entrypoint"] == c["entryPoint"], config
    if "command" in c:
        assert config["Cmd"] == c["command"], config
    env = set(config["Env"] or [])
    for e in c.get("environment", []):
        assert f"{e['name']}={e['value']}" in env, (e, env)
    for k, v in c.get("dockerLabels", {}).items():
        assert config["Labels"].get(k) == v, config["Labels"]
    if "memory" in c:
        assert host["Memory"] == c["memory"] * MIB, host["Memory"]
    if "memoryReservation" in c:
        assert host["MemoryReservation"] == c["memoryReservation"] * MIB, host["MemoryReservation"]
    if "cpu" in c:
        assert host["CpuShares"] == max(c["cpu"], 2), host["CpuShares"]
    assert host["ReadonlyRootfs"] is bool(c.get("readonlyRootFilesystem")), host
    mode = definition.get("networkMode", "bridge")
    if mode == "host":
        assert host["NetworkMode"] == "host", host["NetworkMode"]
    elif launch == "FARGATE":
        # The task's own namespace: its pause container's.
        assert host["NetworkMode"].startswith("container:"), host["NetworkMode"]
    for m in c.get("portMappings", []):
        key = f"{m['containerPort']}/{m.get('protocol', 'tcp')}"
        if launch == "FARGATE":
            # Reachable at the task's address (its namespace), not published: checked below.
            continue
        assert key in (config.get("ExposedPorts") or {}), config.get("ExposedPorts")
        if mode in ("bridge", "awsvpc"):
            # (awsvpc on an instance: emulated on the default bridge, on ports Docker picks)
            assert key in (host["PortBindings"] or {}), host["PortBindings"]
    log = c.get("logConfiguration")
    if log and log["logDriver"] == "awslogs":
        # berth's awslogs: Docker keeps the output in json-file, the shipper sends it.
        assert host["LogConfig"]["Type"] == "json-file", host["LogConfig"]
    elif log:
        assert host["LogConfig"]["Type"] == log["logDriver"], host["LogConfig"]
    if "taskRoleArn" in definition:
        assert any(e.startswith(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/",
                                 "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2"))
                   for e in env), env


def stream_messages(berth, c, task_id):
    opts = c["logConfiguration"]["options"]
    logs = berth.client("logs", region=opts.get("awslogs-region", REGION))
    stream = f"{opts['awslogs-stream-prefix']}/{c['name']}/{task_id}"
    try:
        out = logs.get_log_events(logGroupName=opts["awslogs-group"], logStreamName=stream, startFromHead=True)
    except logs.exceptions.ResourceNotFoundException:
        return None
    return [e["message"] for e in out["events"]]


def wait_messages(berth, c, task_id, want, timeout=30):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = stream_messages(berth, c, task_id)
        if got is not None and want(got):
            return got
        time.sleep(0.2)
    raise AssertionError(f"{c['name']}'s stream: {got}")


def storage_limited():
    """Whether this daemon can limit a container's writable layer (overlay2 over xfs)."""
    info = json.loads(subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True,
                                     text=True, timeout=60, check=True).stdout)
    backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem")
    return info.get("Driver") == "overlay2" and backing == "xfs"


def http_get(url, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("name, launch", RUNS, ids=[f"{f[:-5]}-{lt.lower()}" for f, lt in RUNS])
def test_published_definition_runs_as_written(berth, registry, agent_factory, corpus_images, name, launch):
    definition = prepare(berth, json.loads((CORPUS / name).read_text()), corpus_images, launch)
    ecs = berth.client("ecs")
    ecs.register_task_definition(**definition)
    c = definition["containerDefinitions"][0]
    kw = {}
    if launch == "EC2":
        cluster = f"c{uuid.uuid4().hex[:8]}"
        ecs.create_cluster(clusterName=cluster)
        agent = agent_factory(berth, cluster, env_extra=engine_auth(registry))
        wait_for_instance(berth, cluster, agent)
    else:
        cluster, agent = "default", None
    if definition.get("networkMode") == "awsvpc":
        kw["networkConfiguration"] = NET
    if name == "entrypoint_ping.json":
        # The example pings an internet host; this one pings the container itself.
        kw["overrides"] = {"containerOverrides": [{"name": c["name"], "command": ["-c", "3", "127.0.0.1"]}]}
        c = dict(c, command=["-c", "3", "127.0.0.1"])
    out = ecs.run_task(cluster=cluster, taskDefinition=definition["family"], launchType=launch, **kw)
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    try:
        check_run(berth, ecs, definition, c, cluster, agent, arn, name, launch)
    finally:
        remove_task(arn)


def remove_task(arn):
    """Whatever a failed run left: the task's containers and its Fargate network."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)
    subprocess.run(["docker", "network", "rm", f"berth-task-{arn.rsplit('/', 1)[1]}"], capture_output=True,
                   timeout=60)


def check_run(berth, ecs, definition, c, cluster, agent, arn, name, launch):
    task_id = arn.rsplit("/", 1)[1]
    [seen] = task_container_ids(arn)
    assert_as_written(definition, c, seen, launch)
    if name == "entrypoint_ping.json":
        t = wait_stopped(berth, cluster, arn, agent) if agent else wait_task(berth, cluster, arn, "STOPPED")
        assert t["containers"][0]["exitCode"] == 0, t
        return
    t = wait_task(berth, cluster, arn, "RUNNING")
    if launch == "FARGATE":
        # Fargate's ephemeral storage: 20 GiB without `ephemeralStorage`, limited where Docker can.
        assert t["ephemeralStorage"] == t["fargateEphemeralStorage"] == {"sizeInGiB": 20}, t
        assert (seen["HostConfig"].get("StorageOpt") or {}).get("size") == ("20G" if storage_limited() else None)
    if name == "consul_server.json":
        # The entry point ran with the command as its arguments, its output in the stream.
        line = "consul " + " ".join(c["command"])
        wait_messages(berth, c, task_id, lambda m: line in m)
    elif name == "nginx_ec2.json":
        # Published on a port Docker chose, reported as the task's network binding.
        binding = next(b for b in t["containers"][0]["networkBindings"] if b["bindIP"] == "0.0.0.0")
        assert binding["containerPort"] == 80 and binding["hostPort"] > 0, binding
        assert http_get(f"http://127.0.0.1:{binding['hostPort']}/") == "berth corpus image\n"
        wait_messages(berth, c, task_id, lambda m: True)
    elif name == "webserver_fargate.json":
        # The shell command as published wrote the page, then started the server.
        page = subprocess.run(["docker", "exec", seen["Id"], "wget", "-qO-", "http://127.0.0.1/"],
                              capture_output=True, text=True, timeout=60)
        assert "Amazon ECS Sample App" in page.stdout, (page.stdout, page.stderr)
        wait_messages(berth, c, task_id, lambda m: True)
    elif name == "ecr_image_task_role.json":
        # The task role's credentials, from inside the container, at the address ECS gives.
        env = dict(e.split("=", 1) for e in seen["Config"]["Env"])
        url = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or \
            f"http://169.254.170.2{env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']}"
        got = subprocess.run(["docker", "exec", seen["Id"], "wget", "-qO-", url],
                             capture_output=True, text=True, timeout=60)
        creds = json.loads(got.stdout or "{}")
        assert creds.get("RoleArn") == definition["taskRoleArn"], (got.stdout, got.stderr)
    ecs.stop_task(cluster=cluster, task=arn)
    t = wait_stopped(berth, cluster, arn, agent) if agent else wait_task(berth, cluster, arn, "STOPPED")
    assert t["stopCode"] == "UserInitiated", t
