"""The daemon's ProcessCache: parsed state files are reused while unchanged, and only with it."""

from __future__ import annotations

import os
from pathlib import Path

from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.sync.generation import Generation, load_generation, save_generation
from sparkpush.sync.process_cache import ProcessCache


def sample(generation: int) -> Generation:
    return Generation(
        session_id="s",
        number=generation,
        remote="sc://localhost:15002",
        server_side_session_id=None,
        entries={},
    )


def test_a_manifest_is_parsed_once_while_its_file_is_unchanged(tmp_path: Path) -> None:
    save_generation(tmp_path, sample(1))
    reuse = ProcessCache()
    first = load_generation(tmp_path, reuse)
    assert first is not None
    assert load_generation(tmp_path, reuse) is first
    assert load_generation(tmp_path) is not first  # without the cache: read afresh
    save_generation(tmp_path, sample(2))
    replaced = load_generation(tmp_path, reuse)
    assert replaced is not None and replaced.number == 2


def test_a_stat_cache_is_reused_while_its_file_is_the_one_saved(tmp_path: Path) -> None:
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"jar")
    os.utime(jar, (1_600_000_000, 1_600_000_000))
    path = stat_cache_path(tmp_path)
    path.parent.mkdir()
    reuse = ProcessCache()
    cache = StatCache.load(path, reuse)
    cache.sha256(jar)
    cache.save(path, reuse)
    again = StatCache.load(path, reuse)
    assert again is cache
    assert (again.hits, again.misses) == (0, 0)  # counts start over for each sync
    assert StatCache.load(path) is not cache
    path.write_bytes(b"{}")  # replaced behind our back: read afresh
    assert StatCache.load(path, reuse) is not cache


def test_two_caches_share_nothing(tmp_path: Path) -> None:
    save_generation(tmp_path, sample(1))
    first, second = ProcessCache(), ProcessCache()
    assert load_generation(tmp_path, first) is not load_generation(tmp_path, second)
