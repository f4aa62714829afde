"""Crash safety: `kill -9` the server in the middle of concurrent writes, restart it on the same
data dir, and check that every acknowledged write (HTTP 200 received) survived whole, and that
nothing unacknowledged is half there.

Writers (each sequential, so at most one call of each is in flight at the kill):
  - secret writers: CreateSecret, then PutSecretValue on their secrets, each call with its own
    ClientRequestToken, so the version id of a call in flight is known too;
  - task definition writers: RegisterTaskDefinition in their own family.
After the restart:
  - every acknowledged secret exists, its AWSCURRENT value is the last acknowledged value or the
    value of the one call in flight for it, and every acknowledged version reads back its value;
  - every secret that exists was attempted, and has a readable AWSCURRENT value;
  - each family's revisions are 1..max, contiguous, max is the number acknowledged or one more.
Two kill/restart rounds on the same data dir; well under 60 s.
"""

import random
import threading
import time
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from conftest import REGION, Berth

SECRET_WRITERS = 4
TASKDEF_WRITERS = 3
ROUNDS = 2


class Ledger:
    """What the writers attempted and what was acknowledged, per thread."""

    def __init__(self):
        self.lock = threading.Lock()
        # secret name -> list of (version id, value, acked) in call order
        self.secrets: dict[str, list[tuple[str, str, bool]]] = {}
        # family -> acknowledged revisions, and number of attempts
        self.revisions: dict[str, list[int]] = {}
        self.attempts: dict[str, int] = {}
        self.acks = 0
        # Set just before the SIGKILL: a transport error after it is the crash.
        self.killed = threading.Event()
        # What went wrong that is not the crash: an error answer, a transport error before the
        # kill, a wrong answer.
        self.failures: list[str] = []

    def fail(self, what: str):
        with self.lock:
            self.failures.append(what)


# The ways a call ends when the server dies under it: the connection is reset, closed or
# refused (botocore's connection errors; with retries off they surface as they are).
CRASHED = (BotoConnectionError, HTTPClientError)


def unacknowledged(ledger: Ledger, call: str, e: Exception) -> None:
    """A call that got no answer: the crash when the server was killed, else a failure. An
    HTTP error answer (ClientError) is never the crash: the server answered."""
    if isinstance(e, CRASHED) and ledger.killed.is_set():
        return
    ledger.fail(f"{call}: {type(e).__name__}: {e}")


def client(b: Berth, service: str):
    return boto3.session.Session().client(
        service,
        endpoint_url=b.endpoint,
        region_name=REGION,
        aws_access_key_id=b.root.access_key_id,
        aws_secret_access_key=b.root.secret_access_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def secret_writer(b: Berth, ledger: Ledger, tag: str, stop: threading.Event):
    sm = client(b, "secretsmanager")
    rnd = random.Random(tag)
    names: list[str] = []
    i = 0
    while not stop.is_set():
        i += 1
        token = str(uuid.uuid4())
        value = f"value-{tag}-{i}-{uuid.uuid4().hex[:8]}"
        if not names or rnd.random() < 0.3:
            name = f"crash/{tag}/{i}"
            with ledger.lock:
                ledger.secrets[name] = [(token, value, False)]
            call = lambda: sm.create_secret(Name=name, SecretString=value, ClientRequestToken=token)  # noqa: E731
        else:
            name = rnd.choice(names)
            with ledger.lock:
                ledger.secrets[name].append((token, value, False))
            call = lambda: sm.put_secret_value(SecretId=name, SecretString=value, ClientRequestToken=token)  # noqa: E731
        try:
            out = call()
        except Exception as e:  # noqa: BLE001 — sorted out by unacknowledged()
            unacknowledged(ledger, f"secret {name}", e)
            return
        if out["VersionId"] != token:
            ledger.fail(f"secret {name}: VersionId {out['VersionId']} for token {token}")
            return
        with ledger.lock:
            ledger.secrets[name][-1] = (token, value, True)
            ledger.acks += 1
        if name not in names:
            names.append(name)


def taskdef_writer(b: Berth, ledger: Ledger, family: str, stop: threading.Event):
    ecs = client(b, "ecs")
    while not stop.is_set():
        with ledger.lock:
            ledger.attempts[family] = ledger.attempts.get(family, 0) + 1
        try:
            td = ecs.register_task_definition(
                family=family,
                containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}],
            )["taskDefinition"]
        except Exception as e:  # noqa: BLE001 — sorted out by unacknowledged()
            unacknowledged(ledger, f"task definition {family}", e)
            return
        with ledger.lock:
            ledger.revisions.setdefault(family, []).append(td["revision"])
            ledger.acks += 1


def load_then_kill(b: Berth, ledger: Ledger, round_no: int):
    stop = threading.Event()
    threads = [threading.Thread(target=secret_writer, args=(b, ledger, f"r{round_no}s{i}", stop), daemon=True)
               for i in range(SECRET_WRITERS)]
    threads += [threading.Thread(target=taskdef_writer, args=(b, ledger, f"fam-{i}", stop), daemon=True)
                for i in range(TASKDEF_WRITERS)]
    for t in threads:
        t.start()
    # Let some writes be acknowledged, then kill at a random point of the load.
    before = ledger.acks
    deadline = time.time() + 20
    while ledger.acks < before + 40 and time.time() < deadline:
        time.sleep(0.05)
    assert ledger.acks >= before + 40 and not ledger.failures, ledger.failures
    time.sleep(random.uniform(0.2, 1.5))
    ledger.killed.set()
    b.proc.kill()  # SIGKILL: no shutdown code runs
    b.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert not any(t.is_alive() for t in threads)
    b._log.close()
    assert not ledger.failures, ledger.failures
    ledger.killed.clear()


def check(b: Berth, ledger: Ledger):
    sm = client(b, "secretsmanager")
    ecs = client(b, "ecs")
    existing = set()
    paginator = sm.get_paginator("list_secrets")
    for page in paginator.paginate(Filters=[{"Key": "name", "Values": ["crash/"]}]):
        existing.update(s["Name"] for s in page["SecretList"])
    assert existing <= set(ledger.secrets), f"secrets never attempted: {existing - set(ledger.secrets)}"
    for name, calls in ledger.secrets.items():
        acked = [c for c in calls if c[2]]
        if acked:
            assert name in existing, f"acknowledged secret {name} lost"
        if name not in existing:
            # Only an unacknowledged create may be absent.
            assert not acked
            continue
        # Readable AWSCURRENT: the last acknowledged value, or the one call after it (in flight).
        cur = sm.get_secret_value(SecretId=name)
        last_acked = max((i for i, c in enumerate(calls) if c[2]), default=-1)
        allowed = {(c[0], c[1]) for c in calls[max(last_acked, 0):]}
        assert (cur["VersionId"], cur["SecretString"]) in allowed, (name, cur["VersionId"], calls)
        # Every acknowledged version reads back its own value.
        for token, value, ok in acked:
            v = sm.get_secret_value(SecretId=name, VersionId=token)
            assert v["SecretString"] == value
        # No version that was never attempted.
        versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=100)
        ids = {v["VersionId"] for v in versions["Versions"]}
        assert ids <= {c[0] for c in calls}
    for family, attempts in ledger.attempts.items():
        acked = ledger.revisions.get(family, [])
        arns = []
        for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family):
            arns += page["taskDefinitionArns"]
        revs = sorted(int(a.rsplit(":", 1)[1]) for a in arns if a.split("/")[-1].rsplit(":", 1)[0] == family)
        assert revs == list(range(1, len(revs) + 1)), f"{family}: revisions not contiguous: {revs}"
        assert set(acked) <= set(revs), f"{family}: acknowledged revisions lost"
        # At most one registration per writer thread and round was in flight at a kill.
        assert len(acked) <= len(revs) <= len(acked) + ROUNDS
        assert len(revs) <= attempts
        for r in acked:
            td = ecs.describe_task_definition(taskDefinition=f"{family}:{r}")["taskDefinition"]
            assert td["revision"] == r and td["containerDefinitions"][0]["image"] == "busybox"


def test_kill_9_mid_load_loses_no_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    ledger = Ledger()
    b = Berth(data)
    try:
        for round_no in range(ROUNDS):
            load_then_kill(b, ledger, round_no)
            b = Berth(data)  # restart on the same data dir (a new port)
            check(b, ledger)
        assert ledger.acks > 0
        acked_secrets = sum(1 for calls in ledger.secrets.values() if any(c[2] for c in calls))
        print(f"\ncrash: {ledger.acks} acknowledged writes over {ROUNDS} kill -9 rounds, "
              f"{acked_secrets} secrets, revisions {ledger.revisions and {f: len(r) for f, r in ledger.revisions.items()}}")
    finally:
        b.stop()
