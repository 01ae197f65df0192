from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from sparkpush.artifacts import stat_cache as stat_cache_module
from sparkpush.artifacts.stat_cache import StatCache

OLD = 1_600_000_000  # seconds: long settled


def write_old(path: Path, data: bytes, when: int = OLD) -> Path:
    path.write_bytes(data)
    os.utime(path, (when, when))
    return path


def test_hash_and_size_are_computed_then_reused(tmp_path: Path) -> None:
    path = write_old(tmp_path / "a.jar", b"jar bytes")
    cache = StatCache()
    expected = (hashlib.sha256(b"jar bytes").hexdigest(), 9)
    assert cache.sha256(path) == expected
    assert cache.sha256(path) == expected
    assert (cache.hits, cache.misses) == (1, 1)


def test_changed_content_is_rehashed(tmp_path: Path) -> None:
    path = write_old(tmp_path / "a.jar", b"one")
    cache = StatCache()
    cache.sha256(path)
    write_old(path, b"three", when=OLD + 10)
    assert cache.sha256(path) == (hashlib.sha256(b"three").hexdigest(), 5)
    assert cache.misses == 2


def test_same_size_same_mtime_new_inode_is_rehashed(tmp_path: Path) -> None:
    path = write_old(tmp_path / "a.jar", b"one")
    cache = StatCache()
    cache.sha256(path)
    replacement = write_old(tmp_path / "new.jar", b"two")
    os.replace(replacement, path)
    assert cache.sha256(path)[0] == hashlib.sha256(b"two").hexdigest()


def test_recently_modified_file_is_not_trusted_until_settled(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_bytes(b"one")
    cache = StatCache()
    cache.sha256(path)
    # Same size and (forced) same mtime: only the racy-window rule catches this edit.
    mtime_ns = path.stat().st_mtime_ns
    path.write_bytes(b"two")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert cache.sha256(path)[0] == hashlib.sha256(b"two").hexdigest()
    assert cache.hits == 0


def test_round_trip_through_a_private_file(tmp_path: Path) -> None:
    path = write_old(tmp_path / "a.jar", b"data")
    cache_file = tmp_path / "state" / "stat-cache.json"
    first = StatCache()
    first.sha256(path)
    first.save(cache_file)
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    second = StatCache.load(cache_file)
    assert len(second) == 1
    assert second.sha256(path) == (hashlib.sha256(b"data").hexdigest(), 4)
    assert (second.hits, second.misses) == (1, 0)


def test_entries_not_looked_up_are_dropped_on_save(tmp_path: Path) -> None:
    kept = write_old(tmp_path / "kept.jar", b"k")
    gone = write_old(tmp_path / "gone.jar", b"g")
    cache_file = tmp_path / "cache.json"
    first = StatCache()
    first.sha256(kept)
    first.sha256(gone)
    first.save(cache_file)
    second = StatCache.load(cache_file)
    second.sha256(kept)
    second.save(cache_file)
    assert len(StatCache.load(cache_file)) == 1
    assert list(json.loads(cache_file.read_text())["entries"]) == [str(kept)]


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"",
        b"not json",
        b"[]",
        b'{"version": 99, "entries": {}}',
        b'{"version": 1, "entries": {"/x": [1, 2]}}',
        b'{"version": 1, "entries": []}',
        b'{"version": 1}',
    ],
)
def test_missing_or_corrupt_cache_loads_empty(tmp_path: Path, content: bytes | None) -> None:
    cache_file = tmp_path / "cache.json"
    if content is not None:
        cache_file.write_bytes(content)
    cache = StatCache.load(cache_file)
    assert len(cache) == 0
    path = write_old(tmp_path / "a", b"x")
    assert cache.sha256(path)[1] == 1


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        StatCache().sha256(tmp_path / "absent.jar")


def test_unchanged_check_only_stats(tmp_path: Path) -> None:
    paths = []
    for index in range(200):
        path = tmp_path / f"f{index // 100}" / f"{index}.class"
        if index % 100 == 0:
            path.parent.mkdir()
        paths.append(write_old(path, b"x" * (index % 7)))
    cache_file = tmp_path / "cache.json"
    warm = StatCache()
    for path in paths:
        warm.sha256(path)
    warm.save(cache_file)

    cache = StatCache.load(cache_file)
    hashed: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stat_cache_module, "_hash_file", lambda path: hashed.append(path))
        for path in paths:
            cache.sha256(path)
    assert (cache.hits, cache.misses) == (200, 0)
    assert hashed == []  # stats only: no file was read
