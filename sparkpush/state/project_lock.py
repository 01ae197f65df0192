"""One sync at a time per project: an advisory lock file in `<project>/.sparkpush/`."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparkpush.state.folders import state_dir
from sparkpush.state.private_files import private_opener


@contextmanager
def project_lock(project_root: Path) -> Iterator[None]:
    """Held for the whole sync; the kernel drops it if the holder dies (kill -9 included)."""
    path = state_dir(project_root) / "sync.lock"
    fd = private_opener(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
