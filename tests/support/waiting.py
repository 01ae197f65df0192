"""Waiting on a condition with a deadline: the one loop the tests use instead of sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 90.0
"""Generous: the machine that runs the suite is shared and often loaded."""


def wait_until(
    condition: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    what: str = "the condition",
    interval: float = 0.1,
) -> T:
    """Call `condition` until it returns something truthy, and return that.

    After `timeout` seconds (checked once more at the deadline) an AssertionError names
    `what` and the last value seen. An exception from `condition` ends the wait at once: a
    condition asserts what must hold meanwhile (e.g. that the process it waits on still runs).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} ({value!r})")
        time.sleep(interval)
