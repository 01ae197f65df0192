"""Where a project's daemon keeps its socket, pid, lock and log: `<project>/.sparkpush/`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sparkpush.state.folders import state_dir

# sockaddr_un holds 108 bytes, with its terminating NUL
_MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class DaemonPaths:
    root: Path

    @property
    def folder(self) -> Path:
        return state_dir(self.root)

    @property
    def lock(self) -> Path:
        return self.folder / "daemon.lock"

    @property
    def pid(self) -> Path:
        return self.folder / "daemon.pid"

    @property
    def log(self) -> Path:
        return self.folder / "daemon.log"

    @property
    def socket(self) -> Path:
        return self.folder / "daemon.sock"


def daemon_paths(project_root: Path) -> DaemonPaths:
    return DaemonPaths(project_root.resolve())


@contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """What to bind or connect to for the socket file `path`, however deep the project.

    A path too long for sockaddr_un is reached through a descriptor of its folder
    (`/proc/self/fd/N/daemon.sock`), so the socket stays in the project's own user-only
    folder rather than in a shared one such as /tmp that another user could prepare.
    """
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)
