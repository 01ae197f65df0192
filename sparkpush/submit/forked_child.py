"""A child forked before any gRPC channel exists, so the script starts without paying again
for Python's start-up and PySpark's imports (about 0.7 s of a small job's 1.2 s).

The fork happens first thing in `connect submit`; the child warms PySpark's imports and
waits on a pipe. `start` sends it the run's environment and arguments; closing the pipe
without a start (the run failed before its script could run) makes it exit quietly.
Forking is only safe before gRPC has a channel, hence so early; on platforms without fork,
or with SPARKPUSH_CHILD=spawn, `prefork` returns None and the run spawns `python -m` as before.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any, NoReturn

POLL_S = 0.02


class ForkedChild:
    """The parent's handle: start it, then use it like a `subprocess.Popen`."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._pipe: int | None = pipe
        self.started = False
        self.returncode: int | None = None

    def start(self, argv: list[str], env: dict[str, str]) -> ForkedChild:
        """Run the script: `argv` as for `python -m sparkpush.submit.child`."""
        assert self._pipe is not None, "already started or abandoned"
        self.started = True
        with os.fdopen(self._pipe, "w") as pipe:
            self._pipe = None
            json.dump({"argv": argv, "env": env}, pipe)
        return self

    def load(self, order: dict[str, object]) -> None:
        """Have the waiting child fork a UDF loader (see `forked_loader`); it waits on after."""
        assert self._pipe is not None and not self.started, "already started or abandoned"
        data = (json.dumps({"load": order}) + "\n").encode()
        while data:
            data = data[os.write(self._pipe, data) :]

    def abandon(self) -> None:
        """The run ends before its script: the child sees EOF and exits (no-op once started)."""
        if self.started:
            return
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
            self._pipe = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(timeout=5)
        if self.poll() is None:
            self.kill()
            self.wait()

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(POLL_S)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_early: list[ForkedChild | None] = []


def prefork_early() -> None:
    """Fork at process start, before the CLI is imported; `prefork` then hands it over."""
    _early.append(_fork())


def prefork() -> ForkedChild | None:
    """The waiting child: the one forked at start-up, else one forked now (call before any
    gRPC channel is created)."""
    if _early:
        return _early.pop()
    return _fork()


def _fork() -> ForkedChild | None:
    if not hasattr(os, "fork") or os.environ.get("SPARKPUSH_CHILD") == "spawn":
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(read_end)
        return ForkedChild(pid, write_end)
    os.close(write_end)
    try:
        code = _child(read_end)
    except BaseException:  # never return into the parent's code
        import traceback

        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _child(read_end: int) -> int:
    # The parent's exit handlers, log handlers and signal handlers are not the script's.
    atexit._clear()
    # as `python -u`: the script's output reaches CI logs as it is printed
    sys.stdout.reconfigure(write_through=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(write_through=True)  # type: ignore[union-attr]
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)
    # Until the script starts, a Ctrl-C (or a SIGINT sent to the whole process group) is the
    # parent's to handle: it closes the pipe, and we exit quietly instead of with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        import pyspark.sql.connect.session  # noqa: F401  (warm while the parent prepares)
    with os.fdopen(read_end) as pipe:
        for line in pipe:
            order = json.loads(line)
            if "load" not in order:
                break
            _load_udfs(order["load"])
        else:
            return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(order["env"])
    from sparkpush.submit.child import main

    code = main(order["argv"])
    atexit._run_exitfuncs()
    return code


def _load_udfs(load: dict[str, Any]) -> None:
    """Fork a UDF loader, wait for it, and add its `exit` event to its events FIFO."""
    events = os.open(load["events"], os.O_WRONLY)
    try:
        pid = os.fork()
        if pid == 0:
            _run_loader(load, events)
        _, status = os.waitpid(pid, 0)
        exit_event = {"event": "exit", "status": os.waitstatus_to_exitcode(status)}
        os.write(events, (json.dumps(exit_event) + "\n").encode())
    finally:
        os.close(events)


def _run_loader(load: dict[str, Any], events: int) -> NoReturn:
    """In the loader fork: events on `events`, anything printed into the loader's log."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(load["env"])
        from sparkpush.private_files import private_opener

        log = private_opener(load["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(log, 2)
        os.dup2(log, 1)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        from sparkpush.udf import loader_child
        from sparkpush.udf.loader_messages import LoadRequest

        with os.fdopen(events, "w", buffering=1) as result:
            code = loader_child.run(LoadRequest.from_json(load["request"]), result)
    finally:
        os._exit(code)
