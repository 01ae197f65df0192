"""When a read of the worker log view can find something new: the run's query activity.

Reading the view is a Spark job of its own, one task per block of output the session kept
(0.1 s to seconds on a loaded server, more with every Python task the session ran). The
server saves a task's output as one block when the task ends, so a read can find something
new only after a task or a query ended, and only where Python code runs on the workers: a
Python function was sent (pickled) by the process, or the session has the project's Python
UDFs. A running query whose tasks have not ended yet has nothing to read.

Events, one character each: `p` a Python function pickled, `r` a query reports progress
(running) with every task started, `b` a query reports tasks still waiting for a slot (a
read now would wait behind them: Spark runs jobs first come, first served), `t` tasks of a
running query ended since its last report (their output is saved), `d` a query finished,
`i` none left running, `f` show what there is now (the script failed: its traceback should
follow its UDFs' lines, not come before them). A PySpark progress handler (`ProgressEvents`)
makes them in the process that runs the queries; `connect submit`'s script child appends
them to a file that the parent follows (`EventFile`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PICKLED = "p"
RUNNING = "r"
BACKLOGGED = "b"
TASKS_ENDED = "t"
DONE = "d"
IDLE = "i"
FLUSH = "f"
EVENTS_ENV = "SPARKPUSH_WORKER_OUTPUT_EVENTS"
"""The script child's events file (set by `connect submit` when worker output is on)."""


@dataclass(frozen=True)
class Activity:
    relevant: bool
    """Python code may have run on the workers."""
    running: bool
    """A query is running (it reported progress and has not finished), with no task waiting
    for a slot."""
    ended: bool
    """A query or some of a running query's tasks ended since the last `take()`: their
    output is saved, a read finds it."""
    flush: bool = False
    """Someone waits for a read now (see `FLUSH`)."""


class QueryActivity:
    """The events so far, as `take()` sums them up (thread-safe)."""

    def __init__(self, relevant: bool = False) -> None:
        self._relevant = relevant
        self._running = False
        self._ended = False
        self._flush = False
        self._lock = threading.Lock()

    def add(self, events: Iterable[str]) -> None:
        with self._lock:
            for event in events:
                if event == PICKLED:
                    self._relevant = True
                elif event == RUNNING:
                    self._running = True
                elif event == BACKLOGGED:
                    self._running = False
                elif event in (DONE, TASKS_ENDED):
                    self._ended = True
                elif event == IDLE:
                    self._running = False
                elif event == FLUSH:
                    self._flush = True

    def take(self) -> Activity:
        """The activity now; `ended` is reset (a read will see those tasks' output)."""
        with self._lock:
            activity = Activity(self._relevant, self._running, self._ended, self._flush)
            self._ended = self._flush = False
            return activity


class ProgressEvents:
    """A PySpark progress handler (`spark.registerProgressHandler`) making events."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._running: dict[str | None, str] = {}
        self._ended_tasks: dict[str | None, int] = {}
        """Per query: its tasks that had ended at its last `t`."""
        self._lock = threading.Lock()

    def __call__(
        self,
        stages: Any = None,
        inflight_tasks: int = 0,
        operation_id: str | None = None,
        done: bool = False,
        **_: Any,
    ) -> None:
        with self._lock:
            events = ""
            if done:
                events += DONE
                self._ended_tasks.pop(operation_id, None)
                if self._running.pop(operation_id, None) is not None and not self._running:
                    events += IDLE
            else:
                state = BACKLOGGED if waiting_tasks(stages, inflight_tasks) else RUNNING
                if self._running.get(operation_id) != state:
                    self._running[operation_id] = state
                    events += state
                ended = ended_tasks(stages)
                # while tasks wait for a slot a read would wait behind them: told once none do
                if state == RUNNING and ended > self._ended_tasks.get(operation_id, 0):
                    self._ended_tasks[operation_id] = ended
                    events += TASKS_ENDED
        if events:
            self._emit(events)


def ended_tasks(stages: Any) -> int:
    """Tasks of the query's known stages that ended (PySpark's StageInfo)."""
    return sum(int(stage.num_completed_tasks) for stage in stages or ())


def waiting_tasks(stages: Any, inflight_tasks: int) -> int:
    """Tasks of the query's known stages that neither ran nor run (PySpark's StageInfo)."""
    left = sum(
        max(0, int(stage.num_tasks) - int(stage.num_completed_tasks))
        for stage in stages or ()
        if not getattr(stage, "done", False)
    )
    return max(0, left - int(inflight_tasks or 0))


class EventFile:
    """The child's side: events appended to the file the parent follows."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    def emit(self, events: str) -> None:
        with contextlib.suppress(OSError):  # the parent gone: nobody to tell
            os.write(self._fd, events.encode())

    def flush(self, seconds: float) -> bool:
        """Ask the parent to show what the workers wrote so far; whether it did in time."""
        done = flushed_marker(self.path)
        with contextlib.suppress(OSError):
            os.unlink(done)
        self.emit(FLUSH)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.path.exists(done):
                return True
            time.sleep(0.05)
        return False


def flushed_marker(events_path: str | Path) -> str:
    """The file the parent creates once a flush's read is shown."""
    return f"{events_path}.flushed"


class FollowedEventFile:
    """The parent's side: new events of the file since the last look."""

    def __init__(self, path: Path, activity: QueryActivity) -> None:
        self.path = path
        self.activity = activity
        self._offset = 0

    def look(self) -> None:
        try:
            with self.path.open("rb") as events:
                events.seek(self._offset)
                new = events.read()
        except OSError:
            return
        self._offset += len(new)
        self.activity.add(new.decode("ascii", errors="ignore"))

    def flushed(self) -> None:
        """Tell the child its flush is done (see `EventFile.flush`)."""
        with contextlib.suppress(OSError):
            Path(flushed_marker(self.path)).touch(mode=0o600)
