"""HAProxy in front of berth replicas (docs/deploy.md): the config the docs show, rendered for
the test's ports, and haproxy run in the foreground on a free port."""

import shutil
import subprocess
from pathlib import Path

from conftest import free_port, stop_process, wait_healthy

# docs/deploy.md shows this text with LISTEN, REPLICA_A and REPLICA_B as DOC_VALUES name them
# (test_replicas.py checks that it does).
TEMPLATE = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # Each request reaches berth at most once. Only a connection that could not be made (the
    # request not sent) is tried again, on the other replica; a request that reached a replica
    # which then died is answered 502 (the client retries it, as AWS's SDKs retry a 5xx).
    retries 1
    retry-on conn-failure
    option redispatch 1
    # No idle server connection is reused: a request never goes out on a connection to a
    # replica that has died since.
    http-reuse never

frontend berth
    bind {listen}
    default_backend berth_replicas

backend berth_replicas
    balance roundrobin
    option httpchk GET /_berth/health
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
    server replica-a {replica_a} check
    server replica-b {replica_b} check
"""

DOC_VALUES = {"listen": "0.0.0.0:4599", "replica_a": "10.0.0.11:4599", "replica_b": "10.0.0.12:4599"}


def render(listen: str, replica_a: str, replica_b: str) -> str:
    return TEMPLATE.format(listen=listen, replica_a=replica_a, replica_b=replica_b)


class HAProxy:
    """haproxy on a free 127.0.0.1 port in front of two berth servers (anything with `.port`)."""

    def __init__(self, workdir: Path, a, b):
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).is_file():
            raise RuntimeError("haproxy is missing: run scripts/install-test-deps")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        config = workdir / "haproxy.cfg"
        config.write_text(render(f"127.0.0.1:{self.port}", f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"))
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refuses the config: {check.stderr}")
        self.log_path = workdir / "haproxy.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=20.0):
        wait_healthy("haproxy", self.proc, self.endpoint, self.log, timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.proc)
        self._log.close()
