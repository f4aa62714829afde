"""The examples run as written: every shell block of README.md and of docs/*.md marked
`<!-- runnable -->` is pasted into bash, in order, after `scripts/start` (a fresh `berth up` and a
fresh demo registry), from a checkout-like directory whose `.berth-data` is the quickstart's, and
its `#=> TEXT` lines (the output the text shows) are checked. The marks are described in
docs/operations.md ("The examples run")."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import REPO, berth_bin, free_port

RUNNABLE = "<!-- runnable -->"
NOT_RUNNABLE = re.compile(r"<!-- not runnable: \S.*-->")
# Files whose every sh block carries one of the two marks.
MARKED = ["README.md", "docs/from-aws-docs.md", "docs/doctor.md", "docs/operations.md"]
FENCE = re.compile(r"^```sh\n(.*?)^```$", re.S | re.M)


def blocks(text):
    """(runnable, body, the line before the fence) of each ```sh block."""
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        out.append((before == RUNNABLE, m.group(1), before))
    return out


def files():
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_sh_block_of_the_newcomers_pages_is_marked():
    for name in MARKED:
        for runnable, body, before in blocks((REPO / name).read_text()):
            assert runnable or NOT_RUNNABLE.fullmatch(before), f"{name}: unmarked block:\n{body}"


def squash(s):
    return re.sub(r"\s+", "", s)


def steps(body):
    """The block cut at its `#=>` lines: [(script, [expected, ...])]."""
    out, script, expected = [], [], []
    for line in body.splitlines():
        if line.startswith("#=> "):
            expected.append(line[4:])
            continue
        if expected:
            out.append(("\n".join(script), expected))
            script, expected = [], []
        script.append(line)
    out.append(("\n".join(script), expected))
    return out


def test_the_runnable_blocks_run_as_written(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    data = checkout / ".berth-data"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_"))}
    env.update(
        HOME=str(home),
        BERTH_BIN=berth_bin(),
        BERTH_DATA_DIR=str(data),
        BERTH_LISTEN=f"127.0.0.1:{free_port()}",
        BERTH_DEMO_REGISTRY_PORT=str(free_port()),
        AWS_CLI=str(Path(sys.executable).parent / "aws"),
    )
    start = subprocess.run([str(REPO / "scripts" / "start")], capture_output=True, text=True, env=env,
                           timeout=200, cwd=REPO)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        # The shell a user pastes into: none of the settings above, its own HOME.
        user = {k: v for k, v in env.items() if not k.startswith(("AWS_", "BERTH_"))}
        ran = 0
        for path in files():
            runnable = [body for ok, body, _ in blocks(path.read_text()) if ok]
            if not runnable:
                continue
            # One bash per file, fed step by step; each step's output is read up to a marker.
            shell = subprocess.Popen(["bash", "-e"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=user, cwd=checkout)
            # A step that never ends (a task that never starts) ends the shell, and the test.
            watchdog = threading.Timer(240, shell.kill)
            watchdog.start()
            try:
                for body in runnable:
                    for script, expected in steps(body):
                        ran += 1
                        mark = f"__step_{ran}_done__"
                        shell.stdin.write(script + f"\necho {mark}\n")
                        shell.stdin.flush()
                        out = []
                        for line in shell.stdout:
                            if line.strip() == mark:
                                break
                            out.append(line)
                        else:
                            pytest.fail(f"{path.name}: bash exited in:\n{script}\n{''.join(out)}")
                        got = "".join(out)
                        for e in expected:
                            assert squash(e) in squash(got), f"{path.name}: expected {e!r} from:\n{script}\ngot:\n{got}"
            finally:
                watchdog.cancel()
                shell.stdin.close()
                shell.wait(timeout=60)
        assert ran >= 10, ran
        # Nothing was written outside the checkout-like directory's data (no default data dir).
        assert not (home / ".local").exists()
    finally:
        subprocess.run([str(REPO / "scripts" / "stop")], capture_output=True, text=True, env=env, timeout=60)
