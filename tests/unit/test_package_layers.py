"""The packages of sparkpush depend on each other one way only, and so do its modules; the top
level holds only what every layer needs, and `state/` sits at the bottom."""

from __future__ import annotations

import ast
import graphlib
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
            for module in imported_modules(node):
                if module.startswith("sparkpush.") and unit_of(module) != unit:
                    edges[unit].add(unit_of(module))
    return edges


def imported_modules(node: ast.AST) -> list[str]:
    """What an `import a.b` or a `from a.b import c` statement names; [] for any other node."""
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


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


TOP_LEVEL = {"__init__.py", "__main__.py", "errors.py", "py.typed"}
"""What every layer needs, and the package's face; every other module lives in a folder."""


def test_the_top_level_holds_only_what_every_layer_needs() -> None:
    files = {path.name for path in ROOT.iterdir() if path.is_file()}
    assert files <= TOP_LEVEL
    folders = [path for path in ROOT.iterdir() if path.is_dir() and path.name != "__pycache__"]
    assert [folder.name for folder in folders if not (folder / "__init__.py").is_file()] == []


def test_the_state_package_imports_nothing_of_ours_but_errors() -> None:
    assert (ROOT / "state" / "private_files.py").is_file()
    edges = imports_between_units()
    assert edges["state"] <= {"errors"}
    assert edges["progress"] == set()


def test_an_import_statement_counts_as_an_import() -> None:
    tree = ast.parse("import sparkpush.sync.engine, os\nfrom sparkpush.state import folders")
    found = [module for node in ast.walk(tree) for module in imported_modules(node)]
    assert found == ["sparkpush.sync.engine", "os", "sparkpush.state"]


def test_the_low_layers_import_none_of_the_high_ones() -> None:
    edges = imports_between_units()
    assert edges["connect"] <= {"errors", "progress"}
    assert edges["config"] <= {"errors", "state"}
    assert edges["server"] <= {"errors", "state", "config"}
    assert not edges["artifacts"] & {"sync", "udf", "daemon", "submit", "cli", "live"}
    assert not edges["udf"] & {"artifacts", "sync", "daemon", "submit", "cli", "live"}


def imports_between_modules() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (`from pkg import module` names the module)."""
    paths = {
        ".".join(("sparkpush", *p.relative_to(ROOT).with_suffix("").parts)): p
        for p in ROOT.rglob("*.py")
    }
    modules = {name.removesuffix(".__init__"): path for name, path in paths.items()}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            named = node.names if isinstance(node, ast.ImportFrom) else []
            for module in imported_modules(node):
                submodules = {f"{module}.{alias.name}" for alias in named} & modules.keys()
                edges[name] |= submodules or ({module} & modules.keys())
        edges[name].discard(name)
    return edges


def test_no_import_cycle_between_modules() -> None:
    edges = imports_between_modules()
    assert "sparkpush.sync.generation" in edges["sparkpush.sync.process_cache"]
    graphlib.TopologicalSorter(edges).prepare()  # raises CycleError naming the cycle
