"""The packages of sparkpush depend on each other one way only: no import cycle between them."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import sparkpush

ROOT = Path(sparkpush.__file__).parent


def unit_of(module: str) -> str:
    """`sparkpush.sync.engine` -> `sync`; a top-level module is a unit of its own."""
    return module.split(".")[1]


def imports_between_units() -> dict[str, set[str]]:
    """Unit -> the units it imports, counting every import (lazy and type-only ones too)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts == ("__init__",):
            continue
        unit = parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sparkpush."):
                other = unit_of(node.module or "")
                if other != unit:
                    edges[unit].add(other)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every path that leads from a unit back to itself, each found once (by its smallest)."""
    found: list[list[str]] = []

    def walk(start: str, path: list[str]) -> None:
        for other in sorted(edges.get(path[-1], ())):
            if other == start:
                found.append(path)
            elif other > start and other not in path:
                walk(start, [*path, other])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_no_import_cycle_between_packages() -> None:
    edges = imports_between_units()
    assert {"artifacts", "connect", "sync", "udf", "daemon", "cli"} <= set(edges)
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_low_layers_import_none_of_the_high_ones() -> None:
    edges = imports_between_units()
    assert edges["connect"] <= {"errors", "remote", "notify", "private_files"}
    assert not edges["artifacts"] & {"sync", "udf", "daemon", "submit", "cli", "live"}
    assert not edges["udf"] & {"artifacts", "sync", "daemon", "submit", "cli", "live"}
