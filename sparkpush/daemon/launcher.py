"""`connect daemon start|stop|status`: the background daemon seen from the CLI."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from sparkpush.daemon.client import DaemonUnavailable, connect_to_daemon
from sparkpush.daemon.main import REMOTE_ENV
from sparkpush.daemon.paths import daemon_paths
from sparkpush.errors import SparkpushError
from sparkpush.server.process_group import (
    command_line,
    spawn_detached,
    terminate_group,
    wait_gone,
)

START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0


class DaemonStartError(SparkpushError):
    exit_code = 3


def daemon_status(project_root: Path) -> dict[str, Any]:
    connection = connect_to_daemon(project_root)
    if connection is None:
        return {"running": False, "project": str(project_root)}
    with connection:
        return {"running": True, **connection.call("status", timeout=10)}


def start_daemon(
    project_root: Path, config_file: Path | None, remote: str | None
) -> tuple[dict[str, Any], bool]:
    """Start the project's daemon in the background; (status, started_now)."""
    status = daemon_status(project_root)
    if status["running"]:
        return status, False
    paths = daemon_paths(project_root)
    command = [sys.executable, "-m", "sparkpush.daemon.main", "--project", str(project_root)]
    if config_file is not None:
        command += ["--config", str(config_file.resolve())]
    env = dict(os.environ)
    if remote:
        env[REMOTE_ENV] = remote
    process = spawn_detached(command, env, paths.log, cwd=project_root, append=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            if code == 0:  # another daemon won the race for the lock
                return daemon_status(project_root), False
            raise DaemonStartError(
                f"the daemon exited with code {code} while starting (log: {paths.log})"
            )
        status = daemon_status(project_root)
        # ready once the first sync is done: its generation (or its error) is then known
        if status["running"] and int(status.get("syncs") or 0) >= 1:
            return status, True
        time.sleep(0.1)
    raise DaemonStartError(f"the daemon did not answer within {START_TIMEOUT_S:.0f} s")


def stop_daemon(project_root: Path) -> bool:
    """Ask the daemon to stop and wait for it; False when none was running."""
    paths = daemon_paths(project_root)
    pid = _read_pid(paths.pid)
    connection = connect_to_daemon(project_root)
    if connection is None and pid is None:
        return False
    if connection is not None:
        # it may close the connection as it goes
        with connection, contextlib.suppress(DaemonUnavailable):
            connection.call("stop", timeout=10)
    if pid is not None and not wait_gone(pid, STOP_TIMEOUT_S):
        terminate_group(pid)
    return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    args = command_line(pid)
    return pid if args is not None and "sparkpush.daemon.main" in args else None
