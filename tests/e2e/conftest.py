"""The end-to-end harness: the real `berth` binary, driven by unmodified AWS clients.

Each `berth` fixture starts `berth server` on a free loopback port with a fresh data dir and
known root credentials, waits for `/_berth/health`, and gives the test:
  - `client(service, creds=None, region=...)`: a boto3 client pointed at it;
  - `aws(*args, creds=None)`: the AWS CLI v1 run as a subprocess against it;
  - `raw(...)`: a hand-built (optionally botocore-signed) HTTP request, for bad-input tests;
  - `log()`: everything the server wrote to stderr so far.
Set BERTH_BIN to the binary under test (the test scripts do).

With BERTH_E2E_DATABASE_URL (a PostgreSQL database whose user may create databases), every
berth command the tests run keeps its state in PostgreSQL instead of SQLite: `berth_bin()` is
then a wrapper that gives each data directory a fresh database of its own (created on first
use, dropped at the end of the session) as BERTH_DATABASE_URL. Tests that check SQLite's own
files say so (`sqlite_only`) and are not run in that mode.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.config import Config

ROOT_KEY_ID = "AKIAE2ETESTROOT00001"
ROOT_SECRET = "e2eRootSecretKey/For+Berth0000000000000"
REGION = "us-east-1"

REPO = Path(__file__).resolve().parents[2]


def real_berth_bin() -> str:
    path = os.environ.get("BERTH_BIN") or str(REPO / "target" / "debug" / "berth")
    if not Path(path).is_file():
        # No silent skip: a missing binary is a failure of the run.
        raise RuntimeError(f"berth binary not found at {path}: build it (cargo build) or set BERTH_BIN")
    return path


def berth_bin() -> str:
    if os.environ.get("BERTH_E2E_DATABASE_URL"):
        return postgres_wrapper()
    return real_berth_bin()


E2E_DB_PREFIX = f"berth_e2e_{os.getpid()}_"


def psql_bin() -> str:
    import glob
    import shutil

    found = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))), None)
    if not found:
        raise RuntimeError("BERTH_E2E_DATABASE_URL is set but psql is missing (install Debian's postgresql)")
    return found


def postgres_wrapper() -> str:
    """A script in place of the binary: it finds the command's data directory (--data-dir,
    BERTH_DATA_DIR or the default), makes sure a database of its own exists (named in the
    directory's `.berth-e2e-database`), and runs the real binary with BERTH_DATABASE_URL naming
    it."""
    wrapper = Path(os.environ.get("TMPDIR", "/tmp")) / f"{E2E_DB_PREFIX}berth"
    if wrapper.exists():
        return str(wrapper)
    script = rf"""#!/usr/bin/env bash
set -euo pipefail
# As berth picks it: --data-dir, BERTH_DATA_DIR, ./.berth-data when the command looks for one
# (doctor, account create), else the default.
dir="${{BERTH_DATA_DIR:-${{XDG_DATA_HOME:-$HOME/.local/share}}/berth}}"
if [ -z "${{BERTH_DATA_DIR:-}}" ] && [ -d .berth-data ]; then
    dir="$PWD/.berth-data"
fi
prev=""
for a in "$@"; do
    case "$prev" in --data-dir) dir="$a" ;; esac
    case "$a" in --data-dir=*) dir="${{a#--data-dir=}}" ;; esac
    prev="$a"
done
# The database of this data directory: named in a file in it, so a directory made anew at the
# same path (pytest reuses the numbered tmp_path of a passed test) gets a new database.
marker="$dir/.berth-e2e-database"
fresh="{E2E_DB_PREFIX}$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
if [ -s "$marker" ]; then
    name="$(cat "$marker")"
else
    name="$fresh"
    # A command that makes no data directory (doctor, account create on none) gets a database
    # of its own, and no directory is made for it here.
    case " $* " in
    *" server "* | *" up "* | *" migrate "*) mkdir -p "$dir" && printf '%s' "$name" >"$marker" ;;
    *) [ -d "$dir" ] && printf '%s' "$name" >"$marker" ;;
    esac
fi
# Baked in: tests that start berth with a stripped environment still get a database.
admin={shlex.quote(os.environ["BERTH_E2E_DATABASE_URL"])}
if [ -z "$(PGCONNECT_TIMEOUT=10 {psql_bin()} "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    {psql_bin()} "$admin" -qc "CREATE DATABASE $name" >/dev/null 2>&1 || true
fi
base="${{admin%%\?*}}"
query=""
case "$admin" in *\?*) query="?${{admin#*\?}}" ;; esac
# A test that names its own store (BERTH_DATABASE_URL set, empty for SQLite) keeps it.
if [ -z "${{BERTH_DATABASE_URL+set}}" ]; then
    export BERTH_DATABASE_URL="${{base%/*}}/$name$query"
fi
# argv[0] stays the wrapper's: berth prints it in the commands it suggests.
exec -a "$0" {real_berth_bin()} "$@"
"""
    tmp = wrapper.with_suffix(".tmp")
    tmp.write_text(script)
    tmp.chmod(0o755)
    tmp.rename(wrapper)
    return str(wrapper)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def parent_of(pid: int) -> int:
    try:
        # The fields after the command name (in parentheses, which may hold spaces).
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _under_pytest(pid: int) -> bool:
    """Whether a pytest process is among `pid`'s ancestors (its test run is still going)."""
    seen = 0
    pid = parent_of(pid)
    while pid > 1 and seen < 64:
        if any("pytest" in arg for arg in _cmdline(pid)):
            return True
        pid, seen = parent_of(pid), seen + 1
    return False


def berth_processes() -> list[tuple[int, list[str]]]:
    """The berth processes on this machine (their executable is `berth`), each with its command
    line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "exe")).name == "berth":
                found.append((int(entry.name), _cmdline(int(entry.name))))
        except OSError:
            continue
    return found


def stop_pids(pids: list[int], timeout: float):
    """SIGTERM to each of `pids` (a clean stop: berth removes what it added to the host), SIGKILL
    to those still alive after `timeout` s."""
    for pid in pids:
        _signal_if_there(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while pids and time.time() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.1)
    for pid in pids:
        _signal_if_there(pid, signal.SIGKILL)


def _signal_if_there(pid: int, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stray_test_berths() -> list[int]:
    """berth processes an earlier run of these tests left behind: started by a test (their data
    directory or their output is in a pytest base temp dir) and no pytest run above them any more
    (the run was killed: `berth up` is started in a session of its own, so killing the run's
    process group does not reach it). Such a berth still holds 169.254.170.2, a port, Docker
    containers; a live run's berths are never among them."""
    found = []
    for pid, cmdline in berth_processes():
        try:
            paths = cmdline + [os.readlink(f"/proc/{pid}/fd/1")]
        except OSError:
            continue
        if any("/berth-e2e" in p or "/pytest-of-" in p for p in paths) and not _under_pytest(pid):
            found.append(pid)
    return found


@pytest.fixture(scope="session", autouse=True)
def no_strays_of_an_earlier_run():
    """Stops (SIGTERM: a clean stop removes what berth added to the host) what a killed earlier
    run left running, before any test starts; says so on stderr."""
    strays = stray_test_berths()
    for pid in strays:
        print(f"stopping berth {pid} left by an earlier run: {' '.join(_cmdline(pid))}", file=sys.stderr)
    stop_pids(strays, timeout=20)
    yield


@pytest.fixture(scope="session", autouse=True)
def e2e_databases():
    """With BERTH_E2E_DATABASE_URL: drops the session's databases at its end."""
    yield
    admin = os.environ.get("BERTH_E2E_DATABASE_URL")
    if not admin:
        return
    names = subprocess.run(
        [psql_bin(), admin, "-tAc", f"SELECT datname FROM pg_database WHERE datname LIKE '{E2E_DB_PREFIX}%'"],
        capture_output=True, text=True, timeout=60,
    ).stdout.split()
    for name in names:
        subprocess.run([psql_bin(), admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       capture_output=True, timeout=60)
    wrapper = Path(os.environ.get("TMPDIR", "/tmp")) / f"{E2E_DB_PREFIX}berth"
    wrapper.unlink(missing_ok=True)


def store_bytes(data_dir: Path) -> bytes:
    """Everything the store of `data_dir` holds, as stored: its SQLite files, or (in the
    PostgreSQL mode) every record of its database, raw, for a test that looks for a value
    that must not be stored in the clear."""
    marker = Path(data_dir) / ".berth-e2e-database"
    admin = os.environ.get("BERTH_E2E_DATABASE_URL")
    if admin and marker.is_file():
        base, _, query = admin.partition("?")
        url = f"{base.rsplit('/', 1)[0]}/{marker.read_text().strip()}" + (f"?{query}" if query else "")
        p = subprocess.run([psql_bin(), url, "-c", "COPY (SELECT tbl, k, v FROM kv) TO STDOUT (FORMAT binary)"],
                           capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout, "the store's database holds nothing"
        return p.stdout
    files = [p for p in Path(data_dir).iterdir() if p.name.startswith("berth.db")]
    assert any(p.name == "berth.db" for p in files), files
    return b"".join(p.read_bytes() for p in files)


# A test that checks SQLite's own files (berth.db, its WAL): not run when the e2e suite runs on
# PostgreSQL (BERTH_E2E_DATABASE_URL), where there are none; the report names them.
sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("BERTH_E2E_DATABASE_URL")),
    reason="checks the SQLite store's own files; this run keeps the state in PostgreSQL",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(name: str, proc, endpoint: str, log, timeout=20.0):
    """Waits until `endpoint`'s `/_berth/health` answers 200 (berth itself, or a proxy in front
    of it); fails with `log()` if `proc` exits first or the deadline passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(endpoint + "/_berth/health", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} not ready after {timeout}s:\n{log()}")


def stop_process(proc, timeout=10.0, group=False):
    """SIGTERM, then SIGKILL if it has not exited after `timeout` s; with `group`, to its whole
    process group (a process started with `start_new_session=True` and its children)."""
    if proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    send(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()


@dataclass
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


class Berth:
    def __init__(self, data_dir: Path, env_creds: bool = True, extra_args=(), account_id=None, env_extra=None):
        self.data_dir = data_dir
        self.root = Creds(ROOT_KEY_ID, ROOT_SECRET)
        # free_port() releases the port before berth binds it: another process (a client's
        # ephemeral port) can take it in between. Only that failure is tried again.
        for attempt in range(3):
            self._start(env_creds, extra_args, account_id, env_extra)
            try:
                self.wait_ready()
                return
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self.log():
                    raise
                self._log.close()

    def _start(self, env_creds, extra_args, account_id, env_extra):
        data_dir = self.data_dir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"berth-{self.port}.log"
        env = dict(os.environ)
        env.pop("BERTH_ROOT_ACCESS_KEY_ID", None)
        env.pop("BERTH_ROOT_SECRET_ACCESS_KEY", None)
        if env_creds:
            env["BERTH_ROOT_ACCESS_KEY_ID"] = ROOT_KEY_ID
            env["BERTH_ROOT_SECRET_ACCESS_KEY"] = ROOT_SECRET
        env.setdefault("RUST_LOG", "info,berth_api=debug")
        env.update(env_extra or {})
        args = [berth_bin(), "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir)]
        if account_id:
            args += ["--account-id", account_id]
        args += list(extra_args)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout=20.0):
        wait_healthy("berth", self.proc, self.endpoint, self.log, timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.proc)
        self._log.close()

    def client(self, service: str, creds: Creds | None = None, region: str = REGION):
        c = creds or self.root
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=c.access_key_id,
            aws_secret_access_key=c.secret_access_key,
            aws_session_token=c.session_token,
            config=Config(retries={"max_attempts": 1}),
        )

    def aws(self, *args, creds: Creds | None = None, region: str = REGION, env_extra=None, check=False):
        """Runs the AWS CLI; returns (exit code, stdout, stderr)."""
        c = creds or self.root
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=c.access_key_id,
            AWS_SECRET_ACCESS_KEY=c.secret_access_key,
            AWS_DEFAULT_REGION=region,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        )
        if c.session_token:
            env["AWS_SESSION_TOKEN"] = c.session_token
        if env_extra:
            env.update(env_extra)
        cli = str(Path(sys.executable).parent / "aws")
        p = subprocess.run(
            [cli, "--endpoint-url", self.endpoint, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p.returncode, p.stdout, p.stderr

    def raw(self, body: bytes = b"", headers=None, method="POST", path="/", sign: tuple | None = None,
            creds: Creds | None = None, timestamp=None):
        """Sends one HTTP request. `sign=(service, region)` signs it with botocore's SigV4Auth
        (as `creds`, at `timestamp` if given). Returns (status, headers, body bytes)."""
        url = self.endpoint + path
        headers = dict(headers or {})
        if sign is not None:
            service, region = sign
            c = creds or self.root
            req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
            signer = botocore.auth.SigV4Auth(
                botocore.credentials.Credentials(c.access_key_id, c.secret_access_key, c.session_token),
                service,
                region,
            )
            if timestamp is not None:
                original = botocore.auth.get_current_datetime
                botocore.auth.get_current_datetime = lambda: timestamp
                try:
                    signer.add_auth(req)
                finally:
                    botocore.auth.get_current_datetime = original
            else:
                signer.add_auth(req)
            headers = dict(req.headers.items())
        r = urllib.request.Request(url, data=body if method != "GET" else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read()


@pytest.fixture
def berth(tmp_path):
    b = Berth(tmp_path / "data")
    yield b
    b.stop()


@pytest.fixture
def berth_factory(tmp_path):
    started = []

    def start(name="data", **kw):
        b = Berth(tmp_path / name, **kw)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def error_message(exc) -> str:
    return exc.response["Error"].get("Message", "")


def json_body(raw: bytes) -> dict:
    return json.loads(raw.decode())
