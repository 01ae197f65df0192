"""`ensure_environment`: the project's environment for a target, from the cache or built once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.environment.archive import write_deterministic_tar_gz
from sparkpush.environment.cache import (
    ARCHIVE_FILE,
    CachedEnvironment,
    EnvironmentMeta,
    build_folder,
    file_sha256,
    load_cached,
    publish,
    remember_sha256,
)
from sparkpush.environment.install import install
from sparkpush.environment.lock import LockEntry, find_entry, record_entry
from sparkpush.environment.python_launcher import LAUNCHER_PATH, SITE_PACKAGES, launcher_text
from sparkpush.environment.spec import EnvironmentSpec
from sparkpush.remote.target import require_trusted
from sparkpush.remote.worker_target import WorkerTarget, local_target, same_platform
from sparkpush.state.project_lock import environment_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectEnvironment:
    cached: CachedEnvironment
    worker_target: WorkerTarget
    built_now: bool
    warnings: tuple[str, ...] = ()


def input_key(spec: EnvironmentSpec, worker_target: WorkerTarget) -> str:
    """The lock's key: the same requirements for the same workers resolve the same way."""
    return _sha256(spec.key_text(), worker_target.key_text())


def spec_key(spec: EnvironmentSpec) -> str:
    return _sha256(spec.key_text())


def ensure_environment(
    config: Config, spec: EnvironmentSpec, worker_target: WorkerTarget
) -> ProjectEnvironment:
    """The cached environment this input resolved to before (no pip), or a new build."""
    # pip options choose where packages come from: a project's word only once trusted
    require_trusted(config, pip_args=bool(spec.pip_args))
    root = config.project_root
    key = input_key(spec, worker_target)
    found = _recorded(root, key)
    if found is not None:
        return ProjectEnvironment(found, worker_target, built_now=False)
    with environment_lock(root):
        found = _recorded(root, key)  # another command of the project built it meanwhile
        if found is not None:
            return ProjectEnvironment(found, worker_target, built_now=False)
        cached = build_environment(spec, worker_target)
        record_entry(
            root,
            LockEntry(
                input=key,
                spec=spec_key(spec),
                key=cached.key,
                target=worker_target.describe(),
                packages=cached.packages,
                left_out=cached.left_out,
                sha256=cached.sha256,
            ),
        )
    warnings: tuple[str, ...] = ()
    if cached.left_out:
        shown = ", ".join(f"{n} {v}" for n, v in sorted(cached.left_out.items()))
        warnings = (
            f"environment: left out {shown}: the workers' pyspark keeps its own copies "
            f"({_provided(worker_target, cached.left_out) or 'not found there'})",
        )
    return ProjectEnvironment(cached, worker_target, built_now=True, warnings=warnings)


def _recorded(root: Path, key: str) -> CachedEnvironment | None:
    """The cached environment the project's lock records for input `key`, if still whole."""
    entry = find_entry(root, input_key=key)
    if entry is None:
        return None
    cached = load_cached(entry.key)
    return cached if cached is not None and cached.sha256 == entry.sha256 else None


def build_environment(spec: EnvironmentSpec, worker_target: WorkerTarget) -> CachedEnvironment:
    """pip install for `target`, add the launcher, pack; published to the cache only whole."""
    cross = not same_platform(worker_target, local_target())
    announce(f"building the Python environment for {worker_target.describe()}...")
    with build_folder() as scratch:
        tree = scratch / "tree"
        site_packages = tree / SITE_PACKAGES
        site_packages.mkdir(parents=True)
        installed = install(
            spec, worker_target, site_packages, cross_platform=cross, scratch=scratch
        )
        launcher = tree / LAUNCHER_PATH
        launcher.parent.mkdir()
        launcher.write_text(launcher_text(worker_target.executable))
        launcher.chmod(0o755)
        out = scratch / "out"
        out.mkdir(mode=0o700)
        archive = out / ARCHIVE_FILE
        write_deterministic_tar_gz(tree, archive)
        archive.chmod(0o600)
        digest = file_sha256(archive)
        remember_sha256(archive, digest)
        key = _sha256(
            json.dumps(sorted(installed.packages.items())),
            json.dumps(sorted(spec.wheel_hashes)),
            worker_target.key_text(),
        )[:32]
        existing = load_cached(key)
        if existing is not None:
            return existing
        meta = EnvironmentMeta(
            sha256=digest,
            size=archive.stat().st_size,
            packages=installed.packages,
            left_out=installed.left_out,
            target=worker_target.as_json(),
        )
        publish(out, key, meta)
    found = load_cached(key)
    assert found is not None
    announce(f"built the Python environment: {len(found.packages)} packages, {found.size} bytes")
    return found


def announce(line: str) -> None:
    """A progress line on a terminal (the daemon's log gets it at info level)."""
    log.info(line)
    if sys.stderr.isatty() and not os.environ.get("SPARKPUSH_QUIET"):
        print(line, file=sys.stderr, flush=True)


def _provided(worker_target: WorkerTarget, names: Iterable[str]) -> str:
    """The workers' versions of `names`."""
    return ", ".join(
        f"{n} {worker_target.provided[n]}" for n in sorted(names) if n in worker_target.provided
    )


def _sha256(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()
