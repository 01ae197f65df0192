"""`EnvironmentSpec`: what the project asks its environment to hold, checked and hashed.

A project's config is written by whoever wrote the repository, so nothing in it reaches pip
as an option unless it is on the short list below, every requirement must parse as a plain
PEP 508 requirement (no `-r`, no `--target`, no direct `@ file:` reference), requirement
files must be inside the project and hold requirements only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from sparkpush.artifacts.packing import Confinement, printable_path
from sparkpush.config.settings import Config
from sparkpush.errors import EnvironmentBuildError, UsageError

ALLOWED_PIP_OPTIONS_WITH_VALUE = (
    "--index-url",
    "-i",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--trusted-host",
)
"""pip options a project may set (where packages come from); they need `connect trust`."""
ALLOWED_PIP_FLAGS = ("--no-index", "--pre", "--no-deps", "--prefer-binary")
_LONG = {"-i": "--index-url", "-f": "--find-links"}


@dataclass(frozen=True)
class EnvironmentSpec:
    """The checked inputs of an environment: same spec and target, same environment."""

    requirements: tuple[str, ...]
    pip_args: tuple[str, ...]
    wheels: tuple[Path, ...]
    wheel_hashes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.wheels

    def key_text(self) -> str:
        """Everything that decides the resolution, as text (hashed with the target)."""
        wheels = zip(self.wheels, self.wheel_hashes, strict=True)
        return json.dumps(
            {
                "requirements": list(self.requirements),
                "pip_args": list(self.pip_args),
                "wheels": [[path.name, digest] for path, digest in wheels],
            },
            sort_keys=True,
        )


def environment_configured(config: Config, platform_wheels: Sequence[Path] = ()) -> bool:
    """Whether the project asks for an environment at all (no cost otherwise)."""
    env = config.environment
    return bool(
        env.requirements or env.requirements_files or env.project_requirements or platform_wheels
    )


def environment_wanted(config: Config) -> bool:
    """Whether the project may ask for an environment, from its config alone (platform wheels
    among `artifacts.wheels` are known only once the wheels are listed)."""
    return environment_configured(config) or bool(config.artifacts.wheels)


def read_spec(config: Config, platform_wheels: Sequence[Path] = ()) -> EnvironmentSpec:
    """The project's environment inputs, checked; an EnvironmentBuildError names what is wrong."""
    env = config.environment
    root = config.project_root
    requirements: list[str] = []
    for text in (*env.project_requirements, *env.requirements):
        requirements.append(check_requirement(text, "environment.requirements"))
    confine = Confinement.of(root, config.artifacts.allowed_roots)
    for name in env.requirements_files:
        requirements.extend(read_requirements_file(root / name, confine))
    wheels = tuple(platform_wheels)
    return EnvironmentSpec(
        requirements=tuple(requirements),
        pip_args=check_pip_args(env.pip_args, root, confine),
        wheels=wheels,
        wheel_hashes=tuple(_sha256(path) for path in wheels),
    )


def check_requirement(text: str, where: str) -> str:
    """`text` if it is one plain PEP 508 requirement (a name from an index), else an error."""
    stripped = text.strip()
    try:
        requirement = Requirement(stripped)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise EnvironmentBuildError(
            f"{where}: {stripped!r} is not a requirement ({reason})"
        ) from None
    if requirement.url:
        raise EnvironmentBuildError(
            f"{where}: {stripped!r} is a direct reference; name a package from the index "
            "(pip_args may add an index), or put the wheel in artifacts.wheels"
        )
    return str(requirement)


def read_requirements_file(path: Path, confine: Confinement) -> list[str]:
    """The requirements in a pip requirements file inside the project; options are refused."""
    shown = printable_path(path)
    try:
        confine.require(path, shown)
        text = path.read_text(encoding="utf-8")
    except UsageError as exc:
        raise EnvironmentBuildError(f"environment.requirements_files: {exc.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise EnvironmentBuildError(
            f"environment.requirements_files: cannot read {shown}: {reason}"
        ) from None
    found: list[str] = []
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            raise EnvironmentBuildError(
                f"{shown}:{number}: pip options are not read from requirements files "
                f"({line.split()[0]}); set them in environment.pip_args"
            )
        found.append(check_requirement(line, f"{shown}:{number}"))
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's rules: `\\` continues a line, ` #` starts a comment; blank lines are skipped."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = (pending + raw).split(" #", 1)[0].strip()
        pending = ""
        if line and not line.startswith("#"):
            lines.append((start, line))
    return lines


def check_pip_args(args: Sequence[str], root: Path, confine: Confinement) -> tuple[str, ...]:
    """`args` if every option is on the allowed list (`--opt=value` or `--opt value`)."""
    checked: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        option, has_inline, value = arg.partition("=")
        if arg in ALLOWED_PIP_FLAGS:
            checked.append(arg)
        elif option in ALLOWED_PIP_OPTIONS_WITH_VALUE:
            if not has_inline:
                index += 1
                if index == len(args):
                    raise EnvironmentBuildError(f"environment.pip_args: {arg} needs a value")
                value = args[index]
            option = _LONG.get(option, option)
            if option == "--find-links":
                value = _find_links(value, root, confine)
            checked.append(f"{option}={value}")
        else:
            raise EnvironmentBuildError(
                f"environment.pip_args: {option!r} is not allowed (allowed: "
                f"{', '.join(ALLOWED_PIP_OPTIONS_WITH_VALUE + ALLOWED_PIP_FLAGS)})"
            )
        index += 1
    return tuple(checked)


def _find_links(value: str, root: Path, confine: Confinement) -> str:
    """A URL as it is; a folder must be inside the project (given relative to it)."""
    if value.startswith(("https://", "http://")):
        return value
    path = root / Path(value.removeprefix("file://")).expanduser()
    try:
        confine.require(path, printable_path(path))
    except UsageError as exc:
        raise EnvironmentBuildError(f"environment.pip_args: --find-links: {exc.message}") from None
    return str(path.resolve())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
