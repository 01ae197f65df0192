"""`SyncSummary`: what one sync did, in the one JSON form `connect sync --json` prints.

The same record comes from a sync run here and from the daemon (its flush and status
replies, with `at` and `ms` added), so the two paths cannot print different keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sparkpush.artifacts.planner import PlanAction
from sparkpush.packages.session_parts import coordinate_of_source
from sparkpush.state.records import OMIT_IF_NONE, record_from_json, record_to_json
from sparkpush.sync.engine import SyncResult


@dataclass(frozen=True)
class PackageJar:
    """A package jar in the generation: its Maven coordinate and its artifact name."""

    coordinate: str
    name: str


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
    packages: tuple[PackageJar, ...] = ()
    """Each package jar the generation holds."""
    at: float | None = field(default=None, metadata=OMIT_IF_NONE)
    """When the daemon ran this sync (epoch seconds); None for a sync run here."""
    ms: float | None = field(default=None, metadata=OMIT_IF_NONE)
    """How long the daemon's sync took; None for a sync run here."""

    @classmethod
    def of(cls, result: SyncResult, *, at: float | None = None) -> SyncSummary:
        """The record of `result`; with `at`, a sync the daemon ran at that time."""
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
            by_daemon=at is not None,
            layers=result.layers,
            layer=result.layer.value if result.layer is not None else None,
            packages=_packages(result),
            at=at,
            ms=round(result.seconds * 1000, 1) if at is not None else None,
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

    def change_json(self, at: float | None = None) -> dict[str, Any]:
        """One entry of `applied`: what a sync did for the changes, and when (epoch seconds:
        `at`, else when the daemon ran it)."""
        return {
            "generation": self.generation,
            "session_id": self.session_id,
            "action": self.action.value,
            "reasons": list(self.reasons),
            "udfs": list(self.udfs),
            "uploaded": self.uploaded,
            "bytes": self.bytes,
            "layer": self.layer,
            "at": at if at is not None else self.at,
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
        return record_to_json(self)

    @classmethod
    def from_json(cls, document: Any) -> SyncSummary:
        """Raises RecordError (a ValueError) on anything `to_json` did not write."""
        return record_from_json(cls, document, what="sync summary")

    def as_run_here(self) -> SyncSummary:
        """This sync without the daemon's `at` and `ms`: what `connect sync --json` prints."""
        return replace(self, at=None, ms=None)


def _packages(result: SyncResult) -> tuple[PackageJar, ...]:
    entries = (
        result.current_generation.entries.values() if result.current_generation is not None else ()
    )
    found = ((coordinate_of_source(e.source), e.name) for e in entries)
    return tuple(PackageJar(c, n) for c, n in sorted(found) if c is not None)
