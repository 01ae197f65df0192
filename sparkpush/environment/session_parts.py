"""What a session gets from the project's environment: one archive and one conf."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.config.settings import Config
from sparkpush.environment.build import ProjectEnvironment, ensure_environment
from sparkpush.environment.spec import environment_configured, read_spec
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target
from sparkpush.remote.worker_target import WorkerTarget

ALIAS = "sparkpush_env"
ARCHIVE_NAME = f"archives/{ALIAS}.tar.gz#{ALIAS}"
"""A fixed name: new bytes under it make the planner start a new generation, never in place."""
PYTHON_CONF = "spark.sql.execution.pyspark.python"
LAUNCHER = f"{ALIAS}/bin/python"


def environment_artifacts(
    config: Config, server: Target, platform_wheels: Sequence[Path] = ()
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The environment's archive for `server`'s workers (built if needed), and warnings."""
    return environment_parts(prepare_environment(config, server, platform_wheels))


def environment_parts(
    prepared: ProjectEnvironment | None,
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The archive of an environment prepared before (none: none), and its warnings."""
    if prepared is None:
        return [], ()
    archive = prepared.cached.archive
    artifact = LocalArtifact(name=ARCHIVE_NAME, path=archive, sha256=prepared.cached.sha256)
    desired = DesiredArtifact(artifact, prepared.cached.sha256, prepared.cached.size, archive)
    return [desired], prepared.warnings


def prepare_environment(
    config: Config, server: Target, platform_wheels: Sequence[Path] = ()
) -> ProjectEnvironment | None:
    """None when the project asks for no environment (then nothing is read or probed)."""
    if not environment_configured(config, platform_wheels):
        return None
    spec = read_spec(config, platform_wheels)
    return ensure_environment(config, spec, worker_target(server))


def environment_conf(artifact_names: Iterable[str]) -> dict[str, str]:
    """The session conf that makes the archive's launcher the workers' Python."""
    return {PYTHON_CONF: LAUNCHER} if ARCHIVE_NAME in set(artifact_names) else {}


def worker_target(server: Target) -> WorkerTarget:
    """The workers' target, probed once per server start (see `remote.server_facts`)."""
    return ServerFacts(server).worker_target()
