"""Which folders to watch: the non-glob base of every configured source, and the config file."""

from __future__ import annotations

import glob
from pathlib import Path

from sparkpush.config.settings import Config


def watch_roots(config: Config) -> list[Path]:
    """Folders whose changes can change what a sync would do, without nested duplicates."""
    existing = sorted(f.resolve() for f in _source_folders(config) if f.is_dir())
    return [f for f in existing if not any(f != o and f.is_relative_to(o) for o in existing)]


def unwatched_folders(config: Config, roots: list[Path]) -> list[Path]:
    """Source folders no root covers (outside the project and missing when the watch began):
    only a sync's walk sees what appears there."""
    return sorted(
        folder
        for folder in (f.resolve() for f in _source_folders(config))
        if not any(folder.is_relative_to(root) for root in roots)
    )


def _source_folders(config: Config) -> set[Path]:
    root = config.project_root
    settings = config.artifacts
    patterns = [
        *settings.python,
        *settings.pyfiles,
        *settings.wheels,
        *settings.jars,
        *settings.classes,
        *(p.partition("#")[0] for p in settings.archives),
        *settings.files,
    ]
    folders = {_base_folder(root, pattern) for pattern in patterns}
    folders |= {(root / module).parent for module in config.udf_modules}
    if config.source is not None:
        folders.add(config.source.parent)
    folders.add(root)
    return folders


def _base_folder(root: Path, pattern: str) -> Path:
    """The longest leading part of `pattern` without glob magic, as a folder."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = root.joinpath(*fixed) if fixed else root
    return base if base.is_dir() else base.parent
