"""What the project's packages are now, without resolving them (`connect packages`,
`--dry-run`, `connect doctor`): never starts a JVM, never opens a connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sparkpush.config.settings import Config
from sparkpush.errors import SparkpushError
from sparkpush.packages.cache import CachedJar, maven_cache_root, verified_jars
from sparkpush.packages.lock import LockedJar, LockEntry, find_entry, lock_path, newest_entry
from sparkpush.packages.resolve import current_input_key, left_out_lines
from sparkpush.packages.spec import Scope, packages_configured, read_spec


@dataclass(frozen=True)
class KnownPackages:
    """The lock entry for the project's current request in `scope`, and its cached jars."""

    scope: Scope
    requested: tuple[str, ...]
    entry: LockEntry | None
    cached: Mapping[str, CachedJar | None]
    """sha256 -> the verified cache entry (None: not in the cache)."""
    previous: LockEntry | None
    """The scope's newest resolution (of another request, when `entry` is None)."""

    @property
    def resolved(self) -> bool:
        return self.entry is not None and all(
            self.cached.get(j.sha256) is not None for j in self.entry.jars
        )


def known_packages(config: Config, scope: Scope = Scope.SESSION) -> KnownPackages | None:
    """None when the project asks for no packages in `scope`."""
    if not packages_configured(config, scope):
        return None
    spec = read_spec(config, scope)
    entry = find_entry(config.project_root, current_input_key(spec))
    cached = verified_jars([(j.sha256, j.size) for j in entry.jars]) if entry is not None else {}
    previous = newest_entry(config.project_root, scope.value)
    return KnownPackages(scope, tuple(spec.requested()), entry, cached, previous)


@dataclass(frozen=True)
class PackagePreview:
    """The package jars a sync would send, as far as known without resolving."""

    hashes: dict[str, str]
    sizes: dict[str, int]
    warnings: tuple[str, ...]
    resolve: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"resolve": self.resolve, "added": list(self.added), "removed": list(self.removed)}


def preview_packages(config: Config) -> PackagePreview:
    known = known_packages(config)
    if known is None:
        return PackagePreview({}, {}, (), resolve=False)
    if known.entry is not None and known.resolved:
        jars = known.entry.jars
        return PackagePreview(
            {j.name: j.sha256 for j in jars}, {j.name: j.size for j in jars}, (), resolve=False
        )
    before = set(known.previous.coordinates) if known.previous is not None else set()
    added = tuple(c for c in known.requested if c not in before)
    removed = tuple(sorted(before - set(known.requested)))
    if known.entry is not None:
        note = "packages: jars missing from the cache would be fetched again (same lock)"
        jars = known.entry.jars
        return PackagePreview(
            {j.name: j.sha256 for j in jars},
            {j.name: j.size for j in jars},
            (note,),
            resolve=True,
        )
    changes = [f"+{c}" for c in added] + [f"-{c}" for c in removed]
    note = (
        "packages would be resolved first ("
        + (", ".join(changes) if changes else "never resolved here")
        + "); the jars they bring are not known yet"
    )
    hashes = {"jars/(packages to be resolved)": "to be resolved"}
    return PackagePreview(hashes, {name: 0 for name in hashes}, (note,), True, added, removed)


def packages_report(
    config: Config, generation: int | None, held: Mapping[str, str]
) -> dict[str, Any]:
    """`connect packages --json`: per scope, the request, the resolved jars and their tree,
    sizes, hashes, the cache, and whether the current generation has them."""
    report: dict[str, Any] = {
        "cache_path": str(maven_cache_root()),
        "lock_file": str(lock_path(config.project_root)),
        "generation": generation,
    }
    for scope in Scope:
        report[scope.value] = _scope_report(known_packages(config, scope), held)
    return report


def _scope_report(known: KnownPackages | None, held: Mapping[str, str]) -> dict[str, Any]:
    if known is None:
        return {"configured": False}
    entry = known.entry
    jars = entry.jars if entry is not None else ()
    return {
        "configured": True,
        "coordinates": list(known.requested),
        "resolved": known.resolved,
        "repositories": list(entry.repositories) if entry else [],
        "jars": [
            {
                "coordinate": j.coordinate,
                "name": j.name,
                "version": j.version,
                "size": j.size,
                "sha256": j.sha256,
                "repository": j.repository,
                "requested_by": list(j.requested_by),
                "cache_file": _cache_file(known.cached.get(j.sha256)),
                "in_current_generation": held.get(j.name) == j.sha256,
            }
            for j in jars
        ],
        "size": sum(j.size for j in jars),
        "tree": dependency_tree(jars),
        "left_out": [
            {"module": o.module, "version": o.version, "server_has": o.server_has}
            for o in (entry.left_out if entry else ())
        ],
        "evicted": list(entry.evicted) if entry else [],
        "left_out_line": left_out_lines(entry) if entry else [],
        "in_current_generation": bool(jars) and all(held.get(j.name) == j.sha256 for j in jars),
    }


def dependency_tree(jars: Sequence[LockedJar]) -> list[dict[str, Any]]:
    """The requested jars, each with the jars its module asked for, and so on down."""
    by_module: dict[str, list[LockedJar]] = {}
    for jar in jars:
        by_module.setdefault(jar.module, []).append(jar)

    def node(jar: LockedJar, above: frozenset[str]) -> dict[str, Any]:
        seen = above | {jar.module}
        children = [
            node(child, seen)
            for child in jars
            if jar.module in child.requested_by and child.module not in seen
        ]
        return {
            "coordinate": jar.coordinate,
            "size": jar.size,
            "sha256": jar.sha256,
            "dependencies": children,
        }

    return [node(jar, frozenset()) for jar in jars if not jar.requested_by]


def _cache_file(cached: CachedJar | None) -> str | None:
    return str(cached.path) if cached is not None else None


def packages_problem(config: Config, scope: Scope = Scope.SESSION) -> str | None:
    """For `connect doctor`: what stands between the project and its jars, or None."""
    try:
        known = known_packages(config, scope)
    except SparkpushError as exc:
        return exc.message
    if known is None or known.resolved:
        return None
    if known.entry is None:
        return (
            "not resolved yet for the current coordinates (a sync resolves them, or "
            "'connect packages resolve')"
        )
    return "some locked jars are missing from the cache (a sync fetches them again)"
