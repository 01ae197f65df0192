"""When a failed call is sent again: a retry policy is a value, separate from the calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sparkpush.errors import CallCancelledError, ServerUnavailableError, SparkpushError

log = logging.getLogger(__name__)

_Result = TypeVar("_Result")


@dataclass(frozen=True)
class RetryPolicy:
    """Retries transient failures with exponential backoff until `deadline_s` has passed."""

    deadline_s: float = 30.0
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0
    retry_on: tuple[type[SparkpushError], ...] = (ServerUnavailableError, CallCancelledError)
    """A server restarting or a dropped connection; anything else is an answer, not retried."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def call(self, attempt: Callable[[], _Result]) -> _Result:
        """`attempt()`, again after each transient failure; the last failure is raised."""
        deadline = self.clock() + self.deadline_s
        delay = self.first_delay_s
        while True:
            try:
                return attempt()
            except self.retry_on as exc:
                if self.clock() + delay > deadline:
                    raise
                log.info("%s; retrying in %.1f s", exc.message, delay)
                self.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
