"""Finding a Java >= 17 for the embedded server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sparkpush.errors import JavaNotFoundError

MIN_JAVA = 17
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class JavaInstall:
    java: Path
    major: int

    @property
    def home(self) -> Path:
        return self.java.resolve().parent.parent


def find_java(env: dict[str, str] | None = None) -> JavaInstall:
    """The Java from JAVA_HOME, else from PATH; raises with what is missing and how to fix it."""
    env = dict(os.environ) if env is None else env
    java_home = env.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if not candidate.is_file():
            raise JavaNotFoundError(
                f"JAVA_HOME is {java_home} but {candidate} does not exist; "
                f"point JAVA_HOME at a Java {MIN_JAVA}+ installation"
            )
        where = f"JAVA_HOME ({candidate})"
    else:
        found = shutil.which("java", path=env.get("PATH", ""))
        if found is None:
            raise JavaNotFoundError(
                f"no Java found (JAVA_HOME unset, no java on PATH); the embedded server needs "
                f"Java {MIN_JAVA}+, e.g. 'apt-get install openjdk-17-jre-headless'"
            )
        candidate = Path(found)
        where = f"PATH ({candidate})"
    major = _java_major(candidate, env)
    if major < MIN_JAVA:
        raise JavaNotFoundError(
            f"Java {major} found via {where}, but the embedded server needs Java {MIN_JAVA}+"
        )
    return JavaInstall(java=candidate, major=major)


def _java_major(java: Path, env: dict[str, str]) -> int:
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JavaNotFoundError(f"cannot run {java} -version: {exc}") from None
    match = _VERSION.search(result.stderr + result.stdout)
    if match is None:
        raise JavaNotFoundError(f"cannot tell the version of {java}")
    first = int(match.group(1))
    # Java 8 and older report "1.8.0_x"
    return int(match.group(2) or 0) if first == 1 else first
