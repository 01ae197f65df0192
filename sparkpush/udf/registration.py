"""Registering the project's UDFs on a session, and remembering them in the manifest.

The manifest's `udfs` area says which session it describes, the workers' Python version found
there (so it is asked once per session) and each registered function with its fingerprint:

    {"session_id": "...", "worker_python": "3.11",
     "functions": {"name": {"kind", "return_type", "source", "fingerprint", "generation"}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sparkpush.artifacts.manifest import Manifest, state_dir
from sparkpush.config import Config
from sparkpush.connect.session_client import default_user_id
from sparkpush.remote import Target
from sparkpush.udf.loader_messages import LoadOutcome, LoadRequest
from sparkpush.udf.loading import LOG_NAME, Loader, loader_environment, run_loader
from sparkpush.udf.python_version import check_worker_python, local_python
from sparkpush.udf.source_signature import udf_sources_signature


@dataclass(frozen=True)
class RegisteredUdf:
    """A function callable by name in the session; `generation` is None outside a project."""

    name: str
    kind: str
    return_type: str
    source: str
    fingerprint: str
    generation: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "return_type": self.return_type,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "generation": self.generation,
        }


def has_udfs(config: Config) -> bool:
    return bool(config.udf_modules or config.java_udfs)


def registered_udfs(manifest: Manifest | None) -> list[RegisteredUdf]:
    """What the manifest says is registered in its session, by name."""
    if manifest is None or manifest.udfs.get("session_id") != manifest.session_id:
        return []
    functions: Mapping[str, Mapping[str, Any]] = manifest.udfs.get("functions", {})
    return [
        RegisteredUdf(
            name=name,
            kind=str(entry.get("kind", "?")),
            return_type=str(entry.get("return_type", "?")),
            source=str(entry.get("source", "?")),
            fingerprint=str(entry.get("fingerprint", "")),
            generation=entry.get("generation"),
        )
        for name, entry in sorted(functions.items())
    ]


def registered_since(before: Manifest | None, after: Manifest) -> tuple[str, ...]:
    """Names `after` registered anew: new in its session, or with another fingerprint."""
    known = {u.name: u.fingerprint for u in registered_udfs(before)}
    if before is None or before.session_id != after.session_id:
        known = {}
    return tuple(u.name for u in registered_udfs(after) if known.get(u.name) != u.fingerprint)


def register_project_udfs(
    config: Config,
    target: Target,
    manifest: Manifest,
    *,
    force: bool,
    loader: Loader | None = None,
    warm_up: bool = False,
) -> Manifest:
    """Register new and changed UDFs on the manifest's session; returns the updated manifest.

    `force` registers everything (a brand-new generation). `warm_up` checks the workers'
    Python even with no UDFs configured, which starts the session's Python workers. On
    failure UdfLoadError is raised and nothing about the manifest changes: the last good
    registration keeps serving.
    """
    area = manifest.udfs if manifest.udfs.get("session_id") == manifest.session_id else {}
    if not has_udfs(config) and not area.get("functions") and not warm_up:
        return manifest
    sources = udf_sources_signature(config)
    worker_python = area.get("worker_python")
    if not force and sources is not None and area.get("sources") == sources and worker_python:
        return manifest  # nothing that could change a UDF changed since it was registered
    known = {} if force else {u.name: u.fingerprint for u in registered_udfs(manifest)}
    outcome = _load(config, target, manifest.session_id, known, worker_python is None, loader)
    functions = {
        u.name: RegisteredUdf(
            u.name, u.kind, u.return_type, u.source, u.fingerprint, manifest.generation
        ).to_json()
        for u in outcome.udfs
    }
    previous = area.get("functions", {})
    for name, entry in functions.items():
        # an unchanged function keeps the generation that registered it
        old = previous.get(name)
        if old is not None and not force and old.get("fingerprint") == entry["fingerprint"]:
            entry["generation"] = old.get("generation", manifest.generation)
    udfs = {
        "session_id": manifest.session_id,
        "worker_python": outcome.worker_python or worker_python,
        "functions": functions,
        "sources": sources,
    }
    return replace(manifest, udfs=udfs)


def register_udfs_knowing_python(
    config: Config,
    target: Target,
    session_id: str,
    worker_python: str | None,
    *,
    loader: Loader | None = None,
) -> tuple[list[RegisteredUdf], str | None]:
    """Register every configured UDF on a session outside the project's generations (a fresh
    `connect submit` session); raises UdfLoadError with one line on failure. With the workers'
    Python already known (the same server answered before), no probe UDF runs. Returns the
    registered UDFs and the workers' Python."""
    if not has_udfs(config):
        return [], worker_python
    if worker_python is not None:
        check_worker_python(local_python(), worker_python)
    outcome = _load(config, target, session_id, {}, worker_python is None, loader)
    registered = [
        RegisteredUdf(u.name, u.kind, u.return_type, u.source, u.fingerprint) for u in outcome.udfs
    ]
    return registered, outcome.worker_python or worker_python


def _load(
    config: Config,
    target: Target,
    session_id: str,
    known: Mapping[str, str],
    check_python: bool,
    loader: Loader | None,
) -> LoadOutcome:
    request = LoadRequest(
        project_root=str(config.project_root),
        modules=tuple(config.udf_modules),
        names=dict(config.udf_names),
        java_udfs={n: (j.class_name, j.returns) for n, j in config.java_udfs.items()},
        known=dict(known),
        check_python=check_python,
    )
    user_id = target.spec.user_id or default_user_id()
    env = loader_environment(target, session_id, user_id)
    return run_loader(request, env, _log_path(config.project_root), loader=loader)


def _log_path(root: Path) -> Path:
    return state_dir(root) / LOG_NAME
