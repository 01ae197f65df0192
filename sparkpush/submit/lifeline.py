"""The script's process ends with `connect submit`, even with `kill -9`.

The parent holds the write end of a pipe for the whole run and never writes to it; the script's
process reads the other end in a thread. The kernel closes the parent's end when the parent
dies, however it dies: the read returns, and the script's process interrupts its run's
operations on the server and exits. Imported by the script's process: nothing heavy here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import IO

LIFELINE_ENV = "SPARKPUSH_LIFELINE_FD"
"""A spawned script process finds its end of the pipe under this descriptor number."""
INTERRUPT_GRACE_S = 10.0
"""How long the orphaned script's process tries to interrupt its operations before it exits."""
ORPHANED_EXIT_CODE = 137


def die_with_parent(lifeline: IO[str], on_parent_gone: Callable[[], None]) -> None:
    """Watch `lifeline` in a thread: at its end, run `on_parent_gone` (bounded), then exit."""

    def watch() -> None:
        try:
            lifeline.read()
        except (OSError, ValueError):  # closed under us: the process is ending anyway
            return
        deadline = threading.Timer(INTERRUPT_GRACE_S, _exit_now)
        deadline.daemon = True
        deadline.start()
        try:
            on_parent_gone()
        finally:
            _exit_now()

    threading.Thread(target=watch, name="sparkpush-lifeline", daemon=True).start()


def lifeline_from_environment() -> IO[str] | None:
    """A spawned script process's end of the pipe (the variable is removed: not the script's)."""
    raw = os.environ.pop(LIFELINE_ENV, "")
    if not raw.isdigit():
        return None
    try:
        return os.fdopen(int(raw))
    except OSError:
        return None


def _exit_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        # a closed or broken stream must not keep the process alive
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(ORPHANED_EXIT_CODE)
