"""Decide how to bring a session's artifacts up to date: nothing, add in place, or a new generation.

The server refuses different bytes under an existing jar/pyfile/file/archive name and silently
keeps an already loaded class, so anything but pure additions needs a fresh session. With
layers, the plan also says which layer changed: a code change clones the current base and
sends the code only; a base change (or a base that is gone) builds a new base first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.layers import Layer

MAX_REASONS = 5

# JVM code first, so Python code that calls it finds it; then Python, then data.
_KIND_ORDER = (
    ArtifactKind.JAR,
    ArtifactKind.CLASS,
    ArtifactKind.PYFILE,
    ArtifactKind.ARCHIVE,
    ArtifactKind.FILE,
)


class PlanAction(Enum):
    NOTHING = "nothing"
    ADD_IN_PLACE = "add_in_place"
    NEW_GENERATION = "new_generation"


@dataclass(frozen=True)
class SyncPlan:
    """What to do, which names to upload (in order), and why, for humans."""

    action: PlanAction
    upload: tuple[str, ...]
    reasons: tuple[str, ...]
    layer: Layer | None = None
    """With layers, the lowest layer that changed. A new generation with BASE builds a new
    base (its names of `upload` go there, the rest into the clone); with CODE it clones the
    current base and `upload` is the code, plus base artifacts new since the base was built,
    which are added to the base first. An addition in place with BASE adds the base's
    new names to the base session too, so later clones have them."""


@dataclass(frozen=True)
class LayeredSet:
    """One side of a layered plan: artifact name -> sha256 in each layer, and the confs' hash."""

    base: Mapping[str, str]
    code: Mapping[str, str]
    conf: str


def plan_sync(desired: Mapping[str, str], current: Mapping[str, str] | None) -> SyncPlan:
    """Compare artifact name -> sha256 maps; `current` None means no usable session."""
    if current is None:
        return SyncPlan(PlanAction.NEW_GENERATION, upload_order(desired), ("no current session",))
    changed = sorted(name for name in desired if name in current and desired[name] != current[name])
    removed = sorted(name for name in current if name not in desired)
    added = sorted(name for name in desired if name not in current)
    if changed or removed:
        reasons = [f"changed: {name}" for name in changed] + [
            f"removed: {name}" for name in removed
        ]
        return SyncPlan(PlanAction.NEW_GENERATION, upload_order(desired), capped(reasons))
    if added:
        return SyncPlan(
            PlanAction.ADD_IN_PLACE,
            upload_order(added),
            capped([f"added: {name}" for name in added]),
        )
    return SyncPlan(PlanAction.NOTHING, (), ())


def plan_layered_sync(
    desired: LayeredSet, current: LayeredSet | None, *, base_alive: bool = True
) -> SyncPlan:
    """`plan_sync` for a generation cloned from a base; `current` None: no usable generation.

    `base_alive` False: the current base session is gone (only matters when the plan needs it).
    """
    everything = {**desired.base, **desired.code}
    if current is None:
        return SyncPlan(
            PlanAction.NEW_GENERATION, upload_order(everything), ("no current session",), Layer.BASE
        )
    whole = plan_sync(everything, {**current.base, **current.code})
    base_reasons = _base_changes(desired, current)
    needs_base = whole.action is PlanAction.NEW_GENERATION or (
        whole.action is PlanAction.ADD_IN_PLACE and any(n in desired.base for n in whole.upload)
    )
    if not base_reasons and needs_base and not base_alive:
        base_reasons = ["base session gone"]
    if base_reasons:
        return SyncPlan(
            PlanAction.NEW_GENERATION, upload_order(everything), capped(base_reasons), Layer.BASE
        )
    if whole.action is PlanAction.NEW_GENERATION:
        # base artifacts new since the base was built join it (in place) before the clone
        joining = [n for n in desired.base if n not in current.base]
        return replace(whole, upload=upload_order([*desired.code, *joining]), layer=Layer.CODE)
    if whole.action is PlanAction.ADD_IN_PLACE:
        return replace(whole, layer=Layer.BASE if needs_base else Layer.CODE)
    return whole


def _base_changes(desired: LayeredSet, current: LayeredSet) -> list[str]:
    """Why the base must be rebuilt: a base artifact changed, left the base, or joined it from
    the code, or the confs changed. (A new base artifact can be added in place.)"""
    changed = sorted(
        n for n in desired.base if n in current.base and desired.base[n] != current.base[n]
    )
    removed = sorted(n for n in current.base if n not in desired.base and n not in desired.code)
    left = sorted(n for n in current.base if n in desired.code)
    joined = sorted(n for n in desired.base if n in current.code)
    reasons = [f"changed: {n}" for n in changed] + [f"removed: {n}" for n in removed]
    reasons += [f"moved to the code: {n}" for n in left]
    reasons += [f"moved to the base: {n}" for n in joined]
    if desired.conf != current.conf:
        reasons.append("changed: session confs")
    return reasons


def upload_order(names: Iterable[str]) -> tuple[str, ...]:
    """Jars, classes, pyfiles, archives, files (unknown prefixes last), sorted within each."""
    return tuple(sorted(set(names), key=lambda name: (_kind_rank(name), name)))


def capped(reasons: list[str], limit: int = MAX_REASONS) -> tuple[str, ...]:
    """The first `limit` reasons, then `and N more`."""
    if len(reasons) <= limit:
        return tuple(reasons)
    return (*reasons[:limit], f"and {len(reasons) - limit} more")


def _kind_rank(name: str) -> int:
    try:
        return _KIND_ORDER.index(ArtifactKind.of_name(name))
    except ValueError:
        return len(_KIND_ORDER)
