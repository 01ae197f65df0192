"""The pip command that installs an environment for a target (pure: argv only)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sparkpush.environment.spec import EnvironmentSpec
from sparkpush.remote.worker_target import WorkerTarget

PIP_ENV = "SPARKPUSH_PIP"
"""A pip executable to run instead of `python -m pip` (e.g. another interpreter's pip)."""

BASE_OPTIONS = (
    "--disable-pip-version-check",
    "--no-input",
    "--no-warn-script-location",
    "--no-compile",
    # wheels only: installing never runs a package's or the project's build code
    "--only-binary=:all:",
)


def pip_program() -> list[str]:
    """`$SPARKPUSH_ENV_PIP`, else this interpreter's pip."""
    chosen = os.environ.get(PIP_ENV)
    return [chosen] if chosen else [sys.executable, "-m", "pip"]


def install_command(
    spec: EnvironmentSpec,
    worker_target: WorkerTarget,
    destination: Path,
    *,
    cross_platform: bool,
    constraints: Path | None,
    program: Sequence[str] = (),
) -> list[str]:
    """`pip install --target DEST ...`; for another platform, its tags, Python and ABI."""
    command = [*(program or pip_program()), "install", *BASE_OPTIONS, "--target", str(destination)]
    if cross_platform:
        for tag in worker_target.platform_tags:
            command.append(f"--platform={tag}")
        command += [
            f"--python-version={worker_target.python}",
            f"--implementation={worker_target.implementation}",
            f"--abi={worker_target.abi}",
        ]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    command += list(spec.pip_args)
    # after every option: a requirement cannot be read as one (each was checked as PEP 508)
    return [*command, *spec.requirements, *(str(path) for path in spec.wheels)]


def constraints_text(worker_target: WorkerTarget) -> str:
    """The workers' own versions of the packages their pyspark needs, as pip constraints."""
    return "".join(
        f"{name}=={version}\n" for name, version in sorted(worker_target.provided.items())
    )


_NOT_FOR_INDEX = ("--no-deps", "--prefer-binary")


def index_versions_command(
    name: str, spec: EnvironmentSpec, program: Sequence[str] = ()
) -> list[str]:
    """`pip index versions NAME` on the same indexes, every kind of distribution counted (no
    build runs: pip only reads the index pages)."""
    options = [arg for arg in spec.pip_args if arg not in _NOT_FOR_INDEX]
    return [
        *(program or pip_program()),
        "index",
        "versions",
        "--disable-pip-version-check",
        "--no-input",
        *options,
        name,
    ]
