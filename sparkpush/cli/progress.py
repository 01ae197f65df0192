"""What the CLI draws on stderr: a one-line progress bar on a TTY, status and log lines."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timezone
from typing import IO

from sparkpush.progress.notify import Notify
from sparkpush.progress.status_line import StatusLine

SHOW_AFTER_S = 1.0


class ProgressLine:
    """Upload progress (a bar, MB/s, ETA) or a spinner on stderr's status line."""

    def __init__(self, label: str, stream: IO[str] | None = None) -> None:
        self.label = label
        self.started = time.monotonic()
        self.line = StatusLine(stream if stream is not None else sys.stderr)

    def update(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed < SHOW_AFTER_S or total <= 0:
            return
        rate = done / elapsed if elapsed else 0.0
        eta = (total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        self.line.draw(
            f"{self.label} [{bar}] {done / 1e6:7.1f}/{total / 1e6:.1f} MB "
            f"{rate / 1e6:6.1f} MB/s ETA {eta:4.0f} s"
        )

    def spin(self, elapsed: float) -> None:
        frames = "|/-\\"
        self.line.draw(f"{self.label} {frames[int(elapsed * 4) % 4]} {elapsed:4.0f} s")

    def finish(self) -> None:
        self.line.clear()


LOG_FORMATS = ("plain", "timestamped")


def status_notifier(log_format: str) -> Notify:
    """`connect: message` lines on stderr, prefixed with a UTC timestamp if asked for."""
    timestamped = log_format == "timestamped"

    def notify(message: str) -> None:
        stamp = f"{_utc_now()} " if timestamped else ""
        sys.stderr.write(f"{stamp}connect: {message}\n")
        sys.stderr.flush()

    return notify


def timestamp_logs() -> None:
    """Prefix the CLI's log lines with a UTC timestamp too."""
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ connect: %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def _utc_now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
