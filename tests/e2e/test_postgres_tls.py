"""berth on PostgreSQL over TLS as libpq names it (docs/postgres.md): `sslmode=verify-full` with
`sslrootcert`, and a user that signs in with a client certificate (`sslcert`/`sslkey`); a
server certificate the URL's roots do not trust stops the start with the reason.

Starts a throwaway cluster of its own with scripts/lib/ensure-postgres (it serves TLS with a
certificate for 127.0.0.1 signed by DIR/ca.crt, and signs in the user `berthcert` only with the
client certificate DIR/client.crt)."""

import os
import secrets
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Berth, berth_bin
from test_postgres import ENSURE, psql


@pytest.fixture(scope="module")
def tls_cluster():
    d = Path(tempfile.mkdtemp(prefix="berth-e2e-pgtls."))
    d.rmdir()
    p = subprocess.run([str(ENSURE), "start", str(d)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    try:
        yield d, p.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ENSURE), "stop", str(d)], capture_output=True, timeout=120)


def database_for_berthcert(admin):
    name = f"berth_tls_{os.getpid()}_{secrets.token_hex(4)}"
    psql(admin, f"CREATE DATABASE {name} OWNER berthcert")
    port = admin.split("127.0.0.1:", 1)[1].split("/", 1)[0]
    return name, port


def test_berth_serves_on_a_database_reached_by_verify_full_and_a_client_certificate(tls_cluster, tmp_path):
    d, admin = tls_cluster
    name, port = database_for_berthcert(admin)
    url = (f"postgres://berthcert@127.0.0.1:{port}/{name}?sslmode=verify-full&sslrootcert={d / 'ca.crt'}"
           f"&sslcert={d / 'client.crt'}&sslkey={d / 'client.key'}")
    b = Berth(tmp_path / "data", env_extra={"BERTH_DATABASE_URL": url})
    try:
        sm = b.client("secretsmanager")
        sm.create_secret(Name="over-tls", SecretString="kept")
        assert sm.get_secret_value(SecretId="over-tls")["SecretString"] == "kept"
        # berth's connections are TLS, signed in by the client certificate.
        rows = psql(admin, "SELECT DISTINCT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a "
                           f"USING (pid) WHERE a.usename = 'berthcert' AND a.datname = '{name}'")
        assert rows == "t|/CN=berthcert", rows
    finally:
        b.stop()


def test_an_untrusted_database_certificate_stops_the_start(tls_cluster, tmp_path):
    d, admin = tls_cluster
    name, port = database_for_berthcert(admin)
    # The machine's roots do not know the cluster's CA.
    url = (f"postgres://berthcert@127.0.0.1:{port}/{name}?sslmode=verify-full&sslrootcert=system"
           f"&sslcert={d / 'client.crt'}&sslkey={d / 'client.key'}")
    env = {**os.environ, "BERTH_DATABASE_URL": url}
    p = subprocess.run([berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode != 0
    assert "opening the PostgreSQL database" in p.stderr and "UnknownIssuer" in p.stderr, p.stderr
    # A certificate named without its key stops it before any connection.
    env["BERTH_DATABASE_URL"] = f"postgres://berthcert@127.0.0.1:{port}/{name}?sslcert={d / 'client.crt'}"
    p = subprocess.run([berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data2")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode != 0 and "give both" in p.stderr, p.stderr
