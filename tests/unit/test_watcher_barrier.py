"""The watcher's barrier with real inotify events (no server)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

import pytest

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.daemon.watcher import ProjectWatcher

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify")


class Seen:
    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.paths.append(path)

    def clear(self) -> None:
        with self.lock:
            self.paths.clear()

    def count(self) -> int:
        with self.lock:
            return len(self.paths)

    def names(self) -> set[str]:
        with self.lock:
            return {p.name for p in self.paths}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path.resolve() / "project"
    (root / "classes" / "com").mkdir(parents=True)
    (root / "src").mkdir()
    return root


def watching(root: Path, seen: Seen, **kwargs: object) -> ProjectWatcher:
    watcher = ProjectWatcher(root, [root], DefaultFilter(()), seen, **kwargs)  # type: ignore[arg-type]
    watcher.start()
    return watcher


def test_every_change_made_before_the_barrier_is_reported_when_it_returns(tree: Path) -> None:
    seen = Seen()
    watcher = watching(tree, seen)
    try:
        for index in range(100):
            folder = ("classes/com", "src", ".")[index % 3]
            (tree / folder / f"f{index}.class").write_bytes(b"x")
            assert watcher.barrier(5.0)
            assert f"f{index}.class" in seen.names()
    finally:
        watcher.stop()


def test_the_barrier_adds_no_file_keeps_folder_mtimes_and_is_no_change(tree: Path) -> None:
    seen = Seen()
    watcher = watching(tree, seen)
    try:
        assert watcher.barrier(5.0)  # watches settle
        before = {p: p.stat().st_mtime_ns for p in tree.rglob("*")}
        seen.clear()
        for _ in range(20):
            assert watcher.barrier(5.0)
        after = {p: p.stat().st_mtime_ns for p in tree.rglob("*")}
        assert after == before
        assert seen.count() == 0
    finally:
        watcher.stop()


def test_a_folder_created_later_is_covered_by_the_barrier(tree: Path) -> None:
    seen = Seen()
    watcher = watching(tree, seen)
    try:
        (tree / "build").mkdir()
        assert watcher.barrier(5.0)  # the new folder's watch is in place once reported
        (tree / "build" / "late.jar").write_bytes(b"x")
        assert watcher.barrier(5.0)
        assert "late.jar" in seen.names()
    finally:
        watcher.stop()


def test_no_barrier_without_events_and_an_overflow_is_a_change(tree: Path) -> None:
    seen = Seen()
    overflowed: list[int] = []
    watcher = watching(tree, seen, on_overflow=lambda: overflowed.append(1))
    watcher.observer.stop()  # no event can come back any more
    watcher.observer.join(5)
    try:
        assert not watcher.barrier(0.2)
        assert not watcher.barrier(0.2)  # its marker is still out: no waiting again
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert overflowed == [1]
    finally:
        watcher.stop()


def test_a_folder_gone_cannot_be_proven(tree: Path) -> None:
    seen = Seen()
    watcher = watching(tree, seen)
    try:
        assert watcher.barrier(5.0)
        os.rmdir(tree / "classes" / "com")
        os.rmdir(tree / "classes")
        assert not watcher.barrier(1.0)
    finally:
        watcher.stop()
