"""Phase marks: a line per mark in SPARKPUSH_PHASE_LOG's file, nothing without it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sparkpush.progress.phases import PHASE_LOG_ENV, mark


def test_marks_go_to_the_named_file_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "phases.jsonl"
    monkeypatch.setenv(PHASE_LOG_ENV, str(log))
    mark("sync.start")
    mark("sync.end")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["phase"] for line in lines] == ["sync.start", "sync.end"]
    assert lines[0]["at"] <= lines[1]["at"] and lines[0]["pid"] == os.getpid()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_without_the_variable_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PHASE_LOG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    mark("sync.start")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_log_never_fails_the_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PHASE_LOG_ENV, str(tmp_path / "missing" / "phases.jsonl"))
    mark("sync.start")
