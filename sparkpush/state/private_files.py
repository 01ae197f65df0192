"""User-only state on disk: 0700 folders, 0600 files, written atomically."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from sparkpush.errors import UnsafeStateDirError


def ensure_private_dir(path: Path) -> Path:
    """Create `path` user-only (0700), or check the existing one and make it 0700.

    An existing folder must be a real folder (not a link), ours, and not writable by group
    or others: a cloned repository or another user may have put it there first.
    """
    _make_parents(path.parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    fd = _open_own_dir(path)
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def check_own_dir(path: Path) -> None:
    """Refuse a folder that is a link, another user's, or writable by group or others."""
    os.close(_open_own_dir(path))


def check_safe_ancestors(path: Path) -> None:
    """Refuse when a folder on the way to `path` lets another user replace what lies below it.

    Each must be yours or root's, and writable by group or others only when sticky (as /tmp
    is: there nobody renames or deletes another user's entry).
    """
    real = Path(os.path.realpath(path))
    for folder in (real, *real.parents):
        try:
            info = os.stat(folder)
        except OSError as exc:
            raise UnsafeStateDirError(f"cannot use {folder}: {exc.strerror}") from None
        problem = None
        if info.st_uid not in (os.getuid(), 0):
            problem = f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()}) or root"
        elif info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            problem = f"group or others may write to it (mode {stat.S_IMODE(info.st_mode):o})"
        if problem is not None:
            raise UnsafeStateDirError(f"{folder} (above {path}): {problem}: refused")


def private_opener(path: str | Path, flags: int) -> int:
    """Opens `path` (an `opener` for open()): created 0600 whatever the umask, and never
    through a link (one planted in a cloned `.sparkpush` folder is refused)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStateDirError(f"{path} is a symbolic link: refused") from None
        raise
    try:
        os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _make_parents(folder: Path) -> None:
    """Missing ancestors are created 0755 (not 0777 under `umask 000`)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for ancestor in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(ancestor, 0o755)


def _open_own_dir(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        if path.is_symlink():
            raise UnsafeStateDirError(f"{path} is a symbolic link: refused") from None
        raise UnsafeStateDirError(f"cannot use {path}: {exc.strerror}") from None
    info = os.fstat(fd)
    problem = None
    if info.st_uid != os.getuid():
        problem = f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    elif info.st_mode & 0o022:
        problem = f"group or others may write to it (mode {stat.S_IMODE(info.st_mode):o})"
    if problem is not None:
        os.close(fd)
        raise UnsafeStateDirError(f"{path}: {problem}: refused")
    return fd


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` as 0600 in a 0700 folder, atomically."""
    ensure_private_dir(path.parent)
    write_atomically(path, data, 0o600)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Temp file + fsync + rename: readers see the old or the new file, never a torn one."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_private_json(path: Path, value: Any) -> None:
    write_private_file(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any | None:
    """The parsed file, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
