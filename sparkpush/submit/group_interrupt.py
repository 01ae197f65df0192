"""A Ctrl-C (or a signal sent to the whole process group: CI runners, `timeout -s INT`) reaches
the script and `connect submit` at once. If the script's PySpark client reacted first it would
cancel its own query, and the parent's interrupt by tag would find (and count) nothing. So in
the script's process the first SIGINT only takes note: the parent interrupts the run's
operations, touches the stop file and sends SIGINT again, which raises KeyboardInterrupt.

Without a parent that follows up (it died), the script stops on its own after FALLBACK_S.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

STOP_FILE_ENV = "SPARKPUSH_STOP_FILE"
FALLBACK_S = 5.0


class GroupInterrupts:
    """The script's SIGINT handler; `noted` says a stop is under way."""

    def __init__(self, stop_file: Path) -> None:
        self.stop_file = stop_file
        self.noted = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.noted or self.stop_file.exists():
            self.noted = True
            raise KeyboardInterrupt
        self.noted = True
        fallback = threading.Timer(FALLBACK_S, os.kill, (os.getpid(), signal.SIGINT))
        fallback.daemon = True
        fallback.start()


def from_environment(environ: os._Environ[str] | dict[str, str]) -> GroupInterrupts | None:
    stop_file = environ.get(STOP_FILE_ENV)
    return GroupInterrupts(Path(stop_file)) if stop_file else None
