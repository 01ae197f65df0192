"""A `python -m` child that speaks lines on its stdin and stdout, as its parent sees it.

`ChildProcess` is the seam: the real one wraps `subprocess.Popen` (`start_module`); unit tests
start an in-memory one instead, so a handshake is tested without a process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Protocol

from sparkpush.state.private_files import private_opener

LATE_OUTPUT_S = 5.0
"""How long the last of a child's output may lag behind its exit (a grandchild may hold it)."""


class ChildProcess(Protocol):
    """A started child: lines in, lines out, an exit status; `kill` ends its process group."""

    @property
    def pid(self) -> int: ...

    def send_line(self, line: str) -> None:
        """One line on the child's stdin (a child that is gone is not an error)."""
        ...

    def close_input(self) -> None:
        """EOF on the child's stdin."""
        ...

    def lines(self) -> Iterator[str]:
        """The child's stdout, line by line, until it closes it."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status; raises subprocess.TimeoutExpired after `timeout` seconds."""
        ...

    def kill(self) -> None:
        """SIGKILL to the child's process group (whatever it started goes too)."""
        ...


class StartChild(Protocol):
    """Starts `python -m module` with `env` (and only `env`), its stderr to `stderr_path`."""

    def __call__(
        self,
        module: str,
        env: Mapping[str, str],
        *,
        stderr_path: Path | None = None,
        append: bool = False,
        cwd: str | None = None,
    ) -> ChildProcess: ...


class PopenChild:
    """The real child: `python -m module` in a process group of its own."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def send_line(self, line: str) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.write((line + "\n").encode())
            self._process.stdin.flush()

    def close_input(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()

    def lines(self) -> Iterator[str]:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            yield raw.decode(errors="replace")

    def wait(self, timeout: float | None = None) -> int:
        return self._process.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()


def start_module(
    module: str,
    env: Mapping[str, str],
    *,
    stderr_path: Path | None = None,
    append: bool = False,
    cwd: str | None = None,
) -> ChildProcess:
    """`python -m module`; its stderr to `stderr_path` (user-only; afresh unless `append`),
    else discarded."""
    log: IO[bytes] | int
    with contextlib.ExitStack() as stack:
        if stderr_path is not None:
            stderr_path.parent.mkdir(parents=True, exist_ok=True)
            mode = "ab" if append else "wb"
            log = stack.enter_context(open(stderr_path, mode, opener=private_opener))
        else:
            log = subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    return PopenChild(process)


def output_within(child: ChildProcess, timeout: float) -> str | None:
    """All the child's stdout once it has exited; None (and the child killed) when it has not
    finished within `timeout` seconds."""
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(child.lines()), daemon=True)
    reader.start()
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(5.0)
        return None
    reader.join(LATE_OUTPUT_S)
    return "".join(chunks)
