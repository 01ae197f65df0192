"""The user's environment cache: `$XDG_CACHE_HOME/sparkpush/envs/<key>/`, shared by projects.

A folder appears there only complete: it is built in a temporary sibling and renamed into
place, so a failed or killed build leaves no half-written environment behind.

What is read back runs on the workers as the user, so every read checks what a build checks
when it writes: `sparkpush/`, `envs/` and the entry are the user's own folders (no link, not
writable by others) under folders nobody else can swap, the archive is the user's own file, and
its bytes hash to the sha256 the entry records (hashed once per file identity: a stamp in the
entry remembers device, inode, size and times, which no other user can write or forge).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkpush.errors import UnsafeStateDirError
from sparkpush.state.private_files import (
    check_own_dir,
    check_safe_ancestors,
    ensure_private_dir,
    read_json,
    write_private_json,
)

log = logging.getLogger(__name__)

ARCHIVE_FILE = "env.tar.gz"
_KEY = re.compile(r"[0-9a-f]{32}")
META_FILE = "environment.json"
VERIFIED_FILE = "verified.json"
"""The archive's file identity when its bytes were last hashed, and that hash."""

FileIdentity = tuple[int, int, int, int, int]
_verified: dict[tuple[str, FileIdentity], str] = {}


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/sparkpush/envs` (default `~/.cache/sparkpush/envs`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sparkpush" / "envs"


@dataclass(frozen=True)
class CachedEnvironment:
    key: str
    folder: Path
    sha256: str
    size: int
    packages: dict[str, str]
    left_out: dict[str, str]
    target: dict[str, Any]

    @property
    def archive(self) -> Path:
        return self.folder / ARCHIVE_FILE


def load_cached(key: str, root: Path | None = None) -> CachedEnvironment | None:
    """The complete environment `key`, or None (also for a key that is not one of ours: the
    lock file that names it is in the project, which a repository may ship, and for an entry
    whose archive no longer hashes to its record: it is removed, to be built again).

    An entry someone else could have written is refused (UnsafeStateDirError).
    """
    if not _KEY.fullmatch(key):
        return None
    base = root or cache_root()
    folder = base / key
    if not os.path.lexists(folder):
        return None
    check_cache_folders(base, folder)
    meta = read_json(folder / META_FILE)
    if not isinstance(meta, dict):
        return None
    try:
        cached = CachedEnvironment(
            key=key,
            folder=folder,
            sha256=str(meta["sha256"]),
            size=int(meta["size"]),
            packages=dict(meta["packages"]),
            left_out=dict(meta.get("left_out") or {}),
            target=dict(meta["target"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    identity = _own_file_identity(cached.archive)
    if identity is None:
        return None
    if _verified_sha256(cached.archive, identity) != cached.sha256:
        log.warning("%s does not hash to its recorded sha256: removed, to be built again", folder)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return cached


def check_cache_folders(base: Path, *below: Path) -> None:
    """`sparkpush/`, `envs/` and `below` must be the user's own; the folders above unswappable."""
    check_safe_ancestors(base.parent.parent)
    for folder in (base.parent, base, *below):
        check_own_dir(folder)


def _own_file_identity(path: Path) -> FileIdentity | None:
    """The file's (device, inode, size, mtime, ctime); None when missing; refused when it is
    a link, not a regular file, another user's or writable by others."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "not a regular file"
    elif info.st_uid != os.getuid():
        problem = f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    elif info.st_mode & 0o022:
        problem = f"group or others may write to it (mode {stat.S_IMODE(info.st_mode):o})"
    if problem is not None:
        raise UnsafeStateDirError(f"{path}: {problem}: refused")
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _verified_sha256(archive: Path, identity: FileIdentity) -> str:
    """The archive's sha256, hashed only when this file identity was not hashed before."""
    memo_key = (str(archive), identity)
    known = _verified.get(memo_key)
    if known is not None:
        return known
    stamp_path = archive.parent / VERIFIED_FILE
    stamp = read_json(stamp_path)
    if isinstance(stamp, dict) and stamp.get("identity") == list(identity):
        digest = str(stamp.get("sha256"))
    else:
        digest = file_sha256(archive)
        with contextlib.suppress(OSError):
            write_private_json(stamp_path, {"identity": list(identity), "sha256": digest})
    _verified[memo_key] = digest
    return digest


def remember_sha256(archive: Path, digest: str) -> None:
    """Record that `archive`, as it is now, hashes to `digest` (it was just written and hashed)."""
    identity = _own_file_identity(archive)
    if identity is not None:
        write_private_json(
            archive.parent / VERIFIED_FILE, {"identity": list(identity), "sha256": digest}
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def build_folder(root: Path | None = None) -> Iterator[Path]:
    """A private temporary folder next to the cache entries, removed when the block ends."""
    base = root or cache_root()
    check_safe_ancestors(_existing(base.parent.parent))
    ensure_private_dir(base.parent)
    ensure_private_dir(base)
    folder = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(built: Path, key: str, meta: dict[str, Any], root: Path | None = None) -> Path:
    """Move the finished folder `built` (holding the archive) into place as entry `key`."""
    write_private_json(built / META_FILE, meta)
    destination = (root or cache_root()) / key
    try:
        os.rename(built, destination)
    except OSError:
        if load_cached(key, root) is None:  # not another build's identical result: retry once
            shutil.rmtree(destination, ignore_errors=True)
            os.rename(built, destination)
    return destination


def _existing(path: Path) -> Path:
    """`path`, or its nearest ancestor that exists (a first build creates the rest)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
