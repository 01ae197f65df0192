"""A UDF load in a fork (the warm loader's and the pre-forked script process's way)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sparkpush.udf.loader_child import EXIT_PROBLEM
from sparkpush.udf.loader_fork import load_in_fork
from sparkpush.udf.loader_messages import LoaderEvent, LoaderEventKind, LoadRequest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def load_without_a_session(tmp_path: Path, log_path: str | None) -> tuple[int, list[LoaderEvent]]:
    """A load whose environment names no server: the fork reports a problem and exits."""
    env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    read_end, write_end = os.pipe()
    try:
        status = load_in_fork(request, env, write_end, log_path)
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as events:
        return status, [LoaderEvent.from_json(json.loads(line)) for line in events]


def test_the_forks_events_end_with_its_exit_status(tmp_path: Path) -> None:
    status, events = load_without_a_session(tmp_path, str(tmp_path / "loader.log"))
    assert status == EXIT_PROBLEM
    kinds = [event.kind for event in events]
    assert kinds == [LoaderEventKind.STARTED, LoaderEventKind.PROBLEM, LoaderEventKind.EXIT]
    assert events[0].pid != os.getpid()
    assert events[-1].status == EXIT_PROBLEM


def test_what_the_fork_prints_goes_to_a_private_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "loader.log"
    log.write_text("the previous load\n")
    with capfd.disabled():  # sys.stderr is file descriptor 2 again, as in a real process
        load_without_a_session(tmp_path, str(log))
    text = log.read_text()
    assert "KeyError: 'SPARK_REMOTE'" in text
    assert "the previous load" not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_forking_process_keeps_its_environment_and_directory(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), sys.stdout)
    load_without_a_session(tmp_path, str(tmp_path / "loader.log"))
    assert (dict(os.environ), os.getcwd(), sys.stdout) == before
