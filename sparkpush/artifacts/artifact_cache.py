"""What a long-lived process (the daemon) keeps of the project's artifacts between syncs, so a
no-op sync re-reads nothing.

An `ArtifactCache` is part of the daemon's `sparkpush.sync.process_cache.ProcessCache`, passed
down to the sync; a one-shot command makes one for its own call. Every entry is trusted only
while its source is unchanged: a parsed file while it is the same file (inode, size, mtime;
writes always replace it), a class tree while every file in it keeps its (size, mtime, inode).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from sparkpush.artifacts.class_jar import EntryCache
    from sparkpush.artifacts.collect import DesiredArtifact
    from sparkpush.artifacts.stat_cache import StatCache

Parsed = TypeVar("Parsed")
FileIdentity = tuple[int, int, int]


def file_identity(path: Path) -> FileIdentity | None:
    """(inode, size, mtime) of the file at `path`, None when it cannot be stat'ed."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


class ParsedFiles(Generic[Parsed]):
    """Values read from files, by path, each valid while its file has the identity it had."""

    def __init__(self) -> None:
        self._by_path: dict[str, tuple[FileIdentity, Parsed]] = {}

    def get(self, path: Path, identity: FileIdentity | None) -> Parsed | None:
        known = self._by_path.get(str(path))
        if identity is None or known is None or known[0] != identity:
            return None
        return known[1]

    def put(self, path: Path, identity: FileIdentity | None, value: Parsed) -> None:
        if identity is not None:
            self._by_path[str(path)] = (identity, value)


@dataclass
class ClassTree:
    """A folder's artifacts as last built, and the stat signature of the files they came from."""

    signature: str
    artifacts: list[DesiredArtifact]


@dataclass
class ArtifactCache:
    stat_caches: ParsedFiles[StatCache] = field(default_factory=ParsedFiles)
    class_trees: dict[str, ClassTree] = field(default_factory=dict)
    """Folder -> its jar: an unchanged 10,000-file class tree is not looked up or packed again."""
    jar_entries: dict[str, EntryCache] = field(default_factory=dict)
    """Folder -> its files' jar entries: a changed tree deflates only its changed files."""
