"""When a run must stop: its deadline (--timeout), SIGINT or SIGTERM, and a second Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from types import FrameType

from sparkpush.errors import ExitCode


class StopReason(Enum):
    TIMEOUT = "timeout"
    SIGINT = "SIGINT"
    SIGTERM = "SIGTERM"

    @property
    def exit_code(self) -> int:
        return {
            StopReason.TIMEOUT: ExitCode.TIMEOUT,
            StopReason.SIGINT: ExitCode.INTERRUPTED,
            StopReason.SIGTERM: ExitCode.TERMINATED,
        }[self]


_BY_SIGNAL = {signal.SIGINT: StopReason.SIGINT, signal.SIGTERM: StopReason.SIGTERM}


class RunControl:
    """Latches the first reason to stop; a second SIGINT makes the stop urgent."""

    def __init__(self, timeout_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.deadline = None if timeout_s is None else clock() + timeout_s
        self._reason: StopReason | None = None
        self.urgent = threading.Event()
        self._on_urgent: list[Callable[[], None]] = []

    @property
    def stop_reason(self) -> StopReason | None:
        if self._reason is None and self.deadline is not None and self._clock() >= self.deadline:
            self._reason = StopReason.TIMEOUT
        return self._reason

    @property
    def signal_received(self) -> StopReason | None:
        """SIGINT or SIGTERM if one came, whatever the deadline says."""
        return self._reason if self._reason in (StopReason.SIGINT, StopReason.SIGTERM) else None

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None without one)."""
        return None if self.deadline is None else max(0.0, self.deadline - self._clock())

    def on_urgent(self, action: Callable[[], None]) -> None:
        """Run `action` at once if the user insists (a second Ctrl-C)."""
        self._on_urgent.append(action)

    def receive(self, signum: int) -> None:
        reason = _BY_SIGNAL.get(signal.Signals(signum))
        if self._reason is not None and reason is StopReason.SIGINT:
            self.urgent.set()
            for action in self._on_urgent:
                action()
        if self._reason is None:
            self._reason = reason

    @contextmanager
    def handling_signals(self) -> Iterator[RunControl]:
        """Route SIGINT and SIGTERM to `receive` (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.receive(signum)

        previous = {sig: signal.signal(sig, handler) for sig in _BY_SIGNAL}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
