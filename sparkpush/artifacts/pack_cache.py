"""Built Python zips and class jars kept in `.sparkpush/packs/`, reused while their sources are
unchanged.

Packing a large package on every sync would cost seconds; comparing the sources' stat data
costs milliseconds. A pack is stored under its own sha256, so what is uploaded is exactly
what was hashed. A pack built from files still within the racy window is never reused, so it
is not stored: it stays in memory (`data`) for this sync's upload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.artifacts.class_jar import EntryCache, pack_class_jar
from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.packing import (
    Confinement,
    SourceFile,
    pack_python_source,
    stat_signature,
    walk_python_source,
)
from sparkpush.artifacts.stat_cache import RACY_WINDOW_NS
from sparkpush.state.private_files import ensure_private_dir, write_private_file

INDEX_VERSION = 1


@dataclass(frozen=True)
class CachedPack:
    """A pack in the cache folder (`path`), and its bytes (`data`) when built in this call:
    a read-only cache and a pack of files not yet settled keep them in memory only."""

    name: str
    sha256: str
    size: int
    path: Path | None
    data: bytes | None = field(default=None, compare=False, repr=False)


class PackCache:
    """Source folder -> (signature of its files' stat data, the zip or jar built from them)."""

    def __init__(
        self, folder: Path, racy_window_ns: int = RACY_WINDOW_NS, *, read_only: bool = False
    ) -> None:
        """`read_only`: use what is stored, build the rest in memory, write nothing (a dry run)."""
        self.folder = folder
        self.racy_window_ns = racy_window_ns
        self.read_only = read_only
        self._index: dict[str, dict[str, object]] = self._load()
        self._stored = dict(self._index)
        """The index as the folder holds it: a save that would write the same is skipped."""
        self._used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def pack(
        self,
        source: Path,
        keep: DefaultFilter,
        root: Path | None,
        confine: Confinement | None = None,
    ) -> CachedPack:
        """The zip of `source`, rebuilt only when a kept file was added, removed or touched."""
        files = walk_python_source(source, keep, root=root, confine=confine)

        def build() -> tuple[str, bytes, str]:
            packed = pack_python_source(source, keep, root=root, files=files)
            return packed.name, packed.data, packed.sha256

        return self._cached(str(source.resolve()), files, ".zip", build)

    def pack_class_jar(
        self,
        source: Path,
        files: list[SourceFile],
        name: str,
        entries: EntryCache | None = None,
        signature: str | None = None,
    ) -> CachedPack:
        """The jar `name` of a class folder's walked `files`, rebuilt only when they changed
        (from the unchanged files' `entries` kept by a long-lived process). `signature`: their
        `stat_signature`, when the caller has it already."""

        def build() -> tuple[str, bytes, str]:
            jar = pack_class_jar(name, files, entries)
            return jar.name, jar.data, jar.sha256

        return self._cached(_class_jar_key(source), files, ".jar", build, name, signature)

    def keep_class_jar(self, source: Path) -> None:
        """Keep the jar of `source` through `save`: the caller reused it without asking."""
        self._used.add(_class_jar_key(source))

    def _cached(
        self,
        key: str,
        files: list[SourceFile],
        suffix: str,
        build: Callable[[], tuple[str, bytes, str]],
        name: str | None = None,
        signature: str | None = None,
    ) -> CachedPack:
        """The pack under `key`, rebuilt unless its files (and `name`, when given) are the same."""
        self._used.add(key)
        if signature is None:
            signature = stat_signature(files)
        known = self._index.get(key)
        if (
            known is not None
            and known.get("signature") == signature
            and name in (None, known.get("name"))
            and self._settled(known)
        ):
            path = self.folder / f"{known['sha256']}{suffix}"
            size = known.get("size")
            if path.is_file() and isinstance(size, int):
                self.hits += 1
                return CachedPack(str(known["name"]), str(known["sha256"]), size, path)
        self.misses += 1
        built_name, data, sha256 = build()
        packed_at = time.time_ns()
        newest = max((f.info.st_mtime_ns for f in files), default=0)
        record = {
            "signature": signature,
            "name": built_name,
            "sha256": sha256,
            "size": len(data),
            "newest_mtime_ns": newest,
            "packed_at_ns": packed_at,
        }
        if self.read_only:
            return CachedPack(built_name, sha256, len(data), None, data)
        if not self._settled(record):  # never reused: writing it would only cost time
            self._index.pop(key, None)
            return CachedPack(built_name, sha256, len(data), None, data)
        path = ensure_private_dir(self.folder) / f"{sha256}{suffix}"
        if not path.is_file():
            write_private_file(path, data)
        self._index[key] = record
        return CachedPack(built_name, sha256, len(data), path, data)

    def save(self) -> None:
        """Keep the index and packs of the sources seen in this run; drop the rest."""
        kept = {k: v for k, v in self._index.items() if k in self._used}
        if self.read_only:
            return
        if kept == self._stored and (self.folder / "index.json").exists():
            return
        ensure_private_dir(self.folder)
        write_private_file(
            self.folder / "index.json",
            json.dumps({"version": INDEX_VERSION, "packs": kept}, sort_keys=True).encode(),
        )
        self._stored = dict(kept)
        wanted = {f"{v['sha256']}{_suffix(k)}" for k, v in kept.items()}
        for stale in (*self.folder.glob("*.zip"), *self.folder.glob("*.jar")):
            if stale.name not in wanted:
                stale.unlink(missing_ok=True)

    def _settled(self, known: dict[str, object]) -> bool:
        # A file written within the racy window could change again without its mtime moving.
        newest = int(known.get("newest_mtime_ns", 0))  # type: ignore[call-overload]
        packed_at = int(known.get("packed_at_ns", 0))  # type: ignore[call-overload]
        return newest + self.racy_window_ns <= packed_at

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            document = json.loads((self.folder / "index.json").read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
            return {}
        packs = document.get("packs")
        return packs if isinstance(packs, dict) else {}


def _class_jar_key(source: Path) -> str:
    # a folder may be both a Python source and a class folder: keep the two apart
    return f"jar:{source.resolve()}"


def _suffix(key: str) -> str:
    return ".jar" if key.startswith("jar:") else ".zip"
