"""Running the UDF loader child with a deadline and turning how it ended into one line.

The child (`loader_child`) is a fresh `python -m` process, or a fork of a `WarmLoader` that
has PySpark imported already. Either way it reports events on a pipe; a module that loops
forever is killed once it has been importing for `import_timeout` seconds, and a child that
dies without reporting (a crash, `os._exit`) is described by its exit status.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from sparkpush.connect.client_environment import session_environment
from sparkpush.private_files import private_opener
from sparkpush.remote import Target
from sparkpush.udf.problems import UdfLoadError, describe_exit, describe_problem, describe_timeout
from sparkpush.udf.protocol import LoadedUdf, LoadProblem, LoadRequest

IMPORT_TIMEOUT_S = 30.0
"""How long one module may take to import (SPARKPUSH_UDF_IMPORT_TIMEOUT overrides it)."""
STEP_TIMEOUT_S = 120.0
"""Deadline of every other step: starting, attaching, probing, registering."""
IMPORT_TIMEOUT_ENV = "SPARKPUSH_UDF_IMPORT_TIMEOUT"
LOG_NAME = "udf-loader.log"

Event = dict[str, Any]


@dataclass(frozen=True)
class LoadOutcome:
    udfs: tuple[LoadedUdf, ...]
    worker_python: str | None
    dropped: tuple[str, ...]


class LoaderRun(Protocol):
    """One load in progress: its events end with `{"event": "exit", "status": N}`."""

    def next_event(self, timeout: float) -> Event:
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
    done: Event | None = None
    while True:
        try:
            event = run.next_event(max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            run.kill()
            _drain(run)
            seconds = import_seconds if importing is not None else step_seconds
            raise UdfLoadError(describe_timeout(importing, seconds)) from None
        kind = event.get("event")
        if kind == "exit":
            status = int(event.get("status", 1))
            break
        if kind == "importing":
            importing = str(event["file"])
            deadline = time.monotonic() + import_seconds
            continue
        if kind == "imported":
            importing = None
        elif kind == "problem":
            problem = LoadProblem.from_json(event)
        elif kind == "done":
            done = event
        deadline = time.monotonic() + step_seconds
    if problem is not None:
        raise UdfLoadError(describe_problem(problem))
    if done is not None and status == 0:
        return LoadOutcome(
            udfs=tuple(LoadedUdf.from_json(u) for u in done["udfs"]),
            worker_python=done.get("worker_python"),
            dropped=tuple(done.get("dropped", ())),
        )
    raise UdfLoadError(describe_exit(importing, status))


def _drain(run: LoaderRun, seconds: float = 5.0) -> None:
    """Wait (briefly) for the killed run's exit so that nothing of it lingers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if run.next_event(max(0.0, deadline - time.monotonic())).get("event") == "exit":
                return
        except queue.Empty:
            return


def read_events(stream: IO[bytes], events: queue.Queue[Event]) -> None:
    """Put each JSON line of `stream` on `events` until EOF (other lines are ignored)."""
    for raw in stream:
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.put(event)


class ColdLoader:
    """A fresh `python -m sparkpush.udf.loader_child` per load: slow to start, simplest."""

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> LoaderRun:
        return _ColdRun(request, env, log_path)


class _ColdRun:
    def __init__(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb", opener=private_opener) as log:
            # its own session (process group): a timeout kills whatever the module started
            self._process = subprocess.Popen(
                [sys.executable, "-m", "sparkpush.udf.loader_child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(env),
                cwd=request.project_root,
                start_new_session=True,
            )
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.write(json.dumps(request.to_json()).encode())
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        assert self._process.stdout is not None
        read_events(self._process.stdout, self.events)
        self.events.put({"event": "exit", "status": self._process.wait()})

    def next_event(self, timeout: float) -> Event:
        return self.events.get(timeout=timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
