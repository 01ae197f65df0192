"""Where the milliseconds of an operation go, for benchmarks: per-phase timestamps.

With SPARKPUSH_PHASE_LOG naming a file, `mark("sync.start")` appends one JSON line
`{"phase": ..., "at": <CLOCK_MONOTONIC seconds>, "cpu": <this process's CPU seconds>,
"pid": ...}` to it; without, it does
nothing (one dictionary lookup). The clock is the system's monotonic one, so marks from the
daemon, its UDF loader's forks and the benchmark that drives them line up on one time line.
Children inherit the variable with the rest of the environment.
"""

from __future__ import annotations

import json
import os
import time

PHASE_LOG_ENV = "SPARKPUSH_PHASE_LOG"


def mark(phase: str) -> None:
    """Record that `phase` was reached now (only where SPARKPUSH_PHASE_LOG is set)."""
    path = os.environ.get(PHASE_LOG_ENV)
    if not path:
        return
    now = {"at": time.monotonic(), "cpu": time.process_time()}
    line = json.dumps({"phase": phase, **now, "pid": os.getpid()}) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return  # a benchmark's aid: never a reason for the operation to fail
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
