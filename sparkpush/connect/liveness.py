"""Noticing a server that stopped answering (a stopped or hung JVM) while a run waits on it.

A JVM stopped with SIGSTOP, or stuck, keeps its connections open: the channel stays READY and
`connection_watch` sees nothing, while the script's own client waits for minutes. gRPC's
keepalive pings are refused by Spark's server (too many pings: GOAWAY), so a cheap question
of our own goes on the side: the server's Spark version, an AnalyzePlan that gRPC's threads
answer without the executors. The server counts as hung once a question has gone unanswered
for `timeout` seconds. The default is far above a long stop-the-world GC pause (seconds, on
large heaps tens of seconds), which must not end a healthy run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 60.0
ASK_EVERY_S = 5.0
"""Seconds between the end of one answered question and the next one."""
DEADLINE_MARGIN_S = 5.0
"""A question's own deadline runs this much past the timeout: hung is decided by the clock."""

Ask = Callable[[float], object]
"""Asks the server something cheap, with the given deadline; raises if it gets no answer."""


class LivenessProbe:
    """Asks in a thread of its own; `hung()` once a question has waited `timeout` seconds."""

    def __init__(
        self,
        ask: Ask,
        timeout: float = DEFAULT_TIMEOUT_S,
        every: float = ASK_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask = ask
        self.timeout = timeout
        self._every = min(every, timeout / 2)
        self._clock = clock
        self._lock = threading.Lock()
        self._asked_at: float | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sparkpush-liveness", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                self._asked_at = self._clock()
            # an error is an answer too; a refused connection is `connection_watch`'s to judge
            with contextlib.suppress(Exception):
                self._ask(self.timeout + DEADLINE_MARGIN_S)
            with self._lock:
                self._asked_at = None
            self._closed.wait(self._every)

    def hung(self) -> bool:
        with self._lock:
            asked = self._asked_at
        return asked is not None and self._clock() - asked >= self.timeout

    def close(self) -> None:
        """Stop asking (a question under way is left to its deadline)."""
        self._closed.set()
