"""What a `connect` run inside the test process could leave behind for the tests after it.

A real `connect` process takes all of this with it when it exits; a run in the test process
(`run_connect_in_process`) must leave it as it found it. `ProcessState.now()` before a run and
`leaks_since(before)` after it name whatever differs: the environment, the working folder,
`sys.path`, logging handlers and levels, signal handlers, atexit callbacks, the umask, and
(given a grace period, as they wind down) threads, sockets and child processes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import wait_until

WATCHED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGCHLD,
    signal.SIGPIPE,
    signal.SIGALRM,
    signal.SIGUSR1,
    signal.SIGUSR2,
)

WIND_DOWN_S = 10.0
"""How long threads, sockets and children a run started may take to go after it returned."""

LoggerState = tuple[int, tuple[logging.Handler, ...], bool, bool]
"""A logger's level, handlers, propagate and disabled flags."""

NEUTRAL_LOGGER: LoggerState = (logging.NOTSET, (), True, False)
"""What `logging.getLogger(name)` creates."""


def _loggers() -> dict[str, LoggerState]:
    found = {"": logging.getLogger()}
    for name, each in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(each, logging.Logger):
            found[name] = each
    return {
        name: (each.level, tuple(each.handlers), each.propagate, each.disabled)
        for name, each in found.items()
    }


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atexit_callbacks() -> int:
    count = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere this check is off
    return int(count()) if count is not None else 0


def _sockets() -> frozenset[str]:
    """The sockets this process holds open (`socket:[inode]`), by inode."""
    held: set[str] = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile (the listing's own fd)
            continue
        if target.startswith("socket:"):
            held.add(target)
    return frozenset(held)


def _children() -> frozenset[int]:
    """This process's children, zombies included (each thread's, from /proc)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:  # the thread ended meanwhile
            continue
    return frozenset(found)


def _threads() -> frozenset[threading.Thread]:
    """Threads started through `threading`; not the entries Python adds for foreign threads
    (gRPC's own, calling back into Python), which are never removed."""
    return frozenset(
        each for each in threading.enumerate() if not isinstance(each, threading._DummyThread)
    )


@dataclass(frozen=True)
class ProcessState:
    """A snapshot of the process-wide state a run of `connect` could change."""

    environ: dict[str, str]
    cwd: str
    path: tuple[str, ...]
    streams: tuple[object, object, object]
    loggers: dict[str, LoggerState]
    signals: tuple[object, ...]
    atexit_callbacks: int
    umask: int
    socket_timeout: float | None
    threads: frozenset[threading.Thread]
    sockets: frozenset[str]
    children: frozenset[int]

    @classmethod
    def now(cls) -> ProcessState:
        return cls(
            environ=dict(os.environ),
            cwd=os.getcwd(),
            path=tuple(sys.path),
            streams=(sys.stdin, sys.stdout, sys.stderr),
            loggers=_loggers(),
            signals=tuple(signal.getsignal(each) for each in WATCHED_SIGNALS),
            atexit_callbacks=_atexit_callbacks(),
            umask=_umask(),
            socket_timeout=socket.getdefaulttimeout(),
            threads=_threads(),
            sockets=_sockets(),
            children=_children(),
        )


def _changed_loggers(before: dict[str, LoggerState], after: dict[str, LoggerState]) -> list[str]:
    changed = []
    for name, state in after.items():
        # a logger first created now (a module imported for the first time) starts neutral
        new_and_neutral = name not in before and state == NEUTRAL_LOGGER
        if state != before.get(name) and not new_and_neutral:
            changed.append(name or "root")
    return changed


def _changed_environment(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def leaks_since(before: ProcessState) -> list[str]:
    """What differs from `before`, one phrase each; empty when the run left nothing behind."""
    after = ProcessState.now()
    leaks = []
    if changed := _changed_environment(before.environ, after.environ):
        leaks.append(f"environment variables {changed}")
    if after.cwd != before.cwd:
        leaks.append(f"working folder {after.cwd} (was {before.cwd})")
    if after.path != before.path:
        leaks.append("sys.path")
    if after.streams != before.streams:
        leaks.append("sys.stdin/stdout/stderr")
    if changed := _changed_loggers(before.loggers, after.loggers):
        leaks.append(f"loggers {changed}")
    if after.signals != before.signals:
        names = [
            each.name
            for each, old, new in zip(WATCHED_SIGNALS, before.signals, after.signals, strict=True)
            if old != new
        ]
        leaks.append(f"signal handlers {names}")
    if after.atexit_callbacks != before.atexit_callbacks:
        leaks.append(f"{after.atexit_callbacks - before.atexit_callbacks} atexit callbacks")
    if after.umask != before.umask:
        leaks.append(f"umask {after.umask:o} (was {before.umask:o})")
    if after.socket_timeout != before.socket_timeout:
        leaks.append("the default socket timeout")
    leaks += _lingering(before)
    return leaks


def _lingering(before: ProcessState) -> list[str]:
    """Threads, sockets and children the run started and that do not go within a while."""

    def new_ones() -> tuple[list[str], list[str], list[int]]:
        return (
            sorted(each.name for each in _threads() - before.threads if each.is_alive()),
            sorted(_sockets() - before.sockets),
            sorted(_children() - before.children),
        )

    with contextlib.suppress(AssertionError):  # what is left is named below
        wait_until(lambda: not any(new_ones()), WIND_DOWN_S, what="the run to wind down")
    threads, sockets, children = new_ones()
    leaks = []
    if threads:
        leaks.append(f"threads {threads}")
    if sockets:
        leaks.append(f"{len(sockets)} open sockets")
    if children:
        leaks.append(f"child processes {children}")
    return leaks
