"""Registering a fresh session's UDFs from the pre-forked script child, not a new Python.

A cold UDF loader pays for Python's start-up and PySpark's imports (about 1 s, several
under load) right before the script can start. The pre-forked child has both already: on a
`load` order it forks a loader of its own (the order carries the request, its environment,
and a FIFO for the events), reaps it, adds the `exit` event, and waits for its script as
before. The loader fork imports the user's modules and patches PySpark in its own memory:
the script's process is untouched.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from sparkpush.submit.prefork import ForkedScript
from sparkpush.udf.loader_messages import LoaderEvent, LoaderEventKind, LoadRequest
from sparkpush.udf.loading import read_events

LIVENESS_POLL_S = 0.5


class ForkedLoader:
    """A `Loader` (see `udf.loading`) that loads in a fork of the waiting script child."""

    def __init__(self, child: ForkedScript) -> None:
        self._child = child
        self._run: _ForkedRun | None = None

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> _ForkedRun:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        run = self._run = _ForkedRun(self._child)
        self._child.load(
            {
                "request": request.to_json(),
                "env": dict(env),
                "events": str(run.fifo),
                "log": str(log_path),
            }
        )
        return run

    def stop(self) -> None:
        """End a load still running (the run stops): the script child can then exit at once."""
        if self._run is not None:
            self._run.kill()


class _ForkedRun:
    """One load: events read from a FIFO in a private temporary folder."""

    def __init__(self, child: ForkedScript) -> None:
        self._child = child
        self._folder = tempfile.mkdtemp(prefix="sparkpush-udf-")
        self.fifo = Path(self._folder) / "events"
        os.mkfifo(self.fifo, 0o600)
        self.events: queue.Queue[LoaderEvent] = queue.Queue()
        self._pid: int | None = None
        self._ended = threading.Event()
        threading.Thread(target=self._follow, name="sparkpush-udf-events", daemon=True).start()

    def _follow(self) -> None:
        try:
            with self.fifo.open("rb") as stream:
                read_events(stream, self.events)
        finally:
            self._ended.set()
            # the loader's `exit` event came first, unless it died without one
            self.events.put(LoaderEvent.exited(1))
            shutil.rmtree(self._folder, ignore_errors=True)

    def next_event(self, timeout: float) -> LoaderEvent:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=min(LIVENESS_POLL_S, timeout))
            except queue.Empty:
                if self._child.poll() is not None and not self._ended.is_set():
                    self._unblock_reader()  # the script child died before it opened the FIFO
                if time.monotonic() >= deadline:
                    raise
                continue
            if event.kind is LoaderEventKind.STARTED:
                self._pid = event.pid
            return event

    def kill(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._unblock_reader()

    def _unblock_reader(self) -> None:
        """Open and close the FIFO's write end: a reader still waiting for one sees EOF."""
        with contextlib.suppress(OSError):
            os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
