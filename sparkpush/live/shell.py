"""`spark` in an interactive namespace, on the live generation, and moved when it changes.

Used by `connect shell` (IPython when installed, else the standard REPL) and by the IPython
extension (`%load_ext sparkpush`). `spark.refresh()` (also `refresh()`) moves `spark` to
the project's newest generation; a thread says when the daemon has made one. A DataFrame of
the session `spark.refresh()` replaced answers with one line (`error_line`), not PySpark's
`NO_ACTIVE_SESSION` traceback.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, MutableMapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sparkpush.errors import SparkpushError
from sparkpush.live.live_project import LiveProject, LiveSession, Revision
from sparkpush.live.worker_output import LiveWorkerOutput, follow_live_sessions
from sparkpush.submit.script_error import error_condition
from sparkpush.workerout.bounded import BoundedLines
from sparkpush.workerout.pickle_hook import install_pickle_hook
from sparkpush.workerout.worker_traceback import format_worker_failure

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

log = logging.getLogger(__name__)

POLL_S = 1.0
"""How often the shell looks for a newer generation (a read of the generation record)."""

CLOSED_SESSION_CONDITION = "NO_ACTIVE_SESSION"
"""PySpark's error for a query on a session whose client was closed."""


class LiveShell:
    """Owns the namespace's `spark`: one live session at a time, released when replaced."""

    def __init__(
        self, project: LiveProject, namespace: MutableMapping[str, Any], say: Callable[[str], None]
    ) -> None:
        self.project = project
        self.namespace = namespace
        self.say = say
        self.live: LiveSession | None = None
        self._announced: Revision | None = None
        self._replaced = 0
        """How many sessions `refresh()` moved `spark` away from (and released)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None
        self.worker_output: LiveWorkerOutput | None = None

    def start(self, worker_output: bool = True) -> SparkSession:
        """Put `spark` in the namespace; with `worker_output`, what its UDFs print on the
        workers is shown after each cell (see `before_cell`, `after_cell`)."""
        if worker_output:
            self.worker_output = follow_live_sessions(self.project)
        else:  # the generation may still capture: its UDFs must not hang it (see worker_print)
            install_pickle_hook()
        spark = self._put(self.project.session())
        self.namespace["refresh"] = self.refresh
        return spark

    def before_cell(self) -> None:
        if self.worker_output is not None:
            self.worker_output.mark()

    def after_cell(self) -> None:
        """Show what the cell's queries made the workers print (on stderr, bounded)."""
        if self.worker_output is None:
            return
        output = BoundedLines(_to_stderr)
        try:
            self.worker_output.fill(output)
        except Exception as exc:  # never the reason a shell breaks
            log.debug("reading the worker output failed: %s", exc)
        output.close()

    def show_exception(
        self, exc: BaseException, tb: TracebackType | None, hidden: tuple[str, ...] = ()
    ) -> bool:
        """Show a failed UDF's traceback cut to the user's frames (none from folders in
        `hidden`, the shell's own); False for other errors."""
        shortened = format_worker_failure(exc, tb, hidden)
        if shortened is None:
            return False
        sys.stderr.write(shortened)
        return True

    @property
    def spark(self) -> SparkSession:
        assert self.live is not None
        return self.live.spark

    def refresh(self) -> None:
        """Move `spark` to the project's newest generation, synced first."""
        with self._lock:
            try:
                self.project.hold()
                fresh = self.project.session()
            except SparkpushError as exc:
                self.say(f"error: {exc.message} (spark stays where it was)")
                return
            old = self.live
            self._put(fresh)
            if old is not None:
                self.project.release(old)
                self._replaced += 1
            self.say(f"sparkpush: spark is on generation {fresh.generation}")

    def _put(self, live: LiveSession) -> SparkSession:
        self.live = live
        # a method of this session object: `spark.refresh()` reads like the session's own
        live.spark.refresh = self.refresh  # type: ignore[attr-defined]
        self.namespace["spark"] = live.spark
        return live.spark

    def error_line(self, exc: BaseException) -> str | None:
        """One line for a query on a session the shell let go (a DataFrame made before
        `spark.refresh()`, or `spark` after `spark.stop()`); None for any other error."""
        if error_condition(exc) != CLOSED_SESSION_CONDITION or self.live is None:
            return None
        if self.live.spark.is_stopped:
            return "sparkpush: spark is stopped: spark.refresh() gives a new one"
        if not self._replaced:
            return None
        return (
            "sparkpush: that DataFrame belongs to the session spark.refresh() let go: build it "
            f"again with spark (now on generation {self.live.generation})"
        )

    def banner(self) -> str:
        held = self.project.held
        assert held is not None and self.live is not None
        where = "a fresh session" if held.owned else f"generation {held.number}"
        how = "a clone of it" if self.live.cloned else "the session itself (no CloneSession)"
        try:
            version = f" (Spark {self.spark.version})"
        except Exception:  # the banner is no place to fail: queries will say what is wrong
            version = ""
        lines = [
            f"sparkpush: spark is on {where} of {self.project.config.project_root}, {how}",
            f"server: {self.project.remote}{version}",
            f"UDFs: {', '.join(held.udfs) if held.udfs else 'none'}",
        ]
        if not held.owned:
            lines.append("spark.refresh() moves spark to the newest generation")
        return "\n".join(lines)

    def newer_generation(self) -> str | None:
        """A line to show once per change of the project's generation since `spark`'s clone."""
        current = self.project.current_revision()
        on = self.live.revision if self.live is not None else None
        if current is None or on is None or current == on or current == self._announced:
            return None
        self._announced = current
        if current.generation != on.generation:
            what = f"generation {current.generation} is live (spark is on {on.generation})"
        else:
            what = f"generation {on.generation} changed in place (UDFs or files)"
        return f"sparkpush: {what}: spark.refresh() moves spark to it"

    def watch_generations(self) -> None:
        """Say, from a thread, when the daemon has made a newer generation."""

        def loop() -> None:
            while not self._stop.wait(POLL_S):
                try:
                    notice = self.newer_generation()
                except Exception as exc:  # a torn read now is a good read next time
                    log.debug("reading the generation failed: %s", exc)
                    continue
                if notice:
                    self.say(notice)

        self._watch = threading.Thread(target=loop, name="sparkpush-generations", daemon=True)
        self._watch.start()

    def close(self) -> None:
        self._stop.set()
        if self.worker_output is not None:
            self.worker_output.close()
        self.project.close()


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
