"""Where a project's daemon keeps its socket, pid, lock and log: `<project>/.sparkpush/`."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.manifest import state_dir
from sparkpush.private_files import ensure_private_dir

# sockaddr_un holds 108 bytes; deep project paths fall back to a short per-user folder.
_MAX_SOCKET_PATH = 100


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
        preferred = self.folder / "daemon.sock"
        if len(os.fsencode(preferred)) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(os.fsencode(self.root.resolve())).hexdigest()[:20]
        short = Path(tempfile.gettempdir()) / f"sparkpush-{os.getuid()}"
        return ensure_private_dir(short) / f"{digest}.sock"


def daemon_paths(project_root: Path) -> DaemonPaths:
    return DaemonPaths(project_root.resolve())
