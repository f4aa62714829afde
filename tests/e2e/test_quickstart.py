"""The README's quickstart: `scripts/start` end to end, as a developer runs it.

It runs the real script with its data dir, berth's address and the demo registry's port pointed
elsewhere (BERTH_DATA_DIR, BERTH_LISTEN, BERTH_DEMO_REGISTRY_PORT), so it collides neither with the
rest of the suite nor with a developer's running berth, and with BERTH_BIN (the binary under test,
the debug build in CI) so CI does not build the release binary as well. The AWS CLI is this
venv's (AWS_CLI). Then `scripts/start stop` must leave nothing running.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, berth_bin, free_port

GREETING = "Hello from berth! This image came from a private registry, pulled with credentials from Secrets Manager."


def run(args, env, timeout):
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)
    return p.returncode, p.stdout, p.stderr


def alive(pid_file: Path):
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def test_scripts_start_runs_the_private_registry_demo(tmp_path):
    data = tmp_path / "berth-data"
    port, registry_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_"))}
    env.update(
        BERTH_BIN=berth_bin(),
        BERTH_DATA_DIR=str(data),
        BERTH_LISTEN=f"127.0.0.1:{port}",
        BERTH_DEMO_REGISTRY_PORT=str(registry_port),
        AWS_CLI=str(Path(sys.executable).parent / "aws"),
    )
    start = [str(REPO / "scripts" / "start")]
    pids = []
    started = time.time()
    try:
        code, out, err = run(start, env, timeout=150)
        assert code == 0, f"{out}\n{err}\n{(data / 'berth.log').read_text(errors='replace') if (data / 'berth.log').exists() else ''}"
        assert GREETING in out, out
        # The agent's pull, reported as it happened (from berth's log).
        assert re.search(rf"==> pulled 127\.0\.0\.1:{registry_port}/\S+: \d+ layer\(s\), [0-9.]+ MiB in \d+ ms", out), out
        assert "stopCode EssentialContainerExited, container exit code 0" in out, out
        assert f"    source {data}/env\n" in out, out
        assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port} AWS_SHARED_CREDENTIALS_FILE={data}/credentials AWS_PROFILE=berth" in (data / "env").read_text()
        assert (data / "berth.log").stat().st_size > 0
        pids = [alive(data / "berth.pid"), alive(data / "demo-registry" / "registry.pid")]
        assert all(pids), pids
        # The AWS CLI with the printed settings: the demo secret has the guide's shape.
        cli_env = dict(env, AWS_SHARED_CREDENTIALS_FILE=str(data / "credentials"), AWS_PROFILE="berth",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null")
        code, value, err = run([env["AWS_CLI"], "--endpoint-url", f"http://127.0.0.1:{port}", "secretsmanager",
                                "get-secret-value", "--secret-id", "berth-demo/registry-credentials",
                                "--query", "SecretString", "--output", "text"], cli_env, timeout=60)
        assert code == 0, err
        assert set(json.loads(value)) == {"username", "password"}, value

        # The closing message's commands, pasted into bash as printed (bare `aws` and `berth`).
        printed = out[out.index("Use berth and the AWS CLI"):].split("\n\n")[1]
        lines = [ln.strip() for ln in printed.splitlines() if ln.strip()]
        assert lines[0] == f"source {data}/env" and "berth doctor --task-definition berth-demo" in lines, lines
        home = tmp_path / "home"
        home.mkdir()
        user_env = {k: v for k, v in env.items() if not k.startswith(("AWS_", "BERTH_"))}
        user_env.update(HOME=str(home))
        script = "set -e\n" + "\n".join(ln for ln in lines if "account create" not in ln) + "\n"
        code, pasted, err = run(["bash", "-c", script], user_env, timeout=120)
        assert code == 0, f"{pasted}\n{err}"
        assert '"Arn": "arn:aws:iam::000000000000:root"' in pasted and "ok   placement" in pasted, pasted

        # `berth doctor` without a data directory: it creates none, and names the running one.
        code, dout, derr = run([berth_bin(), "doctor", "--task-definition", "berth-demo"], user_env, timeout=30)
        assert code != 0 and not (home / ".local").exists(), (dout, derr)
        assert f"no berth data in {home}/.local/share/berth" in derr, derr
        hint = f"berth data is in {data}:\n    "
        assert hint in derr, derr
        again = derr[derr.index(hint) + len(hint):].splitlines()[0]
        code, dout, derr = run(["bash", "-c", again.replace(berth_bin(), f"{data}/bin/berth", 1)], user_env, timeout=30)
        assert code == 0 and "ok   execution-role" in dout, (dout, derr)

        # Twice: everything is reused, the task runs again.
        code, out2, err2 = run(start, env, timeout=60)
        assert code == 0, f"{out2}\n{err2}"
        assert "berth is already running" in out2 and "demo registry is already running" in out2, out2
        assert "reusing the customer-managed KMS key" in out2 and "reusing the secret" in out2, out2
        assert "reusing the execution role" in out2 and "task-definition/berth-demo:2" in out2, out2
        assert GREETING in out2, out2
        assert [alive(data / "berth.pid"), alive(data / "demo-registry" / "registry.pid")] == pids
    finally:
        code, out, err = run([str(REPO / "scripts" / "stop")], env, timeout=60)
    assert code == 0, f"{out}\n{err}"
    assert "stopped berth" in out and "stopped the demo registry" in out, out
    for pid in pids:
        if pid:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert time.time() - started < 180
