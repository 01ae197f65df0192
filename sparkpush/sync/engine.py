"""`sync_project`: make the project's current session hold exactly the artifacts on disk.

A session cannot be updated in place (changed jars and pyfiles are refused, changed classes are
ignored once loaded), so anything but pure additions builds a new generation: a fresh session
that gets the full set and becomes current only when complete. Stale code is never served.

With layers (the default where the server has CloneSession), a generation is a server-side
clone of a base session that holds the dependencies and confs, plus the code layer: a code
change clones the current base and sends only the code; a base change builds a new base first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sparkpush.artifacts.collect import CollectedArtifacts, collect_artifacts
from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.planner import PlanAction, SyncPlan
from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.artifacts.upload import ProgressCallback, UploadedArtifact, upload_artifacts
from sparkpush.config.settings import Config
from sparkpush.environment.build import ProjectEnvironment
from sparkpush.environment.session_parts import (
    environment_artifacts,
    environment_parts,
    prepare_environment,
)
from sparkpush.environment.spec import environment_wanted
from sparkpush.environment.status import platform_wheels
from sparkpush.errors import ArtifactConflictError, UsageError
from sparkpush.packages.session_parts import package_artifacts
from sparkpush.packages.spec import PackageFlags
from sparkpush.progress.phases import mark
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target
from sparkpush.state.folders import state_dir
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.clone_cost import big_base_note, clone_deadline
from sparkpush.sync.generation import Generation, load_generation, save_generation
from sparkpush.sync.generation_build import GenerationHook, build_generation, stored_artifact
from sparkpush.sync.layering import Layout, layout_of
from sparkpush.sync.plan import (
    Decision,
    Question,
    decide,
    plan_generation,
    recorded_current,
)
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.release import release_sessions
from sparkpush.sync.unfinished import release_unfinished

log = logging.getLogger(__name__)


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
    current_generation: Generation | None = field(default=None, repr=False)
    udfs: tuple[str, ...] = ()
    """SQL names of the UDFs registered or re-registered (filled in by `ready_session`)."""
    layer: Layer | None = None
    """The lowest layer that changed (None: no layers, or nothing changed)."""

    @property
    def bytes(self) -> int:
        return sum(a.size for a in self.uploaded)

    @property
    def layers(self) -> bool:
        """Whether the current generation is a clone of a base session."""
        return self.current_generation is not None and self.current_generation.base is not None


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
    built = environment_first(config, target)
    with project_lock(root):
        mark("sync.locked")
        collected, desired = _collect(config, extra, reuse)
        mark("sync.collected")
        environment, notes = built.parts(config, target, collected.platform_wheels)
        packages, package_notes = package_artifacts(config)
        desired = _joined(desired, environment, packages)
        collected = replace(collected, warnings=collected.warnings + notes + package_notes)
        mark("sync.dependencies")
        layout = layout_of(config, desired)
        generation = load_generation(root, reuse)
        mark("sync.manifest")
        release_unfinished(
            target, root, keep=sessions_of(generation), settle_s=_clone_deadline_of(generation)
        )
        mark("sync.unfinished")
        decision = decide(
            config.layers.enabled,
            layout,
            recorded_current(generation, target.spec.display()),
            liveness_asker(target, generation),
        )
        plan, current = decision.plan, decision.current
        mark("sync.planned")
        if plan.action is PlanAction.ADD_IN_PLACE and current is not None:
            try:
                generation, uploaded = _add_in_place(
                    root, target, current, desired, layout, plan, on_progress
                )
            except ArtifactConflictError as exc:
                # The plan said these names were new; the server disagrees, so trust nothing
                # about the current session and rebuild.
                log.warning("falling back to a new generation: %s", exc.message)
                plan, current = plan_generation_from_scratch(config, layout), None
            else:
                return _result(generation, plan, uploaded, desired, collected, started)
        if plan.action is PlanAction.NOTHING and current is not None:
            released = () if keep_old else _release_pending(target, current, root)
            return _result(current, plan, (), desired, collected, started, released)
        generation, uploaded = build_generation(
            config,
            target,
            generation,
            current,
            desired,
            layout,
            plan,
            on_progress,
            prepare_generation,
        )
        released = () if keep_old else _release_pending(target, generation, root)
        collected = replace(
            collected, warnings=collected.warnings + _new_base_notes(generation, plan)
        )
        return _result(generation, plan, uploaded, desired, collected, started, released)


def _new_base_notes(generation: Generation, plan: SyncPlan) -> tuple[str, ...]:
    """Said once per base: what each later code change will make the server copy."""
    if generation.base is None or plan.layer is not Layer.BASE:
        return ()
    names = set(generation.base.names)
    note = big_base_note({n: s for n, s in generation.sizes.items() if n in names})
    return (note,) if note is not None else ()


def _clone_deadline_of(generation: Generation | None) -> float:
    """How long a clone recorded as unfinished may still be in the making on the server."""
    return clone_deadline(generation.sizes if generation is not None else {})


def sessions_of(generation: Generation | None) -> tuple[str, ...]:
    """The sessions `generation` uses: its own and, when layered, its base's."""
    if generation is None:
        return ()
    if generation.base is None:
        return (generation.session_id,)
    return (generation.session_id, generation.base.session_id)


def collect_project_artifacts(
    config: Config,
    extra: Sequence[LocalArtifact] = (),
    target: Target | None = None,
    packages: PackageFlags | None = None,
) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
    """The project's configured artifacts plus `extra` (e.g. submit's flags) and its packages
    (with `packages`: submit's --packages too), and warnings; with `target`, also the
    project's environment for its workers."""
    built = environment_first(config, target) if target is not None else None
    with project_lock(config.project_root):
        collected, desired = _collect(config, extra)
        jars, package_notes = package_artifacts(config, packages)
        warnings = collected.warnings + package_notes
        environment: list[DesiredArtifact] = []
        if target is not None and built is not None:
            environment, notes = built.parts(config, target, collected.platform_wheels)
            warnings += notes
    return _joined(desired, environment, jars), warnings


@dataclass(frozen=True)
class EnvironmentFirst:
    """The project's environment as built before the project lock, for the platform wheels
    listed then (None: the project needs none)."""

    wheels: tuple[Path, ...]
    prepared: ProjectEnvironment | None

    def parts(
        self, config: Config, target: Target, wheels: tuple[Path, ...]
    ) -> tuple[list[DesiredArtifact], tuple[str, ...]]:
        """The environment's archive and warnings for the `wheels` listed under the lock:
        the one built first, unless the wheels changed meanwhile (then built now)."""
        if wheels == self.wheels:
            return environment_parts(self.prepared)
        return environment_artifacts(config, target, wheels)


def environment_first(config: Config, target: Target) -> EnvironmentFirst:
    """Build the project's environment, if it needs one, before the project lock is taken:
    pip may run for minutes, and the project's other commands need not wait for it (the build
    has a lock of its own)."""
    if not environment_wanted(config):
        return EnvironmentFirst((), None)
    wheels = platform_wheels(config, StatCache.load(stat_cache_path(config.project_root)))
    return EnvironmentFirst(wheels, prepare_environment(config, target, wheels))


def _joined(
    desired: list[DesiredArtifact], *more: Sequence[DesiredArtifact]
) -> list[DesiredArtifact]:
    """`desired` and the artifacts the project's dependencies add; one name, one source."""
    names = {d.name: d for d in desired}
    joined = list(desired)
    for artifact in (a for group in more for a in group):
        earlier = names.get(artifact.name)
        if earlier is None:
            names[artifact.name] = artifact
            joined.append(artifact)
        elif earlier.sha256 != artifact.sha256:
            raise UsageError(
                f"{earlier.shown_source} and {artifact.shown_source} would both be sent as "
                f"{artifact.name}"
            )
    return joined


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


def liveness_asker(target: Target, generation: Generation | None) -> Callable[[Question], bool]:
    """Answers the plan's questions about `generation`'s sessions, one call on each."""
    alive = ServerFacts(target).session_alive

    def ask(question: Question) -> bool:
        assert generation is not None  # a plan without a current generation asks nothing
        if question is Question.BASE_ALIVE:
            assert generation.base is not None
            return alive(generation.base.session_id, generation.base.server_side_session_id)
        return alive(generation.session_id, generation.server_side_session_id)

    return ask


def plan_generation_from_scratch(config: Config, layout: Layout) -> SyncPlan:
    """The plan of a new generation that uses nothing on the server."""
    decision = plan_generation(config.layers.enabled, layout, None)
    assert isinstance(decision, Decision)  # nothing recorded: nothing to ask
    return decision.plan


def usable_current(generation: Generation | None, target: Target) -> Generation | None:
    """The recorded generation if it is on this server and still alive there."""
    current = recorded_current(generation, target.spec.display())
    if current is None or not liveness_asker(target, current)(Question.CURRENT_ALIVE):
        return None
    return current


def _add_in_place(
    root: Path,
    target: Target,
    current: Generation,
    desired: Sequence[DesiredArtifact],
    layout: Layout,
    plan: SyncPlan,
    on_progress: ProgressCallback | None,
) -> tuple[Generation, tuple[UploadedArtifact, ...]]:
    """Upload new names into the generation; new base names into its base too, first, so that
    later clones of the base have them."""
    by_name = {d.name: d for d in desired}
    base = current.base
    if plan.layer is Layer.BASE and base is not None:
        joining = [n for n in plan.upload if n in layout.base]
        with target.session(base.session_id, base.server_side_session_id) as session:
            upload_artifacts(session, [by_name[n].artifact for n in joining])
        base = replace(base, names=tuple(sorted({*base.names, *joining})))
    with target.session(current.session_id, current.server_side_session_id) as session:
        report = upload_artifacts(session, [by_name[n].artifact for n in plan.upload], on_progress)
    entries = dict(current.entries)
    for uploaded in report.artifacts:
        entries[uploaded.name] = stored_artifact(uploaded, by_name[uploaded.name], current.number)
    generation = replace(current, entries=entries, updated_at=time.time(), base=base)
    save_generation(root, generation)
    return generation, tuple(report.artifacts)


def _release_pending(target: Target, generation: Generation, root: Path) -> tuple[str, ...]:
    """Release older generations recorded in the generation; keep those that could not be."""
    if not generation.pending_release:
        return ()
    outcome = release_sessions(target, generation.pending_release)
    save_generation(root, replace(generation, pending_release=outcome.unreachable))
    return outcome.released


def _result(
    generation: Generation,
    plan: SyncPlan,
    uploaded: tuple[UploadedArtifact, ...],
    desired: Sequence[DesiredArtifact],
    collected: CollectedArtifacts,
    started: float,
    released: tuple[str, ...] = (),
) -> SyncResult:
    return SyncResult(
        session_id=generation.session_id,
        generation=generation.number,
        action=plan.action,
        uploaded=uploaded,
        skipped=len(desired) - len(uploaded),
        seconds=time.monotonic() - started,
        reasons=plan.reasons,
        warnings=collected.warnings,
        released=released,
        current_generation=generation,
        layer=plan.layer if generation.base is not None else None,
    )


def release_generations(config: Config, target: Target, session_ids: Sequence[str]) -> None:
    """Release older generations now free of leases, and forget them in the generation record."""
    root = config.project_root
    with project_lock(root):
        outcome = release_sessions(target, session_ids)
        generation = load_generation(root)
        if generation is None:
            return
        done = set(outcome.released)
        pending = tuple(s for s in generation.pending_release if s not in done)
        save_generation(root, replace(generation, pending_release=pending))
