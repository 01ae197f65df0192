"""`kill -9` of `connect sync` at random points: state stays readable, the next run converges,
and no session is left behind on the server.

Sessions are counted with the server's own log: it logs every session it creates or touches
("Session with userId: U and sessionId: S accessed") and every one it releases ("Closing
session ... sessionId: S"). After each recovery exactly the project's current generation and
its base session may be alive. Trials alternate a base change (a new base, then a clone of it)
with a code change (a clone of the current base), so kills land while a base is built and while
a clone is made and filled.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sparkpush.artifacts.planner import PlanAction
from sparkpush.config.settings import load_config
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.secret import Secret
from sparkpush.remote.target import Target
from sparkpush.state.folders import STATE_DIR_NAME
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer
from tests.integration.conftest import ServerSessions
from tests.support import run_connect_in_process, wait_until
from tests.support.forked_runs import ForkedRun, run_connect_forked, start_connect_forked

pytestmark = pytest.mark.integration

SEED = 9_001
TRIALS = 50
DATA_FILES = 3
DATA_BYTES = 1_500_000


def write_sources(root: Path, version: int, rng: random.Random, *, base: bool = True) -> None:
    """New content: a changed module (code) and, with `base`, changed data files (base)."""
    (root / "src" / "pkg" / "mod.py").write_text(f"VERSION = {version}\n")
    if not base:
        return
    for index in range(DATA_FILES):
        (root / f"data{index}.bin").write_bytes(rng.randbytes(DATA_BYTES))


def current_sessions(root: Path) -> set[str]:
    """The current generation's session and its base's."""
    generation = load_generation(root)
    assert generation is not None and generation.base is not None, "a layered generation"
    return {generation.session_id, generation.base.session_id}


def killed_in(root: Path, base_change: bool) -> str | None:
    """Where a killed sync was, from what it had recorded as unfinished."""
    left = len(unfinished_sessions(root))
    if base_change and left == 1:
        return "base build"
    if left == (2 if base_change else 1):
        return "clone"
    return None


def make_project(root: Path, rng: random.Random) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npython = ["src/pkg"]\nfiles = ["data*.bin"]\n'
    )
    write_sources(root, 0, rng)
    return root


def assert_state_readable(root: Path) -> None:
    """Every state file parses (a kill may leave only hidden temp files behind)."""
    folder = root / STATE_DIR_NAME
    if not folder.exists():
        return
    for path in folder.rglob("*.json"):
        if path.name.startswith("."):
            continue  # an unfinished atomic write: never read
        json.loads(path.read_bytes())
    if (folder / "manifest.json").exists():
        assert load_generation(root) is not None, "manifest.json exists but is unusable"


def sync_cli(server: EmbeddedServer, root: Path) -> dict[str, object]:
    result = run_connect_in_process(["sync", "--json"], env=server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


AIMED_TRIALS = 8


def started_sync(server: EmbeddedServer, root: Path) -> ForkedRun:
    """`connect sync --json` in the background as its own process, forked from a warm one: a
    kill lands in the sync, not in Python's start (which takes longer than the sync)."""
    return start_connect_forked(["sync", "--json"], env=server.env, cwd=root)


def killed_sync(server: EmbeddedServer, root: Path, delay: float) -> int | None:
    """Start `connect sync`, SIGKILL it after `delay` s; its return code if it ended first."""
    process = started_sync(server, root)
    try:
        return process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return None
    finally:
        process.close()


def killed_once_recorded(server: EmbeddedServer, root: Path, count: int) -> int | None:
    """Start `connect sync`, SIGKILL it as soon as it has recorded `count` unfinished
    sessions (a base, then a clone: each recorded before the server creates it); its return
    code if it ended first. Aims a kill at a phase that random delays happened to miss."""
    process = started_sync(server, root)
    try:
        wait_until(
            lambda: process.poll() is not None or len(unfinished_sessions(root)) >= count,
            300,
            what=f"{count} unfinished sessions recorded",
            interval=0.002,
        )
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return None
        return process.returncode
    finally:
        process.close()


def test_sync_killed_at_random_points_recovers_and_leaks_no_session(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    root = make_project(tmp_path / "project", rng)
    sessions = ServerSessions(
        embedded_server.state_home / "sparkpush" / "server.log",
        (embedded_server.state_home / "sparkpush" / "server.log").stat().st_size,
    )
    started = time.monotonic()
    first = sync_cli(embedded_server, root)
    typical = time.monotonic() - started
    engine = float(str(first["seconds"]))
    spec = parse_connection_string(embedded_server.url).with_token(Secret(embedded_server.token))
    target = Target(spec=spec, source="embedded")

    killed = 0
    phases: set[str] = set()
    for trial in range(1, TRIALS + 1):
        base_change = trial % 4 in (1, 2)
        write_sources(root, trial, rng, base=base_change)
        # Half the kills anywhere in the run, half in its last part, where the engine talks to
        # the server (creating the session, uploading, switching generations).
        low = 0.0 if trial % 2 else max(0.0, typical - 2 * engine)
        delay = rng.uniform(low, typical)
        # The last trials aim at a phase the random kills missed (a loaded machine stretches
        # the runs past `typical`): killed right after recording its base or its clone.
        missing = {"base build", "clone"} - phases
        aimed = trial > TRIALS - AIMED_TRIALS and (
            ("base build" in missing and base_change) or "clone" in missing
        )
        if aimed:
            count = 1 if ("base build" in missing and base_change) or not base_change else 2
            outcome = killed_once_recorded(embedded_server, root, count)
        else:
            outcome = killed_sync(embedded_server, root, delay)
        if outcome is None:
            killed += 1
            phases.add(killed_in(root, base_change) or "elsewhere")
        assert_state_readable(root)

        converged = sync_cli(embedded_server, root)
        assert_state_readable(root)
        again = sync_project(load_config(cwd=root), target)
        assert again.action is PlanAction.NOTHING, (trial, again.reasons)
        assert again.session_id == converged["session_id"]

        alive = sessions.alive()
        assert alive == current_sessions(root), (trial, delay, alive)
        assert converged["session_id"] in alive

    assert killed >= TRIALS // 2, f"only {killed} of {TRIALS} runs were killed mid-way"
    assert {"base build", "clone"} <= phases, phases


DAEMON_TRIALS = 20


def daemon_pid(server: EmbeddedServer, root: Path) -> int:
    result = run_connect_in_process(["daemon", "status", "--json"], env=server.env, cwd=root)
    return int(json.loads(result.stdout)["pid"])


def warm_loaders_of(root: Path) -> list[int]:
    """Warm UDF loader processes started from this project (they must die with the daemon)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes()
            cwd = os.readlink(cmdline.parent / "cwd")
        except OSError:
            continue
        if b"warm_loader" in args and cwd == str(root):
            found.append(int(cmdline.parent.name))
    return found


def test_daemon_killed_at_random_points_recovers_and_leaks_no_session(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    root = make_project(tmp_path / "daemon-project", rng)
    log = embedded_server.state_home / "sparkpush" / "server.log"
    sessions = ServerSessions(log, log.stat().st_size)
    try:
        started = run_connect_forked(["daemon", "start"], env=embedded_server.env, cwd=root)
        assert started.returncode == 0, started.stderr
        for trial in range(1, DAEMON_TRIALS + 1):
            # the watcher starts building a new generation: a new base, or a clone of the base
            write_sources(root, trial, rng, base=trial % 2 == 0)
            time.sleep(rng.uniform(0.0, 1.5))
            os.kill(daemon_pid(embedded_server, root), signal.SIGKILL)
            assert_state_readable(root)
            restarted = run_connect_forked(["daemon", "start"], env=embedded_server.env, cwd=root)
            assert restarted.returncode == 0, restarted.stderr
            assert "started" in restarted.stdout, restarted.stdout
            converged = sync_cli(embedded_server, root)  # through the new daemon
            assert converged["action"] == "nothing", (trial, converged)
            assert_state_readable(root)
            alive = sessions.alive()
            assert alive == current_sessions(root), (trial, alive)
            assert converged["session_id"] in alive
    finally:
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)
    with contextlib.suppress(AssertionError):  # the assertion below names what is left
        wait_until(lambda: warm_loaders_of(root) == [], 30)
    assert warm_loaders_of(root) == []
