"""Real Docker and a real private registry for the agent's end-to-end tests.

Nothing comes from the internet: the test image is a rootfs with Debian's static busybox,
`docker import`ed, and pushed to a CNCF Distribution registry (`docker-registry serve`) with
htpasswd (bcrypt) Basic auth on 127.0.0.1:<free port>. The push logs in with a throw-away
DOCKER_CONFIG, so nothing is written to ~/.docker/config.json.

A missing Docker is a failure, not a skip: `scripts/install-test-deps` installs and starts it.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import stop_process

# Registry users: (name, password). The second password's standard base64 has '+' and '/'
# (bollard's trap: dockerd decodes URL-safe base64).
REGISTRY_USER = ("berth-user", "s3cret-Registry-Pass")
TRAP_USER = ("trap-user", "abc>>>def")
BUSYBOX_APPLETS = ["sh", "echo", "sleep", "true", "false", "cat", "env", "ls", "kill", "httpd", "wget"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args, env=None, input=None, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, env=env, input=input, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stdout}\n{p.stderr}")
    return p


def docker_available() -> str | None:
    """None when `docker info` answers, else why not."""
    if shutil.which("docker") is None:
        return "docker is not installed (scripts/install-test-deps installs docker.io)"
    p = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return f"docker info failed: {p.stderr.strip()}"
    return None


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    image: str  # HOST/app:1
    users: dict
    # The registry's working directory: `htpasswd`, `data/` (its storage), `config.yml`.
    root: Path | None = None


@pytest.fixture(scope="session")
def docker_ready():
    why = docker_available()
    if why:
        pytest.fail(f"the agent tests need Docker: {why}")


@pytest.fixture(scope="session")
def registry(docker_ready):
    for tool in ("docker-registry", "htpasswd"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/install-test-deps")
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).is_file():
        pytest.fail("busybox (busybox-static) is missing: run scripts/install-test-deps")
    work = Path(tempfile.mkdtemp(prefix="berth-registry-"))
    port = _free_port()
    host = f"127.0.0.1:{port}"
    htpasswd = work / "htpasswd"
    lines = []
    for user, password in (REGISTRY_USER, TRAP_USER):
        lines.append(_run("htpasswd", "-Bbn", user, password).stdout.strip())
    htpasswd.write_text("\n".join(lines) + "\n")
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work / 'data'}\n"
        f"http:\n  addr: {host}\n"
        f"auth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n"
    )
    log = open(work / "registry.log", "wb")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{host}/v2/", timeout=1)
                break
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
                raise
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"registry did not start: {(work / 'registry.log').read_text()}")
                time.sleep(0.1)

        # The image: a rootfs with the static busybox and its applets as links.
        rootfs = work / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "tmp").mkdir()
        shutil.copy2(busybox, rootfs / "bin" / "busybox")
        for applet in BUSYBOX_APPLETS:
            os.symlink("busybox", rootfs / "bin" / applet)
        image = f"{host}/app:1"
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "--change", "ENV PATH=/bin", "-", image],
            stdin=tar.stdout, capture_output=True, text=True, timeout=120,
        )
        tar.wait()
        if imp.returncode != 0:
            raise RuntimeError(f"docker import failed: {imp.stderr}")
        # Push with a throw-away client config: no login is left in ~/.docker.
        env = dict(os.environ, DOCKER_CONFIG=str(work / "docker-config"))
        user, password = REGISTRY_USER
        _run("docker", "login", host, "-u", user, "--password-stdin", env=env, input=password)
        _run("docker", "push", image, env=env)
        shutil.rmtree(work / "docker-config", ignore_errors=True)
        _run("docker", "rmi", image, check=False)
        yield Registry(host=host, image=image, users=dict((REGISTRY_USER, TRAP_USER)), root=work)
        _run("docker", "rmi", "-f", image, check=False)
    finally:
        stop_process(proc)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def remove_local_image(image: str):
    subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=60)
