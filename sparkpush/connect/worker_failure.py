"""A UDF's exception on a Python worker, as the server's error message carries it, cut down to
the user's own frames.

The server sends `[PYTHON_EXCEPTION] An exception was thrown from the Python worker:` and the
worker's traceback (PySpark's own frames mostly left out by the server already, library
frames such as pandas' kept), then ` SQLSTATE: ...`. What a user wants of it: where in their
code it failed and the exception's last line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PYTHON_EXCEPTION = "PYTHON_EXCEPTION"
_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^  File "(?P<file>[^"]*)", line (?P<line>\d+), in (?P<function>.*)$')
_END = re.compile(r"^\s*SQLSTATE: |^JVM stacktrace:|^\tat ")
_LIBRARY = re.compile(r"[/\\](site-packages|dist-packages|pyspark)[/\\]|\.pyx$|^<frozen ")


@dataclass(frozen=True)
class WorkerFrame:
    file: str
    line: int
    function: str
    source: tuple[str, ...] = ()
    """The frame's source line and caret line, as the traceback shows them."""

    @property
    def is_users(self) -> bool:
        """Not PySpark's, not an installed library's, not the interpreter's."""
        return _LIBRARY.search(self.file) is None


@dataclass(frozen=True)
class WorkerFailure:
    frames: tuple[WorkerFrame, ...]
    exception: tuple[str, ...]
    """`Type: message` and any further lines of the message."""

    @property
    def users_frames(self) -> tuple[WorkerFrame, ...]:
        """The user's own frames; every frame when none is (a failure inside a library)."""
        own = tuple(f for f in self.frames if f.is_users)
        return own or self.frames

    def summary(self) -> str:
        """One line: `ValueError: no (udfs.py, line 12, in shout)`."""
        where = ""
        if self.users_frames:
            last = self.users_frames[-1]
            name = re.split(r"[/\\]", last.file)[-1]
            where = f" ({name}, line {last.line}, in {last.function})"
        first = self.exception[0] if self.exception else "an exception"
        return f"{first}{where}"

    def traceback_lines(self) -> list[str]:
        """The traceback with the user's own frames only, as Python prints one."""
        lines = [_TRACEBACK]
        for frame in self.users_frames:
            lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
            lines += frame.source
        return lines + list(self.exception)


def parse_worker_failure(message: str) -> WorkerFailure | None:
    """The failure a PYTHON_EXCEPTION message describes; None when it holds no traceback."""
    start = message.rfind(_TRACEBACK)
    if start < 0:
        return None
    frames: list[WorkerFrame] = []
    exception: list[str] = []
    for line in message[start + len(_TRACEBACK) :].splitlines()[1:]:
        if _END.match(line):
            break
        found = _FRAME.match(line)
        if found and not exception:
            frames.append(WorkerFrame(found["file"], int(found["line"]), found["function"].strip()))
        elif line.startswith("    ") and frames and not exception:
            last = frames[-1]
            frames[-1] = WorkerFrame(last.file, last.line, last.function, (*last.source, line))
        elif line.strip() or exception:
            exception.append(line)
    while exception and not exception[-1].strip():
        exception.pop()
    if not frames and not exception:
        return None
    return WorkerFailure(tuple(frames), tuple(exception))
