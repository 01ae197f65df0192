"""Following one session's worker output for a run: a read soon after a task or query ended
(none while tasks only run), paced by the reads' cost, and a last read when the run ends only
if something ended since, so that no line is lost and none shown twice."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sparkpush.errors import SparkpushError
from sparkpush.workerout.activity import QueryActivity
from sparkpush.workerout.bounded import BoundedLines, WorkerOutputCounts
from sparkpush.workerout.reader import WorkerLogReader, WorkerLogsUnavailable

log = logging.getLogger(__name__)

TICK_S = 0.1
"""How often the follower looks at the run's activity (no server call: a file's new bytes)."""
MIN_INTERVAL_S = 1.0
"""The least time between two reads."""
COST_FACTOR = 3.0
"""Reads are at least this many times their own duration apart: a read that takes 1 s on a
loaded server leaves the next 3 s to the run's own queries."""
MAX_INTERVAL_S = 5.0
"""...but no more than this: one slow read (the session's first, on a loaded machine, took
7 s) must not hold back the lines that follow for 20 s."""
FINAL_READ_S = 30.0
"""The last read's deadline (a hung server must not hold the run's exit)."""


def pause_after(read_s: float, min_interval_s: float = MIN_INTERVAL_S) -> float:
    """How long to wait after a read of `read_s` seconds before the next."""
    return min(max(min_interval_s, COST_FACTOR * read_s), max(MAX_INTERVAL_S, min_interval_s))


class WorkerOutputFollower:
    """Reads `reader`'s session when `activity` says there may be news; shows into `output`."""

    def __init__(
        self,
        reader: WorkerLogReader,
        output: BoundedLines,
        activity: QueryActivity,
        *,
        look: Callable[[], None] = lambda: None,
        flushed: Callable[[], None] = lambda: None,
        min_interval_s: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        unavailable: str | None = None,
    ) -> None:
        """`unavailable`: why the session has no output to read (said once, when a read
        would have found some)."""
        self.reader = reader
        self.output = output
        self.activity = activity
        self._look = look
        self._flushed = flushed
        self._flush = False
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._next_read = 0.0
        self._pending = False
        self._running = False
        self._relevant = False
        self.unavailable = unavailable
        self.reads = 0
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Read live from a thread until `finish`."""
        self._thread = threading.Thread(target=self._loop, name="sparkpush-worker-output")
        self._thread.daemon = True
        self._thread.start()

    def due(self) -> bool:
        """Whether a read now could find something new (a task or query ended since the last
        read) and is not too soon after the last."""
        self._look()
        self._absorb()
        if self._flush:
            return True
        if not self._relevant or not self._pending:
            return False
        return self._clock() >= self._next_read

    def _absorb(self) -> None:
        activity = self.activity.take()
        self._relevant = activity.relevant
        self._running = activity.running
        self._pending = self._pending or activity.ended
        self._flush = self._flush or activity.flush

    def read_now(self, timeout: float = FINAL_READ_S) -> None:
        """One read where Python code may have run; its rows (or, past the bound, their
        count) go to the output."""
        with self._read_lock:
            self._absorb()  # what happened so far, this read covers
            self._pending = False
            try:
                if self._relevant:
                    self._read(timeout)
            finally:
                if self._flush:
                    self._flush = False
                    self._flushed()

    def _read(self, timeout: float) -> None:
        if self.unavailable is not None:
            self.output.say(self.unavailable)
            return
        started = self._clock()
        try:
            if self.output.wants_records:
                self.output.add(self.reader.read(timeout, self.output.wanted))
            if not self.output.wants_records:
                self.output.counted(self.reader.count_lines(timeout))
        except WorkerLogsUnavailable as exc:
            self.unavailable = exc.message
            self.output.say(exc.message)
        except SparkpushError as exc:  # the next read tries again
            log.info("reading the worker output failed: %s", exc.message)
            self._pending = True
        finally:
            self.reads += 1
            spent = self._clock() - started
            self._next_read = self._clock() + pause_after(spent, self._min_interval_s)
            log.debug("worker output read %d took %.3f s", self.reads, spent)

    def finish(
        self, timeout: float = FINAL_READ_S, *, read_rest: bool = True
    ) -> WorkerOutputCounts:
        """Stop reading live; read what is left if the run did anything since (unless
        `read_rest` is false: nothing is worth waiting for); the counts."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._look()
        self._absorb()
        if read_rest and self._relevant and (self._pending or self._running):
            self.read_now(timeout)
        return self.output.close()

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                if self.due():
                    self.read_now()
            except Exception:  # a bug here must not end the run; the last read still comes
                log.exception("following the worker output failed")
                return
