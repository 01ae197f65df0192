"""Calls that must return in time even when the server (or grpc) does not honour a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CallTimedOut(Exception):
    """The call was still running when its time was up; it goes on in a daemon thread."""


class BoundedCall(Generic[T]):
    """Runs `fn` in a daemon thread; `wait` returns its result or raises what it raised."""

    def __init__(self, fn: Callable[[], T], name: str = "sparkpush-call") -> None:
        self._fn = fn
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, seconds: float | None) -> T:
        """The result, waiting at most `seconds`; raises CallTimedOut if not done by then."""
        self._thread.join(seconds)
        if self._thread.is_alive():
            raise CallTimedOut()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


def call_within(fn: Callable[[], T], seconds: float) -> T:
    """`fn()`, or CallTimedOut after `seconds`."""
    return BoundedCall(fn).wait(seconds)
