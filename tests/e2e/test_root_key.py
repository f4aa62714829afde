"""The root key and the data it seals: a data directory records a check value of its root key,
and every command that opens the directory (`berth server`, `berth up`, `berth account create`,
`berth doctor`) refuses a key that does not fit, naming where the key came from, before it
writes anything or answers anything; a new key is made only for an empty data directory.
The database's files are private to their owner (0600)."""

import base64
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import Berth, berth_bin, free_port, sqlite_only, stop_process

SECRET_NAME = "app/db"
SECRET_VALUE = "s3cr3t-value"


def fresh_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def command_env(root_key=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env["RUST_LOG"] = "info"
    if root_key is not None:
        env["BERTH_ROOT_KEY"] = root_key
    return env


def dump(data):
    """Every record of the database, in order: what "nothing was written" compares."""
    conn = sqlite3.connect(data / "berth.db")
    try:
        return conn.execute("SELECT tbl, k, v FROM kv ORDER BY tbl, k").fetchall()
    finally:
        conn.close()


@pytest.fixture
def seeded(tmp_path):
    """A data directory a server wrote: an account, a secret (sealed under a KMS data key) and a
    KMS key; the server stopped. Returns (data dir, the root key's text)."""
    data = tmp_path / "data"
    b = Berth(data)
    try:
        b.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
        b.client("kms").create_key(Description="k")
    finally:
        b.stop()
    return data, (data / "root.key").read_text()


def doctor_file(tmp_path):
    path = tmp_path / "td.json"
    path.write_text(json.dumps({
        "family": "f",
        "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 64}],
    }))
    return path


def commands(data, tmp_path):
    """Every command that opens the data directory, as (name, argv)."""
    return [
        ("server", [berth_bin(), "server", "--data-dir", str(data)]),
        ("up", [berth_bin(), "up", "--data-dir", str(data)]),
        ("account create", [berth_bin(), "account", "create", "111122223333", "--data-dir", str(data)]),
        ("doctor", [berth_bin(), "doctor", "--data-dir", str(data), "--file", str(doctor_file(tmp_path))]),
    ]


def run_refused(name, argv, env, timeout=15.0):
    """Runs a command that must refuse to start: it exits non-zero, and a server never answers
    `/_berth/health` meanwhile. Returns its standard error."""
    port = free_port()
    if name in ("server", "up"):
        argv = [*argv, "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + timeout
    answered = False
    try:
        while proc.poll() is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_berth/health", timeout=1) as r:
                    answered = answered or r.status == 200
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
    finally:
        running = proc.poll() is None
        stop_process(proc)
    out, err = proc.communicate()
    assert not running, f"`berth {name}` started with a root key that does not fit:\n{err}"
    assert not answered, f"`berth {name}` answered /_berth/health"
    assert proc.returncode != 0, f"`berth {name}` exited 0:\n{out}\n{err}"
    return err


def assert_reads(b):
    sm = b.client("secretsmanager")
    assert sm.get_secret_value(SecretId=SECRET_NAME)["SecretString"] == SECRET_VALUE
    sm.create_secret(Name="another", SecretString="x")
    assert sm.get_secret_value(SecretId="another")["SecretString"] == "x"


def assert_reads_again(b):
    sm = b.client("secretsmanager")
    assert sm.get_secret_value(SecretId=SECRET_NAME)["SecretString"] == SECRET_VALUE
    assert sm.get_secret_value(SecretId="another")["SecretString"] == "x"


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_a_deleted_root_key_is_refused_and_not_replaced(seeded, tmp_path):
    data, _ = seeded
    (data / "root.key").unlink()
    before = dump(data)
    for name, argv in commands(data, tmp_path):
        err = run_refused(name, argv, command_env())
        assert f"{data / 'root.key'} is missing" in err, err
        assert "BERTH_ROOT_KEY" in err, err
        assert not (data / "root.key").exists(), f"`berth {name}` made a new root key"
    assert dump(data) == before


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_another_valid_key_in_root_key_is_refused(seeded, tmp_path):
    data, right = seeded
    other = fresh_key()
    (data / "root.key").write_text(other)
    before = dump(data)
    for name, argv in commands(data, tmp_path):
        err = run_refused(name, argv, command_env())
        assert f"the root key in {data / 'root.key'} does not open the data in {data / 'berth.db'}" in err, err
        assert (data / "root.key").read_text() == other
    assert dump(data) == before


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_another_berth_root_key_is_refused(seeded, tmp_path):
    data, right = seeded
    before = dump(data)
    for name, argv in commands(data, tmp_path):
        err = run_refused(name, argv, command_env(fresh_key()))
        assert f"the root key in BERTH_ROOT_KEY does not open the data in {data / 'berth.db'}" in err, err
        assert (data / "root.key").read_text() == right
    assert dump(data) == before


def test_the_right_key_opens_the_data(seeded):
    data, right = seeded
    b = Berth(data)
    try:
        assert_reads(b)
    finally:
        b.stop()
    # The same key from the environment, root.key gone.
    (data / "root.key").unlink()
    b = Berth(data, env_extra={"BERTH_ROOT_KEY": right})
    try:
        assert_reads_again(b)
    finally:
        b.stop()
    assert not (data / "root.key").exists()


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_an_older_data_dir_gets_its_check_value_from_the_right_key(seeded, tmp_path):
    data, right = seeded
    # As an older berth left it: no check value.
    conn = sqlite3.connect(data / "berth.db")
    with conn:
        removed = conn.execute("DELETE FROM kv WHERE tbl = 'berth_meta'").rowcount
    conn.close()
    assert removed == 1
    # A key that does not open its access keys is refused, and nothing is recorded.
    (data / "root.key").write_text(fresh_key())
    before = dump(data)
    name, argv = commands(data, tmp_path)[0]
    err = run_refused(name, argv, command_env())
    assert "does not open the data" in err, err
    assert dump(data) == before
    # The key that opens them starts, and its check value is recorded.
    (data / "root.key").write_text(right)
    b = Berth(data)
    try:
        assert_reads(b)
    finally:
        b.stop()
    assert [r[:2] for r in dump(data) if r[0] == "berth_meta"] == [("berth_meta", "root_key_check")]


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_an_empty_data_dir_starts_and_makes_its_key(tmp_path):
    data = tmp_path / "data"
    b = Berth(data)
    try:
        key_file = data / "root.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(base64.b64decode(key_file.read_text())) == 32
        sm = b.client("secretsmanager")
        sm.create_secret(Name="s", SecretString="v")
        assert sm.get_secret_value(SecretId="s")["SecretString"] == "v"
        # Written: the database and its WAL and shared-memory index are the owner's only.
        for name in ("berth.db", "berth.db-wal", "berth.db-shm"):
            mode = stat.S_IMODE((data / name).stat().st_mode)
            assert mode == 0o600, f"{name} is {mode:o}"
    finally:
        b.stop()
    rows = dump(data)
    assert ("berth_meta", "root_key_check") in [r[:2] for r in rows]
    # The check value is not the key.
    check = next(r[2] for r in rows if r[0] == "berth_meta")
    assert base64.b64decode(key_file.read_text()) not in check
    assert key_file.read_text().encode() not in check


@sqlite_only  # reads berth.db with sqlite3 (the same refusals on PostgreSQL: test_postgres.py)
def test_existing_database_files_become_private(seeded):
    data, _ = seeded
    for name in ("berth.db", "berth.db-wal", "berth.db-shm"):
        path = data / name
        if path.exists():
            path.chmod(0o644)
    b = Berth(data)
    try:
        assert_reads(b)
        for name in ("berth.db", "berth.db-wal", "berth.db-shm"):
            mode = stat.S_IMODE((data / name).stat().st_mode)
            assert mode == 0o600, f"{name} is {mode:o}"
    finally:
        b.stop()
