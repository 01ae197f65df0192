"""One terminal line redrawn in place (upload progress, a spinner, query progress)."""

from __future__ import annotations

from typing import IO

CLEAR_LINE = "\r\033[K"
"""Back to the line's start and erase it: a shorter text leaves nothing of the longer one."""


class StatusLine:
    """Draws over its own line of `stream` (a TTY); `clear` leaves the line empty."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.drawn = False

    def draw(self, text: str) -> None:
        self.stream.write(CLEAR_LINE + text)
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Erase what was drawn (nothing is written if nothing was)."""
        if self.drawn:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.drawn = False
