"""`connect` as its own process without paying for Python's start and the imports each time.

`run_connect_forked` and `start_connect_forked` give what `run_connect` and a `Popen` of
`python -m sparkpush` give (a real process of its own: signals, SIGKILL, exit codes, children
it leaves behind, atexit, fresh process-wide state), forked from one warm process
(`tests/support/warm_connect.py`) that has imported the CLI once for the whole test session.
About a second cheaper a run on a quiet machine, several under load. The differences: the
run's parent is the warm process, not the test, and the run leads a process group of its
own (as with `start_new_session`, minus the new session).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent.parent

READY_TIMEOUT_S = 300.0
"""How long the warm process may take to import the CLI (seconds on a quiet machine)."""

READ_AT_START = ("PYTHON", "GRPC_", "LD_", "MALLOC_", "LC_", "LANG", "TZ")
"""Prefixes of environment variables read when a process starts (the interpreter, its
standard streams' encoding, the time zone) or gRPC initializes, not when a command runs: a
run whose values differ from the warm process's must be spawned."""

OFF_ENV = "SPARKPUSH_TESTS_FORK"
"""`SPARKPUSH_TESTS_FORK=0` spawns every `run_connect` as before (to compare, or to rule the
warm process out when a test fails)."""


class _WarmConnect:
    """The warm process and what it reports: which run started, which ended with what."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKPUSH_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.read_at_start = _read_at_start(env)
        self._process = subprocess.Popen(
            # as a script, not `-m`: our `tests` package stays out of the runs' sys.modules
            [sys.executable, str(Path(__file__).with_name("warm_connect.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )
        self._lock = threading.Lock()  # one request at a time: answers come in order
        self._changed = threading.Condition()
        self._started: list[int] = []
        self._exits: dict[int, int] = {}
        self._ended = False
        assert self._process.stdout is not None
        ready = _readline_within(self._process.stdout, READY_TIMEOUT_S)
        if ready != b"ready\n":
            self._process.kill()
            raise AssertionError(f"the warm connect process did not start: {ready!r}")
        threading.Thread(target=self._read_reports, name="warm-connect", daemon=True).start()

    def _read_reports(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            word, pid, *rest = line.decode().split()
            with self._changed:
                if word == "started":
                    # pids wrap (pid_max 32768 here, and every JVM thread takes one): an
                    # earlier run's exit under this pid must not end the new run
                    self._exits.pop(int(pid), None)
                    self._started.append(int(pid))
                else:
                    self._exits[int(pid)] = int(rest[0])
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    @property
    def alive(self) -> bool:
        with self._changed:
            return not self._ended

    def fork(self, request: dict[str, object]) -> int:
        """Start a run; its pid."""
        with self._lock:
            assert self._process.stdin is not None
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
            with self._changed:
                self._changed.wait_for(lambda: self._started or self._ended, READY_TIMEOUT_S)
                assert self._started, "the warm connect process ended"
                return self._started.pop(0)

    def returncode(self, pid: int, timeout: float | None) -> int | None:
        """The run's exit code once it has ended (waiting up to `timeout`); None if it runs."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self._ended, timeout)
            if pid not in self._exits and self._ended:
                raise AssertionError("the warm connect process ended before the run")
            return self._exits.get(pid)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # EOF: it kills what still runs and ends
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _readline_within(stream: IO[bytes], timeout: float) -> bytes:
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else b""


_warm: _WarmConnect | None = None
_warm_lock = threading.Lock()


def _warm_connect() -> _WarmConnect:
    global _warm
    with _warm_lock:
        if _warm is None or not _warm.alive:
            _warm = _WarmConnect()
            atexit.register(_warm.close)
        return _warm


def _read_at_start(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(READ_AT_START)}


def can_fork(env: Mapping[str, str]) -> bool:
    """Whether a run with `env` can be forked from the warm process: forking is on and `env`
    agrees with it on what is read only at a process's start."""
    if os.environ.get(OFF_ENV) == "0":
        return False
    return _read_at_start(env) == _warm_connect().read_at_start


class ForkedRun:
    """A `connect` run forked from the warm process, used like a `Popen` (its output goes to
    files, read with `output()` once it has ended)."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        cwd: Path | None,
        stdin: str | None,
        umask: int | None = None,
    ) -> None:
        self.args = args
        self._folder = tempfile.TemporaryDirectory(prefix="forked-connect-")
        self._stdout = Path(self._folder.name) / "stdout"
        self._stderr = Path(self._folder.name) / "stderr"
        self._stdout.touch()
        self._stderr.touch()
        self.returncode: int | None = None
        self.pid = _warm_connect().fork(
            {
                "args": args,
                "env": dict(env),
                "cwd": str(Path.cwd() if cwd is None else cwd),
                "stdin": stdin or os.devnull,
                "stdout": str(self._stdout),
                "stderr": str(self._stderr),
                "umask": umask,
            }
        )

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = _warm_connect().returncode(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = _warm_connect().returncode(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(["connect", *self.args], timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def output(self) -> tuple[str, str]:
        """What it wrote to stdout and stderr (call once it has ended)."""
        return self._stdout.read_text(errors="replace"), self._stderr.read_text(errors="replace")

    def close(self) -> None:
        self._folder.cleanup()


def start_connect_forked(
    args: list[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> ForkedRun:
    """`connect ARGS` started as its own process (no stdin); see `ForkedRun`."""
    return ForkedRun(args, env, cwd, None)


def run_connect_forked(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: str | None = None,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`run_connect` without the interpreter's start: `connect ARGS` as its own process with
    exactly `env`, in `cwd`, reading the file `stdin` (default: nothing), with `umask` (default:
    the warm process's); its output captured. Killed, raising `subprocess.TimeoutExpired`, after
    `timeout` seconds."""
    run = ForkedRun(args, env, cwd, stdin, umask)
    try:
        try:
            code = run.wait(timeout)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
            raise
        stdout, stderr = run.output()
        return subprocess.CompletedProcess(["connect", *args], code, stdout, stderr)
    finally:
        run.close()
