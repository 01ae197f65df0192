"""Run pip into a folder, then leave out what the workers' pyspark must keep its own copy of."""

from __future__ import annotations

import csv
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from sparkpush.environment.pip_command import constraints_text, install_command
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


@dataclass(frozen=True)
class Installed:
    packages: dict[str, str]
    """Normalised name -> version, of what stayed in the environment."""
    left_out: dict[str, str]
    """The protected packages pip brought in and we removed, with their versions."""


def install(
    spec: EnvironmentSpec,
    target: WorkerTarget,
    site_packages: Path,
    *,
    cross_platform: bool,
    scratch: Path,
) -> Installed:
    """`pip install --target site_packages` for `target`; errors are one line."""
    constraints = scratch / "constraints.txt"
    constraints.write_text(constraints_text(target))
    command = install_command(
        spec, target, site_packages, cross_platform=cross_platform, constraints=constraints
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
        raise pip_failure(result.stdout + result.stderr, target)  # its error last
    return leave_out_protected(site_packages, frozenset((*PROTECTED, *target.provided)))


def pip_failure(output: str, target: WorkerTarget) -> Exception:
    """pip's failure as one line: offline (exit 3), or the package it could not find (exit 2)."""
    missing = _NO_MATCH.search(output) or _NO_VERSION.search(output)
    if _OFFLINE.search(output) and missing is None:
        return EnvironmentOfflineError(
            "the package index cannot be reached and the environment needs a build "
            "(run 'connect env build' where it can, then sync again)"
        )
    if missing is not None:
        offline = " (the package index could not be reached)" if _OFFLINE.search(output) else ""
        return (EnvironmentOfflineError if offline else EnvironmentBuildError)(
            f"no wheel of {missing.group(1)} for the workers ({target.describe()}){offline}; "
            "pin a version that has one, or add an index with environment.pip_args"
        )
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    last = errors[-1] if errors else ""
    if not last or last == "ERROR: Exception:":  # pip crashed: its traceback's last line says why
        last = (output.strip().splitlines() or ["no output"])[-1].strip()
    return EnvironmentBuildError(f"pip could not build the environment: {last[:300]}")


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
