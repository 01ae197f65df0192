"""`connect submit`'s worker output: the script child tells what its queries do, this process
reads the session's worker log view, live and once more at the end, and shows it on stderr."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sparkpush.remote.target import Target
from sparkpush.submit.control import RunControl
from sparkpush.submit.outcome import SubmitOutcome
from sparkpush.submit.run_session import SessionLease
from sparkpush.workerout.activity import EVENTS_ENV, FollowedEventFile, QueryActivity
from sparkpush.workerout.bounded import BoundedLines, WorkerOutputCounts
from sparkpush.workerout.follower import FINAL_READ_S, WorkerOutputFollower
from sparkpush.workerout.session_view import SessionLogView, floor_for
from sparkpush.workerout.settings import ENABLED_ENV, has_log_view, needs_newer_server

STOPPED_FINAL_READ_S = 10.0
"""The last read's deadline after --timeout, Ctrl-C or SIGTERM: the exit must follow soon."""


@contextlib.contextmanager
def followed_worker_output(
    target: Target,
    lease: SessionLease,
    outcome: SubmitOutcome,
    *,
    enabled: bool,
    relevant: bool,
    local_server: bool,
    keep_path: Path | None,
    control: RunControl,
) -> Iterator[dict[str, str]]:
    """Follow the lease's session while the `with` block runs the script (given the child's
    environment to report its activity); `relevant`: the session has the project's Python
    UDFs (else only the script's own count). The counts go to `outcome`, however it ends."""
    if not enabled:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="sparkpush-events-") as folder:
        events = Path(folder) / "events"
        events.touch(mode=0o600)
        view = SessionLogView(
            target,
            lease.session_id,
            lease.client.server_side_session_id,
            floor_for(outcome.started_at, local_server),
        )
        output = BoundedLines(_show, keep_path=_fresh(keep_path))
        activity = QueryActivity(relevant)
        followed = FollowedEventFile(events, activity)
        follower = WorkerOutputFollower(
            view.reader,
            output,
            activity,
            look=followed.look,
            flushed=followed.flushed,
            unavailable=None if has_log_view(lease.spark_version) else _note(lease),
        )
        follower.start()
        try:
            yield {ENABLED_ENV: "1", EVENTS_ENV: str(events)}
        finally:
            try:
                outcome.worker_output = _finish(follower, control, lease)
            finally:
                view.close()


def _finish(
    follower: WorkerOutputFollower, control: RunControl, lease: SessionLease
) -> WorkerOutputCounts:
    """The last read, unless nothing is worth waiting for (a second Ctrl-C, a lost server)."""
    stopped = control.stop_reason is not None
    worth_it = not control.urgent.is_set() and not lease.server_unresponsive
    return follower.finish(STOPPED_FINAL_READ_S if stopped else FINAL_READ_S, read_rest=worth_it)


def _note(lease: SessionLease) -> str:
    return needs_newer_server(lease.spark_version)


def _show(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fresh(keep_path: Path | None) -> Path | None:
    """The kept file starts empty: a previous run's must not pass for this one's."""
    if keep_path is not None:
        with contextlib.suppress(OSError):  # none, or not a file: writing it will say so
            os.unlink(keep_path)
    return keep_path
