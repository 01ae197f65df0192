"""Running the Ivy that ships in the pyspark wheel (the resolver behind spark-submit
`--packages`) through its command-line main, and reading its failures as one line each.

The JVM runs with umask 077 and its own private temp folder: Ivy's cache and its downloads
are user-only. Its settings file may hold credentials: it is 0600 in a 0700 folder removed
when the run ends, never in argv.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sparkpush.errors import (
    PackageChecksumError,
    PackageConflictError,
    PackageError,
    PackageNotFoundError,
    PackageRepositoryError,
    SparkpushError,
)
from sparkpush.packages.report import ROOT, ReportRevision
from sparkpush.packages.spec import Repository
from sparkpush.server.java import find_java
from sparkpush.server.process import spark_home

log = logging.getLogger(__name__)

IVY_MAIN = "org.apache.ivy.Main"
IVY_TIMEOUT_S = 900.0
_EXCLUDED = re.compile(r"excluding dependency: ([^#\s]+)#([^;\s]+);(\S+)")
_ACCESS_ERROR = re.compile(r"Server access error at url (\S+) \((.*)\)\s*$", re.MULTILINE)
_HOST_UNKNOWN = re.compile(r"Host (\S+) not found\. url=(\S+)")
_HTTP_ERROR = re.compile(r"(CLIENT|SERVER) ERROR: (.*?) url=(\S+)")
_CONFLICT = re.compile(r"(StrictConflictException|conflict[^\n]*(?:failed|cannot))", re.IGNORECASE)


@dataclass(frozen=True)
class IvyRun:
    returncode: int
    output: str


def ivy_jar() -> Path:
    """The Ivy jar of the installed pyspark (as spark-submit uses it)."""
    try:
        jars = spark_home() / "jars"
    except SparkpushError:
        jars = None
    found = sorted(jars.glob("ivy-*.jar")) if jars is not None and jars.is_dir() else []
    if not found:
        raise PackageError(
            "resolving Maven coordinates needs the Ivy of the full pyspark package "
            "(pyspark/jars/ivy-*.jar), which this installation lacks; pip install pyspark"
        )
    return found[-1]


def run_ivy(settings: Path, module: Path, work: Path) -> IvyRun:
    """`java -cp ivy.jar org.apache.ivy.Main -settings S -ivy M -confs default -verbose`."""
    java = find_java()
    temp = work / "tmp"
    temp.mkdir(mode=0o700, exist_ok=True)
    command = [
        str(java.java),
        f"-Djava.io.tmpdir={temp}",
        # a short-lived JVM: start fast rather than run fast
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-cp",
        str(ivy_jar()),
        IVY_MAIN,
        "-settings",
        str(settings),
        "-ivy",
        str(module),
        "-confs",
        "default",
        "-verbose",
    ]
    log.debug("running %s", command)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=IVY_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            cwd=work,
            umask=0o077,
            env=_ivy_environment(java.home),
        )
    except subprocess.TimeoutExpired:
        raise PackageRepositoryError(
            f"resolving the packages did not finish within {IVY_TIMEOUT_S:.0f} s"
        ) from None
    except OSError as exc:
        raise PackageError(f"cannot run {java.java}: {exc.strerror or exc}") from None
    return IvyRun(result.returncode, result.stdout + result.stderr)


def _ivy_environment(java_home: Path) -> dict[str, str]:
    """Ours, without what could carry a Spark token (Ivy needs none of it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPARK_REMOTE", "SPARK_CONNECT_", "SPARKPUSH_"))
    }
    env["JAVA_HOME"] = str(java_home)
    return env


def excluded_modules(output: str) -> dict[tuple[str, str], str]:
    """(group, artifact) -> version of the dependencies Ivy excluded (its -verbose lines)."""
    return {(m.group(1), m.group(2)): m.group(3) for m in _EXCLUDED.finditer(output)}


def ivy_failure(
    run: IvyRun, revisions: Sequence[ReportRevision], repositories: Sequence[Repository]
) -> SparkpushError:
    """Why a resolve failed, as one line: a checksum, a repository that did not answer
    (exit 3), a coordinate not found (naming the repositories searched), a conflict."""
    for revision in revisions:
        for artifact in revision.artifacts:
            if artifact.status == "failed" and "invalid" in artifact.details:
                by_name = {r.name: r.url for r in repositories}
                source = (
                    _repository_of(artifact.origin, repositories)
                    if artifact.origin
                    else by_name.get(revision.resolver, revision.resolver or "its repository")
                )
                return PackageChecksumError(
                    f"checksum mismatch for {revision.module}:{revision.version} "
                    f"({artifact.name}.{artifact.ext} from {source}): {artifact.details}"
                )
    if _CONFLICT.search(run.output):
        line = _CONFLICT.search(run.output)
        assert line is not None
        return PackageConflictError(
            f"Ivy cannot settle a version conflict: {_line_of(run.output, line.start())}"
        )
    missing = [r for r in revisions if r.error]
    failed = [r for r in revisions if any(a.status == "failed" for a in r.artifacts)]
    unanswered = unreachable_repositories(run.output, repositories)
    refused = refused_repositories(run.output, repositories)
    if missing or failed:
        revision = (missing or failed)[0]
        wanted = f"{revision.module}:{revision.version}{_needed_by(revision)}"
        searched = ", ".join(r.url for r in repositories)
        if unanswered:
            shown = "; ".join(f"{url} ({why})" for url, why in unanswered.items())
            return PackageRepositoryError(
                f"{wanted} not found: a repository did not answer: {shown} (searched: {searched})"
            )
        if refused:
            shown = "; ".join(f"{url} ({why})" for url, why in refused.items())
            return PackageNotFoundError(
                f"{wanted} not found: refused by {shown}; repository credentials come from "
                "your ~/.m2/settings.xml (servers) or ~/.netrc"
            )
        reason = revision.error if revision.error and revision.error != "not found" else ""
        detail = f" ({reason[:200]})" if reason else ""
        return PackageNotFoundError(f"{wanted} not found in {searched}{detail}")
    errors = [line.strip() for line in run.output.splitlines() if "ERROR" in line or "::" in line]
    last = errors[-1] if errors else (run.output.strip().splitlines() or ["no output"])[-1]
    return PackageError(f"Ivy could not resolve the packages: {last.strip()[:300]}")


def unreachable_repositories(output: str, repositories: Sequence[Repository]) -> dict[str, str]:
    """Repository URL -> why it did not answer (unknown host, refused, timed out, 5xx)."""
    found: dict[str, str] = {}
    for match in _ACCESS_ERROR.finditer(output):
        found.setdefault(_repository_of(match.group(1), repositories), _short(match.group(2)))
    for match in _HOST_UNKNOWN.finditer(output):
        found.setdefault(
            _repository_of(match.group(2), repositories), f"unknown host {match.group(1)}"
        )
    for match in _HTTP_ERROR.finditer(output):
        if match.group(1) == "SERVER":
            found.setdefault(_repository_of(match.group(3), repositories), match.group(2))
    return found


def refused_repositories(output: str, repositories: Sequence[Repository]) -> dict[str, str]:
    """Repository URL -> the 401/403 it answered (a 404 is a plain "not there")."""
    found: dict[str, str] = {}
    for match in _HTTP_ERROR.finditer(output):
        reason = match.group(2)
        if match.group(1) == "CLIENT" and re.search(r"Unauthori[sz]ed|Forbidden|40[13]", reason):
            found.setdefault(_repository_of(match.group(3), repositories), reason)
    return found


def _repository_of(url: str, repositories: Sequence[Repository]) -> str:
    normalised = url.replace("file:///", "file:/").replace("file:/", "file:///", 1)
    for repository in repositories:
        if normalised.startswith(repository.url) or url.startswith(repository.url):
            return repository.url
    return url


def _needed_by(revision: ReportRevision) -> str:
    callers = [f"{g}:{a}" for g, a in revision.callers if (g, a) != ROOT]
    return f" (needed by {', '.join(callers)})" if callers else ""


def _short(reason: str) -> str:
    # "java.net.ConnectException: Connection refused" -> "Connection refused"
    return reason.split(": ", 1)[-1][:120] if ": " in reason else reason[:120]


def _line_of(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end >= 0 else None].strip()[:300]
