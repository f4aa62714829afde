"""TLS on berth's listener (`--tls-cert` / `--tls-key`, reloaded on SIGHUP), the clients that
trust it (the AWS CLI's `--ca-bundle`, boto3's `verify=`, `berth agent --ca-file`, `berth up`
calling itself, `berth doctor` with `AWS_CA_BUNDLE`), and `berth backup` while serving.

Every certificate is made here: a throwaway CA and leaves for 127.0.0.1 (Python's
`cryptography`)."""

import datetime
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import REGION, Berth, berth_bin, sqlite_only, stop_process
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from test_agent import AgentProcess, PrivateApp, assert_succeeded, creds, wait_for_instance, wait_stopped
from test_doctor import doctor, register, role, tls_registry  # noqa: F401
from helpers import allow


class Pki:
    """A CA and leaves it signs for 127.0.0.1, as PEM files in `dir`."""

    def __init__(self, dir: Path):
        self.dir = dir
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth e2e CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_name = name
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file = dir / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))

    def leaf(self, stem: str):
        """Writes `<stem>.pem` and `<stem>.key`; returns (cert path, key path, SHA-256 of the DER)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        import ipaddress

        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(self.ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            ]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_path, key_path = self.dir / f"{stem}.pem", self.dir / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class TlsBerth(Berth):
    """`berth server` with --tls-cert / --tls-key; clients trust `ca_file`."""

    def __init__(self, data_dir, cert, key, ca_file, **kw):
        self.cert, self.key, self.ca_file = cert, key, ca_file
        super().__init__(data_dir, extra_args=("--tls-cert", str(cert), "--tls-key", str(key)), **kw)

    def _start(self, *a):
        super()._start(*a)
        self.endpoint = f"https://127.0.0.1:{self.port}"

    def context(self):
        return ssl.create_default_context(cafile=str(self.ca_file))

    def wait_ready(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berth exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_berth/health", timeout=1, context=self.context()) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"berth not ready after {timeout}s:\n{self.log()}")

    def client(self, service, creds=None, region=REGION, verify=None):
        c = creds or self.root
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
            aws_session_token=c.session_token, verify=str(self.ca_file) if verify is None else verify,
            config=Config(retries={"max_attempts": 1}),
        )

    def served_fingerprint(self) -> str:
        """SHA-256 of the certificate a new handshake is given."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with self.context().wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


@pytest.fixture
def tls_berth(tmp_path, pki):
    cert, key, _ = pki.leaf("server")
    b = TlsBerth(tmp_path / "data", cert, key, pki.ca_file)
    yield b
    b.stop()


def cli(berth, *args, ca_bundle=None):
    extra = ["--ca-bundle", str(ca_bundle)] if ca_bundle else []
    return berth.aws(*extra, *args)


def test_aws_cli_and_boto3_talk_to_berth_over_tls(tls_berth, pki):
    b = tls_berth
    code, out, err = cli(b, "secretsmanager", "create-secret", "--name", "tls/one", "--secret-string", "s3cret",
                         ca_bundle=pki.ca_file)
    assert code == 0, err
    assert json.loads(out)["Name"] == "tls/one"
    code, out, err = cli(b, "secretsmanager", "get-secret-value", "--secret-id", "tls/one", ca_bundle=pki.ca_file)
    assert code == 0, err
    assert json.loads(out)["SecretString"] == "s3cret"
    # The same through AWS_CA_BUNDLE.
    code, out, _ = b.aws("secretsmanager", "describe-secret", "--secret-id", "tls/one",
                         env_extra={"AWS_CA_BUNDLE": str(pki.ca_file)})
    assert code == 0 and json.loads(out)["Name"] == "tls/one"
    # Without the CA the CLI refuses the certificate (once: no retries).
    code, out, err = b.aws("secretsmanager", "get-secret-value", "--secret-id", "tls/one",
                           env_extra={"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"})
    assert code != 0
    assert "SSL validation failed" in err and "CERTIFICATE_VERIFY_FAILED" in err, err
    assert "s3cret" not in out
    # boto3 with verify=.
    assert b.client("secretsmanager").get_secret_value(SecretId="tls/one")["SecretString"] == "s3cret"
    with pytest.raises(SSLError):
        b.client("secretsmanager", verify=True).get_secret_value(SecretId="tls/one")
    # The web console shares the port and the certificate.
    with urllib.request.urlopen(b.endpoint + "/console", timeout=5, context=b.context()) as r:
        assert r.status == 200 and b"<form" in r.read()
    # Plain HTTP on the TLS port gets no HTTP answer (a TLS alert, then the connection closes).
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{b.port}/_berth/health", timeout=5)


def test_sighup_reloads_the_certificate_and_keeps_it_on_a_bad_file(tls_berth, pki):
    b = tls_berth
    first = b.served_fingerprint()
    assert hashlib.sha256(b.cert.read_bytes()).hexdigest() != first  # a DER digest, not the PEM's
    new_cert, new_key, new_fp = pki.leaf("next")
    assert new_fp != first
    shutil.copy(new_cert, b.cert)
    shutil.copy(new_key, b.key)
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while b.served_fingerprint() != new_fp:
        assert time.time() < deadline, b.log()
        time.sleep(0.05)
    assert f"sha256={new_fp}" in b.log()
    # A key that is not the certificate's: logged, and the certificate in use stays.
    _, other_key, _ = pki.leaf("other")
    shutil.copy(other_key, b.key)
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "TLS certificate not reloaded" not in b.log():
        assert time.time() < deadline and b.proc.poll() is None, b.log()
        time.sleep(0.05)
    assert "does not belong to the certificate" in b.log()
    assert b.served_fingerprint() == new_fp
    assert b.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_bad_tls_files_stop_the_start_with_a_reason(tmp_path, pki):
    cert, _, _ = pki.leaf("a")
    _, other_key, _ = pki.leaf("b")
    for key, words in [(other_key, "does not belong to the certificate"), (tmp_path / "nope.key", "cannot read")]:
        p = subprocess.run(
            [berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
             "--tls-cert", str(cert), "--tls-key", str(key)],
            capture_output=True, text=True, timeout=30, env=dict(os.environ, RUST_BACKTRACE="0"),
        )
        assert p.returncode != 0
        assert words in p.stderr, p.stderr
        assert "panicked" not in p.stderr
    # The data directory was not even made (in the PostgreSQL mode the suite's wrapper makes it
    # before berth starts, with only its marker in it: berth added nothing).
    made = tmp_path / "d"
    if os.environ.get("BERTH_E2E_DATABASE_URL"):
        assert [p.name for p in made.iterdir()] == [".berth-e2e-database"]
    else:
        assert not made.exists()


class TlsAgent(AgentProcess):
    """`berth agent --ca-file CA` against an https endpoint."""

    def __init__(self, berth, cluster, log_path, ca_file):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.pop("ECS_CLUSTER", None)
        env.update(AWS_DEFAULT_REGION=REGION, RUST_LOG="info,berth_agent=debug",
                   AWS_ACCESS_KEY_ID=berth.root.access_key_id, AWS_SECRET_ACCESS_KEY=berth.root.secret_access_key)
        args = [berth_bin(), "agent", "--endpoint", berth.endpoint, "--cluster", cluster, "--ca-file", str(ca_file)]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)


def test_agent_over_https_runs_the_private_registry_task(tls_berth, pki, registry, tmp_path):  # noqa: F811
    b = tls_berth
    cluster = f"c{uuid.uuid4().hex[:8]}"
    b.client("ecs").create_cluster(clusterName=cluster)
    agent = TlsAgent(b, cluster, tmp_path / "agent.log", pki.ca_file)
    try:
        wait_for_instance(b, cluster, agent)
        app = PrivateApp(b, registry, creds(REGISTRY_USER))
        t = wait_stopped(b, cluster, app.run(b, cluster), agent)
        assert_succeeded(t)
        assert REGISTRY_USER[1] not in agent.log()
    finally:
        stop_process(agent.proc, timeout=15)
        agent._log.close()
    # Without the CA the agent does not register: it cannot trust the server.
    other = f"c{uuid.uuid4().hex[:8]}"
    b.client("ecs").create_cluster(clusterName=other)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID=b.root.access_key_id,
               AWS_SECRET_ACCESS_KEY=b.root.secret_access_key)
    log_path = tmp_path / "untrusting-agent.log"
    with open(log_path, "wb") as log:
        p = subprocess.Popen([berth_bin(), "agent", "--endpoint", b.endpoint, "--cluster", other],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.time() + 30
            while "invalid peer certificate: UnknownIssuer" not in log_path.read_text(errors="replace"):
                assert time.time() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)
        finally:
            stop_process(p)
    assert b.client("ecs").list_container_instances(cluster=other)["containerInstanceArns"] == []


def test_berth_up_on_tls_runs_its_agent_against_itself(tmp_path, pki, registry):  # noqa: F811
    cert, key, _ = pki.leaf("up")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    data = tmp_path / "up-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_ROOT_"))}
    env["RUST_LOG"] = "info"
    log_path = tmp_path / "up.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([berth_bin(), "up", "--listen", f"127.0.0.1:{number}", "--data-dir", str(data),
                             "--tls-cert", str(cert), "--tls-key", str(key)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 30
        fields = {}
        while not {"aws_access_key_id", "aws_secret_access_key"} <= fields.keys():
            assert proc.poll() is None and time.time() < deadline, log_path.read_text()
            time.sleep(0.1)
            text = (data / "credentials").read_text() if (data / "credentials").exists() else ""
            fields = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)
        ecs = boto3.client("ecs", endpoint_url=f"https://127.0.0.1:{number}", region_name=REGION,
                           aws_access_key_id=fields["aws_access_key_id"],
                           aws_secret_access_key=fields["aws_secret_access_key"], verify=str(pki.ca_file),
                           config=Config(retries={"max_attempts": 1}))
        deadline = time.time() + 30
        while "agent registered" not in log_path.read_text():
            assert proc.poll() is None and time.time() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert len(ecs.list_container_instances(cluster="default")["containerInstanceArns"]) == 1

        class Up:
            pass

        up = Up()
        up.client = lambda service: boto3.client(
            service, endpoint_url=f"https://127.0.0.1:{number}", region_name=REGION,
            aws_access_key_id=fields["aws_access_key_id"], aws_secret_access_key=fields["aws_secret_access_key"],
            verify=str(pki.ca_file), config=Config(retries={"max_attempts": 1}))
        arn = PrivateApp(up, registry, creds(REGISTRY_USER)).run(up, "default")
        deadline = time.time() + 90
        while True:
            t = ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]
            if t["lastStatus"] == "STOPPED":
                break
            assert time.time() < deadline, log_path.read_text()
            time.sleep(0.3)
        assert_succeeded(t)
    finally:
        stop_process(proc, timeout=15)
        log.close()


def test_doctor_registry_check_trusts_aws_ca_bundle_and_ca_file(berth, tls_registry):  # noqa: F811
    host, ca = tls_registry
    user, password = REGISTRY_USER
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="registry-creds", SecretString=json.dumps({"username": user, "password": password}))["ARN"]
    role(berth, allow("secretsmanager:GetSecretValue", arn))
    register(berth, arn, image=f"{host}/app:1")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT_", "AWS_"))}
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check",
                            env=dict(base, AWS_CA_BUNDLE=str(ca)))
    assert code == 0, out + err
    assert f"ok   registry [app]: {host} accepts the credentials" in out
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check", "--ca-file", str(ca), env=base)
    assert code == 0, out + err
    code, out, err = doctor(berth, "--task-definition", "private-app", "--registry-check", env=base)
    assert code == 1, out + err
    assert "invalid peer certificate: UnknownIssuer" in out, out


@sqlite_only
def test_backup_while_serving_opens_as_a_data_directory(berth, berth_factory, tmp_path):
    sm = berth.client("secretsmanager")
    for i in range(20):
        sm.create_secret(Name=f"b/{i}", SecretString=f"value-{i}")
    # Writes go on while the backup runs.
    stop = threading.Event()
    written = []

    def writer():
        c = berth.client("secretsmanager")
        n = 0
        while not stop.is_set():
            c.create_secret(Name=f"during/{n}", SecretString="x")
            written.append(n)
            n += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        deadline = time.time() + 10
        while not written:
            assert time.time() < deadline, "the writer did not write"
            time.sleep(0.01)
        out = tmp_path / "backup.db"
        p = subprocess.run([berth_bin(), "backup", "--data-dir", str(berth.data_dir), "--to", str(out)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "backed up" in p.stdout and "root key" in p.stdout
    finally:
        stop.set()
        t.join()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    # The values are sealed: no plaintext in the file.
    assert b"value-7" not in out.read_bytes()
    # An existing file is not overwritten.
    p = subprocess.run([berth_bin(), "backup", "--data-dir", str(berth.data_dir), "--to", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "File exists" in p.stderr, p.stderr
    # A second server on a copy of the data directory, the backup as its database.
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy2(berth.data_dir / "root.key", restored / "root.key")
    shutil.copy2(out, restored / "berth.db")
    second = berth_factory("restored")
    got = second.client("secretsmanager")
    for i in range(20):
        assert got.get_secret_value(SecretId=f"b/{i}")["SecretString"] == f"value-{i}"
    # Without its root key the backup does not open.
    keyless = tmp_path / "keyless"
    keyless.mkdir(mode=0o700)
    shutil.copy2(out, keyless / "berth.db")
    p = subprocess.run([berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(keyless)],
                       capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if not k.startswith("BERTH_")})
    assert p.returncode != 0 and "root.key" in p.stderr, p.stderr


def test_the_deploy_guides_systemd_units_verify(tmp_path):
    """The two units of docs/deploy.md pass `systemd-analyze verify` (the binary's path and the
    environment file pointed at real files)."""
    import re

    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (apt-get install systemd)"
    text = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    units = re.findall(r"`/etc/systemd/system/([\w.-]+\.service)`.*?```ini\n(.*?)```", text, re.S)
    assert [name for name, _ in units] == ["berth-server.service", "berth-agent.service"]
    env_file = tmp_path / "agent.env"
    env_file.write_text("AWS_ACCESS_KEY_ID=x\nAWS_SECRET_ACCESS_KEY=y\n")
    paths = []
    for name, body in units:
        assert "ExecReload=/bin/kill -HUP $MAINPID" in body
        body = body.replace("/usr/local/bin/berth", berth_bin()).replace("/etc/berth/agent.env", str(env_file))
        path = tmp_path / name
        path.write_text(body)
        paths.append(str(path))
    p = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # Anything said about the units themselves is a problem (messages about the host's own
    # units, e.g. a container without systemd running, name other files).
    about_ours = [line for line in (p.stdout + p.stderr).splitlines() if any(n in line for n, _ in units)]
    assert about_ours == [], p.stderr


def test_fargate_on_a_tls_server_and_the_api_proxy(tls_berth, registry):  # noqa: F811
    """The server's Fargate capacity fetches the registry secret from its own TLS listener, and
    a container's plain-HTTP `AWS_ENDPOINT_URL` reaches the server through the proxy's TLS."""
    from test_task_roles import Roles, output, run

    b = tls_berth
    roles = Roles(b, registry)
    arn = run(b, roles.register(b, fargate=True), fargate=True)
    ecs = b.client("ecs")
    try:
        lines, _ = output(b, arn)
        assert lines["ENV_API"].startswith("http://169.254.170.2:"), lines
        assert json.loads(lines["API"]) == {"status": "ready"}, lines
        assert json.loads(lines["CREDS"])["RoleArn"] == roles.task_role, lines
    finally:
        ecs.stop_task(cluster="default", task=arn, reason="test done")
        # `sleep` would wait out the stop timeout: its containers go now.
        from test_agent import task_containers

        for cid in task_containers(arn):
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60)
        deadline = time.time() + 60
        while ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]["lastStatus"] != "STOPPED":
            assert time.time() < deadline, b.log()
            time.sleep(0.2)


def test_sighup_on_a_plain_http_server_changes_nothing(berth):
    berth.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "SIGHUP: no TLS certificate to reload" not in berth.log():
        assert berth.proc.poll() is None and time.time() < deadline, berth.log()
        time.sleep(0.05)
    assert berth.client("sts").get_caller_identity()["Account"] == "000000000000"
