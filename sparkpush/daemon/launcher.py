"""`connect daemon start|stop|status`: the background daemon seen from the CLI."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from sparkpush.daemon.client import DaemonUnavailable, connect_to_daemon
from sparkpush.daemon.control_messages import DaemonStatus
from sparkpush.daemon.process_main import REMOTE_ENV
from sparkpush.errors import DaemonStartError
from sparkpush.server.process_group import (
    command_line,
    spawn_detached,
    terminate_group,
    wait_gone,
)
from sparkpush.state.daemon_paths import daemon_paths

DAEMON_MODULE = "sparkpush.daemon.process_main"
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0


def daemon_status(project_root: Path) -> DaemonStatus | None:
    """The running daemon's status; None when none runs (or it stopped as we asked)."""
    connection = connect_to_daemon(project_root)
    if connection is None:
        return None
    with connection:
        try:
            return connection.status()
        except DaemonUnavailable:
            return None


def start_project_daemon(
    project_root: Path, config_file: Path | None, remote: str | None
) -> tuple[DaemonStatus, bool]:
    """Start the project's daemon in the background; (status, started_now)."""
    status = daemon_status(project_root)
    if status is not None:
        return status, False
    paths = daemon_paths(project_root)
    command = [sys.executable, "-m", DAEMON_MODULE, "--project", str(project_root)]
    if config_file is not None:
        command += ["--config", str(config_file.resolve())]
    env = dict(os.environ)
    if remote:
        env[REMOTE_ENV] = remote
    process = spawn_detached(command, env, paths.log, cwd=project_root, append=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code not in (None, 0):  # 0: another daemon won the race for the lock
            raise DaemonStartError(
                f"the daemon exited with code {code} while starting (log: {paths.log})"
            )
        status = daemon_status(project_root)
        if status is not None and code == 0:
            return status, False
        # ready once the first sync is done: its generation (or its error) is then known
        if status is not None and status.syncs >= 1:
            return status, True
        time.sleep(0.1)
    raise DaemonStartError(f"the daemon did not answer within {START_TIMEOUT_S:.0f} s")


def stop_project_daemon(project_root: Path) -> bool:
    """Ask the daemon to stop and wait for it; False when none was running."""
    paths = daemon_paths(project_root)
    pid = _read_pid(paths.pid)
    connection = connect_to_daemon(project_root)
    if connection is None and pid is None:
        return False
    if connection is not None:
        # it may close the connection as it goes
        with connection, contextlib.suppress(DaemonUnavailable):
            connection.stop()
    if pid is not None and not wait_gone(pid, STOP_TIMEOUT_S):
        terminate_group(pid)
    return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    args = command_line(pid)
    return pid if args is not None and DAEMON_MODULE in args else None
