"""A script process forked before any gRPC channel exists, so the script starts without paying
again for Python's start-up and PySpark's imports (about 0.7 s of a small job's 1.2 s).

The fork happens first thing in `connect submit`; the forked process warms PySpark's imports
and waits on a pipe (`script_main.wait_for_start`). `ForkedScript.start` sends it the run's
environment and arguments; closing the pipe without a start (the run failed before its script
could run) makes it exit quietly. Forking is only safe before gRPC has a channel, hence so
early, and this module imports nothing heavy; on platforms without fork, or with
SPARKPUSH_CHILD=spawn, `prefork` returns None and the run spawns `python -m` instead.
Once started, the pipe stays open until the process has ended: it is the run's lifeline (see
`lifeline`), closed by the kernel if this process dies first.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

POLL_S = 0.02


class ForkedScript:
    """The parent's handle on the pre-forked process: start it, then use it like a `Popen`."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._pipe: int | None = pipe
        self.started = False
        self.returncode: int | None = None

    def start(self, argv: list[str], env: dict[str, str]) -> ForkedScript:
        """Run the script: `argv` as for `script_main.main`."""
        assert self._pipe is not None, "already started or abandoned"
        self.started = True
        data = (json.dumps({"argv": argv, "env": env}) + "\n").encode()
        while data:
            data = data[os.write(self._pipe, data) :]
        return self

    def load(self, order: dict[str, object]) -> None:
        """Have the waiting process fork a UDF loader (see `forked_loader`); it waits on after."""
        assert self._pipe is not None and not self.started, "already started or abandoned"
        data = (json.dumps({"load": order}) + "\n").encode()
        while data:
            data = data[os.write(self._pipe, data) :]

    def abandon(self) -> None:
        """The run ends before its script: the process sees EOF and exits (no-op once started)."""
        if self.started:
            return
        self._close_pipe()
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
                self._close_pipe()
        return self.returncode

    def _close_pipe(self) -> None:
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
            self._pipe = None

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


_early: list[ForkedScript | None] = []


def prefork_early() -> None:
    """Fork at process start, before the CLI is imported; `prefork` then hands it over."""
    _early.append(_fork())


def prefork() -> ForkedScript | None:
    """The waiting script process: the one forked at start-up, else one forked now (call
    before any gRPC channel is created)."""
    if _early:
        return _early.pop()
    return _fork()


def _fork() -> ForkedScript | None:
    if not hasattr(os, "fork") or os.environ.get("SPARKPUSH_CHILD") == "spawn":
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(read_end)
        return ForkedScript(pid, write_end)
    os.close(write_end)
    try:
        from sparkpush.submit.script_main import wait_for_start

        code = wait_for_start(read_end)
    except BaseException:  # never return into the parent's code
        import traceback

        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
