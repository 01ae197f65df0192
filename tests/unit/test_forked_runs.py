"""Runs forked from the warm `connect` process: what a new interpreter gives, as a process of
its own, with exactly its environment and folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.support.cli_runs import run_connect, run_connect_spawned
from tests.support.forked_runs import can_fork, run_connect_forked, start_connect_forked
from tests.support.runner_cases import RUNNER_CASES, runner_project


@pytest.mark.parametrize(
    ("config", "args"),
    [
        *RUNNER_CASES,
        pytest.param("", ["--help"], id="help"),
        pytest.param("[tool.sparkpush\n", ["sync", "--json"], id="bad-toml"),
    ],
)
def test_a_forked_run_gives_what_a_new_interpreter_gives(
    tmp_path: Path, config: str, args: list[str]
) -> None:
    env = runner_project(tmp_path, config)
    spawned = run_connect_spawned(args, env=env, cwd=tmp_path, timeout=120)
    forked = run_connect_forked(args, env=env, cwd=tmp_path, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        spawned.returncode,
        spawned.stdout,
        spawned.stderr,
    )


def test_a_forked_run_sees_exactly_its_environment_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    # nothing listens on port 1: no server is started, none is reached
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARK_REMOTE="sc://localhost:1")
    # set in the test process, not in the run's environment: the run never sees it
    monkeypatch.setenv("SPARKPUSH_SYNC_REMOTE", "not a connection string")
    quiet = run_connect_forked(["sync"], env=env, cwd=tmp_path)
    assert quiet.returncode == 3 and "cannot reach" in quiet.stderr, quiet.stderr
    told = run_connect_forked(
        ["sync"],
        env={**env, "SPARKPUSH_SYNC_REMOTE": "not a connection string"},
        cwd=tmp_path,
    )
    assert told.returncode == 2 and "invalid connection string" in told.stderr, told.stderr
    # its folder is `cwd`: the broken config there is the one it reads
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "pyproject.toml").write_text("[tool.sparkpush\n")
    broken = run_connect_forked(["sync"], env=env, cwd=tmp_path / "broken")
    assert broken.returncode == 2 and "invalid TOML" in broken.stderr, broken.stderr


@pytest.fixture
def silent_remote() -> Iterator[str]:
    """A loopback port that takes connections and never answers: a run there waits."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"sc://127.0.0.1:{listener.getsockname()[1]}"


def test_a_forked_run_is_a_process_of_its_own_that_sigkill_ends(
    tmp_path: Path, silent_remote: str
) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARK_REMOTE=silent_remote)
    run = start_connect_forked(["sql", "SELECT 1"], env=env, cwd=tmp_path)
    try:
        assert run.pid not in (os.getpid(), os.getppid())
        assert os.getpgid(run.pid) == run.pid  # a group of its own: a killpg stays in it
        assert run.poll() is None
        os.kill(run.pid, signal.SIGKILL)
        assert run.wait(timeout=60) == -signal.SIGKILL
    finally:
        run.close()


def test_a_forked_run_that_outlives_its_timeout_is_killed(
    tmp_path: Path, silent_remote: str
) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARK_REMOTE=silent_remote)
    with pytest.raises(subprocess.TimeoutExpired):
        run_connect_forked(["sql", "SELECT 1"], env=env, cwd=tmp_path, timeout=0.5)


def test_what_a_process_reads_at_its_start_makes_run_connect_spawn(tmp_path: Path) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    assert can_fork(env)
    assert not can_fork({**env, "GRPC_VERBOSITY": "debug"})
    assert not can_fork({**env, "PYTHONPATH": str(tmp_path)})
    # a module on PYTHONPATH shadows ours only in a new interpreter: run_connect spawns one
    (tmp_path / "sitecustomize.py").write_text("print('site of the run')\n")
    result = run_connect(["--help"], env={**env, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.stdout.startswith("site of the run"), result.stdout


def test_forking_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    monkeypatch.setenv("SPARKPUSH_TESTS_FORK", "0")
    assert not can_fork(env)


def test_a_reused_pid_does_not_take_an_earlier_runs_exit() -> None:
    """Pids wrap: a run forked under the pid of one that ended earlier is still running."""
    import io
    import threading
    from types import SimpleNamespace

    from tests.support.forked_runs import _WarmConnect

    warm = object.__new__(_WarmConnect)
    warm._changed = threading.Condition()
    warm._started, warm._exits, warm._ended = [], {}, False
    reports = b"started 4242\nexit 4242 0\nstarted 4242\n"
    warm._process = SimpleNamespace(stdout=io.BytesIO(reports))  # type: ignore[assignment]
    warm._read_reports()
    warm._ended = False  # the reports ran out here; the warm process would still be there
    assert warm.returncode(4242, 0) is None
