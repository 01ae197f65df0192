"""The files a test run depends on: its test modules, conftests, and the project modules they
import (found statically, like a script's for `connect watch --run`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from fnmatch import fnmatch
from pathlib import Path

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.daemon.script_sources import local_sources

TEST_FILE_PATTERNS = ("test_*.py", "*_test.py", "conftest.py")
"""pytest's default `python_files`, and its conftests."""


def paths_under_test(pytest_args: Sequence[str], cwd: Path) -> tuple[Path, ...]:
    """The files and folders the arguments name (`path::test` included); else `cwd`."""
    named = []
    for arg in pytest_args:
        if arg.startswith("-"):
            continue
        path = (cwd / arg.split("::", 1)[0]).resolve()
        if path.exists():
            named.append(path)
    return tuple(named) or (cwd.resolve(),)


def sources_under_test(folders: Sequence[Path], project_root: Path) -> tuple[Path, ...]:
    """Every test file and conftest under `folders`, and the project files they import."""
    found: set[Path] = set()
    for test_file in _test_files(folders):
        found.update(local_sources(test_file, project_root))
    return tuple(sorted(found))


def _test_files(folders: Sequence[Path]) -> Iterator[Path]:
    for folder in folders:
        if folder.is_file():
            yield folder
            continue
        for parent, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not _ignored_dir(d)]
            for name in files:
                if any(fnmatch(name, pattern) for pattern in TEST_FILE_PATTERNS):
                    yield Path(parent) / name


def _ignored_dir(name: str) -> bool:
    return name.startswith(".") or any(fnmatch(name, p) for p in DefaultFilter.ignore_dirs)
