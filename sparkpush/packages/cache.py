"""The user's jar cache: `$XDG_CACHE_HOME/sparkpush/maven/`, content-addressed, user-only.

`jars/<ab>/<sha256>.jar` holds a jar under the hash of its bytes, shared by every project.
Another user must not be able to plant a jar there, so every read checks the folders and the
file (real folders and a regular file, not links; ours; nobody else may write) and that the
bytes are the ones the name says: hashed when the entry is stored, and again whenever its
(device, inode, size, mtime, ctime) differ from when it was last hashed (`verified.json`,
itself in the private folder). `ivy/` is Ivy's own working cache, as private.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparkpush.errors import UnsafeStateDirError
from sparkpush.state.private_files import ensure_private_dir, read_json, write_private_json

_SHA256 = re.compile(r"[0-9a-f]{64}")
VERIFIED_FILE = "verified.json"
MAX_VERIFIED = 4096
_READ = 1 << 20


def maven_cache_root() -> Path:
    """`$XDG_CACHE_HOME/sparkpush/maven` (default `~/.cache/sparkpush/maven`), checked 0700."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    sparkpush = ensure_private_dir(Path(base) / "sparkpush")
    return ensure_private_dir(sparkpush / "maven")


def ivy_cache_dir() -> Path:
    return ensure_private_dir(maven_cache_root() / "ivy")


@dataclass(frozen=True)
class CachedJar:
    sha256: str
    size: int
    path: Path


def jar_path(sha256: str, root: Path | None = None) -> Path:
    if not _SHA256.fullmatch(sha256):
        # the lock naming it is in the project, which a repository may ship
        raise ValueError(f"not a sha256: {sha256[:80]!r}")
    return (root or maven_cache_root()) / "jars" / sha256[:2] / f"{sha256}.jar"


def store_jars(sources: list[Path], root: Path | None = None) -> list[CachedJar]:
    """Copy each file into the cache under the hash of the bytes copied."""
    root = root or maven_cache_root()
    stored = [_store(source, root) for source in sources]
    _remember_verified(root, {jar.sha256: os.stat(jar.path) for jar in stored})
    return stored


def _store(source: Path, root: Path) -> CachedJar:
    """Written whole or not at all: temp file, fsync, rename."""
    jars = ensure_private_dir(root / "jars")
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(prefix=".store-", suffix=".jar", dir=jars)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
            for block in iter(lambda: stream.read(_READ), b""):
                digest.update(block)
                out.write(block)
                size += len(block)
            out.flush()
            os.fsync(out.fileno())
        sha256 = digest.hexdigest()
        destination = jar_path(sha256, root)
        ensure_private_dir(destination.parent)
        os.replace(temp_name, destination)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return CachedJar(sha256, size, destination)


def verified_jars(
    wanted: list[tuple[str, int]], root: Path | None = None
) -> dict[str, CachedJar | None]:
    """sha256 -> the cached jar with those bytes (and that size), checked (see the module
    docstring); None when it is missing or its bytes are not those (a bad entry is removed:
    the next resolve fetches it again). A folder or file another user could have written
    raises UnsafeStateDirError."""
    root = root or maven_cache_root()
    hashed: dict[str, os.stat_result] = {}
    found = {sha256: _verified(sha256, size, root, hashed) for sha256, size in wanted}
    if hashed:
        _remember_verified(root, hashed)
    return found


def _verified(
    sha256: str, size: int, root: Path, hashed: dict[str, os.stat_result]
) -> CachedJar | None:
    path = jar_path(sha256, root)
    if not _private_folder(root / "jars") or not _private_folder(path.parent):
        return None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeStateDirError(f"{path} is not a regular file: refused")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UnsafeStateDirError(f"{path}: not yours, or others may write to it: refused")
    if info.st_size != size:
        path.unlink(missing_ok=True)
        return None
    if _identity(info) != _verified_identities(root).get(sha256):
        if file_sha256(path) != sha256:
            path.unlink(missing_ok=True)
            return None
        hashed[sha256] = info
    return CachedJar(sha256, size, path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_READ), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_folder(folder: Path) -> bool:
    """False when missing; raises when it is a link, another user's or writable by others."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDirError(f"{folder} is not a folder: refused")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UnsafeStateDirError(f"{folder}: not yours, or others may write to it: refused")
    return True


def _identity(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


_known: dict[str, tuple[tuple[int, int, int], dict[str, list[int]]]] = {}
"""Per root: verified.json's (inode, size, mtime) and its records, read once per change."""


def _verified_identities(root: Path) -> dict[str, list[int]]:
    path = root / VERIFIED_FILE
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {}
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return {}
    identity = (info.st_ino, info.st_size, info.st_mtime_ns)
    known = _known.get(str(root))
    if known is not None and known[0] == identity:
        return known[1]
    document = read_json(path)
    records: dict[str, list[int]] = {}
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, list) and all(isinstance(v, int) for v in value):
                records[str(key)] = value
    _known[str(root)] = (identity, records)
    return records


def _remember_verified(root: Path, hashed: dict[str, os.stat_result]) -> None:
    if not hashed:
        return
    records = dict(_verified_identities(root))
    for sha256, info in hashed.items():
        records.pop(sha256, None)  # newest last: the oldest are dropped first
        records[sha256] = _identity(info)
    if len(records) > MAX_VERIFIED:
        records = dict(list(records.items())[-MAX_VERIFIED:])
    write_private_json(root / VERIFIED_FILE, records)
    _known.pop(str(root), None)
