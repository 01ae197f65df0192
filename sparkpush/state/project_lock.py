"""A project's advisory lock files in `<project>/.sparkpush/`: one sync at a time per project,
and one environment build at a time per project (pip runs outside the sync's lock)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparkpush.state.folders import state_dir
from sparkpush.state.private_files import private_opener

SYNC_LOCK = "sync.lock"
ENVIRONMENT_LOCK = "environment-build.lock"


@contextmanager
def project_lock(project_root: Path) -> Iterator[None]:
    """Held for the whole sync; the kernel drops it if the holder dies (kill -9 included)."""
    with _held(state_dir(project_root) / SYNC_LOCK):
        yield


@contextmanager
def environment_lock(project_root: Path) -> Iterator[None]:
    """Held while the project's environment is built (pip, for minutes) and recorded: a second
    command that needs it waits and then finds it built. Never taken while waiting for
    `project_lock` (which may be held while taking this one)."""
    with _held(state_dir(project_root) / ENVIRONMENT_LOCK):
        yield


@contextmanager
def _held(path: Path) -> Iterator[None]:
    fd = private_opener(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
