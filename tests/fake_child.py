"""An in-memory `ChildProcess`: what a parent sends is recorded, what the child answers is
scripted, so a parent's handshake with its child is unit-tested without a process."""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Script = Callable[["FakeChild"], None]
"""The child's side: reads `received`, `answer`s lines, then `exit`s (runs on its own thread)."""


class FakeChild:
    """A started child whose side is `script`, run on a thread of its own."""

    def __init__(self, script: Script, pid: int = 4242) -> None:
        self._pid = pid
        self._in: queue.Queue[str | None] = queue.Queue()
        self._out: queue.Queue[str | None] = queue.Queue()
        self._status: int | None = None
        self._exited = threading.Event()
        self.sent: list[str] = []
        self.input_closed = False
        self.killed = False
        threading.Thread(target=script, args=(self,), daemon=True).start()

    # the parent's side (the ChildProcess protocol)
    @property
    def pid(self) -> int:
        return self._pid

    def send_line(self, line: str) -> None:
        if not self.input_closed:
            self.sent.append(line)
            self._in.put(line)

    def close_input(self) -> None:
        self.input_closed = True
        self._in.put(None)

    def lines(self) -> Iterator[str]:
        while (line := self._out.get()) is not None:
            yield line

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired("fake child", timeout or 0.0)
        assert self._status is not None
        return self._status

    def kill(self) -> None:
        self.killed = True
        self.exit(-9)

    # the child's side
    def received(self, timeout: float = 30.0) -> str | None:
        """The next line from the parent; None at EOF."""
        return self._in.get(timeout=timeout)

    def answer(self, line: str) -> None:
        if not self._exited.is_set():
            self._out.put(line + "\n")

    def exit(self, status: int) -> None:
        if not self._exited.is_set():
            self._status = status
            self._out.put(None)
            self._exited.set()

    def hang(self) -> None:
        """Never answer nor exit (until killed)."""


@dataclass
class Started:
    module: str
    env: dict[str, str]
    stderr_path: Path | None
    cwd: str | None
    child: FakeChild


@dataclass
class FakeStarter:
    """Stands in for `start_module`: each start runs `script` in a new `FakeChild`."""

    script: Script
    started: list[Started] = field(default_factory=list)

    def __call__(
        self,
        module: str,
        env: Mapping[str, str],
        *,
        stderr_path: Path | None = None,
        append: bool = False,
        cwd: str | None = None,
    ) -> FakeChild:
        child = FakeChild(self.script, pid=4242 + len(self.started))
        self.started.append(Started(module, dict(env), stderr_path, cwd, child))
        return child
