"""`SyncSummary`: what one sync did, in the one JSON form `connect sync --json` prints.

The same record comes from a sync run here and from the daemon's flush reply, so the two
paths cannot print different keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sparkpush.artifacts.planner import PlanAction
from sparkpush.packages.session_parts import coordinate_of_source
from sparkpush.sync.engine import SyncResult


@dataclass(frozen=True)
class SyncSummary:
    session_id: str
    generation: int
    action: PlanAction
    uploaded: int
    skipped: int
    bytes: int
    seconds: float
    reasons: tuple[str, ...]
    released: tuple[str, ...]
    warnings: tuple[str, ...]
    udfs: tuple[str, ...]
    """SQL names of the UDFs this sync registered or re-registered."""
    by_daemon: bool = False
    layers: bool = False
    """Whether the generation is a clone of a base session (False: one session of its own)."""
    layer: str | None = None
    """The lowest layer this sync changed: "base", "code", or None."""
    packages: tuple[tuple[str, str], ...] = ()
    """(coordinate, artifact name) of each package jar the generation holds."""

    @classmethod
    def of(cls, result: SyncResult, *, by_daemon: bool = False) -> SyncSummary:
        return cls(
            session_id=result.session_id,
            generation=result.generation,
            action=result.action,
            uploaded=len(result.uploaded),
            skipped=result.skipped,
            bytes=result.bytes,
            seconds=round(result.seconds, 4),
            reasons=result.reasons,
            released=result.released,
            warnings=result.warnings,
            udfs=result.udfs,
            by_daemon=by_daemon,
            layers=result.layers,
            layer=result.layer.value if result.layer is not None else None,
            packages=_packages(result),
        )

    @property
    def changed(self) -> bool:
        """Whether this sync changed what serves: artifacts, a generation, or UDFs in place."""
        return self.action is not PlanAction.NOTHING or bool(self.udfs)

    def describe(self) -> str:
        """One line for people and logs: what was done, in which generation, and why."""
        where = f"generation {self.generation}"
        if self.action is PlanAction.NOTHING and not self.udfs:
            return f"nothing to do, {where} serves ({self.seconds * 1000:.0f} ms)"
        if self.action is PlanAction.NOTHING:
            return f"registered {', '.join(self.udfs)} in place, {where}"
        what = "new generation" if self.action is PlanAction.NEW_GENERATION else "added in place"
        line = (
            f"{what}, {where}, {self.uploaded} artifact(s), {self.bytes:,} bytes, "
            f"{self.seconds * 1000:.0f} ms"
        )
        if self.udfs:
            line += f", registered {', '.join(self.udfs)}"
        return line + (f" ({'; '.join(self.reasons)})" if self.reasons else "")

    def change_json(self, at: float) -> dict[str, Any]:
        """One entry of `applied`: what a sync did for the changes, and when (epoch seconds)."""
        return {
            "generation": self.generation,
            "session_id": self.session_id,
            "action": self.action.value,
            "reasons": list(self.reasons),
            "udfs": list(self.udfs),
            "uploaded": self.uploaded,
            "bytes": self.bytes,
            "layer": self.layer,
            "at": at,
        }

    def unchanged(self) -> SyncSummary:
        """What a sync of the same generation reports when it finds nothing to do."""
        return replace(
            self,
            action=PlanAction.NOTHING,
            uploaded=0,
            skipped=self.uploaded + self.skipped,
            bytes=0,
            seconds=0.0,
            reasons=(),
            released=(),
            udfs=(),
            layer=None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "generation": self.generation,
            "action": self.action.value,
            "uploaded": self.uploaded,
            "skipped": self.skipped,
            "bytes": self.bytes,
            "seconds": self.seconds,
            "reasons": list(self.reasons),
            "released": list(self.released),
            "warnings": list(self.warnings),
            "udfs": list(self.udfs),
            "by_daemon": self.by_daemon,
            "layers": self.layers,
            "layer": self.layer,
            "packages": [{"coordinate": c, "name": n} for c, n in self.packages],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SyncSummary:
        """Raises KeyError, ValueError or TypeError on anything `to_json` did not write."""
        missing = {f.name for f in fields(cls)} - set(document)
        if missing:
            raise KeyError(f"sync summary without {', '.join(sorted(missing))}")
        return cls(
            session_id=str(document["session_id"]),
            generation=int(document["generation"]),
            action=PlanAction(document["action"]),
            uploaded=int(document["uploaded"]),
            skipped=int(document["skipped"]),
            bytes=int(document["bytes"]),
            seconds=float(document["seconds"]),
            reasons=_strings(document["reasons"]),
            released=_strings(document["released"]),
            warnings=_strings(document["warnings"]),
            udfs=_strings(document["udfs"]),
            by_daemon=bool(document["by_daemon"]),
            layers=bool(document["layers"]),
            layer=None if document["layer"] is None else str(document["layer"]),
            packages=tuple(
                (str(p["coordinate"]), str(p["name"])) for p in _list(document["packages"])
            ),
        )


def _packages(result: SyncResult) -> tuple[tuple[str, str], ...]:
    entries = (
        result.current_generation.entries.values() if result.current_generation is not None else ()
    )
    found = ((coordinate_of_source(e.source), e.name) for e in entries)
    return tuple(sorted((c, n) for c, n in found if c is not None))


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return tuple(str(item) for item in value)
