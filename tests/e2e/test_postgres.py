"""berth on PostgreSQL (docs/postgres.md): `berth migrate --to` from a SQLite data directory,
servers on one database as replicas.

Needs a PostgreSQL server: BERTH_TEST_DATABASE_URL (scripts/test exports one), or else this file
starts a throwaway cluster of its own with scripts/lib/ensure-postgres (PostgreSQL's binaries
must be installed). Each test gets fresh databases of its own.
"""

import base64
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import REPO, Berth, psql_bin, real_berth_bin

ENSURE = REPO / "scripts" / "lib" / "ensure-postgres"


@pytest.fixture(scope="module")
def pg_admin():
    url = os.environ.get("BERTH_TEST_DATABASE_URL")
    if url:
        yield url
        return
    cluster = tempfile.mkdtemp(prefix="berth-e2e-pg.")
    os.rmdir(cluster)
    p = subprocess.run([str(ENSURE), "start", cluster], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    try:
        yield p.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ENSURE), "stop", cluster], capture_output=True, timeout=120)


def psql(url, sql):
    p = subprocess.run([psql_bin(), url, "-tAc", sql], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def url_of(admin, name):
    base, _, query = admin.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def fresh_db(pg_admin):
    """A function making empty databases; all dropped after the test."""
    made = []

    def make():
        name = f"berth_pgtest_{os.getpid()}_{secrets.token_hex(4)}"
        psql(pg_admin, f"CREATE DATABASE {name}")
        made.append(name)
        return url_of(pg_admin, name)

    yield make
    for name in made:
        psql(pg_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def servers():
    started = []

    def start(data_dir, **kw):
        b = Berth(data_dir, **kw)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def register(ecs, family, image="busybox"):
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "app", "image": image, "memory": 64, "essential": True}],
    )["taskDefinition"]


def test_migrate_copies_a_sqlite_data_dir_into_postgres(tmp_path, fresh_db, servers):
    data = tmp_path / "data"
    # On SQLite (an empty BERTH_DATABASE_URL), whatever the run's mode.
    sqlite = servers(data, env_extra={"BERTH_DATABASE_URL": ""})
    sm = sqlite.client("secretsmanager")
    values = {f"app/secret-{i}": f"value {i} {secrets.token_hex(8)}" for i in range(5)}
    for name, value in values.items():
        sm.create_secret(Name=name, SecretString=value)
    sm.create_secret(Name="app/binary", SecretBinary=b"\x00\x01\xfe\xff")
    sm.put_secret_value(SecretId="app/secret-0", SecretString="second version")
    ecs = sqlite.client("ecs")
    for image in ("busybox:1", "busybox:2"):
        register(ecs, "web", image)
    register(ecs, "worker")
    ssm = sqlite.client("ssm")
    ssm.put_parameter(Name="/app/db-password", Value="hunter2", Type="SecureString")
    sqlite.stop()
    assert (data / "berth.db").is_file()

    url = fresh_db()
    p = subprocess.run([real_berth_bin(), "migrate", "--data-dir", str(data), "--to", url],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "copied " in p.stdout and " records of " in p.stdout, p.stdout
    rows = int(psql(url, "SELECT count(*) FROM kv"))
    assert rows > 10
    # Sealed in the database as in the file: no secret value in the clear.
    for value in values.values():
        assert psql(url, f"SELECT count(*) FROM kv WHERE position('{value}'::bytea in v) > 0") == "0"

    # The same data directory (its root.key), state in PostgreSQL.
    pg = servers(data, env_extra={"BERTH_DATABASE_URL": url})
    sm = pg.client("secretsmanager")
    for name, value in values.items():
        want = "second version" if name == "app/secret-0" else value
        assert sm.get_secret_value(SecretId=name)["SecretString"] == want
    assert sm.get_secret_value(SecretId="app/secret-0", VersionStage="AWSPREVIOUS")["SecretString"] == values["app/secret-0"]
    assert sm.get_secret_value(SecretId="app/binary")["SecretBinary"] == b"\x00\x01\xfe\xff"
    names = sorted(s["Name"] for s in sm.list_secrets()["SecretList"])
    assert names == sorted([*values, "app/binary"])
    ecs = pg.client("ecs")
    assert ecs.describe_task_definition(taskDefinition="web:2")["taskDefinition"]["containerDefinitions"][0]["image"] == "busybox:2"
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"][-1].endswith("web:2")
    # The next revision continues from the copied ones.
    assert register(ecs, "web")["revision"] == 3
    ssm = pg.client("ssm")
    got = ssm.get_parameter(Name="/app/db-password", WithDecryption=True)["Parameter"]["Value"]
    assert got == "hunter2"
    # New writes land in PostgreSQL.
    sm.create_secret(Name="after/migration", SecretString="x")
    assert int(psql(url, "SELECT count(*) FROM kv")) > rows
    pg.stop()

    # A database that holds data is never a copy's target.
    p = subprocess.run([real_berth_bin(), "migrate", "--data-dir", str(data), "--to", url],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "the target database is not empty" in p.stderr, p.stderr
    # Another root key does not open the migrated data: refused before anything listens.
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    p = subprocess.run(
        [real_berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "other")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "BERTH_DATABASE_URL": url, "BERTH_ROOT_KEY": other},
    )
    assert p.returncode != 0
    assert "the root key in BERTH_ROOT_KEY does not open the data in the PostgreSQL database" in p.stderr, p.stderr
    password_free = url.split("?")[0]
    assert password_free in p.stderr, p.stderr


def replicas(tmp_path, fresh_db, servers, n=2):
    """`n` servers on one new database, each with a data directory of its own and one root key."""
    url = fresh_db()
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    env = {"BERTH_DATABASE_URL": url, "BERTH_ROOT_KEY": key}
    return url, [servers(tmp_path / f"replica-{i}", env_extra=env) for i in range(n)]


def test_replicas_share_one_database(tmp_path, fresh_db, servers):
    _, (a, b) = replicas(tmp_path, fresh_db, servers)
    register(a.client("ecs"), "shared")
    td = b.client("ecs").describe_task_definition(taskDefinition="shared")["taskDefinition"]
    assert td["revision"] == 1
    a.client("secretsmanager").create_secret(Name="one", SecretString="through a")
    assert b.client("secretsmanager").get_secret_value(SecretId="one")["SecretString"] == "through a"
    # One account, one set of IAM users: a user made through b signs calls to a.
    iam = b.client("iam")
    iam.create_user(UserName="dev")
    assert [u["UserName"] for u in a.client("iam").list_users()["Users"]] == ["dev"]


def test_concurrent_registrations_through_two_replicas_get_gap_free_revisions(tmp_path, fresh_db, servers):
    _, (a, b) = replicas(tmp_path, fresh_db, servers)
    revisions = []
    errors = []
    lock = threading.Lock()

    def run(server, count):
        ecs = server.client("ecs")
        for _ in range(count):
            try:
                r = register(ecs, "race")["revision"]
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                revisions.append(r)

    threads = [threading.Thread(target=run, args=(s, 8)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(revisions) == list(range(1, 33))
    arns = b.client("ecs").list_task_definitions(familyPrefix="race", maxResults=100)["taskDefinitionArns"]
    assert len(arns) == 32


def test_a_write_through_one_replica_wakes_a_long_poll_on_the_other(tmp_path, fresh_db, servers):
    """An agent's long poll waits on replica b; RunTask through replica a (another process) wakes
    it through LISTEN/NOTIFY, well before the poll's deadline."""
    from test_ecs import CAP, ECS_TRUST, os as _os, poll, register_instance, register_seed, tcp_sockets  # noqa: PLC0415
    from test_ecs import wait_until_server_holds_a_poll  # noqa: PLC0415

    _, (a, b) = replicas(tmp_path, fresh_db, servers)
    a.client("iam").create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
    ecs_a = a.client("ecs")
    register_seed(ecs_a)
    inst = register_instance(b.client("ecs"), attributes=[CAP])
    first = poll(b, inst["containerInstanceArn"])
    assert first["tasksToStart"] == []
    result = {}

    def waiter():
        started = time.time()
        result["poll"] = poll(b, inst["containerInstanceArn"], seq=first["seq"], wait=15)
        result["elapsed"] = time.time() - started

    before = {c[0] for c in tcp_sockets(_os.getpid())[0] if c[1] == b.port}
    t = threading.Thread(target=waiter)
    t.start()
    wait_until_server_holds_a_poll(b, _os.getpid(), before)
    task = ecs_a.run_task(taskDefinition="private-app")["tasks"][0]
    t.join(timeout=20)
    assert not t.is_alive()
    # Woken by the other process's commit, not by the poll's 15 s deadline.
    assert result["elapsed"] < 10, result
    assert [p["taskArn"] for p in result["poll"]["tasksToStart"]] == [task["taskArn"]]
