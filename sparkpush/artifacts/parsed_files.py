"""Values parsed from files, each trusted while its file keeps its (inode, size, mtime)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, TypeVar

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
