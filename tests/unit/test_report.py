"""The submit report and --json summary: fields, no secrets, atomic writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sparkpush.artifacts.upload import UploadedArtifact, UploadReport
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.errors import ServerUnreachableError
from sparkpush.submit.outcome import RunStatus, SubmitOutcome
from sparkpush.submit.report import build_report, remote_for_report, summary_line, write_report
from sparkpush.workerout.bounded import WorkerOutputCounts

REQUIRED = {
    "status",
    "exit_code",
    "session_id",
    "remote",
    "app",
    "args",
    "started_at",
    "duration_s",
    "artifacts",
    "udfs",
    "error",
}


def outcome(**fields: object) -> SubmitOutcome:
    base = SubmitOutcome(exit_code=0, session_id="s-1", started_at=1_700_000_000.25)
    for key, value in fields.items():
        setattr(base, key, value)
    return base


def report_of(result: SubmitOutcome, remote: str | None = "sc://h:1") -> dict[str, object]:
    return build_report(result, app="app.py", module=None, args=("a",), remote=remote)


def test_report_has_every_documented_field() -> None:
    upload = UploadReport(artifacts=[UploadedArtifact("pyfiles/x.zip", 10, "ab" * 32)])
    report = report_of(outcome(upload=upload, duration_s=1.23456))
    assert set(report) >= REQUIRED
    assert report["status"] == "succeeded"
    assert report["artifacts"] == [{"name": "pyfiles/x.zip", "bytes": 10, "sha256": "ab" * 32}]
    assert report["started_at"] == "2023-11-14T22:13:20.250+00:00"
    assert report["duration_s"] == 1.235
    assert report["udfs"] == []
    assert report["args"] == ["a"]


def test_the_report_counts_the_worker_lines() -> None:
    assert report_of(outcome())["worker_output"] is None  # not followed
    counts = WorkerOutputCounts(lines=100_000, shown=1000, kept=10_000, file="r.worker-output.log")
    assert report_of(outcome(worker_output=counts))["worker_output"] == {
        "lines": 100_000,
        "shown": 1000,
        "left_out": 99_000,
        "kept": 10_000,
        "file": "r.worker-output.log",
        "note": None,
    }


def test_failure_fills_status_exit_code_and_error() -> None:
    result = outcome()
    result.fail(ServerUnreachableError("cannot reach Spark Connect server at h:1: refused"))
    report = report_of(result)
    assert report["status"] == RunStatus.ERROR.value
    assert report["exit_code"] == 3
    assert report["error"] == "cannot reach Spark Connect server at h:1: refused"


def test_interrupted_operations_are_listed_once() -> None:
    report = report_of(outcome(interrupted_operations=["b", "a", "b"]))
    assert report["interrupted_operations"] == ["a", "b"]


def test_remote_never_shows_token_or_headers() -> None:
    spec = parse_connection_string("sc://host:9/;token=SECRET;x-api-key=KEY;user_id=me")
    shown = remote_for_report(spec)
    assert shown == "sc://host:9/;user_id=me"
    assert remote_for_report(None) is None


def test_summary_is_one_line_of_the_same_fields() -> None:
    report = report_of(outcome())
    line = summary_line(report)
    assert "\n" not in line
    assert json.loads(line) == report


def test_write_report_creates_folders_and_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "ci" / "out" / "report.json"
    write_report(target, {"status": "failed"})
    write_report(target, {"status": "succeeded"})
    assert json.loads(target.read_text()) == {"status": "succeeded"}
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temp files left


def test_write_report_leaves_the_folder_permissions_alone(tmp_path: Path) -> None:
    folder = tmp_path / "workspace"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    write_report(folder / "report.json", {"status": "succeeded"})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_write_report_into_a_file_path_fails_with_oserror(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        write_report(blocker / "report.json", {})
