"""What the project's environment is now, without building it (`connect env`, `--dry-run`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkpush.artifacts.collect import collect_artifacts
from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.artifacts.stat_cache import StatCache
from sparkpush.config.settings import ArtifactSettings, Config
from sparkpush.environment.build import spec_key
from sparkpush.environment.cache import CachedEnvironment, cache_root, load_cached
from sparkpush.environment.lock import LockEntry, find_entry, lock_path
from sparkpush.environment.session_parts import ARCHIVE_NAME
from sparkpush.environment.spec import environment_configured, read_spec


@dataclass(frozen=True)
class KnownEnvironment:
    """The newest build of the project's current requirements, if any (for any target)."""

    entry: LockEntry | None
    cached: CachedEnvironment | None

    @property
    def built(self) -> bool:
        return self.entry is not None and self.cached is not None

    def desired(self) -> DesiredArtifact | None:
        if self.cached is None:
            return None
        archive = self.cached.archive
        artifact = LocalArtifact(name=ARCHIVE_NAME, path=archive, sha256=self.cached.sha256)
        return DesiredArtifact(artifact, self.cached.sha256, self.cached.size, archive)


def platform_wheels(config: Config, cache: StatCache | None = None) -> tuple[Path, ...]:
    """The platform wheels in `artifacts.wheels` (they belong to the environment). `cache`:
    the project's stat cache, read (never saved here) to skip hashing the other wheels."""
    if not config.artifacts.wheels:
        return ()
    only_wheels = ArtifactSettings(
        wheels=config.artifacts.wheels,
        exclude=config.artifacts.exclude,
        allowed_roots=config.artifacts.allowed_roots,
    )
    root = config.project_root
    return collect_artifacts(only_wheels, root, cache or StatCache()).platform_wheels


def known_environment(config: Config, wheels: tuple[Path, ...]) -> KnownEnvironment | None:
    """None when no environment is configured; never runs pip nor asks a server."""
    if not environment_configured(config, wheels):
        return None
    spec = read_spec(config, wheels)
    entry = find_entry(config.project_root, spec_key=spec_key(spec))
    cached = load_cached(entry.key) if entry is not None else None
    if cached is not None and entry is not None and cached.sha256 != entry.sha256:
        cached = None
    return KnownEnvironment(entry, cached)


def environment_report(
    config: Config, generation: int | None, held: Mapping[str, str]
) -> dict[str, Any]:
    """`connect env --json`: target, packages, size, hash, cache path, and whether the current
    generation (number `generation`, holding artifact name -> sha256 `held`) has it."""
    known = known_environment(config, platform_wheels(config))
    if known is None:
        return {"configured": False}
    in_generation = known.cached is not None and held.get(ARCHIVE_NAME) == known.cached.sha256
    entry, cached = known.entry, known.cached
    return {
        "configured": True,
        "built": known.built,
        "target": entry.target if entry else None,
        "packages": dict(sorted(entry.packages.items())) if entry else {},
        "left_out": dict(sorted(entry.left_out.items())) if entry else {},
        "size": cached.size if cached else None,
        "sha256": cached.sha256 if cached else None,
        "cache_path": str(cached.folder) if cached else str(cache_root()),
        "lock_file": str(lock_path(config.project_root)),
        "in_current_generation": in_generation,
        "generation": generation,
    }


@dataclass(frozen=True)
class EnvironmentPreview:
    """The environment's archive as a sync would send it, known without building it."""

    hashes: dict[str, str]
    sizes: dict[str, int]
    warnings: tuple[str, ...]


def preview_environment(config: Config, wheels: tuple[Path, ...]) -> EnvironmentPreview:
    known = known_environment(config, wheels)
    if known is None:
        return EnvironmentPreview({}, {}, ())
    if known.cached is None:
        note = (
            "the Python environment would be built first (new requirements, or never built "
            "here); its size is not known yet"
        )
        return EnvironmentPreview({ARCHIVE_NAME: "to be built"}, {ARCHIVE_NAME: 0}, (note,))
    return EnvironmentPreview(
        {ARCHIVE_NAME: known.cached.sha256}, {ARCHIVE_NAME: known.cached.size}, ()
    )
