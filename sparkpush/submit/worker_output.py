"""`connect submit`'s worker output: the script child tells what its queries do, this process
reads the session's worker log view, live and once more at the end, and shows it on stderr."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.remote.target import Target
from sparkpush.submit.control import RunControl
from sparkpush.submit.run_session import SessionLease
from sparkpush.workerout.activity import EVENTS_ENV, FollowedEventFile, QueryActivity
from sparkpush.workerout.bounded import BoundedLines, WorkerOutputCounts
from sparkpush.workerout.follower import FINAL_READ_S, WorkerOutputFollower
from sparkpush.workerout.session_view import SessionLogView, floor_for
from sparkpush.workerout.settings import ENABLED_ENV, has_log_view, needs_newer_server

STOPPED_FINAL_READ_S = 10.0
"""The last read's deadline after --timeout, Ctrl-C or SIGTERM: the exit must follow soon."""


@dataclass
class FollowedRun:
    """What the script child needs to report its activity, and the counts once it ended."""

    child_env: dict[str, str] = field(default_factory=dict)
    counts: WorkerOutputCounts | None = None


@contextlib.contextmanager
def followed_worker_output(
    target: Target,
    lease: SessionLease,
    *,
    enabled: bool,
    relevant: bool,
    local_server: bool,
    keep_path: Path | None,
    control: RunControl,
    started_at: float,
) -> Iterator[FollowedRun]:
    """Follow the lease's session while the `with` block runs the script; `relevant`: the
    session has the project's Python UDFs (else only the script's own UDFs count)."""
    run = FollowedRun()
    if not enabled:
        yield run
        return
    with tempfile.TemporaryDirectory(prefix="sparkpush-events-") as folder:
        events = Path(folder) / "events"
        events.touch(mode=0o600)
        run.child_env = {ENABLED_ENV: "1", EVENTS_ENV: str(events)}
        view = SessionLogView(
            target,
            lease.session_id,
            lease.client.server_side_session_id,
            floor_for(started_at, local_server),
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
            yield run
        finally:
            try:
                run.counts = _finish(follower, control)
            finally:
                view.close()


def _finish(follower: WorkerOutputFollower, control: RunControl) -> WorkerOutputCounts:
    stopped = control.stop_reason is not None
    return follower.finish(
        STOPPED_FINAL_READ_S if stopped else FINAL_READ_S, read_rest=not control.urgent.is_set()
    )


def _note(lease: SessionLease) -> str:
    return needs_newer_server(lease.spark_version)


def _show(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fresh(keep_path: Path | None) -> Path | None:
    """The kept file starts empty: a previous run's must not pass for this one's."""
    if keep_path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(keep_path)
    return keep_path
