"""Task start overhead: what berth adds to starting a container from a private registry.

Run through `bench/run` (or alone: `bench/.venv/bin/python bench/task_start.py --berth PATH`).

Everything is local: the image is a rootfs with the static busybox, `docker import`ed and pushed
to a CNCF Distribution registry (`docker-registry serve`, htpasswd Basic auth) on
127.0.0.1:<free port>, as tests/e2e/docker_fixtures.py does. Then, N times each, alternating:

- direct, CLI: `docker pull IMAGE` + `docker run -d IMAGE sleep 3600`, timed until `docker run`
  returns (the container is running then). Cold: the image removed first; warm: present.
- direct, Engine API: the same through the Docker Engine API on its Unix socket
  (POST /images/create with X-Registry-Auth, POST /containers/create, POST /containers/{id}/start),
  which is what berth's agent does, without the two CLI process starts.
- berth: `RunTask` of a task definition whose container pulls the same image with
  `repositoryCredentials` (a Secrets Manager secret under a customer-managed KMS key, read by
  the agent with the task's execution role, as ECS does), on `berth up` (server + agent in one
  process), timed from just before RunTask until the task is RUNNING in the control plane: the
  moment the agent's RUNNING report has been committed (its `running reported` log event,
  same clock), which is when DescribeTasks starts to say RUNNING. DescribeTasks is also
  polled (every --poll-ms) and that time printed too; the poll is kept slow on purpose: a
  boto3 call every 2 ms costs the client most of a core, which on a small machine slows the
  very container start being measured. Cold: the image removed first.

Prints medians and berth's overhead (berth minus direct), and writes JSON (--json-out).
Every container, image and process made here is removed at the end; nothing else is touched.
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "us-east-1"
ROOT_KEY = "AKIABENCHROOT0000001"
ROOT_SECRET = "benchRootSecretKey/For+Berth00000000000"
REG_USER, REG_PASS = "bench-user", "bench-Registry-Pass"
LABEL = "berth-bench.task-start"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, env=None, input=None, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, env=env, input=input, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stdout}\n{p.stderr}")
    return p


def wait_http(url, proc, timeout=30.0, ok=(200,)):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status in ok:
                    return
        except urllib.error.HTTPError as e:
            if e.code in ok:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"{url} not ready")
        time.sleep(0.05)


class Engine:
    """The Docker Engine API on its Unix socket, one request per connection."""

    def __init__(self, path="/var/run/docker.sock"):
        host = os.environ.get("DOCKER_HOST", "")
        self.path = host[len("unix://"):] if host.startswith("unix://") else path

    def call(self, method, url, body=None, headers=None):
        conn = http.client.HTTPConnection("localhost", timeout=300)
        conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.sock.connect(self.path)
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"} if data else {}
        h.update(headers or {})
        conn.request(method, url, body=data, headers=h)
        r = conn.getresponse()
        out = r.read()  # a pull streams its progress until done
        conn.close()
        if r.status >= 300:
            raise RuntimeError(f"{method} {url}: {r.status} {out[:300]!r}")
        if url.startswith("/images/create"):
            # A stream of JSON progress lines; a failure is an "error" line.
            if b'"error"' in out:
                raise RuntimeError(f"pull failed: {out[-300:]!r}")
            return None
        return json.loads(out) if out.strip().startswith(b"{") else None


class Registry:
    def __init__(self, work: Path):
        for tool in ("docker-registry", "htpasswd", "docker"):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} is missing (scripts/install-test-deps installs it)")
        busybox = shutil.which("busybox") or "/bin/busybox"
        self.host = f"127.0.0.1:{free_port()}"
        (work / "htpasswd").write_text(run("htpasswd", "-Bbn", REG_USER, REG_PASS).stdout.strip() + "\n")
        (work / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {work / 'data'}\n"
            f"http:\n  addr: {self.host}\n"
            f"auth:\n  htpasswd:\n    realm: berth-bench\n    path: {work / 'htpasswd'}\n")
        self.log = open(work / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(work / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(f"http://{self.host}/v2/", self.proc, ok=(200, 401))
        rootfs = work / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "tmp").mkdir()
        shutil.copy2(busybox, rootfs / "bin" / "busybox")
        for applet in ("sh", "sleep", "true"):
            os.symlink("busybox", rootfs / "bin" / applet)
        self.image = f"{self.host}/bench-app:1"
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(["docker", "import", "--change", "ENV PATH=/bin", "-", self.image],
                             stdin=tar.stdout, capture_output=True, text=True, timeout=120)
        tar.wait()
        if imp.returncode != 0:
            raise RuntimeError(f"docker import failed: {imp.stderr}")
        # A throw-away client config: the login is used by the direct CLI runs, then deleted.
        self.docker_config = work / "docker-config"
        self.env = dict(os.environ, DOCKER_CONFIG=str(self.docker_config))
        run("docker", "login", self.host, "-u", REG_USER, "--password-stdin", env=self.env, input=REG_PASS)
        run("docker", "push", self.image, env=self.env)
        self.auth_header = base64.urlsafe_b64encode(json.dumps(
            {"username": REG_USER, "password": REG_PASS, "serveraddress": self.host}).encode()).decode()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def remove_image(image):
    run("docker", "rmi", "-f", image, check=False)


def remove_labelled():
    ids = run("docker", "ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
    if ids:
        run("docker", "rm", "-f", *ids, check=False)


def direct_cli(reg: Registry, cold: bool) -> float:
    if cold:
        remove_image(reg.image)
    t0 = time.perf_counter()
    run("docker", "pull", "-q", reg.image, env=reg.env)
    cid = run("docker", "run", "-d", "--label", LABEL, "-m", "64m", reg.image, "sleep", "3600",
              env=reg.env).stdout.strip()
    dt = time.perf_counter() - t0
    run("docker", "rm", "-f", cid, check=False)
    return dt


def direct_api(engine: Engine, reg: Registry, cold: bool) -> float:
    if cold:
        remove_image(reg.image)
    repo, tag = reg.image.rsplit(":", 1)
    t0 = time.perf_counter()
    engine.call("POST", f"/images/create?fromImage={repo}&tag={tag}", headers={"X-Registry-Auth": reg.auth_header})
    c = engine.call("POST", "/containers/create", {
        "Image": reg.image, "Cmd": ["sleep", "3600"], "Labels": {LABEL: "1"},
        "HostConfig": {"Memory": 64 * 2**20}})
    engine.call("POST", f"/containers/{c['Id']}/start")
    dt = time.perf_counter() - t0
    engine.call("DELETE", f"/containers/{c['Id']}?force=true")
    return dt


class Berth:
    def __init__(self, binary, work: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(BERTH_ROOT_ACCESS_KEY_ID=ROOT_KEY, BERTH_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET,
                   AWS_DEFAULT_REGION=REGION,
                   # The agent's task events, with timestamps: where berth's time goes.
                   RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn,berth_agent::agent=debug"),
                   NO_COLOR="1")
        self.log_path = work / "berth.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(work / "data")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_http(self.endpoint + "/_berth/health", self.proc)

    def client(self, service):
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ROOT_KEY,
            aws_secret_access_key=ROOT_SECRET, config=Config(retries={"max_attempts": 1}))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def setup_berth(b: Berth, reg: Registry) -> str:
    kms, sm, iam, ecs = (b.client(s) for s in ("kms", "secretsmanager", "iam", "ecs"))
    deadline = time.time() + 30
    while not ecs.list_container_instances(cluster="default").get("containerInstanceArns"):
        if time.time() > deadline:
            raise RuntimeError(f"the agent did not register:\n{b.log_path.read_text()}")
        time.sleep(0.1)
    key = kms.create_key(Description="registry credentials")["KeyMetadata"]["Arn"]
    secret = sm.create_secret(Name="bench/registry", KmsKeyId=key,
                              SecretString=json.dumps({"username": REG_USER, "password": REG_PASS}))["ARN"]
    role = iam.create_role(RoleName="bench-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench-exec", PolicyName="registry", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
             "Resource": [secret, key]}]}))
    ecs.register_task_definition(family="bench-start", executionRoleArn=role, containerDefinitions=[{
        "name": "app", "image": reg.image, "memory": 64, "essential": True,
        "repositoryCredentials": {"credentialsParameter": secret},
        # Stops within a second of SIGTERM (a bare `sleep` as PID 1 ignores it).
        "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
        "stopTimeout": 2}])
    return "bench-start"


def berth_start(b: Berth, reg: Registry, family: str, cold: bool, poll_s: float) -> dict:
    ecs = b.client("ecs")
    if cold:
        remove_image(reg.image)
    wall0 = time.time()
    t0 = time.perf_counter()
    out = ecs.run_task(cluster="default", taskDefinition=family)
    t_run = time.perf_counter() - t0
    if out.get("failures"):
        raise RuntimeError(f"RunTask failed: {out['failures']}")
    arn = out["tasks"][0]["taskArn"]
    polls = 0
    while True:
        t = ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]
        polls += 1
        if t["lastStatus"] == "RUNNING":
            dt = time.perf_counter() - t0
            break
        if t["lastStatus"] == "STOPPED" or time.perf_counter() - t0 > 120:
            raise RuntimeError(f"task did not reach RUNNING: {t}\n{b.log_path.read_text()[-3000:]}")
        time.sleep(poll_s)
    ecs.stop_task(cluster="default", task=arn, reason="bench")
    deadline = time.time() + 60
    while ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]["lastStatus"] != "STOPPED":
        if time.time() > deadline:
            raise RuntimeError("task did not stop")
        time.sleep(0.05)
    # The task's stopped container (berth's agent leaves it, as ECS's does for a while): removed,
    # so that a cold run finds no layer of the image.
    ids = run("docker", "ps", "-aq", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}", check=False).stdout.split()
    if ids:
        run("docker", "rm", "-f", *ids, check=False)
    return dict(seconds=dt, run_task_call=t_run, polls=polls, arn=arn, wall0=wall0)


EVENTS = ("starting task", "pulling", "pulled", "pull reported", "started", "running", "running reported")


def agent_events(log_path: Path) -> dict:
    """task ARN -> {event: unix seconds}, from the agent's log lines."""
    import datetime
    import re
    out = {}
    pat = re.compile(r"^(\S+Z)\s+\w+\s+berth_agent::agent: (.+?) task=(\S+)")
    for line in log_path.read_text(errors="replace").splitlines():
        m = pat.match(re.sub(r"\x1b\[[0-9;]*m", "", line))
        if not m or m.group(2) not in EVENTS:
            continue
        ts = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
        out.setdefault(m.group(3), {}).setdefault(m.group(2), ts)
    return out


def breakdown(detail: list, events: dict) -> list:
    """Per run: milliseconds of each step, from RunTask's start to DescribeTasks seeing RUNNING."""
    rows = []
    for r in detail:
        ev = events.get(r["arn"], {})
        if not all(e in ev for e in EVENTS):
            continue
        marks = [r["wall0"]] + [ev[e] for e in EVENTS]
        rows.append([(b - a) * 1000 for a, b in zip(marks, marks[1:])])
    return rows


STEPS = ("RunTask → agent has the task (RunTask call, long poll wakes)",
         "registry credentials (GetSecretValue as the execution role)",
         "pull (Engine API)", "PULLED reported", "create + start (Engine API)",
         "inspect", "RUNNING reported (committed)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--berth", required=True)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--poll-ms", type=float, default=25.0)
    p.add_argument("--json-out")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="berth-task-start-"))
    reg = b = None
    engine = Engine()
    res = {k: [] for k in ("cli_cold", "cli_warm", "api_cold", "api_warm", "berth_cold", "berth_warm")}
    berth_detail = {"berth_cold": [], "berth_warm": []}
    try:
        reg = Registry(work)
        b = Berth(args.berth, work)
        family = setup_berth(b, reg)
        # One untimed round of each, so that the first measured one is not paying for setup.
        direct_cli(reg, cold=True)
        berth_start(b, reg, family, cold=True, poll_s=args.poll_ms / 1000)
        for i in range(args.runs):
            for cold in (True, False):
                tag = "cold" if cold else "warm"
                res[f"cli_{tag}"].append(direct_cli(reg, cold))
                res[f"api_{tag}"].append(direct_api(engine, reg, cold))
                r = berth_start(b, reg, family, cold, args.poll_ms / 1000)
                res[f"berth_{tag}"].append(r["seconds"])
                berth_detail[f"berth_{tag}"].append(r)
            print(f"  round {i + 1}/{args.runs}: " + ", ".join(
                f"{k} {v[-1] * 1000:.0f} ms" for k, v in res.items()), file=sys.stderr)
        events = agent_events(b.log_path)
        # berth's time: RunTask's start to the committed RUNNING report.
        for tag in ("cold", "warm"):
            res[f"berth_{tag}_polled"] = res[f"berth_{tag}"]
            res[f"berth_{tag}"] = [
                events[r["arn"]]["running reported"] - r["wall0"]
                for r in berth_detail[f"berth_{tag}"]
                if "running reported" in events.get(r["arn"], {})
            ]
    finally:
        if b:
            b.stop()
            if os.environ.get("BENCH_KEEP_LOG"):
                shutil.copy(b.log_path, os.environ["BENCH_KEEP_LOG"])
        remove_labelled()
        if reg:
            remove_image(reg.image)
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) * 1000 for k, v in res.items() if v}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(dict(runs=res, berth_detail=berth_detail, median_ms=med), indent=2))
    print()
    print(f"| cache | direct `docker pull` + `docker run -d` (CLI) | direct, Engine API | berth RunTask → RUNNING "
          f"| berth − CLI | berth − Engine API | berth / Engine API | berth, seen by DescribeTasks polling |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for tag in ("cold", "warm"):
        c, a, bt = med[f"cli_{tag}"], med[f"api_{tag}"], med[f"berth_{tag}"]
        print(f"| {tag} | {c:.1f} ms | {a:.1f} ms | {bt:.1f} ms | {bt - c:+.1f} ms | {bt - a:+.1f} ms | {bt / a:.2f}× "
              f"| {med[f'berth_{tag}_polled']:.1f} ms |")
    print(f"(medians of {args.runs}; DescribeTasks polled every {args.poll_ms:g} ms)")
    print()
    print("Where berth's time goes (medians, ms; from the agent's log timestamps):")
    print()
    print("| step | cold | warm |")
    print("|---|---:|---:|")
    parts = {tag: breakdown(berth_detail[f"berth_{tag}"], events) for tag in ("cold", "warm")}
    for i, step in enumerate(STEPS):
        cells = []
        for tag in ("cold", "warm"):
            rows = parts[tag]
            cells.append(f"{statistics.median(r[i] for r in rows):.1f}" if rows else "–")
        print(f"| {step} | {cells[0]} | {cells[1]} |")
    if args.json_out:
        data = json.loads(Path(args.json_out).read_text())
        data["breakdown_ms"] = {"steps": STEPS, **parts}
        Path(args.json_out).write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
