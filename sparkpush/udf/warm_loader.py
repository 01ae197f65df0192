"""A long-lived loader that has imported PySpark once and forks a fresh child per load.

A cold loader pays for Python's start-up and PySpark's imports (about 1 s) on every load;
this one pays once. Each load still runs in a new forked process, so the user's modules are
always imported fresh and a crash or endless loop only costs that fork. The warm process
never opens a gRPC channel itself: forking is only safe before one exists.

Protocol on its stdin: one JSON line per load, `{"env": {...}, "request": {...}}`; on its
stdout the child's `LoaderEvent`s, then an EXIT event once the fork is reaped. The fork that
runs a load is made ahead of it, half a second after the previous one exited (`SpareFork`):
an edit then waits for no fork.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sparkpush.processes.child_process import ChildProcess, StartChild, start_module
from sparkpush.progress.phases import mark
from sparkpush.udf.loader_fork import SpareFork
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadProblem,
    LoadRequest,
)
from sparkpush.udf.loading import read_events

_WARM_IMPORTS = (
    "pandas",
    "pyarrow",
    "grpc",
    "pyspark.cloudpickle",
    "pyspark.sql.connect.session",
    "pyspark.sql.connect.udf",
    "pyspark.sql.connect.udtf",
    "pyspark.sql.functions",
    "pyspark.sql.pandas.functions",
    "pyspark.sql.types",
    "sparkpush.udf.loader_child",
)
WARM_MODULE = "sparkpush.udf.warm_loader"
SPARE_DELAY_S = 0.5
"""How long after a load the next one's fork waits to be made: the user's query on what the
load registered runs meanwhile, and a fork takes a core for a while."""
EXIT_WAIT_S = 10.0
"""How long a finished load's fork may take to exit before it is killed."""
_WARM_IMPORTS_IF_THERE = (
    # what PySpark's client imports lazily when it attaches: grpc's call credentials and
    # channel modules (tens of ms in every fork otherwise) and its optional compression
    "grpc._auth",
    "grpc._channel",
    "grpc._plugin_wrapping",
    "zstandard",
)


class WarmLoader:
    """The parent's handle; one load at a time; restarts the warm process if it died.

    `start` starts the warm process (`ChildProcess`); unit tests pass an in-memory one."""

    def __init__(self, log_path: Path | None = None, start: StartChild = start_module) -> None:
        self._log_path = log_path
        self._start = start
        self._child: ChildProcess | None = None
        self._events: queue.Queue[LoaderEvent] = queue.Queue()
        self._lock = threading.Lock()
        self._last_run: _WarmRun | None = None

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> _WarmRun:
        with self._lock:
            self._finish_previous()
            child = self._ensure_running(env, self._log_path or log_path)
            message = {"env": dict(env), "request": request.to_json()}
            child.send_line(json.dumps(message))
            mark("loader.request_sent")
            self._last_run = _WarmRun(self, self._events)
            return self._last_run

    def _finish_previous(self) -> None:
        """The last load's own events end with its fork's exit, which its caller need not
        wait for (see `loading.collect`): consumed here, so the next load reads only its own.
        A fork that does not exit is killed; a warm process that still says nothing, too."""
        run, self._last_run = self._last_run, None
        if run is None or run.exited:
            return
        if run.wait_exit(EXIT_WAIT_S):
            return
        run.kill()
        if not run.wait_exit(EXIT_WAIT_S):
            self._stop_process()

    def warm_up(self, env: Mapping[str, str], log_path: Path) -> None:
        """Start the warm process now rather than on the first load (it forks its first
        spare as soon as its imports are done)."""
        with self._lock:
            self._ensure_running(env, self._log_path or log_path)

    def _ensure_running(self, env: Mapping[str, str], log_path: Path) -> ChildProcess:
        if self._child is not None and _running(self._child):
            return self._child
        base = {k: v for k, v in env.items() if k != "SPARK_CONNECT_AUTHENTICATE_TOKEN"}
        self._child = self._start(WARM_MODULE, base, stderr_path=log_path, append=True)
        self._events = queue.Queue()
        threading.Thread(target=self._follow, args=(self._child, self._events), daemon=True).start()
        return self._child

    @staticmethod
    def _follow(child: ChildProcess, events: queue.Queue[LoaderEvent]) -> None:
        read_events(child.lines(), events)
        # the warm process itself died: end any load in progress
        events.put(LoaderEvent.exited(child.wait()))

    def kill_process(self) -> None:
        """Kill the warm process and its forks (its process group)."""
        if self._child is not None:
            self._child.kill()

    def close(self) -> None:
        """Stop the warm process (EOF on its stdin, then a kill if it lingers)."""
        with self._lock:
            self._stop_process()

    def _stop_process(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.close_input()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def __enter__(self) -> WarmLoader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _running(child: ChildProcess) -> bool:
    try:
        child.wait(timeout=0)
    except subprocess.TimeoutExpired:
        return True
    return False


class _WarmRun:
    """One load on the warm process; `kill` ends only the forked child."""

    def __init__(self, owner: WarmLoader, events: queue.Queue[LoaderEvent]) -> None:
        self._owner = owner
        self._events = events
        self._pid: int | None = None
        self.exited = False

    def next_event(self, timeout: float) -> LoaderEvent:
        event = self._events.get(timeout=timeout)
        if event.kind is LoaderEventKind.STARTED:
            self._pid = event.pid
        elif event.kind is LoaderEventKind.EXIT:
            self.exited = True
        return event

    def wait_exit(self, timeout: float) -> bool:
        """Read this run's remaining events up to its exit; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while not self.exited:
                self.next_event(max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        return True

    def kill(self) -> None:
        if self._pid is None:
            self._owner.kill_process()  # the fork never said hello: start over
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)


def serve(requests: int, events: int, spare_delay: float = SPARE_DELAY_S) -> None:
    """The warm process: one load per request line (read from the file descriptor
    `requests`), each in a fork made before its request came (a `SpareFork`), then that
    fork's exit (written, with its events, to `events`). The next spare is forked once no
    request came for `spare_delay` seconds; a request within them gets a fork made for it."""
    from sparkpush.udf.loader_child import prepare

    lines = _Lines(requests)
    spare: SpareFork | None = SpareFork(events, prepare=prepare)
    try:
        while True:
            try:
                line = lines.next_line(None if spare is not None else spare_delay)
            except EOFError:
                return
            if line is None:
                spare = SpareFork(events, prepare=prepare)
                continue
            message: dict[str, Any] = json.loads(line)
            running, spare = spare or SpareFork(events, prepare=prepare), None
            # what the user's modules print goes to our stderr: the warm loader's log
            running.load(message["request"], message["env"])
    finally:
        if spare is not None:
            spare.discard()


class _Lines:
    """Lines from a file descriptor, with a timeout (a buffered file object's own buffer
    would hide a line from `select`)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def next_line(self, timeout: float | None) -> bytes | None:
        """The next line; None when none came within `timeout` seconds; EOFError at the end
        (an unfinished last line is dropped)."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


def _rehearse() -> None:
    """Once here what each fork would otherwise do for the first time, and lose with it: the
    record codec's import and its per-class type information for every message, and a pickle
    of a function (several ms of CPU in each load before)."""
    from pyspark import cloudpickle

    request = LoadRequest(project_root="/", modules=("m.py",), known={"f": "0"})
    LoadRequest.from_json(json.loads(json.dumps(request.to_json())))
    udf = LoadedUdf("f", "scalar", "string", "m.py:1", "0", True)
    for event in (
        LoaderEvent(LoaderEventKind.STARTED, pid=1),
        LoaderEvent(LoaderEventKind.IMPORTING, file="m.py"),
        LoaderEvent(LoaderEventKind.DONE, outcome=LoadOutcome((udf,), "3.11", ("g",))),
        LoaderEvent(LoaderEventKind.PROBLEM, problem=LoadProblem("import", "m.py", 1)),
        LoaderEvent.exited(0),
    ):
        LoaderEvent.from_json(json.loads(json.dumps(event.to_json())))
    cloudpickle.dumps(lambda value: value)


def main() -> int:
    import importlib

    for name in _WARM_IMPORTS:
        importlib.import_module(name)
    for name in _WARM_IMPORTS_IF_THERE:
        with contextlib.suppress(ImportError):  # another version's layout: the fork imports
            importlib.import_module(name)
    _rehearse()
    # What is imported now lives as long as the process: the garbage collector of each fork
    # leaves it alone instead of walking (and so copying) every page of it (~100k objects).
    gc.collect()
    gc.freeze()
    sys.stdout.flush()
    serve(sys.stdin.fileno(), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
