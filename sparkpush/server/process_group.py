"""Detached processes (servers, the daemon): started in their own group, found, stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from sparkpush.private_files import private_opener

STOP_TIMEOUT_S = 30.0
STRAGGLER_WAIT_S = 10.0
POLL_S = 0.1


def spawn_detached(
    command: list[str],
    env: dict[str, str],
    log: Path,
    *,
    cwd: Path | None = None,
    append: bool = False,
    umask: int = -1,
) -> subprocess.Popen[bytes]:
    """Start `command` in a new session, output to `log` (created 0600), no stdin.

    `umask` (when not -1) is the process's umask: 0o077 keeps everything it creates user-only.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = private_opener(log, flags)
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            umask=umask,
        )
    finally:
        os.close(fd)


def command_line(pid: int) -> list[str] | None:
    """The live process's arguments; None when it is gone or a zombie (exited, not reaped)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rpartition(")")[2].split()[0] == "Z":
        return None
    return [arg.decode(errors="replace") for arg in args]


def wait_gone(pid: int, seconds: float) -> bool:
    """Whether `pid` ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while command_line(pid) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def terminate_group(pid: int) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL if it does not go in time."""
    for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        if wait_gone(pid, grace):
            return


def stop_session(pid: int) -> None:
    """Stop the group led by `pid`, then wait (bounded) for every process of its session
    (setsid), such as Spark's Python worker daemons that lead groups of their own; SIGKILL
    what is still there."""
    terminate_group(pid)
    for straggler in _session_members(pid):
        if not wait_gone(straggler, STRAGGLER_WAIT_S):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(straggler, signal.SIGKILL)
            wait_gone(straggler, STRAGGLER_WAIT_S)


def _session_members(session: int) -> list[int]:
    """Live processes of this user in the process session `session`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            owner = entry.stat().st_uid
        except OSError:
            continue
        if int(fields[3]) == session and owner == os.getuid() and fields[0] != "Z":
            members.append(int(entry.name))
    return members
