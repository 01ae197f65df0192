"""Run pip into a folder, then leave out what the workers' pyspark must keep its own copy of."""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from sparkpush.environment.pip_command import (
    constraints_text,
    index_versions_command,
    install_command,
)
from sparkpush.environment.spec import EnvironmentSpec
from sparkpush.errors import EnvironmentBuildError, EnvironmentOfflineError
from sparkpush.remote.worker_target import PROTECTED, WorkerTarget, normalised_name

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 900.0
_OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|Connection refused|No route to host|ProxyError|"
    r"Failed to establish a new connection"
)
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s]+)")
_FROM_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")
_AVAILABLE = re.compile(r"^Available versions: (.*)$", re.MULTILINE)
_INDEXES = re.compile(r"^Looking in indexes: (.*)$", re.MULTILINE)
_LINKS = re.compile(r"^Looking in links: (.*)$", re.MULTILINE)
DEFAULT_INDEX = "https://pypi.org/simple"
INDEX_TIMEOUT_S = 120.0

IndexVersions = Callable[[str], "tuple[str, ...] | None"]
"""Every version the index has of a name, sdists included: () when it has none, None when
pip could not tell."""


@dataclass(frozen=True)
class Installed:
    packages: dict[str, str]
    """Normalised name -> version, of what stayed in the environment."""
    left_out: dict[str, str]
    """The protected packages pip brought in and we removed, with their versions."""


def install(
    spec: EnvironmentSpec,
    worker_target: WorkerTarget,
    site_packages: Path,
    *,
    cross_platform: bool,
    scratch: Path,
) -> Installed:
    """`pip install --target site_packages` for `target`; errors are one line."""
    constraints = scratch / "constraints.txt"
    constraints.write_text(constraints_text(worker_target))
    command = install_command(
        spec, worker_target, site_packages, cross_platform=cross_platform, constraints=constraints
    )
    log.debug("running %s", command)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            cwd=scratch,
        )
    except FileNotFoundError:
        raise EnvironmentBuildError(f"cannot run pip: {command[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"pip did not finish within {PIP_TIMEOUT_S:.0f} s") from None
    if result.returncode != 0:
        output = result.stdout + result.stderr  # its error last
        no_index = "--no-index" in spec.pip_args or _pip_env_flag("PIP_NO_INDEX")
        raise pip_failure(
            output,
            worker_target,
            lambda name: index_versions(name, spec, scratch),
            no_index=no_index,
        )
    return leave_out_protected(site_packages, frozenset((*PROTECTED, *worker_target.provided)))


def pip_failure(
    output: str,
    worker_target: WorkerTarget,
    versions_of: IndexVersions | None = None,
    *,
    no_index: bool = False,
) -> Exception:
    """pip's failure as one line: offline (exit 3), or what is wrong with the requirement it
    could not satisfy (exit 2): not on the index, no version matching, or no wheel."""
    missing = _NO_MATCH.search(output) or _NO_VERSION.search(output)
    if _OFFLINE.search(output) and missing is None:
        return EnvironmentOfflineError(
            "the package index cannot be reached and the environment needs a build "
            "(run 'connect env build' where it can, then sync again)"
        )
    if missing is not None:
        if _OFFLINE.search(output):
            return EnvironmentOfflineError(
                f"no wheel of {missing.group(1)} for the workers ({worker_target.describe()}) (the "
                "package index could not be reached); pin a version that has one, or add an "
                "index with environment.pip_args"
            )
        where = _index_of(output, no_index)
        return _missing_requirement(missing.group(1), where, output, worker_target, versions_of)
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    last = errors[-1] if errors else ""
    if not last or last == "ERROR: Exception:":  # pip crashed: its traceback's last line says why
        last = (output.strip().splitlines() or ["no output"])[-1].strip()
    return EnvironmentBuildError(f"pip could not build the environment: {last[:300]}")


def _missing_requirement(
    text: str,
    where: str,
    output: str,
    worker_target: WorkerTarget,
    versions_of: IndexVersions | None,
) -> EnvironmentBuildError:
    fallback = EnvironmentBuildError(
        f"no wheel of {text} for the workers ({worker_target.describe()}); pin a version that has "
        "one, or add an index with environment.pip_args"
    )
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return fallback
    known = versions_of(requirement.name) if versions_of is not None else None
    if known is None:
        return fallback
    if not known:
        return EnvironmentBuildError(
            f"{requirement.name} is not on the package index ({where}); check the "
            "name, or add the index that has it with environment.pip_args"
        )
    matching = [v for v in known if _satisfies(requirement, v)]
    if not matching:
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        return EnvironmentBuildError(
            f"no version of {requirement.name} matches {requirement.specifier} on the package "
            f"index ({where}, which has {shown})"
        )
    wheels = _FROM_VERSIONS.search(output)
    wheel_versions = [v.strip() for v in wheels.group(1).split(",")] if wheels else []
    if not any(_satisfies(requirement, v) for v in wheel_versions if v and v != "none"):
        return EnvironmentBuildError(
            f"{text} has no wheel for the workers ({worker_target.describe()}) on the package "
            "index, only a source distribution (or wheels for other platforms): build the wheel "
            f"('pip wheel --no-deps \"{text}\"' on a machine like the workers) and list it in "
            "artifacts.wheels"
        )
    return fallback


def _satisfies(requirement: Requirement, version: str) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _index_of(output: str, no_index: bool) -> str:
    """The indexes and links pip looked in (it names the indexes when not the default)."""
    indexes = _INDEXES.findall(output) or ([] if no_index else [DEFAULT_INDEX])
    return ", ".join([*indexes, *_LINKS.findall(output)]) or "no index"


def _pip_env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def index_versions(name: str, spec: EnvironmentSpec, scratch: Path) -> tuple[str, ...] | None:
    """Every version of `name` the index has, sdists included (pip reads the index only)."""
    command = index_versions_command(name, spec)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=INDEX_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            cwd=scratch,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = result.stdout + result.stderr
    if result.returncode == 0:
        found = _AVAILABLE.search(output)
        return tuple(v.strip() for v in found.group(1).split(",")) if found else None
    if _NO_MATCH.search(output) and not _OFFLINE.search(output):
        return ()
    return None


def leave_out_protected(site_packages: Path, protected: frozenset[str]) -> Installed:
    """Remove the protected distributions pip installed (the workers keep their own)."""
    packages: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for dist_info in sorted(site_packages.glob("*.dist-info")):
        name, version = _name_and_version(dist_info)
        if normalised_name(name) in protected:
            _remove_distribution(site_packages, dist_info)
            left_out[normalised_name(name)] = version
        else:
            packages[normalised_name(name)] = version
    shutil.rmtree(site_packages / "bin", ignore_errors=True)  # console scripts: not for UDFs
    return Installed(packages, left_out)


def _name_and_version(dist_info: Path) -> tuple[str, str]:
    try:
        headers = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    except OSError:
        stem = dist_info.name[: -len(".dist-info")]
        name, _, version = stem.partition("-")
        return name, version
    return str(headers.get("Name", "")), str(headers.get("Version", ""))


def _remove_distribution(site_packages: Path, dist_info: Path) -> None:
    root = site_packages.resolve()
    try:
        with (dist_info / "RECORD").open(newline="", encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
    except OSError:
        rows = []
    for row in rows:
        if not row:
            continue
        path = (site_packages / row[0]).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
    for folder in sorted({p for p in site_packages.iterdir() if p.is_dir()}, reverse=True):
        _remove_empty_tree(folder)
    shutil.rmtree(dist_info, ignore_errors=True)


def _remove_empty_tree(folder: Path) -> None:
    for child in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child.is_dir() and not any(child.iterdir()):
            child.rmdir()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
