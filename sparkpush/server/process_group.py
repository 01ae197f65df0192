"""Detached processes (servers, the daemon): started in their own group, found, stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sparkpush.state.private_files import private_opener

ORPHAN_LAUNCHER = "sparkpush.server.orphan_launch"
LAUNCH_TIMEOUT_S = 60.0
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


def spawn_orphan(
    command: list[str],
    env: dict[str, str],
    log: Path,
    *,
    cwd: Path | None = None,
    umask: int = -1,
) -> int:
    """Start `command` as `spawn_detached` does, but adopted by init at once; its pid.

    A long-lived caller (the daemon, `connect watch`) never becomes the parent of what it
    starts: the process outlives it, and nothing it does later (exit, kill) reaches the
    process through being its parent. A short launcher process starts the command and exits.
    """
    fd = private_opener(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        launched = subprocess.run(
            [sys.executable, "-m", ORPHAN_LAUNCHER, str(fd)],
            input=json.dumps(command),
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            umask=umask,
            pass_fds=(fd,),
            timeout=LAUNCH_TIMEOUT_S,
        )
    finally:
        os.close(fd)
    reported = launched.stdout.strip()
    if launched.returncode != 0 or not reported.isdigit():
        lines = launched.stderr.strip().splitlines() or ["no output"]
        raise OSError(f"could not start {Path(command[0]).name}: {lines[-1]}")
    return int(reported)


@dataclass(frozen=True)
class ProcessInfo:
    """One process as /proc shows it."""

    pid: int
    ppid: int
    session: int
    uid: int
    started: int
    """Start time in clock ticks since boot: with the pid, it names one process for good."""
    args: tuple[str, ...]

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.started)


def read_process(pid: int) -> ProcessInfo | None:
    """One process from /proc; None when it is gone or a zombie (exited, not reaped)."""
    folder = Path(f"/proc/{pid}")
    try:
        stat = (folder / "stat").read_text()
        args = (folder / "cmdline").read_bytes()
        uid = folder.stat().st_uid
    except OSError:
        return None
    # the command name in parentheses may hold spaces: split after its closing parenthesis
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None
    return ProcessInfo(
        pid=pid,
        ppid=int(fields[1]),
        session=int(fields[3]),
        uid=uid,
        started=int(fields[19]),
        args=tuple(arg.decode(errors="replace") for arg in args.split(b"\0") if arg),
    )


def all_processes() -> list[ProcessInfo]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            process = read_process(int(entry.name))
            if process is not None:
                found.append(process)
    return found


def command_line(pid: int) -> tuple[str, ...] | None:
    """The live process's arguments; None when it is gone or a zombie."""
    process = read_process(pid)
    return process.args if process is not None else None


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
    me = os.getuid()
    return [p.pid for p in all_processes() if p.session == session and p.uid == me]
