"""`<project>/.sparkpush/packages.lock.json`: what the requested coordinates resolved to.

Each entry says: this input (scope, coordinates, repositories, excludes, and what the server
already has) resolved to these jars, each with its coordinate, version, sha256, size and the
repository it came from. An unchanged input finds its entry, and its jars in the user's
cache by hash, without starting a JVM or opening a connection. The file is in the project,
which a repository may ship, so every value is checked on reading: a jar name is a plain
`jars/<file>.jar`, a hash is a sha256 (the cache path comes from it alone).
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sparkpush.state.folders import STATE_DIR_NAME, state_dir
from sparkpush.state.private_files import read_json, write_private_json
from sparkpush.state.records import RecordError, record_from_json, record_to_json

LOCK_FILE = "packages.lock.json"
LOCK_VERSION = 1
MAX_ENTRIES = 8
"""Per scope: switching between a few sets of coordinates resolves none of them again."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_JAR_NAME = re.compile(r"jars/[A-Za-z0-9_][A-Za-z0-9_.\-+\[\](),]*\.jar")


@dataclass(frozen=True)
class LockedJar:
    coordinate: str
    """`group:artifact:version[:classifier]` as resolved (the version Ivy settled on)."""
    name: str
    """The artifact name sessions get it under: `jars/group_artifact-version.jar`."""
    version: str
    sha256: str
    size: int
    repository: str
    """The repository root it came from (never credentials)."""
    requested_by: tuple[str, ...] = ()
    """`group:artifact` of the modules that depend on it; empty for a requested coordinate."""

    @property
    def module(self) -> str:
        return ":".join(self.coordinate.split(":")[:2])


@dataclass(frozen=True)
class LeftOut:
    """A module the resolution did not fetch because the server already has it."""

    module: str
    version: str
    """The version asked for."""
    server_has: str
    """The server's version ("" when only its name is known)."""


@dataclass(frozen=True)
class LockEntry:
    input: str
    scope: str
    coordinates: tuple[str, ...]
    repositories: tuple[str, ...]
    jars: tuple[LockedJar, ...]
    left_out: tuple[LeftOut, ...] = ()
    evicted: tuple[str, ...] = ()
    """`group:artifact:version` settled away by Ivy's conflict manager (a newer one won)."""
    resolved_at: float = field(default_factory=time.time)

    @property
    def size(self) -> int:
        return sum(jar.size for jar in self.jars)


def lock_path(project_root: Path) -> Path:
    return project_root / STATE_DIR_NAME / LOCK_FILE


def read_lock(project_root: Path) -> list[LockEntry]:
    """The entries, oldest first; none when the file is missing or in another form."""
    document = read_json(lock_path(project_root))
    if not isinstance(document, dict) or document.get("version") != LOCK_VERSION:
        return []
    entries: list[LockEntry] = []
    for raw in document.get("resolutions") or []:
        with contextlib.suppress(RecordError):
            entries.append(entry_from_json(raw))
    return entries


def find_entry(project_root: Path, input_key: str) -> LockEntry | None:
    for entry in reversed(read_lock(project_root)):
        if entry.input == input_key:
            return entry
    return None


def newest_entry(project_root: Path, scope: str) -> LockEntry | None:
    """The scope's most recent resolution (what `--dry-run` compares a new request with)."""
    for entry in reversed(read_lock(project_root)):
        if entry.scope == scope:
            return entry
    return None


def record_entry(project_root: Path, entry: LockEntry) -> None:
    entries = [e for e in read_lock(project_root) if e.input != entry.input]
    same_scope = [e for e in entries if e.scope == entry.scope][-(MAX_ENTRIES - 1) :]
    kept = [e for e in entries if e.scope != entry.scope or e in same_scope]
    state_dir(project_root)
    write_private_json(
        lock_path(project_root),
        {"version": LOCK_VERSION, "resolutions": [entry_to_json(e) for e in (*kept, entry)]},
    )


def entry_to_json(entry: LockEntry) -> dict[str, Any]:
    return record_to_json(replace(entry, resolved_at=round(entry.resolved_at, 3)))


def entry_from_json(raw: Any) -> LockEntry:
    """Raises RecordError (a ValueError) on anything `entry_to_json` would not write."""
    entry = record_from_json(LockEntry, raw, what="packages lock entry")
    # the lock may come with the repository: its names and hashes become cache paths
    _check_sha256(entry.input)
    for jar in entry.jars:
        if not _JAR_NAME.fullmatch(jar.name) or ".." in jar.name:
            raise RecordError(f"not a jar name: {jar.name[:80]!r}")
        _check_sha256(jar.sha256)
        if jar.size < 0:
            raise RecordError(f"not a size: {jar.size}")
    return entry


def _check_sha256(value: str) -> None:
    if not _SHA256.fullmatch(value):
        raise RecordError("not a sha256")
