"""Built Python zips kept in `.sparkpush/packs/`, reused while their sources are unchanged.

Packing a large package on every sync would cost seconds; comparing the sources' stat data
costs milliseconds. The zip is stored under its own sha256, so what is uploaded is exactly
what was hashed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.packing import (
    Confinement,
    PackedZip,
    pack_python_source,
    stat_signature,
    walk_python_source,
)
from sparkpush.artifacts.stat_cache import RACY_WINDOW_NS
from sparkpush.private_files import ensure_private_dir, write_private_file

INDEX_VERSION = 1


@dataclass(frozen=True)
class CachedPack:
    name: str
    sha256: str
    size: int
    path: Path


class PackCache:
    """Source folder -> (signature of its files' stat data, the zip built from them)."""

    def __init__(self, folder: Path, racy_window_ns: int = RACY_WINDOW_NS) -> None:
        self.folder = folder
        self.racy_window_ns = racy_window_ns
        self._index: dict[str, dict[str, object]] = self._load()
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
        key = str(source.resolve())
        self._used.add(key)
        signature = stat_signature(files)
        known = self._index.get(key)
        if known is not None and known.get("signature") == signature and self._settled(known):
            path = self.folder / f"{known['sha256']}.zip"
            size = known.get("size")
            if path.is_file() and isinstance(size, int):
                self.hits += 1
                return CachedPack(str(known["name"]), str(known["sha256"]), size, path)
        self.misses += 1
        packed: PackedZip = pack_python_source(source, keep, root=root, files=files)
        path = ensure_private_dir(self.folder) / f"{packed.sha256}.zip"
        if not path.is_file():
            write_private_file(path, packed.data)
        newest = max((f.stat_key[1] for f in files), default=0)
        self._index[key] = {
            "signature": signature,
            "name": packed.name,
            "sha256": packed.sha256,
            "size": len(packed.data),
            "newest_mtime_ns": newest,
            "packed_at_ns": time.time_ns(),
        }
        return CachedPack(packed.name, packed.sha256, len(packed.data), path)

    def save(self) -> None:
        """Keep the index and zips of the sources seen in this run; drop the rest."""
        kept = {k: v for k, v in self._index.items() if k in self._used}
        if self.misses == 0 and kept == self._index and (self.folder / "index.json").exists():
            return
        ensure_private_dir(self.folder)
        write_private_file(
            self.folder / "index.json",
            json.dumps({"version": INDEX_VERSION, "packs": kept}, sort_keys=True).encode(),
        )
        wanted = {f"{v['sha256']}.zip" for v in kept.values()}
        for stale in self.folder.glob("*.zip"):
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
