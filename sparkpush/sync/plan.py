"""The sync's pure plan: from what is wanted (a `Layout`), what is recorded (the current
`Generation`) and what the server said about the recorded sessions (`Liveness`), what to do.

No I/O here. Whether a recorded session is still alive costs a round trip, so it is asked only
when the answer changes the plan: `plan_generation` returns the `Question` it needs answered
first, and `decide` (the caller's loop) asks it and plans again with the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.planner import PlanAction, SyncPlan, plan_layered_sync, plan_sync
from sparkpush.sync.generation import Generation
from sparkpush.sync.layering import Layout, layered_current


class Question(Enum):
    """A fact about the server that the plan needs before it can be made."""

    CURRENT_ALIVE = "current_alive"
    """Whether the server still holds the current generation's session."""
    BASE_ALIVE = "base_alive"
    """Whether the server still holds the current generation's base session."""


@dataclass(frozen=True)
class Liveness:
    """The server's answers about the recorded sessions; None: not asked."""

    current: bool | None = None
    base: bool | None = None

    def answered(self, question: Question, alive: bool) -> Liveness:
        if question is Question.CURRENT_ALIVE:
            return replace(self, current=alive)
        return replace(self, base=alive)


@dataclass(frozen=True)
class Decision:
    """The plan, and the generation it builds on: None when there is none, or the recorded
    one is gone from the server."""

    plan: SyncPlan
    current: Generation | None


def plan_generation(
    layers: bool, layout: Layout, current: Generation | None, liveness: Liveness = Liveness()
) -> Decision | Question:
    """What to do to bring `current` to `layout`; or the question to answer first.

    `layers`: whether the project builds layered generations (a base session and clones of
    it). A layered generation is planned per layer (a code change clones the current base); a
    plan that keeps serving the current session (nothing, or an addition in place) needs it
    alive, and one that uses the base (a clone of it, or an addition to it) needs the base
    alive. A base that is gone means a new base; a current session that is gone, a new
    generation from scratch. A code change that adds nothing to the base is planned on a base
    assumed alive (`clone_proves_base`).
    """
    if current is None:
        return Decision(plan_from_scratch(layers, layout), None)
    if current.base is not None and layers:
        recorded = layered_current(current, current.base)
        plan = plan_layered_sync(layout.layered, recorded)
        if _uses_base(plan):
            if liveness.base is None and not clone_proves_base(plan, layout):
                return Question.BASE_ALIVE
            if liveness.base is False:
                plan = plan_layered_sync(layout.layered, recorded, base_alive=False)
    else:
        plan = _single(layers, plan_sync(layout.hashes, current.hashes))
    if uses_current(plan):
        if liveness.current is None:
            return Question.CURRENT_ALIVE
        if not liveness.current:
            return Decision(plan_from_scratch(layers, layout), None)
    return Decision(plan, current)


def decide(
    layers: bool,
    layout: Layout,
    current: Generation | None,
    ask: Callable[[Question], bool],
    liveness: Liveness = Liveness(),
) -> Decision:
    """`plan_generation`, with each question it returns answered by `ask` (an RPC, as a rule)."""
    while True:
        step = plan_generation(layers, layout, current, liveness)
        if isinstance(step, Decision):
            return step
        liveness = liveness.answered(step, ask(step))


def recorded_current(generation: Generation | None, remote: str) -> Generation | None:
    """The recorded generation if it is on the server at `remote` and was confirmed by it."""
    if generation is None or generation.remote != remote:
        return None
    if generation.server_side_session_id is None:
        return None  # never confirmed by the server: cannot tell a restart apart
    return generation


def uses_current(plan: SyncPlan) -> bool:
    """Whether the plan keeps serving the current session (so it must be alive).

    A new generation does not: it is built from scratch or cloned from the base, whose
    liveness is asked on its own; asking the current session too would cost a round trip per
    code change for an answer that changes nothing.
    """
    return plan.action in (PlanAction.NOTHING, PlanAction.ADD_IN_PLACE)


def clone_proves_base(plan: SyncPlan, layout: Layout) -> bool:
    """Whether the plan's first call on the base is its clone: a code change that adds nothing
    to the base. The server clones only a session it holds under the server-side id the
    client saw, and never creates the source (SESSION_NOT_FOUND, _CLOSED or _CHANGED
    otherwise), so the clone answers BASE_ALIVE itself and asking first would only add a round
    trip to every code change; when it says gone, the caller plans again with that answer."""
    return (
        plan.action is PlanAction.NEW_GENERATION
        and plan.layer is Layer.CODE
        and not any(name in layout.base for name in plan.upload)
    )


def _uses_base(plan: SyncPlan) -> bool:
    if plan.action is PlanAction.NEW_GENERATION:
        return plan.layer is Layer.CODE
    return plan.action is PlanAction.ADD_IN_PLACE and plan.layer is Layer.BASE


def plan_from_scratch(layers: bool, layout: Layout) -> SyncPlan:
    """The plan of a new generation that uses nothing on the server (everything is sent)."""
    return _single(layers, plan_sync(layout.hashes, None))


def _single(layers: bool, plan: SyncPlan) -> SyncPlan:
    """A plan made without layers; a new generation of a layered project builds a base."""
    if plan.action is PlanAction.NEW_GENERATION and layers:
        return replace(plan, layer=Layer.BASE)
    return plan
