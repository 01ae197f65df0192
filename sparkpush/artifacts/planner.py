"""Decide how to bring a session's artifacts up to date: nothing, add in place, or a new generation.

The server refuses different bytes under an existing jar/pyfile/file/archive name and silently
keeps an already loaded class, so anything but pure additions needs a fresh session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from sparkpush.artifacts.kinds import ArtifactKind

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
