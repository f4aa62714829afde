"""Agents' long polls wait without holding a thread: while hundreds of `BerthPollTasks` wait for
news, IAM and STS (Query protocol) still answer at once, and a shutdown answers every poll."""

import json
import resource
import selectors
import socket
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from conftest import REGION

TARGET = "AmazonEC2ContainerServiceV20141113."
# More waiting polls than tokio's blocking pool has threads (512): a poll that holds a thread
# while it waits leaves none for the calls that need one.
POLLS = 600
# Descriptors this process needs besides the polls' sockets (the server inherits the limit).
SPARE_FDS = 256
LATENCY_LIMIT = 0.5


def raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


def signed_poll(b, body: dict) -> bytes:
    """One BerthPollTasks request as raw HTTP/1.1 bytes, signed as root."""
    data = json.dumps(body).encode()
    host = f"127.0.0.1:{b.port}"
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=b.endpoint + "/",
        data=data,
        headers={
            "Host": host,
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + "BerthPollTasks",
        },
    )
    creds = botocore.credentials.Credentials(b.root.access_key_id, b.root.secret_access_key)
    botocore.auth.SigV4Auth(creds, "ecs", REGION).add_auth(req)
    head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
    return (f"POST / HTTP/1.1\r\n{head}Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def read_all(socks, timeout: float) -> dict:
    """Reads every socket until the server closes it or `timeout` passes; returns the bytes
    read by socket."""
    got = {s: b"" for s in socks}
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        open_ = len(socks)
        deadline = time.monotonic() + timeout
        while open_ and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    got[s] += chunk
                else:
                    sel.unregister(s)
                    open_ -= 1
    return got


def test_long_polls_do_not_starve_iam_and_sts(berth_factory):
    limit = raise_fd_limit(POLLS + SPARE_FDS)
    polls = min(POLLS, limit - SPARE_FDS)
    assert polls > 512, f"the descriptor limit ({limit}) allows only {polls} polls"
    b = berth_factory()
    ecs = b.client("ecs")
    instance = ecs.register_container_instance(
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
        versionInfo={"agentVersion": "1.80.0", "agentHash": "berth", "dockerVersion": "24.0.0"},
    )["containerInstance"]["containerInstanceArn"]
    status, _, raw = b.raw(
        json.dumps({"containerInstance": instance, "waitSeconds": 0}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + "BerthPollTasks"},
        sign=("ecs", REGION),
    )
    assert status == 200, raw
    seq = json.loads(raw)["seq"]
    iam, sts = b.client("iam"), b.client("sts")
    iam.create_user(UserName="u")

    # Every poll waits (up to 20 s) for a change after `seq`; none comes.
    requests = [signed_poll(b, {"containerInstance": instance, "seq": seq, "waitSeconds": 20}) for _ in range(polls)]
    socks = []
    try:
        for r in requests:
            s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
            s.sendall(r)
            s.setblocking(False)
            socks.append(s)
        sent = time.monotonic()
        time.sleep(2.0)  # every poll has reached the server and is waiting
        early = {s: d for s, d in read_all(socks, 0.3).items() if d}
        assert not early, f"{len(early)} polls answered before any change: {next(iter(early.values()))[:300]!r}"

        latencies = []
        calls = (("iam get-user", lambda: iam.get_user(UserName="u")),
                 ("sts get-caller-identity", sts.get_caller_identity))
        for i in range(8):
            if i >= 4:
                # A change elsewhere in ECS wakes every waiting poll to look again (none has
                # news): the calls right after it answer at once too.
                ecs.create_cluster(clusterName=f"wake-{i}")
            for name, call in calls:
                t = time.monotonic()
                call()
                latencies.append((name, time.monotonic() - t))
        slow = [(n, round(t, 3)) for n, t in latencies if t > LATENCY_LIMIT]
        assert not slow, f"with {polls} long polls waiting, calls took: {slow}"
        # The polls were still waiting throughout the measurement, none answered.
        assert time.monotonic() - sent < 19, "the measurement outlasted the polls' wait"
        early = {s: d for s, d in read_all(socks, 0.1).items() if d}
        assert not early, f"{len(early)} polls answered without news: {next(iter(early.values()))[:300]!r}"

        # A shutdown answers every waiting poll at once.
        stopped = time.monotonic()
        b.proc.terminate()
        answers = read_all(socks, 10)
        took = time.monotonic() - stopped
        ok = sum(1 for d in answers.values() if d.startswith(b"HTTP/1.1 200"))
        assert ok == polls, f"{ok} of {polls} polls answered 200 on shutdown (in {took:.1f}s)"
        assert took < 5, f"the polls took {took:.1f}s to be answered on shutdown"
        b.proc.wait(timeout=10)
        assert b.proc.returncode == 0, b.log()[-2000:]
    finally:
        for s in socks:
            s.close()
