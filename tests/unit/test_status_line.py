"""The one status-line drawer and the two progress lines drawn with it."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from sparkpush.cli import progress
from sparkpush.cli.progress import ProgressLine
from sparkpush.progress.status_line import CLEAR_LINE, StatusLine
from sparkpush.submit.query_progress import SHOW_AFTER_S, QueryProgressLine
from tests.unit.conftest import ManualClock


def test_each_draw_erases_the_line_first() -> None:
    stream = io.StringIO()
    line = StatusLine(stream)
    line.draw("a longer text")
    line.draw("short")
    assert stream.getvalue() == f"{CLEAR_LINE}a longer text{CLEAR_LINE}short"


def test_clear_writes_nothing_when_nothing_was_drawn() -> None:
    stream = io.StringIO()
    StatusLine(stream).clear()
    assert stream.getvalue() == ""


def test_clear_erases_once() -> None:
    stream = io.StringIO()
    line = StatusLine(stream)
    line.draw("x")
    line.clear()
    line.clear()
    assert stream.getvalue() == f"{CLEAR_LINE}x{CLEAR_LINE}"


@dataclass
class Stage:
    num_tasks: int
    num_completed_tasks: int
    done: bool


def test_a_quick_query_draws_nothing() -> None:
    stream, clock = io.StringIO(), ManualClock()
    handler = QueryProgressLine(stream, clock)
    handler([Stage(4, 1, False)], 3, "op", False)
    clock.now += SHOW_AFTER_S / 2
    handler([Stage(4, 4, True)], 0, "op", True)
    assert stream.getvalue() == ""


def test_a_long_query_is_drawn_then_cleared() -> None:
    stream, clock = io.StringIO(), ManualClock()
    handler = QueryProgressLine(stream, clock)
    handler([Stage(4, 1, False)], 3, "op", False)
    clock.now += SHOW_AFTER_S
    handler([Stage(4, 2, False), Stage(2, 2, True)], 2, "op", False)
    handler([Stage(4, 4, True), Stage(2, 2, True)], 0, "op", True)
    assert stream.getvalue() == (
        f"{CLEAR_LINE}query: stages 1/2, tasks 4/6 (2 running){CLEAR_LINE}"
    )


def test_upload_progress_waits_then_draws_a_bar_and_finish_clears_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    stream = io.StringIO()
    line = ProgressLine("uploading", stream)
    line.update(1_000_000, 4_000_000)
    assert stream.getvalue() == ""
    clock.now += 2 * progress.SHOW_AFTER_S
    line.update(2_000_000, 4_000_000)
    line.finish()
    drawn = stream.getvalue()
    assert drawn.startswith(f"{CLEAR_LINE}uploading [{'#' * 15}{'-' * 15}]")
    assert drawn.endswith(CLEAR_LINE)
