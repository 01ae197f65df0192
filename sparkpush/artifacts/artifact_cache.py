"""What a long-lived process (the daemon) keeps of the project's artifacts between syncs, so a
no-op sync re-reads nothing.

An `ArtifactCache` is part of the daemon's `sparkpush.sync.process_cache.ProcessCache`, passed
down to the sync; a one-shot command makes one for its own call. Every entry is trusted only
while its source is unchanged: a parsed file while it is the same file (inode, size, mtime;
writes always replace it), a class tree while every file in it keeps its (size, mtime, inode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sparkpush.artifacts.parsed_files import ParsedFiles

if TYPE_CHECKING:
    from sparkpush.artifacts.class_jar import EntryCache
    from sparkpush.artifacts.local_artifact import DesiredArtifact
    from sparkpush.artifacts.stat_cache import StatCache


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
