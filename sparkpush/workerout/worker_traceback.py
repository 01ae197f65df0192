"""A failing UDF's traceback as the user reads it: their own frames on both sides.

PySpark raises a `PythonException` whose message holds the worker's traceback and whose own
traceback runs through a dozen frames of PySpark's client (and, from 4.3 on, the worker's
frames once more). Shown here: the caller's frames up to the call into PySpark, then the
worker's frames cut to the user's own (`connect.worker_failure`), then the exception's line.
"""

from __future__ import annotations

import os
import traceback
from types import TracebackType

from sparkpush.connect.worker_failure import WorkerFailure, parse_worker_failure


def worker_failure_of(exc: BaseException) -> WorkerFailure | None:
    """The worker failure a PySpark exception carries (None for any other exception)."""
    if type(exc).__name__ != "PythonException" or not type(exc).__module__.startswith("pyspark"):
        return None
    return parse_worker_failure(str(exc))


def format_worker_failure(
    exc: BaseException, tb: TracebackType | None, hidden: tuple[str, ...] = ()
) -> str | None:
    """The shortened traceback of a failed UDF, or None if `exc` is no such failure.

    `hidden`: folders (parts of a path) whose frames are no one's own code (a test
    runner's, a shell's)."""
    failure = worker_failure_of(exc)
    if failure is None:
        return None
    lines = ["Traceback (most recent call last):"]
    lines += _callers_frames(tb, hidden)
    lines.append("The UDF raised on a Python worker:")
    worker = failure.traceback_lines()[1:]
    frames = worker[: len(worker) - len(failure.exception)]
    lines += frames
    kind = type(exc)
    last = failure.exception[0] if failure.exception else ""
    lines.append(f"{kind.__module__}.{kind.__qualname__}: {last}".rstrip(": "))
    lines += list(failure.exception[1:])
    return "\n".join(lines) + "\n"


def _callers_frames(tb: TracebackType | None, hidden: tuple[str, ...]) -> list[str]:
    """The frames before the first one of PySpark (PySpark and whatever it appended after)."""
    pyspark_dir = _pyspark_dir()
    shown: list[traceback.FrameSummary] = []
    for frame in traceback.extract_tb(tb):
        if pyspark_dir and frame.filename.startswith(pyspark_dir):
            break
        if not any(folder in frame.filename for folder in hidden):
            shown.append(frame)
    return [line.rstrip("\n") for line in traceback.format_list(shown)]


def _pyspark_dir() -> str:
    try:
        import pyspark
    except ImportError:
        return ""
    return os.path.dirname(pyspark.__file__ or "") + os.sep
