"""A one-line progress bar on a TTY's stderr for work that takes more than a second."""

from __future__ import annotations

import sys
import time

SHOW_AFTER_S = 1.0


class ProgressLine:
    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed < SHOW_AFTER_S or total <= 0:
            return
        rate = done / elapsed if elapsed else 0.0
        eta = (total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(
            f"\r{self.label} [{bar}] {done / 1e6:7.1f}/{total / 1e6:.1f} MB "
            f"{rate / 1e6:6.1f} MB/s ETA {eta:4.0f} s"
        )
        sys.stderr.flush()
        self.drawn = True

    def spin(self, elapsed: float) -> None:
        frames = "|/-\\"
        sys.stderr.write(f"\r{self.label} {frames[int(elapsed * 4) % 4]} {elapsed:4.0f} s")
        sys.stderr.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
