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
from sparkpush.artifacts.upload import ProgressCallback, UploadedArtifact, upload_artifacts
from sparkpush.config import Config
from sparkpush.connect.session import Session
from sparkpush.environment.session_parts import environment_artifacts, environment_conf
from sparkpush.errors import ArtifactConflictError, ServerError, SparkpushError, UsageError
from sparkpush.remote import Target
from sparkpush.sync.project_lock import project_lock
from sparkpush.sync.release import release_sessions
from sparkpush.sync.unfinished import (
    UnfinishedSession,
    forget_unfinished,
    record_unfinished,
    release_unfinished,
)

log = logging.getLogger(__name__)

GenerationHook = Callable[[Session, Manifest], Manifest]
"""Runs on a session before it becomes current (e.g. registers UDFs); returns the manifest."""

_GONE = ("INVALID_HANDLE.SESSION_CHANGED", "INVALID_HANDLE.SESSION_CLOSED")


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
        environment, notes = environment_artifacts(config, target, collected.platform_wheels)
        desired += environment
        collected = replace(collected, warnings=collected.warnings + notes)
        manifest = load_manifest(root, reuse)
        release_unfinished(target, root, keep=manifest.session_id if manifest else None)
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
    config: Config, extra: Sequence[LocalArtifact] = (), target: Target | None = None
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The project's configured artifacts plus `extra` (e.g. submit's flags), and warnings;
    with `target`, also the project's environment for its workers."""
    with project_lock(config.project_root):
        collected, desired = _collect(config, extra)
        if target is not None:
            environment, notes = environment_artifacts(config, target, collected.platform_wheels)
            return desired + environment, collected.warnings + notes
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
    session = target.session(manifest.session_id, manifest.server_side_session_id)
    try:
        session.spark_version()
    except ServerError as exc:
        if exc.error_class in _GONE:
            log.info("session %s is gone (%s)", manifest.session_id, exc.error_class)
            return None
        raise
    finally:
        session.close()
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
    with target.session(current.session_id, current.server_side_session_id) as session:
        report = upload_artifacts(session, [by_name[n].artifact for n in plan.upload], on_progress)
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
    session = target.session()
    record_unfinished(root, UnfinishedSession(target.spec.display(), session.session_id))
    try:
        session.spark_version()
        report = upload_artifacts(session, [by_name[n].artifact for n in plan.upload], on_progress)
        session.set_conf({**environment_conf(by_name), **config.conf})
        manifest = Manifest(
            session_id=session.session_id,
            generation=generation,
            remote=target.spec.display(),
            server_side_session_id=session.server_side_session_id,
            entries={u.name: _entry(u, by_name[u.name], generation) for u in report.artifacts},
            pending_release=_pending_after_switch(previous, target),
        )
        if prepare_generation is not None:
            manifest = prepare_generation(session, manifest)
    except BaseException:
        if _release_quietly(session):
            forget_unfinished(root, session.session_id)
        raise
    finally:
        session.close()
    save_manifest(root, manifest)
    forget_unfinished(root, session.session_id)
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
    outcome = release_sessions(target, manifest.pending_release)
    save_manifest(root, replace(manifest, pending_release=outcome.unreachable))
    return outcome.released


def _release_quietly(session: Session) -> bool:
    try:
        session.release_session(timeout=5.0)
    except SparkpushError as exc:
        log.debug("could not release unfinished generation: %s", exc.message)
        return False
    return True


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
        outcome = release_sessions(target, session_ids)
        manifest = load_manifest(root)
        if manifest is None:
            return
        done = set(outcome.released)
        pending = tuple(s for s in manifest.pending_release if s not in done)
        save_manifest(root, replace(manifest, pending_release=pending))
