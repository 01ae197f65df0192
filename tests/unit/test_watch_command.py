"""`connect watch` refusing to start next to a running daemon, and the command it re-runs
(no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.cli.commands.watch import ScriptRunner
from sparkpush.daemon.lifecycle import daemon_lock
from tests.conftest import clean_env, run_connect


def test_watch_while_the_daemon_runs_is_an_error_with_a_non_zero_exit(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\n")
    with daemon_lock(tmp_path.resolve()):  # what a running daemon holds
        result = run_connect(
            ["watch"], env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")), cwd=tmp_path
        )
    assert result.returncode == 2, result.stderr
    # the error first, and nothing else: no "watching ... (Ctrl-C to stop)" before it
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: a daemon is already running for ")
    assert "connect daemon stop" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "passed"),
    [(None, []), (True, ["--worker-output"]), (False, ["--no-worker-output"])],
)
def test_watch_passes_the_worker_output_flag_to_what_it_reruns(
    tmp_path: Path, flag: bool | None, passed: list[str]
) -> None:
    script = ScriptRunner.for_script("app.py", ("x",), [], tmp_path, flag)
    assert script.command[script.command.index("--attach") + 1 :] == [*passed, "app.py", "x"]
    tests = ScriptRunner.for_tests(("-q",), [], tmp_path, flag)
    assert tests.command[tests.command.index("test") + 1 :] == [*passed, "-q"]
