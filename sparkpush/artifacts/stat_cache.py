"""SHA-256 of files, re-hashed only when their (size, mtime, inode) changed since last time."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sparkpush.artifacts.parsed_files import ParsedFiles, file_identity
from sparkpush.state.folders import STATE_DIR_NAME
from sparkpush.state.private_files import write_private_file

CACHE_VERSION = 1
STAT_CACHE_FILE = "stat-cache.json"
READ_BYTES = 1024 * 1024
# A file modified this close to when it was hashed may change again within the same mtime
# tick (coarse file system clocks); such an entry is re-hashed until it has settled.
RACY_WINDOW_NS = 2_000_000_000


class KeepsStatCaches(Protocol):
    """What a long-lived process keeps (an `ArtifactCache`): the caches it loaded, by file."""

    stat_caches: ParsedFiles[StatCache]


def stat_cache_path(project_root: Path) -> Path:
    """Where the project's stat cache is saved, in its state folder."""
    return project_root / STATE_DIR_NAME / STAT_CACHE_FILE


@dataclass(frozen=True)
class _Entry:
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    hashed_at_ns: int

    def matches(self, info: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.inode) == (
            info.st_size,
            info.st_mtime_ns,
            info.st_ino,
        )

    def settled(self, racy_window_ns: int) -> bool:
        return self.mtime_ns + racy_window_ns <= self.hashed_at_ns


class StatCache:
    """Maps absolute paths to their last known hash; `hits` and `misses` count lookups."""

    def __init__(self, racy_window_ns: int = RACY_WINDOW_NS) -> None:
        self.racy_window_ns = racy_window_ns
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, _Entry] = {}
        self._used: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, path: Path, reuse: KeepsStatCaches | None = None) -> StatCache:
        """The cache saved at `path`; empty when the file is missing or unusable.

        With `reuse`, the object loaded before is reused while the file is the one it was
        loaded from (or saved to): the daemon's no-op syncs then skip the JSON.
        """
        identity = file_identity(path)
        known = reuse.stat_caches.get(path, identity) if reuse is not None else None
        if known is not None:
            known.hits = known.misses = 0
            known._used = set()
            return known
        cache = cls._read(path)
        if reuse is not None:
            reuse.stat_caches.put(path, identity, cache)
        return cache

    @classmethod
    def _read(cls, path: Path) -> StatCache:
        cache = cls()
        try:
            document = json.loads(path.read_bytes())
            if document.get("version") != CACHE_VERSION:
                return cache
            entries = {
                str(key): _Entry(int(size), int(mtime), int(inode), str(digest), int(at))
                for key, (size, mtime, inode, digest, at) in document["entries"].items()
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cache
        cache._entries = entries
        return cache

    def save(self, path: Path, reuse: KeepsStatCaches | None = None) -> None:
        """Write the entries looked up since loading (others are gone), atomically, 0600.

        Skipped when every lookup hit and every entry was looked up: nothing would change.
        """
        if self.misses == 0 and len(self._used) == len(self._entries) and path.exists():
            return
        kept = {key: entry for key, entry in self._entries.items() if key in self._used}
        document = {
            "version": CACHE_VERSION,
            "entries": {
                key: [e.size, e.mtime_ns, e.inode, e.sha256, e.hashed_at_ns]
                for key, e in sorted(kept.items())
            },
        }
        write_private_file(path, json.dumps(document, separators=(",", ":")).encode())
        self._entries = kept
        if reuse is not None:
            reuse.stat_caches.put(path, file_identity(path), self)

    def sha256(self, path: Path) -> tuple[str, int]:
        """(hex sha256, size) of the file at `path`; raises OSError if it cannot be read."""
        key = os.path.abspath(path)
        return self.sha256_with(key, os.stat(key))

    def sha256_with(self, path: str, info: os.stat_result) -> tuple[str, int]:
        """`sha256` for a file whose stat the caller just took (an absolute path)."""
        key = path
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry.matches(info) and entry.settled(self.racy_window_ns):
            self.hits += 1
            return entry.sha256, entry.size
        self.misses += 1
        hashed_at = time.time_ns()
        digest, size = _hash_file(key)
        after = os.stat(key)
        self._entries.pop(key, None)
        if _same_file_state(info, after) and size == after.st_size:
            self._entries[key] = _Entry(
                after.st_size, after.st_mtime_ns, after.st_ino, digest, hashed_at
            )
        return digest, size


def _same_file_state(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns, before.st_ino) == (
        after.st_size,
        after.st_mtime_ns,
        after.st_ino,
    )


def _hash_file(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
