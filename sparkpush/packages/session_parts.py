"""What a session gets from the project's packages: one jar artifact per resolved jar, in the
base layer, each sent from the user's cache and shown with its coordinate."""

from __future__ import annotations

from pathlib import Path

from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.config.settings import Config
from sparkpush.packages.lock import LockedJar
from sparkpush.packages.resolve import ensure_packages
from sparkpush.packages.spec import PackageFlags, Scope, packages_configured, read_spec

SOURCE_PREFIX = "maven:"
"""A package jar's source in the generation record: `maven:group:artifact:version`."""


def package_artifacts(
    config: Config, flags: PackageFlags | None = None
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The session packages' jars (resolved if the lock lacks them), and warnings."""
    if not packages_configured(config) and (flags is None or not flags.packages):
        return [], ()
    spec = read_spec(config, Scope.SESSION, flags)
    resolved = ensure_packages(config, spec)
    desired = [package_artifact(jar, cached.path) for jar, cached in resolved.pairs()]
    return desired, resolved.warnings


def package_artifact(jar: LockedJar, path: Path) -> DesiredArtifact:
    artifact = LocalArtifact(name=jar.name, path=path)
    return DesiredArtifact(artifact, jar.sha256, jar.size, path, origin=source_of(jar))


def source_of(jar: LockedJar) -> str:
    return f"{SOURCE_PREFIX}{jar.coordinate}"


def coordinate_of_source(source: str) -> str | None:
    """The coordinate a stored artifact's source names, or None for any other artifact."""
    return source[len(SOURCE_PREFIX) :] if source.startswith(SOURCE_PREFIX) else None
