"""`ensure_packages`: a spec's jars, from the lock and the cache, or resolved once with Ivy.

An unchanged input finds its lock entry and its jars in the cache by hash: no JVM, no
connection. Anything else runs Ivy (transitive, compile and runtime scopes, exclusions,
classifiers, parent POMs, Ivy's conflict settlement, what the server has left out), checks
the repository's `.sha256` where it publishes one (Ivy has checked `.sha1`), copies the jars
into the cache and records the entry. When a locked jar is missing from the cache, the
resolution that fetches it again must give the same bytes: the lock is the record of what
was sent before.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.errors import PackageChecksumError, PackageError, SparkpushError
from sparkpush.packages.cache import (
    CachedJar,
    ivy_cache_dir,
    maven_cache_root,
    store_jars,
    verified_jars,
)
from sparkpush.packages.coordinates import Coordinate, ModuleId, jar_file_name
from sparkpush.packages.ivy_files import module_xml, settings_xml, usable_credentials
from sparkpush.packages.ivy_run import excluded_modules, ivy_failure, run_ivy
from sparkpush.packages.lock import LeftOut, LockedJar, LockEntry, find_entry, record_entry
from sparkpush.packages.maven_settings import Credential, credentials_for_all, read_maven_settings
from sparkpush.packages.provided import ProvidedModules, jars_digest, provided_modules
from sparkpush.packages.report import ROOT, ReportRevision, read_report, report_path
from sparkpush.packages.repository_http import probe_realm, published_sha256
from sparkpush.packages.spec import PackageSpec, Repository, require_trusted_repositories
from sparkpush.server.process import spark_home

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedPackages:
    entry: LockEntry
    cached: tuple[CachedJar, ...]
    """In the order of `entry.jars`."""
    resolved_now: bool
    warnings: tuple[str, ...] = ()

    def pairs(self) -> list[tuple[LockedJar, CachedJar]]:
        return list(zip(self.entry.jars, self.cached, strict=True))


def server_jars_folder() -> Path | None:
    """The pyspark wheel's `jars/`: the embedded server's class path, and a Spark server's."""
    try:
        folder = spark_home() / "jars"
    except SparkpushError:  # no pyspark: only Spark's own excludes apply
        return None
    return folder if folder.is_dir() else None


def input_key(spec: PackageSpec, provided_digest: str) -> str:
    digest = hashlib.sha256()
    for part in (spec.key_text(), provided_digest):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def current_input_key(spec: PackageSpec) -> str:
    return input_key(spec, jars_digest(server_jars_folder()))


def ensure_packages(config: Config, spec: PackageSpec) -> ResolvedPackages:
    """The spec's jars, checked in the cache; resolved (and locked) when the lock lacks them."""
    require_trusted_repositories(config, spec)
    root = config.project_root
    key = current_input_key(spec)
    locked = find_entry(root, key)
    if locked is not None:
        found = verified_jars([(j.sha256, j.size) for j in locked.jars])
        if all(found[j.sha256] is not None for j in locked.jars):
            cached = tuple(found[j.sha256] for j in locked.jars)
            return ResolvedPackages(locked, tuple(c for c in cached if c is not None), False)
    entry, stored = resolve_with_ivy(spec, key, provided_modules(server_jars_folder()))
    if locked is not None:
        _require_same_bytes(locked, entry)
    record_entry(root, entry)
    return ResolvedPackages(entry, stored, True, tuple(left_out_lines(entry)))


def left_out_lines(entry: LockEntry) -> list[str]:
    """One line naming what the resolution left out because the server has it."""
    if not entry.left_out:
        return []
    shown = ", ".join(
        f"{o.module} {o.version}"
        + (
            f" (the server has {o.server_has})"
            if o.server_has and o.server_has != o.version
            else ""
        )
        for o in entry.left_out
    )
    return [f"packages: left out {shown}: the server's own copies are used"]


def resolve_with_ivy(
    spec: PackageSpec, key: str, provided: ProvidedModules
) -> tuple[LockEntry, tuple[CachedJar, ...]]:
    """Run Ivy for `spec` and store what it fetched; errors are one line each."""
    announce(f"resolving {len(spec.coordinates)} Maven coordinate(s)...")
    wanted, left_out = _without_provided(spec.coordinates, provided)
    fetched = _fetch(spec, wanted, {*spec.exclude, *provided.modules}) if wanted else _Fetched()
    for (group, artifact), version in sorted(fetched.excluded.items()):
        server_has = provided.version_of(group, artifact)
        if server_has is not None:
            left_out.append(LeftOut(f"{group}:{artifact}", version, server_has))
    entry = LockEntry(
        input=key,
        scope=spec.scope.value,
        coordinates=tuple(spec.requested()),
        repositories=tuple(r.url for r in spec.repositories),
        jars=fetched.jars(spec.repositories),
        left_out=tuple(left_out),
        evicted=tuple(sorted(f"{r.module}:{r.version}" for r in fetched.revisions if r.evicted)),
    )
    announce(f"resolved {len(entry.jars)} jar(s), {entry.size:,} bytes")
    return entry, fetched.stored


@dataclass(frozen=True)
class _Fetched:
    """What one Ivy run resolved, and the jars it fetched, stored in the cache."""

    revisions: tuple[ReportRevision, ...] = ()
    files: tuple[tuple[ReportRevision, str | None, Path], ...] = ()
    """(revision, classifier, the file in Ivy's cache) of each jar."""
    stored: tuple[CachedJar, ...] = ()
    excluded: dict[tuple[str, str], str] = field(default_factory=dict)
    """(group, artifact) -> version of the dependencies Ivy left out by an exclude rule."""

    def jars(self, repositories: Sequence[Repository]) -> tuple[LockedJar, ...]:
        return tuple(
            _locked(revision, classifier, cached, repositories)
            for (revision, classifier, _), cached in zip(self.files, self.stored, strict=True)
        )


def _fetch(spec: PackageSpec, wanted: Sequence[Coordinate], exclude: set[ModuleId]) -> _Fetched:
    credentials = usable_credentials(
        credentials_for_all([r.url for r in spec.repositories], read_maven_settings())
    )
    with _work_folder() as work:
        resolution = work / "resolution"
        resolution.mkdir(mode=0o700)
        realms = [(c, probe_realm(_repository_for(c, spec.repositories))) for c in credentials]
        settings = _write_private(
            work / "ivysettings.xml",
            settings_xml(spec.repositories, ivy_cache_dir(), resolution, realms),
        )
        module = _write_private(work / "ivy.xml", module_xml(wanted, exclude))
        run = run_ivy(settings, module, work)
        revisions = tuple(read_report(report_path(resolution)))
        if run.returncode != 0 or any(r.error for r in revisions):
            raise ivy_failure(run, revisions, spec.repositories)
        kept = [r for r in revisions if not r.evicted and (r.group, r.artifact) != ROOT]
        files = tuple(_jar_files(kept, spec.repositories, credentials))
        stored = tuple(store_jars([path for _, _, path in files]))
    return _Fetched(revisions, files, stored, excluded_modules(run.output))


def announce(line: str) -> None:
    """A progress line on a terminal (the daemon's log gets it at info level)."""
    log.info(line)
    if sys.stderr.isatty() and not os.environ.get("SPARKPUSH_QUIET"):
        print(f"connect: {line}", file=sys.stderr, flush=True)


def _without_provided(
    coordinates: Sequence[Coordinate], provided: ProvidedModules
) -> tuple[list[Coordinate], list[LeftOut]]:
    wanted: list[Coordinate] = []
    left_out: list[LeftOut] = []
    for coordinate in coordinates:
        server_has = provided.version_of(coordinate.group, coordinate.artifact)
        if server_has is None or coordinate.classifier:
            wanted.append(coordinate)
        else:
            left_out.append(LeftOut(str(coordinate.module), coordinate.version, server_has))
    return wanted, left_out


def _jar_files(
    revisions: Sequence[ReportRevision],
    repositories: Sequence[Repository],
    credentials: Sequence[Credential],
) -> list[tuple[ReportRevision, str | None, Path]]:
    """Each revision's jars in Ivy's cache, checked against a published `.sha256`."""
    by_host = {c.host: c for c in credentials}
    files: list[tuple[ReportRevision, str | None, Path]] = []
    for revision in revisions:
        for artifact in revision.artifacts:
            if artifact.ext != "jar" or artifact.location is None:
                continue
            if not artifact.location.is_file():
                raise PackageError(f"Ivy reported {artifact.location}, which is not there")
            expected = (
                published_sha256(
                    artifact.origin,
                    by_host.get(_host(artifact.origin)) if artifact.origin else None,
                )
                if artifact.origin
                else None
            )
            if expected is not None:
                actual = _sha256(artifact.location)
                if actual != expected:
                    raise PackageChecksumError(
                        f"checksum mismatch for {revision.module}:{revision.version} "
                        f"({artifact.origin}): the repository's .sha256 says {expected}, "
                        f"the file has {actual}"
                    )
            files.append((revision, artifact.classifier, artifact.location))
    return files


def _locked(
    revision: ReportRevision,
    classifier: str | None,
    cached: CachedJar,
    repositories: Sequence[Repository],
) -> LockedJar:
    tail = f":{classifier}" if classifier else ""
    by_name = {r.name: r.url for r in repositories}
    callers = tuple(sorted({f"{g}:{a}" for g, a in revision.callers if (g, a) != ROOT}))
    return LockedJar(
        coordinate=f"{revision.group}:{revision.artifact}:{revision.version}{tail}",
        name="jars/"
        + jar_file_name(revision.group, revision.artifact, revision.version, classifier),
        version=revision.version,
        sha256=cached.sha256,
        size=cached.size,
        repository=by_name.get(revision.resolver, revision.resolver),
        requested_by=() if revision.requested else callers,
    )


def _require_same_bytes(locked: LockEntry, fresh: LockEntry) -> None:
    """A jar fetched again for an unchanged lock must be the one the lock names."""
    now = {jar.name: jar for jar in fresh.jars}
    for jar in locked.jars:
        again = now.get(jar.name)
        if again is not None and again.sha256 != jar.sha256:
            raise PackageChecksumError(
                f"{jar.coordinate} from {again.repository} is not the jar the lock names "
                f"(sha256 {again.sha256[:16]}..., the lock says {jar.sha256[:16]}...); if the "
                "repository really changed it, delete .sparkpush/packages.lock.json"
            )


@contextlib.contextmanager
def _work_folder() -> Iterator[Path]:
    """A private folder for one resolve (settings with credentials, Ivy's report), removed."""
    folder = Path(tempfile.mkdtemp(prefix=".resolve-", dir=maven_cache_root()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def _repository_for(credential: Credential, repositories: Sequence[Repository]) -> str:
    return next(
        (r.url for r in repositories if r.host == credential.host), f"https://{credential.host}/"
    )


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
