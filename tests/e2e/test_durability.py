"""Durability, as far as it shows without a power cut: a write is acknowledged only after the WAL
that holds it is on disk. The server runs under `strace` (attached to every thread); for one
CreateSecret, the server's `fdatasync`/`fsync` of `berth.db-wal` completes after the last write
to the WAL that precedes the response (which follows the read of the request from the client's
socket), and before the server writes the response to that socket. strace holds every fsync
for 0.3 s before the kernel runs it, so a response that does not wait for the fsync shows as one
written before it completed, however fast the disk.

strace is a test dependency (scripts/lib/ensure-strace): without it the test fails."""

import http.client
import json
import re
import shutil
import signal
import subprocess
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from conftest import REGION, sqlite_only

TRACED = "fsync,fdatasync,write,writev,sendto,sendmsg,read,recvfrom,pwrite64,pwritev"
WAL_WRITES = ("write", "writev", "pwrite64", "pwritev")
# Every fsync enters the kernel 0.3 s late (strace holds the thread): a response that did not
# wait for it (one written when the batch settled before its fsync) goes out inside that window.
SYNC_DELAY_US = 300_000
# `PID HH:MM:SS.ffffff syscall(args...` / `PID HH:MM:SS.ffffff <... syscall resumed>...`
LINE = re.compile(r"^(\d+)\s+\S+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")


def attach_strace(pid, out):
    strace = shutil.which("strace")
    assert strace, "strace is missing: scripts/install-test-deps installs it (scripts/lib/ensure-strace)"
    proc = subprocess.Popen(
        [strace, "-f", "-tt", "-yy", "-s", "64", "-e", f"trace={TRACED}",
         "-e", f"inject=fsync,fdatasync:delay_enter={SYNC_DELAY_US}", "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # strace reports on standard error once it holds every thread of the process.
    deadline = time.time() + 20
    seen = ""
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if f"Process {pid} attached" in line:
            return proc
    proc.kill()
    raise AssertionError(f"strace did not attach to {pid}:\n{seen}")


def detach(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def signed_create_secret(berth, name, value):
    body = json.dumps({"Name": name, "SecretString": value,
                       "ClientRequestToken": f"durable-{name}".replace("/", "-").ljust(32, "0")}).encode()
    url = berth.endpoint + "/"
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.CreateSecret"},
    )
    c = berth.root
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(c.access_key_id, c.secret_access_key), "secretsmanager", REGION
    ).add_auth(req)
    return body, dict(req.headers.items())


def events(trace_text):
    """(line number, pid, syscall, rest, kind) for each traced call: kind `call` for a call on
    one line; a call split by another thread's is reported at its `start` (its arguments) and
    at its `end` (its result)."""
    out = []
    for n, line in enumerate(trace_text.splitlines()):
        m = LINE.match(line)
        if not m:
            continue
        pid, resumed, name, rest = m.groups()
        if resumed:
            out.append((n, pid, resumed, rest, "end"))
        else:
            out.append((n, pid, name, rest, "start" if "<unfinished ...>" in rest else "call"))
    return out


def completed(evs):
    """(completion line, syscall, arguments, result) for each finished call: the completion line
    is the call's own line, or its `resumed` line when another thread's call split it."""
    out = []
    started = {}
    for n, pid, name, rest, kind in evs:
        if kind == "start":
            started[pid] = rest
        elif kind == "end":
            out.append((n, name, started.pop(pid, ""), rest.rstrip()))
        else:
            out.append((n, name, rest, rest.rstrip()))
    return out


@sqlite_only  # watches the fsync of berth.db-wal (on PostgreSQL the answer waits for its COMMIT)
def test_create_secret_is_fsynced_before_its_response(berth, tmp_path):
    trace = tmp_path / "strace.txt"
    tracer = attach_strace(berth.proc.pid, trace)
    try:
        body, headers = signed_create_secret(berth, "durable/one", "written-to-disk-first")
        conn = http.client.HTTPConnection("127.0.0.1", berth.port, timeout=30)
        conn.connect()
        client_port = conn.sock.getsockname()[1]
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
        assert resp.status == 200, answer
        assert json.loads(answer)["Name"] == "durable/one"
        conn.close()
    finally:
        detach(tracer)
    text = trace.read_text(errors="replace")
    # The server's side of this connection, as `-yy` shows it: `FD<TCP:[SERVER->127.0.0.1:PORT]>`.
    peer = f"->127.0.0.1:{client_port}]>"

    evs = events(text)
    # The first read of the request from the client's socket (its start).
    request_read = next(
        (n for n, _, name, rest, _ in evs if name in ("read", "recvfrom") and peer in rest.split(",")[0]),
        None,
    )
    assert request_read is not None, f"no read of the request on the client socket (port {client_port}):\n{text}"
    # The first write of the response to the client's socket (its start).
    response_write = next(
        (
            n
            for n, _, name, rest, _ in evs
            if name in ("write", "writev", "sendto", "sendmsg") and peer in rest.split(",")[0] and "HTTP/1.1" in rest
        ),
        None,
    )
    assert response_write is not None, f"no response written to the client socket (port {client_port}):\n{text}"
    assert request_read < response_write

    wal = "berth.db-wal>"
    # The WAL's frames written before the response (SQLite's COMMIT writes them with pwrite64).
    wal_writes = [n for n, name, args, _ in completed(evs) if name in WAL_WRITES and wal in args.split(",")[0]]
    assert wal_writes, f"the server never wrote its WAL:\n{text}"
    last_wal_write = max((n for n in wal_writes if n < response_write), default=None)
    assert last_wal_write is not None and last_wal_write > request_read, (
        f"the CreateSecret wrote no WAL frame between reading the request (line {request_read + 1}) "
        f"and writing the response (line {response_write + 1}):\n{text}"
    )
    wal_syncs = [
        n
        for n, name, args, result in completed(evs)
        if name in ("fsync", "fdatasync") and wal in args and re.search(r"\) = 0( \(DELAYED\))?$", result)
    ]
    assert wal_syncs, f"the server never fsynced its WAL:\n{text}"
    between = [n for n in wal_syncs if last_wal_write < n < response_write]
    assert between, (
        f"no fsync of the WAL completed between its last write before the response (line "
        f"{last_wal_write + 1}) and the response (line {response_write + 1}); WAL fsyncs at lines "
        f"{[n + 1 for n in wal_syncs]}:\n{text}"
    )
