"""Running the UDF loader child with a deadline and turning how it ended into one line.

The child (`loader_child`) is a fresh `python -m` process, or a fork of a `WarmLoader` that
has PySpark imported already. Either way it reports events on a pipe; a module that loops
forever is killed once it has been importing for `import_timeout` seconds, and a child that
dies without reporting (a crash, `os._exit`) is described by its exit status.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from sparkpush.connect.client_environment import session_environment
from sparkpush.errors import UdfLoadError
from sparkpush.processes.child_process import ChildProcess, StartChild, start_module
from sparkpush.progress.phases import mark
from sparkpush.remote.target import Target
from sparkpush.udf.loader_messages import (
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadProblem,
    LoadRequest,
)
from sparkpush.udf.problems import describe_exit, describe_problem, describe_timeout

IMPORT_TIMEOUT_S = 30.0
"""How long one module may take to import (SPARKPUSH_UDF_IMPORT_TIMEOUT overrides it)."""
STEP_TIMEOUT_S = 120.0
"""Deadline of every other step: starting, attaching, probing, registering."""
IMPORT_TIMEOUT_ENV = "SPARKPUSH_UDF_IMPORT_TIMEOUT"
LOG_NAME = "udf-loader.log"
LOADER_MODULE = "sparkpush.udf.loader_child"


class LoaderRun(Protocol):
    """One load in progress: its events end with an EXIT event."""

    def next_event(self, timeout: float) -> LoaderEvent:
        """The next event; raises queue.Empty after `timeout` seconds without one."""
        ...

    def kill(self) -> None: ...


class Loader(Protocol):
    """Starts loads: a cold `python -m` child or a warm forking loader."""

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> LoaderRun: ...


def import_timeout() -> float:
    text = os.environ.get(IMPORT_TIMEOUT_ENV)
    try:
        return float(text) if text else IMPORT_TIMEOUT_S
    except ValueError:
        return IMPORT_TIMEOUT_S


def loader_environment(target: Target, session_id: str, user_id: str) -> dict[str, str]:
    """The child's environment: the session URL without the token, the token on its own."""
    env = session_environment(target.spec, session_id, user_id, target.ca_file)
    env["PYTHONHASHSEED"] = "0"  # sets and dicts of strings pickle in a stable order
    return env


def run_loader(
    request: LoadRequest,
    env: Mapping[str, str],
    log_path: Path,
    *,
    loader: Loader | None = None,
    timeout: float | None = None,
) -> LoadOutcome:
    """Load and register in a child; raises UdfLoadError with one line on any failure."""
    run = (loader or ColdLoader()).start(request, env, log_path)
    return collect(run, timeout if timeout is not None else import_timeout())


def collect(
    run: LoaderRun, import_seconds: float, step_seconds: float = STEP_TIMEOUT_S
) -> LoadOutcome:
    """Follow a run's events to its end, killing it when a step takes too long."""
    importing: str | None = None
    deadline = time.monotonic() + step_seconds
    problem: LoadProblem | None = None
    while True:
        try:
            event = run.next_event(max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            run.kill()
            _drain(run)
            seconds = import_seconds if importing is not None else step_seconds
            raise UdfLoadError(describe_timeout(importing, seconds)) from None
        mark(f"loader.{event.kind.value}")
        if event.kind is LoaderEventKind.EXIT:
            status = event.status if event.status is not None else 1
            break
        if event.kind is LoaderEventKind.IMPORTING:
            importing = event.file
            deadline = time.monotonic() + import_seconds
            continue
        if event.kind is LoaderEventKind.IMPORTED:
            importing = None
        elif event.problem is not None:
            problem = event.problem
        elif event.outcome is not None and problem is None:
            # Every registration has been answered: the load is complete. The child's exit
            # (tearing down a forked process) is reaped by whoever started it, not waited for.
            return event.outcome
        deadline = time.monotonic() + step_seconds
    if problem is not None:
        raise UdfLoadError(describe_problem(problem))
    raise UdfLoadError(describe_exit(importing, status))


def _drain(run: LoaderRun, seconds: float = 5.0) -> None:
    """Wait (briefly) for the killed run's exit so that nothing of it lingers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if run.next_event(max(0.0, deadline - time.monotonic())).kind is LoaderEventKind.EXIT:
                return
        except queue.Empty:
            return


def read_events(stream: Iterable[bytes | str], events: queue.Queue[LoaderEvent]) -> None:
    """Put each event line of `stream` on `events` until EOF (other lines are ignored)."""
    for raw in stream:
        try:
            events.put(LoaderEvent.from_json(json.loads(raw)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


class ColdLoader:
    """A fresh `python -m sparkpush.udf.loader_child` per load: slow to start, simplest.

    `start` starts the child (`ChildProcess`); unit tests pass an in-memory one."""

    def __init__(self, start: StartChild = start_module) -> None:
        self._start = start

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> LoaderRun:
        child = self._start(
            LOADER_MODULE, env, stderr_path=log_path, append=False, cwd=request.project_root
        )
        return _ColdRun(child, request)


class _ColdRun:
    """The handshake: the request as one JSON line, EOF; then events until the child exits."""

    def __init__(self, child: ChildProcess, request: LoadRequest) -> None:
        self.events: queue.Queue[LoaderEvent] = queue.Queue()
        self._child = child
        child.send_line(json.dumps(request.to_json()))
        child.close_input()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        read_events(self._child.lines(), self.events)
        self.events.put(LoaderEvent.exited(self._child.wait()))

    def next_event(self, timeout: float) -> LoaderEvent:
        return self.events.get(timeout=timeout)

    def kill(self) -> None:
        self._child.kill()
