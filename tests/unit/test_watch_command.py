"""`connect watch` refusing to start next to a running daemon, and the command it re-runs
(no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.artifacts.planner import PlanAction
from sparkpush.cli.commands.watch import ScriptRunner, print_sync
from sparkpush.connect.artifact_stream import UploadedArtifact
from sparkpush.daemon.lifecycle import daemon_lock
from sparkpush.sync.engine import SyncResult
from sparkpush.sync.summary import SyncSummary
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


def _result(action: PlanAction, udfs: tuple[str, ...] = ()) -> SyncResult:
    return SyncResult(
        session_id="s",
        generation=3,
        action=action,
        uploaded=(UploadedArtifact("jars/a.jar", 10, "ab"),),
        skipped=4,
        seconds=0.5,
        reasons=("changed: jars/a.jar",),
        warnings=(),
        udfs=udfs,
    )


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (
            _result(PlanAction.NEW_GENERATION),
            "sync: new generation, generation 3, 1 artifact(s), 10 bytes, 500 ms "
            "(changed: jars/a.jar)",
        ),
        (
            _result(PlanAction.NOTHING, udfs=("answer",)),
            "sync: registered answer in place, generation 3",
        ),
    ],
)
def test_watch_draws_a_sync_as_the_daemon_log_draws_the_same_record(
    result: SyncResult, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = SyncSummary.of(result)
    print_sync(summary)
    assert capsys.readouterr().err == f"{line}\n"
    assert line == f"sync: {summary.describe()}"


def test_watch_prints_nothing_for_a_sync_that_changed_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_sync(SyncSummary.of(_result(PlanAction.NOTHING)))
    assert capsys.readouterr().err == ""
