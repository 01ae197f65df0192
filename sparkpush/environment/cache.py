"""The user's environment cache: `$XDG_CACHE_HOME/sparkpush/envs/<key>/`, shared by projects.

A folder appears there only complete: it is built in a temporary sibling and renamed into
place, so a failed or killed build leaves no half-written environment behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkpush.state.private_files import ensure_private_dir, read_json, write_private_json

ARCHIVE_FILE = "env.tar.gz"
_KEY = re.compile(r"[0-9a-f]{32}")
META_FILE = "environment.json"


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
    lock file that names it is in the project, which a repository may ship)."""
    if not _KEY.fullmatch(key):
        return None
    folder = (root or cache_root()) / key
    meta = read_json(folder / META_FILE)
    if not isinstance(meta, dict) or not (folder / ARCHIVE_FILE).is_file():
        return None
    try:
        return CachedEnvironment(
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


@contextlib.contextmanager
def build_folder(root: Path | None = None) -> Iterator[Path]:
    """A private temporary folder next to the cache entries, removed when the block ends."""
    base = ensure_private_dir(root or cache_root())
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
