"""Running a daemon in this process: the lock, the pid file, the socket, until stopped."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from sparkpush.daemon.control_server import ControlServer
from sparkpush.daemon.service import Daemon, OnSynced
from sparkpush.errors import DaemonAlreadyRunningError
from sparkpush.progress.notify import Notify
from sparkpush.state.daemon_paths import daemon_paths
from sparkpush.state.private_files import private_opener, write_private_file

log = logging.getLogger(__name__)


@contextmanager
def daemon_lock(project_root: Path) -> Iterator[None]:
    """Held for the daemon's life; the kernel drops it when the process dies (even kill -9)."""
    paths = daemon_paths(project_root)
    fd = private_opener(paths.lock, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DaemonAlreadyRunningError(
                f"a daemon is already running for {project_root} "
                "(stop it with 'connect daemon stop')"
            ) from None
        yield
    finally:
        os.close(fd)


def run_daemon(
    project_root: Path,
    config_file: Path | None = None,
    remote: str | None = None,
    on_synced: OnSynced | None = None,
    on_message: Notify | None = None,
    stop_event: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, a `stop` request or `stop_event`; cleans up after itself.

    `on_ready` runs once the project's lock is held, before the first sync: a daemon that
    cannot run (another one holds the lock) fails before anything is said.
    """
    paths = daemon_paths(project_root)
    stop = stop_event or threading.Event()
    with daemon_lock(project_root):
        write_private_file(paths.pid, f"{os.getpid()}\n".encode())
        log.info("daemon started for %s (pid %d)", project_root, os.getpid())
        if on_ready is not None:
            on_ready()
        daemon = Daemon(project_root, config_file, remote, on_synced, on_message)
        server = ControlServer(paths.socket, daemon, on_stop=stop.set)
        previous = _stop_on_signals(stop)
        try:
            server.serve_in_background()
            daemon.start()
            while not stop.wait(0.5):
                pass
            log.info("daemon stopping (pid %d)", os.getpid())
        finally:
            _restore_signals(previous)
            server.close()
            daemon.stop()
            paths.pid.unlink(missing_ok=True)
            log.info("daemon stopped (pid %d)", os.getpid())


def _stop_on_signals(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_signals(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
