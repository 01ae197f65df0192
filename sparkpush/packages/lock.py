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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sparkpush.state.folders import STATE_DIR_NAME, state_dir
from sparkpush.state.private_files import read_json, write_private_json

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
        with contextlib.suppress(TypeError, ValueError, KeyError):
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
    document = asdict(entry)
    document["resolved_at"] = round(entry.resolved_at, 3)
    return document


def entry_from_json(raw: Any) -> LockEntry:
    """Raises TypeError, ValueError or KeyError on anything `entry_to_json` would not write."""
    if not isinstance(raw, dict):
        raise TypeError("not a table")
    return LockEntry(
        input=_hex(raw["input"]),
        scope=str(raw["scope"]),
        coordinates=_strings(raw["coordinates"]),
        repositories=_strings(raw["repositories"]),
        jars=tuple(_jar(j) for j in _list(raw["jars"])),
        left_out=tuple(
            LeftOut(str(o["module"]), str(o["version"]), str(o["server_has"]))
            for o in _list(raw.get("left_out") or [])
        ),
        evicted=_strings(raw.get("evicted") or []),
        resolved_at=float(raw.get("resolved_at") or 0.0),
    )


def _jar(raw: Any) -> LockedJar:
    if not isinstance(raw, dict):
        raise TypeError("not a table")
    name = str(raw["name"])
    if not _JAR_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not a jar name: {name[:80]!r}")
    size = raw["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("not a size")
    return LockedJar(
        coordinate=str(raw["coordinate"]),
        name=name,
        version=str(raw["version"]),
        sha256=_hex(raw["sha256"]),
        size=size,
        repository=str(raw["repository"]),
        requested_by=_strings(raw.get("requested_by") or []),
    )


def _hex(value: Any) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError("not a sha256")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in _list(value))
