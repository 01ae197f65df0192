"""What a sync wants on the server: the project's artifacts, collected under the project lock
with its stat and pack caches, and those its environment and packages add (the environment is
built before the lock: pip may run for minutes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sparkpush.artifacts.collect import CollectedArtifacts, collect_artifacts
from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.config.settings import Config
from sparkpush.environment.build import ProjectEnvironment
from sparkpush.environment.session_parts import (
    environment_artifacts,
    environment_parts,
    prepare_environment,
)
from sparkpush.environment.spec import environment_wanted
from sparkpush.environment.status import platform_wheels
from sparkpush.errors import UsageError
from sparkpush.packages.session_parts import package_artifacts
from sparkpush.packages.spec import PackageFlags
from sparkpush.progress.phases import mark
from sparkpush.remote.target import Target
from sparkpush.state.folders import state_dir
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.context import SyncContext
from sparkpush.sync.process_cache import ProcessCache


def collect_project_artifacts(
    config: Config,
    extra: Sequence[LocalArtifact] = (),
    target: Target | None = None,
    packages: PackageFlags | None = None,
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The project's configured artifacts plus `extra` (e.g. submit's flags) and its packages
    (with `packages`: submit's --packages too), and warnings; with `target`, also the
    project's environment for its workers."""
    built = environment_first(config, target) if target is not None else None
    with project_lock(config.project_root):
        collected, desired = _collect(config, extra)
        jars, package_notes = package_artifacts(config, packages)
        warnings = collected.warnings + package_notes
        environment: list[DesiredArtifact] = []
        if target is not None and built is not None:
            environment, notes = built.parts(config, target, collected.platform_wheels)
            warnings += notes
    return _joined(desired, environment, jars), warnings


def wanted_artifacts(
    context: SyncContext, extra: Sequence[LocalArtifact], built: EnvironmentFirst
) -> tuple[CollectedArtifacts, list[DesiredArtifact]]:
    """The project's artifacts and those its environment and packages add (the caller holds
    the project lock); the warnings are the collected ones'."""
    config = context.config
    collected, desired = _collect(config, extra, context.reuse)
    mark("sync.collected")
    environment, notes = built.parts(config, context.target, collected.platform_wheels)
    packages, package_notes = package_artifacts(config)
    desired = _joined(desired, environment, packages)
    mark("sync.dependencies")
    return replace(collected, warnings=collected.warnings + notes + package_notes), desired


@dataclass(frozen=True)
class EnvironmentFirst:
    """The project's environment as built before the project lock, for the platform wheels
    listed then (None: the project needs none)."""

    wheels: tuple[Path, ...]
    prepared: ProjectEnvironment | None

    def parts(
        self, config: Config, target: Target, wheels: tuple[Path, ...]
    ) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
        """The environment's archive and warnings for the `wheels` listed under the lock:
        the one built first, unless the wheels changed meanwhile (then built now)."""
        if wheels == self.wheels:
            return environment_parts(self.prepared)
        return environment_artifacts(config, target, wheels)


def environment_first(config: Config, target: Target) -> EnvironmentFirst:
    """Build the project's environment, if it needs one, before the project lock is taken:
    pip may run for minutes, and the project's other commands need not wait for it (the build
    has a lock of its own)."""
    if not environment_wanted(config):
        return EnvironmentFirst((), None)
    wheels = platform_wheels(config, StatCache.load(stat_cache_path(config.project_root)))
    return EnvironmentFirst(wheels, prepare_environment(config, target, wheels))


def _joined(
    desired: list[DesiredArtifact], *more: Sequence[DesiredArtifact]
) -> list[DesiredArtifact]:
    """`desired` and the artifacts the project's dependencies add; one name, one source."""
    names = {d.name: d for d in desired}
    joined = list(desired)
    for artifact in (a for group in more for a in group):
        earlier = names.get(artifact.name)
        if earlier is None:
            names[artifact.name] = artifact
            joined.append(artifact)
        elif earlier.sha256 != artifact.sha256:
            raise UsageError(
                f"{earlier.shown_source} and {artifact.shown_source} would both be sent as "
                f"{artifact.name}"
            )
    return joined


def _collect(
    config: Config, extra: Sequence[LocalArtifact], reuse: ProcessCache | None = None
) -> tuple[CollectedArtifacts, list[DesiredArtifact]]:
    """Collect with the project's stat and pack caches (the caller holds the project lock)."""
    root = config.project_root
    cache = StatCache.load(stat_cache_path(root), reuse)
    packs = PackCache(state_dir(root) / "packs")
    collected = collect_artifacts(config.artifacts, root, cache, packs, reuse)
    desired = _with_extra(collected, extra, cache)
    cache.save(stat_cache_path(root), reuse)
    packs.save()
    return collected, desired


def _with_extra(
    collected: CollectedArtifacts, extra: Sequence[LocalArtifact], cache: StatCache
) -> list[DesiredArtifact]:
    desired = list(collected.artifacts)
    names = {d.name for d in desired}
    for artifact in extra:
        if artifact.name in names:
            same = next(d for d in desired if d.name == artifact.name)
            if artifact.path is not None and same.source.resolve() != artifact.path.resolve():
                raise UsageError(
                    f"{artifact.path} would be sent as {artifact.name}, which the project "
                    f"config already sends from {same.source}"
                )
            continue
        assert artifact.path is not None
        sha256, size = cache.sha256(artifact.path)
        desired.append(DesiredArtifact(artifact, sha256, size, artifact.path))
        names.add(artifact.name)
    return desired
