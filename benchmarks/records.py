"""The record codec on the largest record we keep: a manifest of a class-file tree.

Reads and writes a manifest of N entries (default 50,000) through the codec
(`load_generation`'s reader and `save_generation`'s writer, without the file), against a
baseline in the same run: the hand-written reader and writer the manifest had before the codec
(each value checked with isinstance, as `typed` did). Prints the best of 5 and ends with one
JSON line. Run: `python benchmarks/records.py [N]`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from sparkpush.sync.generation import Generation, StoredArtifact, _from_json, _to_json


def _typed(value: Any, kind: type) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise TypeError(f"expected {kind.__name__}, got a boolean")
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def baseline_read(document: dict[str, Any]) -> dict[str, StoredArtifact]:
    """The entries as the hand-written reader checked them (the bulk of a manifest)."""
    entries: dict[str, StoredArtifact] = {}
    for raw in _typed(document["entries"], list):
        entry = StoredArtifact(
            name=_typed(raw["name"], str),
            sha256=_typed(raw["sha256"], str),
            size=_typed(raw["size"], int),
            source=_typed(raw["source"], str),
            generation=_typed(raw["generation"], int),
        )
        entries[entry.name] = entry
    return entries


def baseline_write(record: Generation) -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "sha256": e.sha256,
            "size": e.size,
            "source": e.source,
            "generation": e.generation,
        }
        for _, e in sorted(record.entries.items())
    ]


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    entries = {
        f"classes/c{i}.class": StoredArtifact(f"classes/c{i}.class", "ab" * 32, i, f"src/c{i}", 1)
        for i in range(count)
    }
    record = Generation("s", 1, "sc://localhost:15002", None, entries)
    document = json.loads(json.dumps(_to_json(record)))
    assert _from_json(document).entries == baseline_read(document)
    read = best_of(5, lambda: _from_json(document))
    read_before = best_of(5, lambda: baseline_read(document))
    write = best_of(5, lambda: _to_json(record))
    write_before = best_of(5, lambda: baseline_write(record))
    load = os.getloadavg()[0]
    print(f"manifest of {count:,} entries, load {load:.1f}")
    print(f"read:  codec {read * 1000:.0f} ms, hand-written {read_before * 1000:.0f} ms")
    print(f"write: codec {write * 1000:.0f} ms, hand-written {write_before * 1000:.0f} ms")
    result = {
        "entries": count,
        "read_ms": round(read * 1000, 1),
        "read_baseline_ms": round(read_before * 1000, 1),
        "read_ratio": round(read / read_before, 2),
        "write_ms": round(write * 1000, 1),
        "write_baseline_ms": round(write_before * 1000, 1),
        "write_ratio": round(write / write_before, 2),
        "load": round(load, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
