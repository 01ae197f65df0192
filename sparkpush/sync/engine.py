"""`sync_project`: make the project's current session hold exactly the artifacts on disk.

A session cannot be updated in place (changed jars and pyfiles are refused, changed classes are
ignored once loaded), so anything but pure additions builds a new generation: a fresh session
that gets the full set and becomes current only when complete. Stale code is never served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sparkpush.artifacts.collect import CollectedArtifacts, DesiredArtifact, collect_artifacts
from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.manifest import (
    Manifest,
    ManifestEntry,
    load_manifest,
    save_manifest,
    stat_cache_path,
    state_dir,
)
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.planner import PlanAction, SyncPlan, plan_sync
from sparkpush.artifacts.process_cache import ProcessCache
from sparkpush.artifacts.stat_cache import StatCache
from sparkpush.artifacts.upload import (
    ArtifactConflictError,
    ProgressCallback,
    UploadedArtifact,
    upload_artifacts,
)
from sparkpush.config import Config
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ServerError, ServerUnreachableError, SparkpushError, UsageError
from sparkpush.private_files import read_json, write_private_json
from sparkpush.remote import Target
from sparkpush.sync.project_lock import project_lock

log = logging.getLogger(__name__)

GenerationHook = Callable[[SessionClient, Manifest], Manifest]
"""Runs on a session before it becomes current (e.g. registers UDFs); returns the manifest."""

_GONE = ("INVALID_HANDLE.SESSION_CHANGED", "INVALID_HANDLE.SESSION_CLOSED")
UNFINISHED_FILE = "unfinished.json"
"""Sessions a run created that never became current; written BEFORE the session is created,
so a run killed at any point leaves its session recorded and the next run releases it."""


@dataclass(frozen=True)
class SyncResult:
    session_id: str
    generation: int
    action: PlanAction
    uploaded: tuple[UploadedArtifact, ...]
    skipped: int
    seconds: float
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    released: tuple[str, ...] = ()
    manifest: Manifest | None = field(default=None, repr=False)
    udfs: tuple[str, ...] = ()
    """SQL names of the UDFs registered or re-registered (filled in by `ready_session`)."""

    @property
    def bytes(self) -> int:
        return sum(a.size for a in self.uploaded)


def sync_project(
    config: Config,
    target: Target,
    *,
    extra: Sequence[LocalArtifact] = (),
    keep_old: bool = False,
    on_progress: ProgressCallback | None = None,
    prepare_generation: GenerationHook | None = None,
    reuse: ProcessCache | None = None,
) -> SyncResult:
    """Bring the project's current session up to date and return what was done.

    `reuse`: what a long-lived process keeps from one sync to the next.
    """
    started = time.monotonic()
    root = config.project_root
    with project_lock(root):
        collected, desired = _collect(config, extra, reuse)
        manifest = load_manifest(root, reuse)
        _release_unfinished(target, root, keep=manifest.session_id if manifest else None)
        current = usable_current(manifest, target)
        plan = plan_sync({d.name: d.sha256 for d in desired}, current.hashes if current else None)
        if plan.action is PlanAction.ADD_IN_PLACE and current is not None:
            try:
                manifest, uploaded = _add_in_place(
                    root, target, current, desired, plan, on_progress
                )
            except ArtifactConflictError as exc:
                # The plan said these names were new; the server disagrees, so trust nothing
                # about the current session and rebuild.
                log.warning("falling back to a new generation: %s", exc.message)
                plan = plan_sync({d.name: d.sha256 for d in desired}, None)
            else:
                return _result(manifest, plan, uploaded, desired, collected, started)
        if plan.action is PlanAction.NOTHING and current is not None:
            released = () if keep_old else _release_pending(target, current, root)
            return _result(current, plan, (), desired, collected, started, released)
        manifest, uploaded = _new_generation(
            config, target, manifest, desired, plan, on_progress, prepare_generation
        )
        released = () if keep_old else _release_pending(target, manifest, root)
        return _result(manifest, plan, uploaded, desired, collected, started, released)


def collect_project_artifacts(
    config: Config, extra: Sequence[LocalArtifact] = ()
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The project's configured artifacts plus `extra` (e.g. submit's flags), and warnings."""
    with project_lock(config.project_root):
        collected, desired = _collect(config, extra)
    return desired, collected.warnings


def _collect(
    config: Config, extra: Sequence[LocalArtifact], reuse: ProcessCache | None = None
) -> tuple[CollectedArtifacts, list[DesiredArtifact]]:
    """Collect with the project's stat and pack caches (the caller holds the project lock)."""
    root = config.project_root
    cache = StatCache.load(stat_cache_path(root), reuse)
    packs = PackCache(state_dir(root) / "packs")
    collected = collect_artifacts(config.artifacts, root, cache, packs, reuse)
    desired = _with_extra(collected, extra, cache)
    cache.save(stat_cache_path(root), reuse)
    packs.save()
    return collected, desired


def _with_extra(
    collected: CollectedArtifacts, extra: Sequence[LocalArtifact], cache: StatCache
) -> list[DesiredArtifact]:
    desired = list(collected.artifacts)
    names = {d.name for d in desired}
    for artifact in extra:
        if artifact.name in names:
            same = next(d for d in desired if d.name == artifact.name)
            if artifact.path is not None and same.source.resolve() != artifact.path.resolve():
                raise UsageError(
                    f"{artifact.path} would be sent as {artifact.name}, which the project "
                    f"config already sends from {same.source}"
                )
            continue
        assert artifact.path is not None
        sha256, size = cache.sha256(artifact.path)
        desired.append(DesiredArtifact(artifact, sha256, size, artifact.path))
        names.add(artifact.name)
    return desired


def usable_current(manifest: Manifest | None, target: Target) -> Manifest | None:
    """The manifest's session if it is on this server and still alive there."""
    if manifest is None or manifest.remote != target.spec.display():
        return None
    if manifest.server_side_session_id is None:
        return None  # never confirmed by the server: cannot tell a restart apart
    client = target.client(manifest.session_id, manifest.server_side_session_id)
    try:
        client.spark_version()
    except ServerError as exc:
        if exc.error_class in _GONE:
            log.info("session %s is gone (%s)", manifest.session_id, exc.error_class)
            return None
        raise
    finally:
        client.close()
    return manifest


def _add_in_place(
    root: Path,
    target: Target,
    current: Manifest,
    desired: Sequence[DesiredArtifact],
    plan: SyncPlan,
    on_progress: ProgressCallback | None,
) -> tuple[Manifest, tuple[UploadedArtifact, ...]]:
    by_name = {d.name: d for d in desired}
    with target.client(current.session_id, current.server_side_session_id) as client:
        report = upload_artifacts(client, [by_name[n].artifact for n in plan.upload], on_progress)
    entries = dict(current.entries)
    for uploaded in report.artifacts:
        entries[uploaded.name] = _entry(uploaded, by_name[uploaded.name], current.generation)
    manifest = replace(current, entries=entries, updated_at=time.time())
    save_manifest(root, manifest)
    return manifest, tuple(report.artifacts)


def _new_generation(
    config: Config,
    target: Target,
    previous: Manifest | None,
    desired: Sequence[DesiredArtifact],
    plan: SyncPlan,
    on_progress: ProgressCallback | None,
    prepare_generation: GenerationHook | None,
) -> tuple[Manifest, tuple[UploadedArtifact, ...]]:
    """Build a complete new session; only then make it current (the old one keeps serving)."""
    root = config.project_root
    generation = (previous.generation + 1) if previous is not None else 1
    by_name = {d.name: d for d in desired}
    client = target.client()
    _record_unfinished(root, target, client.session_id)
    try:
        client.spark_version()
        report = upload_artifacts(client, [by_name[n].artifact for n in plan.upload], on_progress)
        client.set_conf(config.conf)
        manifest = Manifest(
            session_id=client.session_id,
            generation=generation,
            remote=target.spec.display(),
            server_side_session_id=client.server_side_session_id,
            entries={u.name: _entry(u, by_name[u.name], generation) for u in report.artifacts},
            pending_release=_pending_after_switch(previous, target),
        )
        if prepare_generation is not None:
            manifest = prepare_generation(client, manifest)
    except BaseException:
        if _release_quietly(client):
            _forget_unfinished(root, client.session_id)
        raise
    finally:
        client.close()
    save_manifest(root, manifest)
    _forget_unfinished(root, client.session_id)
    return manifest, tuple(report.artifacts)


def _pending_after_switch(previous: Manifest | None, target: Target) -> tuple[str, ...]:
    """Sessions to release once the new generation is current: the old one and any leftovers."""
    if previous is None:
        return ()
    if previous.remote != target.spec.display():
        return ()  # another server: its sessions are not ours to reach from here
    return (*previous.pending_release, previous.session_id)


def _release_pending(target: Target, manifest: Manifest, root: Path) -> tuple[str, ...]:
    """Release older generations recorded in the manifest; keep those that could not be."""
    if not manifest.pending_release:
        return ()
    released: list[str] = []
    remaining: list[str] = []
    for session_id in manifest.pending_release:
        client = target.client(session_id)
        try:
            client.release_session()
            released.append(session_id)
        except ServerUnreachableError:
            remaining.append(session_id)
        except SparkpushError as exc:
            # an already released or expired session needs nothing more
            log.debug("release of %s: %s", session_id, exc.message)
            released.append(session_id)
        finally:
            client.close()
    save_manifest(root, replace(manifest, pending_release=tuple(remaining)))
    return tuple(released)


def _release_quietly(client: SessionClient) -> bool:
    try:
        client.release_session(timeout=5.0)
    except SparkpushError as exc:
        log.debug("could not release unfinished generation: %s", exc.message)
        return False
    return True


def _unfinished(root: Path) -> list[dict[str, str]]:
    document = read_json(state_dir(root) / UNFINISHED_FILE)
    sessions = document.get("sessions") if isinstance(document, dict) else None
    if not isinstance(sessions, list):
        return []
    return [
        s
        for s in sessions
        if isinstance(s, dict)
        and isinstance(s.get("session_id"), str)
        and isinstance(s.get("remote"), str)
    ]


def _save_unfinished(root: Path, sessions: list[dict[str, str]]) -> None:
    write_private_json(state_dir(root) / UNFINISHED_FILE, {"sessions": sessions})


def _record_unfinished(root: Path, target: Target, session_id: str) -> None:
    entry = {"remote": target.spec.display(), "session_id": session_id}
    _save_unfinished(root, [*_unfinished(root), entry])


def _forget_unfinished(root: Path, session_id: str) -> None:
    sessions = _unfinished(root)
    remaining = [s for s in sessions if s["session_id"] != session_id]
    if remaining != sessions:
        _save_unfinished(root, remaining)


def _release_unfinished(target: Target, root: Path, keep: str | None) -> None:
    """Release sessions of runs that died before their generation became current."""
    sessions = _unfinished(root)
    if not sessions:
        return
    remaining: list[dict[str, str]] = []
    for entry in sessions:
        session_id = entry["session_id"]
        if session_id == keep:
            continue  # the run died after switching: it is the current generation
        if entry["remote"] != target.spec.display():
            remaining.append(entry)  # another server's: not reachable from here
            continue
        client = target.client(session_id)
        try:
            client.release_session()
            log.info("released session %s of an unfinished sync", session_id)
        except ServerUnreachableError:
            remaining.append(entry)
        except SparkpushError as exc:
            log.debug("release of %s: %s", session_id, exc.message)
        finally:
            client.close()
    _save_unfinished(root, remaining)


def _entry(uploaded: UploadedArtifact, desired: DesiredArtifact, generation: int) -> ManifestEntry:
    # The hash recorded is the one of the bytes actually sent: if the file changed between
    # planning and sending, the next sync sees the difference and rebuilds.
    return ManifestEntry(
        name=uploaded.name,
        sha256=uploaded.sha256,
        size=uploaded.size,
        source=str(desired.source),
        generation=generation,
    )


def _result(
    manifest: Manifest,
    plan: SyncPlan,
    uploaded: tuple[UploadedArtifact, ...],
    desired: Sequence[DesiredArtifact],
    collected: CollectedArtifacts,
    started: float,
    released: tuple[str, ...] = (),
) -> SyncResult:
    return SyncResult(
        session_id=manifest.session_id,
        generation=manifest.generation,
        action=plan.action,
        uploaded=uploaded,
        skipped=len(desired) - len(uploaded),
        seconds=time.monotonic() - started,
        reasons=plan.reasons,
        warnings=collected.warnings,
        released=released,
        manifest=manifest,
    )


def release_generations(config: Config, target: Target, session_ids: Sequence[str]) -> None:
    """Release older generations now free of leases, and forget them in the manifest."""
    root = config.project_root
    with project_lock(root):
        manifest = load_manifest(root)
        for session_id in session_ids:
            client = target.client(session_id)
            try:
                client.release_session()
            except SparkpushError as exc:
                log.info("release of %s: %s", session_id, exc.message)
                if isinstance(exc, ServerUnreachableError):
                    continue  # stays pending; released by a later sync
            finally:
                client.close()
            if manifest is not None and session_id in manifest.pending_release:
                manifest = replace(
                    manifest,
                    pending_release=tuple(s for s in manifest.pending_release if s != session_id),
                )
        if manifest is not None:
            save_manifest(root, manifest)
