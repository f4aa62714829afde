"""Several berth servers on one PostgreSQL database behind HAProxy (docs/postgres.md,
docs/deploy.md): requests through either replica see one state, an agent's long poll through
HAProxy is woken by the other replica, acknowledged writes survive a replica's SIGKILL under
load, and a killed replica's services and Fargate tasks are taken over within a lease.

Needs PostgreSQL (BERTH_TEST_DATABASE_URL, or a throwaway cluster started here as in
test_postgres.py), haproxy, and Docker with the local registry (scripts/install-test-deps).
"""

import base64
import re
import secrets
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REPO, Berth
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from haproxy import DOC_VALUES, HAProxy, render
from test_postgres import fresh_db, pg_admin  # noqa: F401

# A lease (and a service claim) lasts five scheduler periods, at least 5 s: with 200 ms periods,
# 5 s.
SCHEDULER = {"BERTH_SERVICE_SCHEDULER_MS": "200"}
LEASE_SECS = 5
LONG = ("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")
NET = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"]}}


@pytest.fixture
def cluster(tmp_path, fresh_db):  # noqa: F811
    """Starts replicas on one new database (each with a data directory of its own, one root
    key) and haproxy in front of two of them; stops whatever it started."""
    url = fresh_db()
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    started = []

    def replica(name):
        env = {"BERTH_DATABASE_URL": url, "BERTH_ROOT_KEY": key, "BERTH_REPLICA_ID": name, **SCHEDULER}
        b = Berth(tmp_path / name, env_extra=env)
        started.append(b)
        return b

    def proxy(a, b):
        h = HAProxy(tmp_path, a, b)
        started.append(h)
        return h

    yield SimpleNamespace(replica=replica, proxy=proxy)
    for s in reversed(started):
        s.stop()


def through(h, like):
    """A client-side view of haproxy, as test helpers use a Berth: endpoint, root, client()."""
    return SimpleNamespace(
        endpoint=h.endpoint, root=like.root, port=h.port,
        client=lambda service: Berth.client(SimpleNamespace(endpoint=h.endpoint, root=like.root), service),
        log=lambda: h.log(),
    )


def kill(b):
    b.proc.kill()
    b.proc.wait(timeout=30)


def until(what, check, timeout, log=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {timeout}s\n{log()}")


def test_the_deploy_doc_shows_the_tested_haproxy_config():
    doc = (REPO / "docs" / "deploy.md").read_text()
    assert render(**DOC_VALUES) in doc


def test_an_agent_through_haproxy_runs_a_task_started_through_a_replica(cluster, registry):  # noqa: F811
    from test_agent import AgentProcess, PrivateApp, assert_succeeded, creds, wait_for_instance, wait_stopped  # noqa: PLC0415

    a, b = cluster.replica("a"), cluster.replica("b")
    h = cluster.proxy(a, b)
    # Written through one replica, read through the other on the next request.
    a.client("secretsmanager").create_secret(Name="shared", SecretString="through a")
    assert b.client("secretsmanager").get_secret_value(SecretId="shared")["SecretString"] == "through a"
    b.client("ssm").put_parameter(Name="/shared", Value="through b", Type="SecureString")
    assert a.client("ssm").get_parameter(Name="/shared", WithDecryption=True)["Parameter"]["Value"] == "through b"

    proxy = through(h, a)
    proxy.client("ecs").create_cluster(clusterName="edge")
    agent = AgentProcess(proxy, "edge", h.log_path.parent / "agent.log")
    try:
        wait_for_instance(b, "edge", agent)
        app = PrivateApp(a, registry, creds(REGISTRY_USER))
        t = wait_stopped(a, "edge", app.run(b, "edge"), agent, timeout=60)
        assert_succeeded(t)
    finally:
        agent.stop()


def test_acknowledged_writes_survive_a_replica_killed_under_load(cluster):
    a, b = cluster.replica("a"), cluster.replica("b")
    h = cluster.proxy(a, b)
    proxy = through(h, a)
    threads_n = 4
    # One client per thread, made before the threads start; no retries: every failure is seen.
    clients = [
        (proxy.client("secretsmanager"), proxy.client("ssm")) for _ in range(threads_n)
    ]
    acked_secrets, acked_params, failures = [], [], []
    acked_after_kill = []
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()

    def load(i):
        sm, ssm = clients[i]
        n = 0
        while not stop.is_set():
            n += 1
            name = f"load-{i}-{n}"
            try:
                if n % 2:
                    sm.create_secret(Name=name, SecretString=f"value {name}")
                    kind = acked_secrets
                else:
                    ssm.put_parameter(Name=f"/{name}", Value=f"value {name}", Type="String")
                    kind = acked_params
            except Exception as e:  # noqa: BLE001 - counted and asserted below
                with lock:
                    failures.append((name, repr(e)))
                continue
            with lock:
                kind.append(name)
                if killed.is_set():
                    acked_after_kill.append(name)

    workers = [threading.Thread(target=load, args=(i,)) for i in range(threads_n)]
    for w in workers:
        w.start()
    try:
        until("40 writes acknowledged", lambda: len(acked_secrets) + len(acked_params) >= 40, 30)
        kill(a)
        killed.set()
        # The load goes on through the survivor.
        until("40 writes acknowledged after the kill", lambda: len(acked_after_kill) >= 40, 30, h.log)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    # At most the requests in flight on the killed replica failed (one per thread).
    assert len(failures) <= threads_n, failures
    sm, ssm = b.client("secretsmanager"), b.client("ssm")
    for name in acked_secrets:
        assert sm.get_secret_value(SecretId=name)["SecretString"] == f"value {name}"
    for i in range(0, len(acked_params), 10):
        names = [f"/{n}" for n in acked_params[i:i + 10]]
        got = ssm.get_parameters(Names=names)
        assert got["InvalidParameters"] == []
        assert {p["Name"]: p["Value"] for p in got["Parameters"]} == {n: f"value {n[1:]}" for n in names}


def task_label_containers(arn):
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


def app_containers(arn):
    """A task's containers but its pause container."""
    pauses = set(subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=berth.pause", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}"],
        capture_output=True, text=True, timeout=60, check=True).stdout.split())
    return [c for c in task_label_containers(arn) if c not in pauses]


def remove_tasks(arns):
    """The containers and networks of the test's tasks: a killed replica leaves its own running,
    and a stopped server leaves its running ones to its next start."""
    for arn in arns:
        ids = task_label_containers(arn)
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=120)
        subprocess.run(["docker", "network", "rm", f"berth-task-{arn.rsplit('/', 1)[-1]}"],
                       capture_output=True, timeout=60)


def starts_logged(arn, *servers):
    return sum(
        1 for s in servers for line in s.log().splitlines() if "starting fargate task" in line and arn in line
    )


def test_a_killed_replicas_service_and_fargate_task_are_taken_over(cluster, registry):  # noqa: F811
    from test_fargate import FargateApp, creds  # noqa: PLC0415

    a = cluster.replica("a")
    arns = set()
    b = None
    try:
        ecs_a = a.client("ecs")
        app = FargateApp(a, registry, creds(REGISTRY_USER), command=LONG)
        # Alone on the database, replica a claims the service and leases its task.
        ecs_a.create_service(serviceName="api", taskDefinition=app.family, desiredCount=1, launchType="FARGATE",
                             networkConfiguration=NET)

        def running(ecs):
            got = ecs.list_tasks(serviceName="api", desiredStatus="RUNNING")["taskArns"]
            arns.update(got)
            if not got:
                return None
            t = ecs.describe_tasks(tasks=got)["tasks"]
            return [x for x in t if x["lastStatus"] == "RUNNING"]

        first = until("the service's task RUNNING", lambda: running(ecs_a), 90, a.log)[0]
        assert starts_logged(first["taskArn"], a) == 1

        b = cluster.replica("b")
        ecs_b = b.client("ecs")
        # With both replicas up, a task started through b runs once, on one replica.
        solo = app.run(b)["taskArn"]
        arns.add(solo)
        until("the standalone task RUNNING",
              lambda: ecs_b.describe_tasks(tasks=[solo])["tasks"][0]["lastStatus"] == "RUNNING", 90, b.log)
        assert len(app_containers(solo)) == 1
        assert starts_logged(solo, a, b) == 1
        assert starts_logged(first["taskArn"], b) == 0

        kill(a)
        killed_at = time.time()

        # Within the lease (and a scheduler period or two): the lost task is stopped as on a
        # lost host, and the service's scheduler on b starts a replacement there.
        def lost():
            t = ecs_b.describe_tasks(tasks=[first["taskArn"]])["tasks"][0]
            return t if t["lastStatus"] == "STOPPED" else None

        t = until("the killed replica's task stopped", lost, LEASE_SECS + 20, b.log)
        assert time.time() - killed_at < LEASE_SECS + 10
        assert t["stopCode"] == "InfrastructureHealth", t
        assert re.fullmatch(r"Task stopped because its Fargate host was lost \(berth replica a stopped renewing "
                            r"its lease\)", t["stoppedReason"]), t
        assert t["desiredStatus"] == "STOPPED" and all(c["lastStatus"] == "STOPPED" for c in t["containers"])

        def replaced():
            r = [x for x in (running(ecs_b) or []) if x["taskArn"] != first["taskArn"]]
            return r or None

        second = until("a replacement RUNNING", replaced, 90, b.log)[0]
        assert starts_logged(second["taskArn"], b) == 1
        s = ecs_b.describe_services(services=["api"])["services"][0]
        assert s["desiredCount"] == 1
        until("the service at its desired count",
              lambda: ecs_b.describe_services(services=["api"])["services"][0]["runningCount"] == 1, 30, b.log)
        events = [e["message"] for e in ecs_b.describe_services(services=["api"])["services"][0]["events"]]
        assert any(second["taskArn"].rsplit("/", 1)[-1] in m for m in events), events
    finally:
        if b is not None and b.proc.poll() is None:
            # The service goes first: otherwise b's scheduler replaces the tasks removed below
            # before b stops, and those replacements outlive the test.
            ecs_b = b.client("ecs")
            try:
                ecs_b.delete_service(service="api", force=True)
            except ClientError:
                pass
            deadline = time.time() + 60
            while time.time() < deadline:
                live = ecs_b.list_tasks(desiredStatus="RUNNING")["taskArns"]
                arns.update(live)
                if not live:
                    break
                time.sleep(0.5)
            arns.update(ecs_b.list_tasks(desiredStatus="STOPPED")["taskArns"])
        remove_tasks(arns)
