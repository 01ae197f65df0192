"""`sync_project`: make the project's current session hold exactly the artifacts on disk.

A session cannot be updated in place (changed jars and pyfiles are refused, changed classes are
ignored once loaded), so anything but pure additions builds a new generation: a fresh session
that gets the full set and becomes current only when complete. Stale code is never served.

With layers (the default where the server has CloneSession), a generation is a server-side
clone of a base session that holds the dependencies and confs, plus the code layer: a code
change clones the current base and sends only the code; a base change builds a new base first.

One sync: what is wanted (`sync.wanted`), the pure plan (`sync.plan`, the server's answers
about the recorded sessions asked only as it needs them), then the apply step here (in place,
or a new generation by `sync.generation_build`), all under the project lock; the project's
environment is built before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from sparkpush.artifacts.collect import CollectedArtifacts
from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.local_artifact import DesiredArtifact, LocalArtifact
from sparkpush.artifacts.planner import PlanAction, SyncPlan
from sparkpush.artifacts.upload import ProgressCallback, UploadedArtifact, upload_artifacts
from sparkpush.config.settings import Config
from sparkpush.errors import ArtifactConflictError
from sparkpush.progress.phases import mark
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.clone_cost import big_base_note, clone_deadline
from sparkpush.sync.context import GenerationHook, SyncContext
from sparkpush.sync.generation import Generation, load_generation, save_generation
from sparkpush.sync.generation_build import build_generation, stored_artifact
from sparkpush.sync.layering import Layout, layout_of
from sparkpush.sync.plan import (
    Decision,
    Liveness,
    Question,
    decide,
    plan_from_scratch,
    recorded_current,
)
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.release import release_sessions
from sparkpush.sync.session_build import CloneSourceGone
from sparkpush.sync.unfinished import release_unfinished
from sparkpush.sync.wanted import environment_first, wanted_artifacts

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
    context = SyncContext(config, target, on_progress, prepare_generation, reuse)
    built = environment_first(config, target)
    with project_lock(context.root):
        mark("sync.locked")
        collected, desired = wanted_artifacts(context, extra, built)
        layout = layout_of(config, desired)
        previous = load_generation(context.root, reuse)
        mark("sync.manifest")
        release_unfinished(
            target, context.root, keep=sessions_of(previous), settle_s=_clone_deadline_of(previous)
        )
        mark("sync.unfinished")
        recorded = recorded_current(previous, context.remote)
        ask = liveness_asker(target, previous)
        decision = decide(config.layers.enabled, layout, recorded, ask)
        mark("sync.planned")
        try:
            generation, plan, uploaded = _apply(context, previous, decision, desired, layout)
        except CloneSourceGone:  # the plan assumed the base alive: `plan.clone_proves_base`
            log.info("the base session is gone from the server: building a new base")
            gone = Liveness(base=False)
            decision = decide(config.layers.enabled, layout, recorded, ask, gone)
            generation, plan, uploaded = _apply(context, previous, decision, desired, layout)
        # an addition in place leaves older generations to the next sync that switches or idles
        skip_release = keep_old or plan.action is PlanAction.ADD_IN_PLACE
        released = () if skip_release else _release_pending(context, generation)
        collected = replace(
            collected, warnings=collected.warnings + _new_base_notes(generation, plan)
        )
        return _result(generation, plan, uploaded, desired, collected, started, released)


def _apply(
    context: SyncContext,
    previous: Generation | None,
    decision: Decision,
    desired: Sequence[DesiredArtifact],
    layout: Layout,
) -> tuple[Generation, SyncPlan, tuple[UploadedArtifact, ...]]:
    """Carry out the decision: the generation now current, the plan followed, what was sent."""
    plan, current = decision.plan, decision.current
    if plan.action is PlanAction.NOTHING and current is not None:
        return current, plan, ()
    if plan.action is PlanAction.ADD_IN_PLACE and current is not None:
        try:
            generation, uploaded = _add_in_place(context, current, desired, layout, plan)
        except ArtifactConflictError as exc:
            # The plan said these names were new; the server disagrees, so trust nothing
            # about the current session and rebuild.
            log.warning("falling back to a new generation: %s", exc.message)
            decision = Decision(plan_from_scratch(context.config.layers.enabled, layout), None)
        else:
            return generation, plan, uploaded
    generation, uploaded = build_generation(context, previous, decision, desired, layout)
    return generation, decision.plan, uploaded


def _new_base_notes(generation: Generation, plan: SyncPlan) -> tuple[str, ...]:
    """Said once per base: what each later code change will make the server copy."""
    new_base = plan.action is PlanAction.NEW_GENERATION and plan.layer is Layer.BASE
    if generation.base is None or not new_base:
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


def usable_current(generation: Generation | None, target: Target) -> Generation | None:
    """The recorded generation if it is on this server and still alive there."""
    current = recorded_current(generation, target.spec.display())
    if current is None or not liveness_asker(target, current)(Question.CURRENT_ALIVE):
        return None
    return current


def _add_in_place(
    context: SyncContext,
    current: Generation,
    desired: Sequence[DesiredArtifact],
    layout: Layout,
    plan: SyncPlan,
) -> tuple[Generation, tuple[UploadedArtifact, ...]]:
    """Upload new names into the generation; new base names into its base too, first, so that
    later clones of the base have them."""
    by_name = {d.name: d for d in desired}
    base = current.base
    if plan.layer is Layer.BASE and base is not None:
        joining = [n for n in plan.upload if n in layout.base]
        with context.target.session(base.session_id, base.server_side_session_id) as session:
            upload_artifacts(session, [by_name[n].artifact for n in joining])
        base = replace(base, names=tuple(sorted({*base.names, *joining})))
    with context.target.session(current.session_id, current.server_side_session_id) as session:
        uploads = [by_name[n].artifact for n in plan.upload]
        report = upload_artifacts(session, uploads, context.on_progress)
    entries = dict(current.entries)
    for uploaded in report.artifacts:
        entries[uploaded.name] = stored_artifact(uploaded, by_name[uploaded.name], current.number)
    generation = replace(current, entries=entries, updated_at=time.time(), base=base)
    save_generation(context.root, generation)
    return generation, tuple(report.artifacts)


def _release_pending(context: SyncContext, generation: Generation) -> tuple[str, ...]:
    """Release older generations recorded in the generation; keep those that could not be."""
    if not generation.pending_release:
        return ()
    outcome = release_sessions(context.target, generation.pending_release)
    save_generation(context.root, replace(generation, pending_release=outcome.unreachable))
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
