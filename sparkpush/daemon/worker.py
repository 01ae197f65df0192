"""The sync loop: coalesces bursts of changes into one sync, and answers flushes.

Watch events mark the project dirty; the worker waits until the burst has been quiet for
`quiet_s` (or `max_wait_s` passed) and syncs once. A flush asks for a sync that starts after
the request and waits for it: that is what gives read-your-writes. When the worker is idle
and clean and `settled()` proves no change is still on its way (the watcher's barrier),
`up_to_date()` says so and no sync is needed: the last one saw everything saved before.

Before each sync the worker waits for the events of every change already made (`settle`, the
watcher's barrier) and only then forgets the dirty mark: a save reports itself several times
(a modification, then its close), and the late reports of a change the sync is about to read
must not ask for a second sync that would load and register the same code again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sparkpush.progress.phases import mark

log = logging.getLogger(__name__)

QUIET_S = 0.05
"""How long a burst of changes must be quiet before syncing (a build writes in bursts)."""
MAX_WAIT_S = 2.0
"""Sync anyway once changes have kept coming this long."""
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
"""Backoff bounds when the server cannot be reached."""

RunSync = Callable[[], bool]
"""Runs one sync; returns False when it should be retried later (server unreachable)."""
Settled = Callable[[], bool]
"""True when every change made before the call has been reported (`mark_dirty`); False when
that cannot be known (then a sync runs)."""
Usable = Callable[[], bool]
"""True when the current generation still answers (a round trip to the server): asked only
once `settled` found no change on its way."""
Settle = Callable[[], bool]
"""Returns once every change made before the call has been reported (`mark_dirty`); False
when that cannot be known."""


class SyncWorker:
    def __init__(
        self,
        run_sync: RunSync,
        quiet_s: float = QUIET_S,
        max_wait_s: float = MAX_WAIT_S,
        settled: Settled | None = None,
        settle: Settle | None = None,
        usable: Usable | None = None,
    ) -> None:
        self.run_sync = run_sync
        self.settled = settled
        self.usable = usable
        self.settle = settle
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._dirty_since: float | None = None
        self._last_event = 0.0
        self._requested = 0
        self._done_for = 0
        self._stopping = False
        self._running = False
        self._retry_at: float | None = None
        self._retry_delay = RETRY_MIN_S
        self._retry_in: float | None = None
        self.syncs = 0
        self._thread = threading.Thread(target=self._loop, name="sparkpush-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=60)

    def mark_dirty(self) -> None:
        """A watched file changed."""
        mark("watch.event")
        with self._cond:
            now = time.monotonic()
            if self._dirty_since is None:
                self._dirty_since = now
            self._last_event = now
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for a sync that starts after this call; False on timeout or shutdown."""
        with self._cond:
            self._requested += 1
            ticket = self._requested
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._done_for >= ticket or self._stopping, timeout
            ) and not (self._stopping and self._done_for < ticket)

    def retry_in(self, seconds: float) -> None:
        """Called by a sync about to return False: retry after `seconds`, not the backoff
        (waiting for something cheap to check, such as a stopped server's state file)."""
        with self._cond:
            self._retry_in = seconds

    @property
    def flushes_waiting(self) -> int:
        """Flushes asked for that no finished sync has answered yet."""
        with self._cond:
            return max(0, self._requested - self._done_for)

    def up_to_date(self) -> bool:
        """Whether the last sync saw every change made before this call: then a flush needs
        no sync."""
        if self.settled is None:
            return False
        with self._cond:
            if not self._idle():
                return False
        # outside the lock: the changes it waits for are reported through `mark_dirty`
        if not self.settled():
            return False
        with self._cond:
            if not self._idle():
                return False  # a change came in meanwhile: a sync is due whatever the server says
        if self.usable is not None and not self.usable():
            return False
        with self._cond:
            return self._idle()

    def _idle(self) -> bool:
        """Under the lock: a sync succeeded, none runs or is due, and nothing changed since."""
        return (
            self.syncs > 0
            and not self._running
            and not self._stopping
            and self._dirty_since is None
            and self._retry_at is None
            and self._requested <= self._done_for
        )

    def _loop(self) -> None:
        while True:
            with self._cond:
                ticket = self._wait_for_work()
                if ticket is None:
                    return
                self._running = True
            # Outside the lock: the reports it waits for come through `mark_dirty`. Whatever
            # was reported until the sync starts, the sync reads: forgotten only then.
            self._settle_safely()
            with self._cond:
                self._dirty_since = None
            ok = self._sync_safely()
            with self._cond:
                self._running = False
                self.syncs += 1
                self._done_for = max(self._done_for, ticket)
                if ok:
                    self._retry_at = None
                    self._retry_delay = RETRY_MIN_S
                elif self._retry_in is not None:
                    self._retry_at = time.monotonic() + self._retry_in
                else:
                    self._retry_at = time.monotonic() + self._retry_delay
                    self._retry_delay = min(self._retry_delay * 2, RETRY_MAX_S)
                self._retry_in = None
                self._cond.notify_all()

    def _wait_for_work(self) -> int | None:
        """Under the lock: block until a sync is due; the flush ticket it satisfies."""
        while not self._stopping:
            now = time.monotonic()
            if self._requested > self._done_for:
                return self._requested
            if self._dirty_since is not None:
                quiet = now - self._last_event >= self.quiet_s
                overdue = now - self._dirty_since >= self.max_wait_s
                if quiet or overdue:
                    return self._requested
                self._cond.wait(self.quiet_s - (now - self._last_event))
                continue
            if self._retry_at is not None:
                if now >= self._retry_at:
                    return self._requested
                self._cond.wait(self._retry_at - now)
                continue
            self._cond.wait()
        return None

    def _settle_safely(self) -> None:
        if self.settle is None:
            return
        try:
            self.settle()
        except Exception:  # only an optimisation: the sync runs all the same
            log.exception("waiting for the watcher's reports failed unexpectedly")

    def _sync_safely(self) -> bool:
        try:
            return self.run_sync()
        except Exception:  # the daemon must outlive any bug in one sync
            log.exception("sync failed unexpectedly")
            return True
