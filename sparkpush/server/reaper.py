"""Stops the Python worker daemons that Spark keeps for sessions that no longer run anything.

Spark starts one `pyspark.daemon` per session (its worker factory is keyed by the session) and
never stops it, not even when the session is released or expires: each costs about 50 MB, and
a dev loop that makes a session per run piles them up. Spark itself closes a factory's idle
workers after 60-70 s without tasks; from then on the daemon has no children. A daemon that
stayed childless for `CHILDLESS_S` is stopped. Should its session still be live, Spark starts a
new daemon at its next Python task (seen: "Assuming that daemon unexpectedly quit, attempting
to restart"), so the cost is one Python start (about 1 s) for a session idle that long.

Run as `python -m sparkpush.server.reaper PID...` next to the embedded server: it watches the
process sessions (setsid) of the given PIDs, the server's JVM and the local cluster's master
and workers (executor JVMs run in their worker's session), and exits when the first PID, the
server, is gone. It only ever signals processes of its own user.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable

from sparkpush.server.process_group import ProcessInfo, all_processes, read_process

SWEEP_S = 5.0
CHILDLESS_S = 10.0
STARTING_S = 120.0
"""A daemon that has had no worker yet may still be starting (importing PySpark, more than
10 s on a loaded machine): it gets this long (reaping it then failed the task with
`EOFException occurred while reading the port number from pyspark.daemon's stdout`)."""
DAEMON_MODULE = "pyspark.daemon"


def is_worker_daemon(process: ProcessInfo) -> bool:
    return DAEMON_MODULE in process.args


def worker_daemons(
    processes: Iterable[ProcessInfo], sessions: set[int], uid: int
) -> dict[ProcessInfo, bool]:
    """The daemons (not their forked workers) of `uid` in `sessions` -> have they workers."""
    by_pid = {process.pid: process for process in processes}
    with_children = {process.ppid for process in by_pid.values()}
    daemons = {}
    for process in by_pid.values():
        parent = by_pid.get(process.ppid)
        if (
            is_worker_daemon(process)
            and process.session in sessions
            and process.uid == uid
            and not (parent is not None and is_worker_daemon(parent))
        ):
            daemons[process] = process.pid in with_children
    return daemons


class ChildlessSince:
    """Since when each daemon has had no workers; names the ones childless for `grace` s."""

    def __init__(self, grace: float = CHILDLESS_S, starting: float = STARTING_S) -> None:
        self.grace = grace
        self.starting = max(grace, starting)
        self._since: dict[tuple[int, int], float] = {}
        self._worked: set[tuple[int, int]] = set()

    def expired(self, daemons: dict[ProcessInfo, bool], now: float) -> list[ProcessInfo]:
        seen = {daemon.key for daemon in daemons}
        self._since = {key: since for key, since in self._since.items() if key in seen}
        self._worked &= seen
        due = []
        for daemon, has_workers in daemons.items():
            if has_workers:
                self._since.pop(daemon.key, None)
                self._worked.add(daemon.key)
                continue
            since = self._since.setdefault(daemon.key, now)
            grace = self.grace if daemon.key in self._worked else self.starting
            if now - since >= grace:
                due.append(daemon)
        return due


def stop_worker_daemon(daemon: ProcessInfo) -> bool:
    """Stop a childless daemon; False (and left running) if it got a worker meanwhile.

    The daemon is frozen first so that it cannot fork a worker between the check and the kill.
    """
    current = read_process(daemon.pid)
    if current is None or current.key != daemon.key:
        return False
    try:
        os.kill(daemon.pid, signal.SIGSTOP)
    except ProcessLookupError:
        return False
    if any(process.ppid == daemon.pid for process in all_processes()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon.pid, signal.SIGCONT)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon.pid, signal.SIGKILL)
    return True


def sweep(sessions: set[int], tracker: ChildlessSince, now: float) -> list[ProcessInfo]:
    """One pass: stop every daemon childless for long enough; returns those stopped."""
    daemons = worker_daemons(all_processes(), sessions, os.getuid())
    return [daemon for daemon in tracker.expired(daemons, now) if stop_worker_daemon(daemon)]


def run(pids: list[int], sweep_s: float = SWEEP_S, grace: float = CHILDLESS_S) -> None:
    """Sweep until the server (the first pid) is gone."""
    watched = [read_process(pid) for pid in pids]
    sessions = {process.session for process in watched if process is not None}
    server = watched[0]
    tracker = ChildlessSince(grace)
    while server is not None:
        current = read_process(server.pid)
        if current is None or current.key != server.key:
            return
        try:
            for daemon in sweep(sessions, tracker, time.monotonic()):
                print(f"stopped idle Python worker daemon {daemon.pid}", flush=True)
        except (OSError, ValueError, IndexError) as exc:  # a /proc entry changed under us
            print(f"sweep skipped: {exc}", flush=True)
        time.sleep(sweep_s)


if __name__ == "__main__":
    run([int(arg) for arg in sys.argv[1:]])
