"""Per-phase timings from a SPARKPUSH_PHASE_LOG file (see `sparkpush.progress.phases`).

The log holds marks of several processes on one monotonic clock. Each `start` mark opens a
window that ends at the next one; within each, a phase's first mark is timed from the start.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path


def phase_table(log: Path, start: str) -> list[tuple[str, float, float]]:
    """(phase, p50 ms, p95 ms after `start`), in the order of their p50; a phase missing from
    a window is left out of that window's figures."""
    marks = sorted(
        (json.loads(line) for line in log.read_text().splitlines() if line.strip()),
        key=lambda m: m["at"],
    )
    offsets: dict[str, list[float]] = {}
    opened: float | None = None
    seen: set[str] = set()
    for entry in marks:
        if entry["phase"] == start:
            opened, seen = entry["at"], set()
            continue
        if opened is None or entry["phase"] in seen:
            continue
        seen.add(entry["phase"])
        offsets.setdefault(entry["phase"], []).append((entry["at"] - opened) * 1000)
    rows = []
    for name, values in offsets.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        rows.append((name, round(statistics.median(values), 1), round(p95, 1)))
    return sorted(rows, key=lambda row: row[1])
