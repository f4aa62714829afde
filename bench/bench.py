"""berth's benchmarks against moto, measured in the same run; run through `bench/run`.

- API: GetSecretValue (also as users with 1 and with 10 attached customer-managed policies,
  only one allowing: the cost of a decision over ten documents), RegisterTaskDefinition, DescribeTasks, GetParameter (a SecureString,
  WithDecryption), PutLogEvents (batches of 100 and of 1,000 events), GetLogEvents (a page of
  100 events), KMS Sign (ECC P-256, RSA 2048) and GenerateDataKey sent by `berth-bench` (Rust, SigV4-signed per request) as a non-root IAM user with a
  real policy, the secret and the parameter under a customer-managed KMS key — against berth
  (release) and against moto_server, same request
  shapes, same connections. Throughput at --concurrency connections; latency also at 1.
- TLS: GetSecretValue on a `berth server --tls-cert/--tls-key` beside the same call on plain
  HTTP, two berth servers in the same run, same loader (keep-alive connections: the handshake is
  paid once per connection; a throwaway CA and certificate made with the openssl CLI).
- Replicas (with --database-url): GetSecretValue and RegisterTaskDefinition through HAProxy in
  front of two berth servers on that database (the configuration tests/e2e/test_replicas.py
  runs and docs/deploy.md shows), beside one server on it and on SQLite.
- Startup: process start to `/_berth/health` 200 (fresh data dir, and restart on a full one);
  VmRSS idle, and after 10,000 secrets and 1,000 task definitions.

Prints a table and writes the numbers as JSON (--json-out).
"""

import argparse
import json
import os
import resource
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
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT_BERTH = "000000000000"
ROOT_KEY = "AKIABENCHROOT0000001"
ROOT_SECRET = "benchRootSecretKey/For+Berth00000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, proc, timeout=30.0, poll=0.001, context=None) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as r:
                if r.status == 200:
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(poll)
    raise RuntimeError(f"{url} not ready after {timeout}s")


class Server:
    def __init__(self, kind: str, args, data_dir: Path | None = None, tls: dict | None = None,
                 database_url: str | None = None):
        """`tls`: {"cert", "key", "ca"} paths for a berth server on TLS."""
        self.kind = kind
        self.port = free_port()
        self.ca = tls["ca"] if tls else None
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        env = dict(os.environ)
        context = None
        if kind == "berth":
            env.update(BERTH_ROOT_ACCESS_KEY_ID=ROOT_KEY, BERTH_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET,
                       RUST_LOG="warn")
            env.pop("BERTH_DATABASE_URL", None)
            if database_url:
                env["BERTH_DATABASE_URL"] = database_url
            cmd = [args.berth, "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir)]
            if tls:
                cmd += ["--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])]
                import ssl

                context = ssl.create_default_context(cafile=str(tls["ca"]))
            health = self.endpoint + "/_berth/health"
        else:
            cmd = [args.moto, "-H", "127.0.0.1", "-p", str(self.port)]
            health = self.endpoint + "/moto-api/"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{kind}-", suffix=".log", delete=False)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.startup_s = wait_http(health, self.proc, context=context) - t0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def client(self, service, key=ROOT_KEY, secret=ROOT_SECRET):
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=key, aws_secret_access_key=secret,
            verify=str(self.ca) if self.ca else None,
            config=Config(retries={"max_attempts": 1}))


def setup(srv: Server) -> dict:
    """The same resources on both: a CMK, a secret under it, a user with a 5-statement policy and
    an access key, a task definition, and one task placed on a registered instance."""
    iam, kms, sm, ecs, ssm = (srv.client(s) for s in ("iam", "kms", "secretsmanager", "ecs", "ssm"))
    key_arn = kms.create_key(Description="bench CMK")["KeyMetadata"]["Arn"]
    secret_arn = sm.create_secret(Name="bench/db", KmsKeyId=key_arn,
                                  SecretString='{"username":"app","password":"bench-secret-value"}')["ARN"]
    ssm.put_parameter(Name="/bench/db/password", Value="bench-parameter-value", Type="SecureString",
                      KeyId=key_arn)
    account = secret_arn.split(":")[4]
    param_arn = f"arn:aws:ssm:{REGION}:{account}:parameter/bench/db/password"
    user_arn = iam.create_user(UserName="bench")["User"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "ssm:GetParameter"],
         "Resource": [secret_arn, param_arn]},
        {"Sid": "Key", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": [f"secretsmanager.{REGION}.amazonaws.com",
                                                          f"ssm.{REGION}.amazonaws.com"]}}},
        {"Sid": "Ecs", "Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTasks"],
         "Resource": "*"},
        {"Sid": "Self", "Effect": "Allow", "Action": "iam:GetUser", "Resource": user_arn},
        {"Sid": "NoAdmin", "Effect": "Deny", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:*:*:secret:admin/*"},
    ]}
    iam.put_user_policy(UserName="bench", PolicyName="bench", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName="bench")["AccessKey"]
    ecs.create_cluster(clusterName="default")
    ecs.register_task_definition(family="bench-describe",
                                 containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}])
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                 {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192}]
    version = {"agentVersion": "1.80.0", "agentHash": "bench", "dockerVersion": "24.0.0"}
    if srv.kind == "moto":
        # moto wants an EC2 instance behind a container instance.
        ec2 = srv.client("ec2")
        image = ec2.describe_images()["Images"][0]["ImageId"]
        iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        ecs.register_container_instance(cluster="default", totalResources=resources, versionInfo=version,
                                        instanceIdentityDocument=json.dumps({"instanceId": iid}))
    else:
        ecs.register_container_instance(cluster="default", totalResources=resources, versionInfo=version)
    out = ecs.run_task(cluster="default", taskDefinition="bench-describe")
    if out.get("failures"):
        raise RuntimeError(f"{srv.kind}: run_task failed: {out['failures']}")
    res = dict(key=k["AccessKeyId"], secret=k["SecretAccessKey"], secret_arn=secret_arn,
               task_arn=out["tasks"][0]["taskArn"])
    res.update(setup_logs(srv, iam))
    res.update(setup_kms(srv, iam, kms, key_arn))
    res["keys_by_op"] = setup_managed(srv, iam, secret_arn, key_arn)
    return res


def setup_managed(srv: Server, iam, secret_arn: str, key_arn: str) -> dict:
    """Customer-managed policies: `bench-allow` (GetSecretValue on the secret, Decrypt through
    Secrets Manager on its key) and nine of five statements each on other resources that allow
    nothing of the call (ECS, SSM, Logs, other secrets and keys, one Deny on other secrets).
    User `bench-1p` has `bench-allow` attached; user `bench-10p` the nine and then
    `bench-allow` (10 attached policies: IAM's default quota per user), so that berth's
    decision reads and looks through all ten. moto does not enforce IAM: there the policies
    are stored and not evaluated."""
    account = secret_arn.split(":")[4]
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}}]}

    def other(i: int) -> dict:
        return {"Version": "2012-10-17", "Statement": [
            {"Sid": "Ecs", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*", "ecs:RunTask"],
             "Resource": f"arn:aws:ecs:*:{account}:task-definition/app-{i}:*"},
            {"Sid": "Team", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": f"arn:aws:secretsmanager:{REGION}:{account}:secret:team-{i}/*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}}},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": f"arn:aws:kms:{REGION}:{account}:key/{i:08}-aaaa-bbbb-cccc-dddddddddddd"},
            {"Sid": "Params", "Effect": "Allow", "Action": "ssm:GetParameter*",
             "Resource": f"arn:aws:ssm:{REGION}:{account}:parameter/team-{i}/*"},
            {"Sid": "NoAdmin", "Effect": "Deny", "Action": "secretsmanager:*",
             "Resource": f"arn:aws:secretsmanager:*:{account}:secret:admin-{i}/*"}]}

    arns = [iam.create_policy(PolicyName=f"bench-other-{i}", PolicyDocument=json.dumps(other(i)))["Policy"]["Arn"]
            for i in range(9)]
    allow_arn = iam.create_policy(PolicyName="bench-allow", PolicyDocument=json.dumps(allow))["Policy"]["Arn"]
    keys = {}
    for user, attached in (("bench-1p", [allow_arn]), ("bench-10p", arns + [allow_arn])):
        iam.create_user(UserName=user)
        for arn in attached:
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
        k = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
    return {"GetSecretValue (1 managed policy)": keys["bench-1p"],
            "GetSecretValue (10 managed policies)": keys["bench-10p"]}


def setup_kms(srv: Server, iam, kms, key_arn: str) -> dict:
    """KMS: an ECC P-256 and an RSA 2048 signing key, and an IAM user `bench-kms` allowed Sign on
    them and GenerateDataKey on the symmetric key (the keys' default policies delegate to IAM)."""
    ecc = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    iam.create_user(UserName="bench-kms")
    iam.put_user_policy(UserName="bench-kms", PolicyName="kms", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:Sign", "Resource": [ecc, rsa]},
            {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}]}))
    k = iam.create_access_key(UserName="bench-kms")["AccessKey"]
    return dict(kms_key=k["AccessKeyId"], kms_secret=k["SecretAccessKey"], ecc_arn=ecc, rsa_arn=rsa,
                key_arn=key_arn)


def setup_logs(srv: Server, iam) -> dict:
    """CloudWatch Logs: a log group with a stream to write and one of 100 events to read, and
    an IAM user `bench-logs` allowed PutLogEvents and GetLogEvents on the group's streams."""
    logs = srv.client("logs")
    logs.create_log_group(logGroupName="bench")
    for stream in ("write", "read"):
        logs.create_log_stream(logGroupName="bench", logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="bench", logStreamName="read", logEvents=[
        {"timestamp": now - 1000 + i, "message": f"bench read event {i} " + "x" * 60} for i in range(100)])
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT_BERTH if srv.kind == 'berth' else '123456789012'}:log-group:bench:*"
    iam.create_user(UserName="bench-logs")
    iam.put_user_policy(UserName="bench-logs", PolicyName="logs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"], "Resource": arn}]}))
    k = iam.create_access_key(UserName="bench-logs")["AccessKey"]
    return dict(logs_key=k["AccessKeyId"], logs_secret=k["SecretAccessKey"])


def put_log_events_body(batch: int) -> str:
    """A PutLogEvents batch of `batch` events of 70 bytes, timestamped at the start of the run
    (each request sends the same timestamps: AWS requires order within a batch only), compact
    JSON: the load generator takes the body as one argument (at most 128 KiB)."""
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i // 10, "message": f"event {i:04} " + "y" * 59} for i in range(batch)]
    events[0]["message"] = "request {n} " + events[0]["message"]
    return json.dumps({"logGroupName": "bench", "logStreamName": "write", "logEvents": events},
                      separators=(",", ":"))


def ops(res: dict):
    return [
        ("GetSecretValue", "secretsmanager", "secretsmanager.GetSecretValue",
         json.dumps({"SecretId": "bench/db"})),
        # The same call as users with 1 and with 10 attached customer-managed policies.
        ("GetSecretValue (1 managed policy)", "secretsmanager", "secretsmanager.GetSecretValue",
         json.dumps({"SecretId": "bench/db"})),
        ("GetSecretValue (10 managed policies)", "secretsmanager", "secretsmanager.GetSecretValue",
         json.dumps({"SecretId": "bench/db"})),
        ("RegisterTaskDefinition", "ecs", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
         '{"family":"bench-app","containerDefinitions":[{"name":"app","image":"busybox","memory":64,'
         '"environment":[{"name":"N","value":"{n}"}]}]}'),
        ("DescribeTasks", "ecs", "AmazonEC2ContainerServiceV20141113.DescribeTasks",
         json.dumps({"cluster": "default", "tasks": [res["task_arn"]]})),
        ("GetParameter", "ssm", "AmazonSSM.GetParameter",
         json.dumps({"Name": "/bench/db/password", "WithDecryption": True})),
        ("PutLogEvents (100 events)", "logs", "Logs_20140328.PutLogEvents", put_log_events_body(100)),
        ("PutLogEvents (1000 events)", "logs", "Logs_20140328.PutLogEvents", put_log_events_body(1000)),
        ("GetLogEvents (100 events)", "logs", "Logs_20140328.GetLogEvents",
         json.dumps({"logGroupName": "bench", "logStreamName": "read", "startFromHead": True})),
        ("Sign (ECC P-256)", "kms", "TrentService.Sign",
         json.dumps({"KeyId": res["ecc_arn"], "Message": "YmVuY2ggbWVzc2FnZQ==", "SigningAlgorithm": "ECDSA_SHA_256"})),
        ("Sign (RSA 2048)", "kms", "TrentService.Sign",
         json.dumps({"KeyId": res["rsa_arn"], "Message": "YmVuY2ggbWVzc2FnZQ==",
                     "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"})),
        ("GenerateDataKey", "kms", "TrentService.GenerateDataKey",
         json.dumps({"KeyId": res["key_arn"], "KeySpec": "AES_256"})),
    ]


def batch_of(op: str) -> int:
    """The events per request of a PutLogEvents row, 0 for the others."""
    if op.startswith("PutLogEvents ("):
        return int(op.split("(")[1].split()[0])
    return 0


def load(args, srv: Server, key, secret, service, target, body, concurrency, duration=None, requests=None,
         warmup=1.0) -> dict:
    cmd = [args.loadgen, "--endpoint", srv.endpoint, "--access-key", key, "--secret-key", secret,
           "--service", service, "--target", target, "--body", body, "--concurrency", str(concurrency),
           "--threads", str(args.client_threads), "--warmup", str(warmup)]
    if srv.ca:
        cmd += ["--ca-file", str(srv.ca)]
    cmd += ["--duration", str(duration)] if duration is not None else ["--requests", str(requests)]
    pids = [srv.a.proc.pid, srv.b.proc.pid] if isinstance(srv, Replicas) else [srv.proc.pid]
    client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = sum(cpu_seconds(pid) for pid in pids)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    server1 = sum(cpu_seconds(pid) for pid in pids)
    client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    # CPU per request (warm-up included in both CPU and count, so over all requests sent): the
    # server's from /proc, the load generator's from rusage. Less sensitive to a noisy machine
    # than requests per second.
    r["server_cpu_us_per_req"] = (server1 - server0) * 1e6 / max(r["sent_total"], 1)
    r["client_cpu_us_per_req"] = 0.0
    client_cpu = (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)
    r["client_cpu_us_per_req"] = client_cpu * 1e6 / max(r["sent_total"], 1)
    if r["errors"]:
        print(f"  ! {srv.kind} {target}: {r['errors']} errors, first: {r['first_error']}", file=sys.stderr)
    return r


def bench_api(args) -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    berth = Server("berth", args, tmp / "data")
    moto = Server("moto", args)
    try:
        res = {"berth": setup(berth), "moto": setup(moto)}
        for name, service, target, body in ops(res["berth"]):
            if args.only and not any(name.startswith(o) for o in args.only.split(",")):
                continue
            row = {"op": name}
            for kind, srv in (("berth", berth), ("moto", moto)):
                r = res[kind]
                # Task and key ARNs differ between the two servers.
                body_k = body if name.startswith("PutLogEvents") else next(
                    b for n, _, _, b in ops(r) if n == name)
                key, secret = r["keys_by_op"].get(name) or {
                    "logs": (r["logs_key"], r["logs_secret"]),
                    "kms": (r["kms_key"], r["kms_secret"])}.get(service, (r["key"], r["secret"]))
                thr = load(args, srv, key, secret, service, target, body_k, args.concurrency,
                           duration=args.duration)
                lat = load(args, srv, key, secret, service, target, body_k, 1,
                           duration=args.latency_duration)
                row[kind] = {"throughput": thr, "latency_c1": lat}
                if kind == "berth" and name in args.curve_ops.split(","):
                    # Latency against load: p99 at a few connection counts, berth only.
                    row["curve"] = []
                    for c in (int(x) for x in args.curve.split(",") if x):
                        pt = load(args, srv, r["key"], r["secret"], service, target, body_k, c,
                                  duration=args.latency_duration)
                        row["curve"].append({"concurrency": c, **pt})
                        print(f"  {name:<24} berth  @{c}: {pt['rps']:>9.0f} req/s, p50 {pt['p50_ms']:.2f} ms, "
                              f"p99 {pt['p99_ms']:.2f} ms", file=sys.stderr)
                print(f"  {name:<24} {kind:<6} {thr['rps']:>9.0f} req/s @{args.concurrency} "
                      f"(p50 {thr['p50_ms']:.2f} ms, p99 {thr['p99_ms']:.2f} ms, errors {thr['errors']}); "
                      f"@1: p50 {lat['p50_ms']:.3f} ms p99 {lat['p99_ms']:.3f} ms; CPU/req server {thr['server_cpu_us_per_req']:.0f} us, "
                      f"client {thr['client_cpu_us_per_req']:.0f} us", file=sys.stderr)
            row["ratio"] = row["berth"]["throughput"]["rps"] / max(row["moto"]["throughput"]["rps"], 1e-9)
            row["cpu_ratio"] = row["moto"]["throughput"]["server_cpu_us_per_req"] / max(
                row["berth"]["throughput"]["server_cpu_us_per_req"], 1e-9)
            rows.append(row)
        if args.database_url:
            rows += bench_postgres(args, tmp, rows)
    finally:
        berth.stop()
        moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def make_tls(dir: Path) -> dict:
    """A throwaway CA and a certificate for 127.0.0.1 it signed (openssl CLI)."""
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, timeout=60)  # noqa: E731
    ca_key, ca, key, csr, cert, ext = (dir / n for n in ("ca.key", "ca.pem", "tls.key", "tls.csr", "tls.pem", "ext"))
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca), "-days", "1", "-subj", "/CN=berth bench CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "1", "-extfile", str(ext))
    return {"cert": cert, "key": key, "ca": ca}


def bench_tls(args) -> list[dict]:
    """GetSecretValue on TLS and on plain HTTP: two berth servers, same run, same loader."""
    tmp = Path(tempfile.mkdtemp(prefix="berth-bench-tls-"))
    servers = {"plain": Server("berth", args, tmp / "plain"),
               "tls": Server("berth", args, tmp / "tls", tls=make_tls(tmp))}
    rows = []
    try:
        for transport, srv in servers.items():
            r = setup(srv)
            name, service, target, body = next(o for o in ops(r) if o[0] == "GetSecretValue")
            thr = load(args, srv, r["key"], r["secret"], service, target, body, args.concurrency,
                       duration=args.duration)
            lat = load(args, srv, r["key"], r["secret"], service, target, body, 1,
                       duration=args.latency_duration)
            rows.append({"op": name, "transport": transport, "throughput": thr, "latency_c1": lat})
            print(f"  {name:<24} {transport:<6} {thr['rps']:>9.0f} req/s @{args.concurrency} "
                  f"(p50 {thr['p50_ms']:.2f} ms, p99 {thr['p99_ms']:.2f} ms, errors {thr['errors']}); "
                  f"@1: p50 {lat['p50_ms']:.3f} ms p99 {lat['p99_ms']:.3f} ms; "
                  f"server CPU/req {thr['server_cpu_us_per_req']:.0f} us", file=sys.stderr)
    finally:
        for srv in servers.values():
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# The operations measured again with berth's state in PostgreSQL (--database-url): a read and a
# write, beside the SQLite rows and moto's numbers of the same run.
POSTGRES_OPS = ("GetSecretValue", "RegisterTaskDefinition")


def haproxy_config(listen: str, replica_a: str, replica_b: str) -> str:
    """The HAProxy configuration of tests/e2e/haproxy.py (and docs/deploy.md), read from there."""
    import ast  # noqa: PLC0415

    source = (Path(__file__).resolve().parents[1] / "tests" / "e2e" / "haproxy.py").read_text()
    template = next(
        node.value.value for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "TEMPLATE" for t in node.targets)
    )
    return template.format(listen=listen, replica_a=replica_a, replica_b=replica_b)


class HAProxy:
    """haproxy in the foreground on a free port in front of two berth servers."""

    def __init__(self, tmp: Path, a: Server, b: Server):
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.kind = "haproxy"
        self.ca = None
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        config = tmp / "haproxy.cfg"
        config.write_text(haproxy_config(f"127.0.0.1:{self.port}", f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"))
        self.log = tempfile.NamedTemporaryFile(prefix="bench-haproxy-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        # Both replicas in rotation before anything is measured: a few rounds of health.
        for _ in range(4):
            wait_http(self.endpoint + "/_berth/health", self.proc)

    def stop(self):
        Server.stop(self)


class Replicas:
    """Two berth servers on one database behind HAProxy, measured as one: CPU is summed over both
    replicas (HAProxy's own is not counted)."""

    def __init__(self, proxy: HAProxy, a: Server, b: Server):
        self.proxy, self.a, self.b = proxy, a, b
        self.kind, self.ca, self.endpoint = "berth", None, proxy.endpoint


def bench_postgres(args, tmp: Path, sqlite_rows: list[dict]) -> list[dict]:
    rows = []
    srv = Server("berth", args, tmp / "data-pg", database_url=args.database_url)
    second = proxy = None
    try:
        r = setup(srv)
        # The second replica: the same database and root key, a data directory of its own.
        (tmp / "data-pg-b").mkdir()
        shutil.copy2(tmp / "data-pg" / "root.key", tmp / "data-pg-b" / "root.key")
        second = Server("berth", args, tmp / "data-pg-b", database_url=args.database_url)
        proxy = HAProxy(tmp, srv, second)
        replicas = Replicas(proxy, srv, second)
        for name, service, target, body in ops(r):
            if name not in POSTGRES_OPS:
                continue
            same = next((row for row in sqlite_rows if row["op"] == name), None)
            if same is None:
                continue
            for label, target_srv in (("PostgreSQL", srv), ("PostgreSQL, 2 replicas behind HAProxy", replicas)):
                thr = load(args, target_srv, r["key"], r["secret"], service, target, body, args.concurrency,
                           duration=args.duration)
                lat = load(args, target_srv, r["key"], r["secret"], service, target, body, 1,
                           duration=args.latency_duration)
                row = {"op": f"{name} ({label})", "berth": {"throughput": thr, "latency_c1": lat},
                       "moto": same["moto"]}
                row["ratio"] = thr["rps"] / max(same["moto"]["throughput"]["rps"], 1e-9)
                row["cpu_ratio"] = same["moto"]["throughput"]["server_cpu_us_per_req"] / max(
                    thr["server_cpu_us_per_req"], 1e-9)
                print(f"  {row['op']:<24} berth  {thr['rps']:>9.0f} req/s @{args.concurrency} "
                      f"(p50 {thr['p50_ms']:.2f} ms, p99 {thr['p99_ms']:.2f} ms, errors {thr['errors']}); "
                      f"@1: p50 {lat['p50_ms']:.3f} ms p99 {lat['p99_ms']:.3f} ms", file=sys.stderr)
                rows.append(row)
    finally:
        for s in (proxy, second, srv):
            if s is not None:
                s.stop()
    return rows


def bench_startup(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="berth-start-"))
    try:
        fresh = []
        for i in range(args.startup_runs):
            s = Server("berth", args, tmp / f"fresh{i}")
            fresh.append(s.startup_s)
            s.stop()
        s = Server("berth", args, tmp / "full")
        time.sleep(1.0)
        idle = rss_kib(s.proc.pid)
        t0 = time.perf_counter()
        load(args, s, ROOT_KEY, ROOT_SECRET, "secretsmanager", "secretsmanager.CreateSecret",
             '{"Name":"fill/secret-{n}","SecretString":"fill-value-{n}",'
             '"ClientRequestToken":"fill-token-{n}-00000000000000000000000"}', 8, requests=args.fill_secrets)
        load(args, s, ROOT_KEY, ROOT_SECRET, "ecs", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
             '{"family":"fill-{n}","containerDefinitions":[{"name":"app","image":"busybox","memory":64}]}',
             8, requests=args.fill_taskdefs)
        fill_s = time.perf_counter() - t0
        time.sleep(1.0)
        full = rss_kib(s.proc.pid)
        # Touch them: a GetSecretValue sweep over a sample, then RSS again.
        load(args, s, ROOT_KEY, ROOT_SECRET, "secretsmanager", "secretsmanager.ListSecrets",
             '{"MaxResults":100}', 4, requests=200)
        after_reads = rss_kib(s.proc.pid)
        s.stop()
        restarts = []
        for _ in range(args.startup_runs):
            s = Server("berth", args, tmp / "full")
            restarts.append(s.startup_s)
            restart_rss = rss_kib(s.proc.pid)
            s.stop()
        db = sum(f.stat().st_size for f in (tmp / "full").iterdir())
        return dict(startup_fresh_ms=[x * 1000 for x in fresh], startup_full_ms=[x * 1000 for x in restarts],
                    rss_idle_kib=idle, rss_full_kib=full, rss_after_list_kib=after_reads,
                    rss_restart_full_kib=restart_rss, fill_seconds=fill_s, data_dir_bytes=db,
                    fill_secrets=args.fill_secrets, fill_taskdefs=args.fill_taskdefs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--berth", required=True)
    p.add_argument("--loadgen", required=True)
    p.add_argument("--moto", required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--client-threads", type=int, default=1)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--latency-duration", type=float, default=5)
    p.add_argument("--startup-runs", type=int, default=5)
    p.add_argument("--fill-secrets", type=int, default=10000)
    p.add_argument("--fill-taskdefs", type=int, default=1000)
    p.add_argument("--curve", default="2,4,8",
                   help="connection counts at which berth's latency is also measured (comma-separated)")
    p.add_argument("--curve-ops", default="GetSecretValue",
                   help="operations measured at --curve (comma-separated)")
    p.add_argument("--only", default="",
                   help="measure only the operations whose names start with one of these (comma-separated)")
    p.add_argument("--json-out")
    p.add_argument("--database-url", default="",
                   help="an empty PostgreSQL database: GetSecretValue and RegisterTaskDefinition are "
                        "measured again with berth's state in it (rows '… (PostgreSQL)')")
    p.add_argument("--skip-api", action="store_true")
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--skip-tls", action="store_true")
    args = p.parse_args()
    result = {}
    if not args.skip_api:
        print("API (berth vs moto, same run):", file=sys.stderr)
        result["api"] = bench_api(args)
    if not args.skip_tls:
        print("TLS (GetSecretValue, berth on TLS vs plain HTTP, same run):", file=sys.stderr)
        result["tls"] = bench_tls(args)
    if not args.skip_startup:
        print("startup and memory:", file=sys.stderr)
        result["startup"] = bench_startup(args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))

    print()
    if "api" in result:
        print(f"| operation | berth req/s @{args.concurrency} | moto req/s @{args.concurrency} | ratio | "
              f"berth p50 / p99 @{args.concurrency} (ms) | berth p50 / p99 @1 (ms) | moto p50 / p99 @1 (ms) | "
              f"server CPU µs/req berth / moto (ratio) | loadgen CPU µs/req |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in result["api"]:
            b, m = row["berth"], row["moto"]
            print(f"| {row['op']} | {b['throughput']['rps']:.0f} | {m['throughput']['rps']:.0f} | "
                  f"{row['ratio']:.1f}x | {b['throughput']['p50_ms']:.2f} / {b['throughput']['p99_ms']:.2f} | "
                  f"{b['latency_c1']['p50_ms']:.3f} / {b['latency_c1']['p99_ms']:.3f} | "
                  f"{m['latency_c1']['p50_ms']:.2f} / {m['latency_c1']['p99_ms']:.2f} | "
                  f"{b['throughput']['server_cpu_us_per_req']:.0f} / {m['throughput']['server_cpu_us_per_req']:.0f} "
                  f"({row['cpu_ratio']:.1f}x) | {b['throughput']['client_cpu_us_per_req']:.0f} |")
        errs = sum(r[k]["throughput"]["errors"] + r[k]["latency_c1"]["errors"] for r in result["api"]
                   for k in ("berth", "moto"))
        print(f"(errors during measurement: {errs})")
        if any("managed polic" in r["op"] for r in result["api"]):
            print("(the managed-policy rows: moto stores IAM policies and does not evaluate them, so its "
                  "numbers there are the call without a decision; berth decides every call)")
        batches = [r for r in result["api"] if batch_of(r["op"])]
        if batches:
            print()
            print(f"| operation | berth events/s @{args.concurrency} | moto events/s @{args.concurrency} | ratio |")
            print("|---|---:|---:|---:|")
            for row in batches:
                n = batch_of(row["op"])
                print(f"| {row['op']} | {row['berth']['throughput']['rps'] * n:.0f} | "
                      f"{row['moto']['throughput']['rps'] * n:.0f} | {row['ratio']:.1f}x |")
        curves = [r for r in result["api"] if r.get("curve")]
        if curves:
            print()
            print("| operation | connections | berth req/s | p50 (ms) | p99 (ms) |")
            print("|---|---:|---:|---:|---:|")
            for row in curves:
                pts = [{"concurrency": 1, **row["berth"]["latency_c1"]}] + row["curve"] + [
                    {"concurrency": args.concurrency, **row["berth"]["throughput"]}]
                for pt in sorted(pts, key=lambda x: x["concurrency"]):
                    print(f"| {row['op']} | {pt['concurrency']} | {pt['rps']:.0f} | {pt['p50_ms']:.2f} | "
                          f"{pt['p99_ms']:.2f} |")
    if "tls" in result:
        print()
        print(f"| GetSecretValue | req/s @{args.concurrency} | p50 / p99 @{args.concurrency} (ms) | "
              f"p50 / p99 @1 (ms) | server CPU µs/req | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for row in result["tls"]:
            t, lat = row["throughput"], row["latency_c1"]
            print(f"| berth, {'TLS' if row['transport'] == 'tls' else 'plain HTTP'} | {t['rps']:.0f} | "
                  f"{t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {lat['p50_ms']:.3f} / {lat['p99_ms']:.3f} | "
                  f"{t['server_cpu_us_per_req']:.0f} | {t['errors'] + lat['errors']} |")
    if "startup" in result:
        s = result["startup"]
        print()
        print("| measure | value | target |")
        print("|---|---:|---:|")
        print(f"| start to /_berth/health 200, fresh data dir (median of {len(s['startup_fresh_ms'])}) | "
              f"{statistics.median(s['startup_fresh_ms']):.1f} ms | < 100 ms |")
        print(f"| start to /_berth/health 200, {s['fill_secrets']} secrets + {s['fill_taskdefs']} task defs "
              f"(median of {len(s['startup_full_ms'])}) | {statistics.median(s['startup_full_ms']):.1f} ms | < 100 ms |")
        print(f"| VmRSS idle | {s['rss_idle_kib'] / 1024:.1f} MiB | < 64 MiB |")
        print(f"| VmRSS after {s['fill_secrets']} secrets + {s['fill_taskdefs']} task defs | "
              f"{s['rss_full_kib'] / 1024:.1f} MiB | < 64 MiB |")
        print(f"| VmRSS after that + 200 ListSecrets pages | {s['rss_after_list_kib'] / 1024:.1f} MiB | < 64 MiB |")
        print(f"| VmRSS right after restart on the full data dir | {s['rss_restart_full_kib'] / 1024:.1f} MiB | |")
        print(f"| data dir size, full | {s['data_dir_bytes'] / 2**20:.1f} MiB | |")


if __name__ == "__main__":
    main()
