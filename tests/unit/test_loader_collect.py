"""`loading.collect`: a load is answered on its outcome, not on its fork's teardown."""

from __future__ import annotations

import queue

import pytest

from sparkpush.errors import UdfLoadError
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadProblem,
)
from sparkpush.udf.loading import collect

OUTCOME = LoadOutcome((LoadedUdf("answer", "python", "string", "udfs.py:4", "f1", True),), None, ())


class ScriptedRun:
    """A `LoaderRun` that gives `events` in order, then nothing (a fork still exiting)."""

    def __init__(self, events: list[LoaderEvent]) -> None:
        self.events = list(events)
        self.waited = 0.0
        self.killed = False

    def next_event(self, timeout: float) -> LoaderEvent:
        if not self.events:
            self.waited += timeout
            raise queue.Empty
        return self.events.pop(0)

    def kill(self) -> None:
        self.killed = True


def test_the_outcome_answers_without_waiting_for_the_fork_to_exit() -> None:
    run = ScriptedRun(
        [
            LoaderEvent(LoaderEventKind.STARTED, pid=123),
            LoaderEvent(LoaderEventKind.REGISTERING),
            LoaderEvent(LoaderEventKind.DONE, outcome=OUTCOME),
        ]
    )
    assert collect(run, import_seconds=5, step_seconds=5) == OUTCOME
    assert run.waited == 0 and not run.killed


def test_a_problem_before_the_outcome_still_fails_the_load() -> None:
    problem = LoadProblem("register", "udfs.py", 4, "answer", message="no such type")
    run = ScriptedRun(
        [
            LoaderEvent(LoaderEventKind.PROBLEM, problem=problem),
            LoaderEvent(LoaderEventKind.DONE, outcome=OUTCOME),
            LoaderEvent.exited(1),
        ]
    )
    with pytest.raises(UdfLoadError, match="no such type"):
        collect(run, import_seconds=5, step_seconds=5)


def test_an_exit_without_outcome_fails_the_load() -> None:
    run = ScriptedRun([LoaderEvent(LoaderEventKind.STARTED, pid=123), LoaderEvent.exited(1)])
    with pytest.raises(UdfLoadError):
        collect(run, import_seconds=5, step_seconds=5)
