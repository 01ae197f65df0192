"""Worker output of the sessions a test run or a shell holds, read per test or per cell.

Each live session gets a progress handler (its queries' activity) and, on first need, a
reader of its worker log view. `mark()` starts a new unit (a test, a shell cell): what its
queries make the workers print from then on is what `collect()` returns, once. With `live`
(pytest `-s`), a thread shows lines while a test still runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sparkpush.errors import SparkpushError
from sparkpush.live.live_project import LiveProject, LiveSession
from sparkpush.workerout.activity import PICKLED, ProgressEvents, QueryActivity
from sparkpush.workerout.bounded import BoundedLines
from sparkpush.workerout.follower import TICK_S, pause_after
from sparkpush.workerout.pickle_hook import install_pickle_hook, remove_listener
from sparkpush.workerout.reader import WorkerLogsUnavailable
from sparkpush.workerout.records import WorkerRecord
from sparkpush.workerout.session_view import SessionLogView, now_floor

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 30.0


@dataclass
class _Followed:
    live: LiveSession
    activity: QueryActivity
    view: SessionLogView
    handler: ProgressEvents
    pending: bool = False
    running: bool = False


@dataclass
class LiveWorkerOutput:
    """The worker output of `project`'s live sessions."""

    project: LiveProject
    local_server: bool
    relevant: bool
    """The sessions have the project's Python UDFs (else only UDFs made here count)."""
    _followed: dict[str, _Followed] = field(default_factory=dict)
    _floor: int | None = None
    unavailable: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _read_lock: threading.Lock = field(default_factory=threading.Lock)
    _live_output: BoundedLines | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _reads: int = 0

    def start(self) -> None:
        """Follow every session the project hands out from now on."""
        install_pickle_hook(self._pickled)
        self.project.on_attach.append(self.watch)
        self.project.on_release.append(self.forget)

    def watch(self, live: LiveSession) -> None:
        activity = QueryActivity(self.relevant)
        view = SessionLogView(
            self.project.target, live.session_id, live.server_side_session_id, self._floor
        )
        handler = ProgressEvents(activity.add)
        followed = _Followed(live, activity, view, handler)
        try:
            # a callable with the handler's signature is all PySpark calls
            live.spark.registerProgressHandler(handler)  # type: ignore[arg-type]
        except Exception as exc:  # an old client: no activity, no output
            log.info("no progress handler on this session: %s", exc)
            view.close()
            return
        with self._lock:
            self._followed[live.session_id] = followed

    def forget(self, live: LiveSession) -> None:
        with self._lock:
            followed = self._followed.pop(live.session_id, None)
        if followed is not None:
            followed.view.close()

    def mark(self) -> None:
        """A new test or cell starts: only what its queries make the workers write counts."""
        if self._live_output is not None:
            with self._read_lock:
                self._live_output.close()  # says what the last test left out, if anything
                self._live_output = BoundedLines(self._live_output.show)
        with self._lock:
            self._floor = now_floor(self.local_server)
            for followed in self._followed.values():
                followed.view.reader.raise_floor(self._floor)
                activity = followed.activity.take()
                followed.pending = False
                followed.running = activity.running

    def fill(self, output: BoundedLines) -> None:
        """Into `output`: what the sessions' workers wrote since `mark()` and was not read yet
        (past its bound, only how many lines)."""
        with self._read_lock:
            self._fill(output)

    def _fill(self, output: BoundedLines, settled: bool = True) -> None:
        """`settled`: the test or cell is over (a query still running may have tasks that
        ended); else only sessions where a task or query ended since the last read are read."""
        if output.wants_records:
            output.add(self._collect(READ_TIMEOUT_S, output.wanted, settled))
            if not output.wants_records:
                output.counted(self._count_lines())
        elif self._any_news(settled):
            output.counted(self._count_lines())
        if self.unavailable:
            output.say(self.unavailable)

    def _count_lines(self) -> int:
        with self._lock:
            followed = list(self._followed.values())
        total = 0
        for one in followed:
            try:
                total += one.view.reader.count_lines(READ_TIMEOUT_S)
            except (WorkerLogsUnavailable, SparkpushError) as exc:
                log.info("counting the worker output failed: %s", exc)
        return total

    def _any_news(self, settled: bool) -> bool:
        with self._lock:
            followed = list(self._followed.values())
        news = False
        for one in followed:
            news = self._news(one, settled) or news
            one.pending = False
        return news

    @staticmethod
    def _news(one: _Followed, settled: bool) -> bool:
        """Whether a read of `one` could find something new."""
        activity = one.activity.take()
        one.pending = one.pending or activity.ended
        one.running = activity.running
        return activity.relevant and (one.pending or (settled and one.running))

    def _collect(self, timeout: float, want: int, settled: bool) -> list[WorkerRecord]:
        records: list[WorkerRecord] = []
        with self._lock:
            followed = list(self._followed.values())
        for one in followed:
            if not self._news(one, settled):
                continue
            if self.unavailable is not None:
                return []
            one.pending = False
            self._reads += 1
            try:
                records += one.view.reader.read(timeout, want)
            except WorkerLogsUnavailable as exc:
                self.unavailable = exc.message
            except SparkpushError as exc:
                log.info("reading the worker output failed: %s", exc.message)
                one.pending = True
        records.sort(key=lambda r: (r.ts, r.position))
        return records

    def show_live(self, show: Callable[[str], None]) -> None:
        """Show lines from a thread as they come (until `close`)."""
        self._live_output = BoundedLines(show)
        self._thread = threading.Thread(target=self._loop, name="sparkpush-worker-output")
        self._thread.daemon = True
        self._thread.start()

    def flush_live(self) -> None:
        """Show now what is left of the current test's or cell's lines."""
        with self._read_lock:
            if self._live_output is not None:
                self._fill(self._live_output)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._live_output is not None:
            self._live_output.close()
        remove_listener(self._pickled)
        for followed in list(self._followed.values()):
            self.forget(followed.live)
        for hooks, hook in (
            (self.project.on_attach, self.watch),
            (self.project.on_release, self.forget),
        ):
            if hook in hooks:
                hooks.remove(hook)

    def _pickled(self) -> None:
        with self._lock:
            for followed in self._followed.values():
                followed.activity.add(PICKLED)

    def _loop(self) -> None:
        next_read = 0.0
        while not self._stop.wait(TICK_S):
            if time.monotonic() < next_read or self._live_output is None:
                continue
            started = time.monotonic()
            reads = self._reads
            try:
                with self._read_lock:
                    self._fill(self._live_output, settled=False)
            except Exception:  # never the reason a test run fails
                log.exception("showing the worker output failed")
                return
            if self._reads != reads:  # else nothing ended: look again at the next tick
                next_read = time.monotonic() + pause_after(time.monotonic() - started)


def follow_live_sessions(project: LiveProject) -> LiveWorkerOutput:
    """Follow the worker output of every session `project` hands out from now on."""
    from sparkpush.submit.local_paths import server_is_local

    output = LiveWorkerOutput(
        project, server_is_local(project.target), bool(project.config.udf_modules)
    )
    output.start()
    return output
