"""The project files a script depends on: itself and the project-local modules it imports.

Found statically from the source (the script is never run to find them), transitively, and
only inside the project: an installed package is the environment's business, not a re-run's.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from pathlib import Path


def local_sources(script: Path, project_root: Path) -> tuple[Path, ...]:
    """`script` and every project file its imports can reach, sorted."""
    root = project_root.resolve()
    script = script.resolve()
    # a script's imports resolve from its folder (sys.path[0]) and, run from the project, its root
    search = (script.parent, root)
    found: set[Path] = set()
    pending = [script]
    while pending:
        path = pending.pop()
        if path in found or not path.is_file():
            continue
        found.add(path)
        for folder, dotted in _imports(path):
            folders = (folder,) if folder is not None else (*search, path.parent)
            pending.extend(p for p in _module_files(folders, dotted) if p.is_relative_to(root))
    return tuple(sorted(found))


def sources_signature(paths: tuple[Path, ...]) -> str:
    """A digest of the files' names and bytes (a missing file counts as empty)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path}\0".encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()


def _imports(path: Path) -> Iterator[tuple[Path | None, str]]:
    """(folder to resolve from, or None for the search path; dotted name) per import."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return  # the file itself is still watched; its imports show once it parses
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield None, alias.name
        elif isinstance(node, ast.ImportFrom):
            folder = None
            if node.level:
                folder = path.parent
                for _ in range(node.level - 1):
                    folder = folder.parent
            base = node.module or ""
            if base:
                yield folder, base
            for alias in node.names:  # `from pkg import module` imports a module too
                yield folder, f"{base}.{alias.name}" if base else alias.name


def _module_files(folders: tuple[Path, ...], dotted: str) -> Iterator[Path]:
    """Each package `__init__.py` and the module file that `dotted` names, in any folder."""
    parts = dotted.split(".")
    for folder in folders:
        for length in range(1, len(parts) + 1):
            stem = folder.joinpath(*parts[:length])
            for candidate in (stem.with_name(f"{stem.name}.py"), stem / "__init__.py"):
                if candidate.is_file():
                    yield candidate.resolve()
