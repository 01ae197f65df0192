"""`PackageSpec`: what a project asks to resolve, checked, in one form for the lock's key.

Two scopes: `session` (`[tool.sparkpush.packages]`, `ivy://` entries of `artifacts.jars`, and
`connect submit --packages`), sent to every session in the base layer; `server`
(`[tool.sparkpush.server] packages`), on the embedded server's own class path.

A project's config is written by whoever wrote the repository: its repositories decide where
jars come from, so they need `connect trust` (like `environment.pip_args`), a `file:` one must
be inside the project, plain `http://` is refused off loopback (as Maven does since 3.8.1),
and no URL may carry credentials (they come from the user's own settings only).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from sparkpush.artifacts.packing import Confinement, printable_path
from sparkpush.config.settings import Config
from sparkpush.errors import PackageConflictError, PackageError, UntrustedConfigError, UsageError
from sparkpush.packages.coordinates import (
    Coordinate,
    ModuleId,
    parse_module,
    parse_requested,
)
from sparkpush.packages.maven_settings import MavenSettings, read_maven_settings

MAVEN_CENTRAL = "https://repo1.maven.org/maven2/"
DEFAULT_REPOSITORY_ENV = "DEFAULT_ARTIFACT_REPOSITORY"
"""Spark's own variable for the default repository (spark-submit reads it too)."""
LOOPBACK_NAMES = ("localhost",)


class Scope(Enum):
    SESSION = "session"
    SERVER = "server"


@dataclass(frozen=True)
class Repository:
    """A Maven repository root (`url` ends with `/`); `name` is its Ivy resolver's name."""

    url: str
    name: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def is_file(self) -> bool:
        return self.url.startswith("file:")


@dataclass(frozen=True)
class PackageFlags:
    """`connect submit --packages/--repositories/--exclude-packages`: the user's own word."""

    packages: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.packages or self.repositories or self.exclude)


@dataclass(frozen=True)
class PackageSpec:
    """The checked inputs of one resolution: same spec, same jars."""

    scope: Scope
    coordinates: tuple[Coordinate, ...]
    repositories: tuple[Repository, ...]
    """Searched in order; the default repository (Maven Central or its mirror) is last."""
    exclude: tuple[ModuleId, ...] = ()
    project_repositories: bool = field(default=False, compare=False)
    """Whether the project's config chose repositories (they need `connect trust`)."""

    @property
    def empty(self) -> bool:
        return not self.coordinates

    def key_text(self) -> str:
        return json.dumps(
            {
                "scope": self.scope.value,
                "coordinates": [c.key() for c in self.coordinates],
                "repositories": [r.url for r in self.repositories],
                "exclude": sorted(str(m) for m in self.exclude),
            },
            sort_keys=True,
        )

    def requested(self) -> list[str]:
        return [str(c) for c in self.coordinates]


def packages_configured(config: Config, scope: Scope = Scope.SESSION) -> bool:
    """Whether the project asks for packages in `scope` at all (no cost otherwise)."""
    if scope is Scope.SERVER:
        return bool(config.server.packages)
    return bool(config.packages.coordinates or config.packages.ivy_uris)


def read_spec(
    config: Config,
    scope: Scope = Scope.SESSION,
    flags: PackageFlags | None = None,
    maven: MavenSettings | None = None,
) -> PackageSpec:
    """The project's (and the flags') packages, checked; a PackageError names what is wrong."""
    settings = config.packages
    flags = flags or PackageFlags()
    if scope is Scope.SERVER:
        requested = [(text, "server.packages") for text in config.server.packages]
    else:
        requested = [
            *((text, "packages.coordinates") for text in settings.coordinates),
            *((text, "artifacts.jars") for text in settings.ivy_uris),
            *((text, "--packages") for text in _split(flags.packages)),
        ]
    coordinates = _without_duplicates([parse_requested(text, where) for text, where in requested])
    confine = Confinement.of(config.project_root, config.artifacts.allowed_roots)
    root = config.project_root
    own = [
        parse_repository(text, "packages.repositories", root, confine)
        for text in settings.repositories
    ]
    given = [
        parse_repository(text, "--repositories", Path.cwd()) for text in _split(flags.repositories)
    ]
    exclude = (
        *(parse_module(text, "packages.exclude") for text in settings.exclude),
        *(parse_module(text, "--exclude-packages") for text in _split(flags.exclude)),
    )
    return PackageSpec(
        scope=scope,
        coordinates=coordinates,
        repositories=with_default_repository([*given, *own], maven or read_maven_settings()),
        exclude=tuple(sorted(set(exclude))),
        project_repositories=bool(own),
    )


def require_trusted_repositories(config: Config, spec: PackageSpec) -> None:
    """Repositories from a project's config take effect only once the user trusts it."""
    if spec.project_repositories and "repositories" in config.untrusted_keys:
        raise UntrustedConfigError(
            f"{config.source} sets packages.repositories ({config.trust.value}): a project's "
            "config decides where your jars come from only once you trust it; read it, then "
            "run 'connect trust' (nothing was fetched)"
        )


def parse_repository(
    text: str, where: str, base: Path, confine: Confinement | None = None
) -> Repository:
    """An `https://` URL, `http://` on loopback, or a `file:` URL or path (relative to `base`);
    a folder from the project's config must be inside the project (`confine`)."""
    raw = text.strip()
    if "$" in raw:
        # Ivy would expand `${...}` in its settings (a system property sent to a host)
        raise PackageError(f"{where}: {raw!r}: '$' is not allowed in a repository")
    split = urlsplit(raw)
    if split.scheme in ("https", "http"):
        if split.username is not None or split.password is not None:
            raise PackageError(
                f"{where}: {_redacted(raw)} carries credentials; they come only from your own "
                "~/.m2/settings.xml (servers) or ~/.netrc"
            )
        if not split.hostname:
            raise PackageError(f"{where}: {raw!r} has no host")
        if split.scheme == "http" and not is_loopback(split.hostname):
            raise PackageError(
                f"{where}: {raw!r}: plain http:// is refused off this machine (anyone on the "
                "way could swap the jars); use https://"
            )
        if split.query or split.fragment:
            raise PackageError(f"{where}: {raw!r}: a repository URL takes no query or fragment")
        return Repository(url=raw.rstrip("/") + "/", name="")
    if split.scheme == "file":
        if split.netloc not in ("", "localhost"):
            raise PackageError(f"{where}: {raw!r}: a file: URL names a folder of this machine")
        path = Path(unquote(split.path))
    elif split.scheme and len(split.scheme) > 1:
        raise PackageError(
            f"{where}: {raw!r}: not a repository (https://..., file:///... or a folder)"
        )
    else:
        path = base / Path(raw).expanduser()
    if not raw:
        raise PackageError(f"{where}: empty repository")
    if confine is not None:
        try:
            confine.require(path, printable_path(path))
        except UsageError as exc:
            raise PackageError(f"{where}: {exc.message}") from None
    # not required to exist: a locked resolution needs no repository (offline, a share
    # unmounted), and Ivy says "not found" for one that is missing when it is needed
    folder = Path(os.path.abspath(path))
    return Repository(url="file://" + quote(str(folder).rstrip("/")) + "/", name="")


def with_default_repository(
    repositories: Sequence[Repository], maven: MavenSettings
) -> tuple[Repository, ...]:
    """In order, then the default one: Maven Central, or Spark's `DEFAULT_ARTIFACT_REPOSITORY`,
    or your settings.xml mirror of `central`; a mirror of `*` (or `external:*`) also stands in
    for every remote repository. Each is named after its URL: Ivy's cache remembers which
    resolver a module came from, and two repositories must never share a name there."""
    default = os.environ.get(DEFAULT_REPOSITORY_ENV) or MAVEN_CENTRAL
    central = maven.mirror_for("central") or default
    everything = maven.mirror_for("*")
    named: list[Repository] = []
    seen: set[str] = set()
    for url in [*(r.url for r in repositories), central]:
        if everything is not None and not Repository(url, "").is_file and not _on_loopback(url):
            url = everything
        url = url.rstrip("/") + "/"
        if url in seen:
            continue
        seen.add(url)
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        named.append(Repository(url=url, name=f"repo-{digest}"))
    return tuple(named)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _on_loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def _without_duplicates(coordinates: list[Coordinate]) -> tuple[Coordinate, ...]:
    """The same coordinate twice is once; two versions of one module are a conflict the
    request itself made (Ivy would silently keep the newer)."""
    kept: dict[tuple[str, str, str | None], Coordinate] = {}
    for coordinate in coordinates:
        key = (coordinate.group, coordinate.artifact, coordinate.classifier)
        earlier = kept.get(key)
        if earlier is None:
            kept[key] = coordinate
        elif earlier.version != coordinate.version:
            raise PackageConflictError(
                f"two versions of {coordinate.module} asked for: {earlier.version} and "
                f"{coordinate.version}; keep one"
            )
    return tuple(kept.values())


def _split(values: Sequence[str]) -> list[str]:
    """spark-submit style: each flag may repeat and hold a comma-separated list; an `ivy://`
    URI is one value whole (its `exclude=` holds commas)."""
    found: list[str] = []
    for value in values:
        if value.strip().startswith("ivy://"):
            found.append(value.strip())
        else:
            found.extend(item.strip() for item in value.split(",") if item.strip())
    return found


def _redacted(url: str) -> str:
    split = urlsplit(url)
    host = split.hostname or ""
    port = f":{split.port}" if split.port else ""
    return f"{split.scheme}://***@{host}{port}{split.path}"
