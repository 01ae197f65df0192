from __future__ import annotations

import os
import zipfile
from pathlib import Path

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.pack_cache import PackCache


def make_package(root: Path) -> Path:
    pkg = root / "src" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("X = 1\n")
    old = 1_600_000_000
    for path in pkg.iterdir():
        os.utime(path, (old, old))
    return pkg


def test_unchanged_sources_reuse_the_stored_zip(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    first_cache = PackCache(tmp_path / "packs")
    first = first_cache.pack(pkg, DefaultFilter(), tmp_path)
    first_cache.save()
    second_cache = PackCache(tmp_path / "packs")
    second = second_cache.pack(pkg, DefaultFilter(), tmp_path)
    assert (second_cache.hits, second_cache.misses) == (1, 0)
    assert second == first
    with zipfile.ZipFile(second.path) as stored:
        assert "pkg/mod.py" in stored.namelist()


def test_an_edit_repacks_and_drops_the_old_zip(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    cache = PackCache(tmp_path / "packs")
    first = cache.pack(pkg, DefaultFilter(), tmp_path)
    cache.save()
    (pkg / "mod.py").write_text("X = 2\n")
    later = PackCache(tmp_path / "packs")
    second = later.pack(pkg, DefaultFilter(), tmp_path)
    later.save()
    assert later.misses == 1
    assert second.sha256 != first.sha256
    assert second.name != first.name
    assert not first.path.exists()
    assert second.path.exists()


def test_recent_edits_are_not_trusted_until_settled(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "mod.py").write_text("X = 3\n")  # mtime: now
    cache = PackCache(tmp_path / "packs")
    cache.pack(pkg, DefaultFilter(), tmp_path)
    cache.save()
    again = PackCache(tmp_path / "packs")
    again.pack(pkg, DefaultFilter(), tmp_path)
    assert again.misses == 1


def test_a_new_file_changes_the_signature(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    cache = PackCache(tmp_path / "packs")
    first = cache.pack(pkg, DefaultFilter(), tmp_path)
    cache.save()
    new = pkg / "extra.py"
    new.write_text("")
    os.utime(new, (1_600_000_000, 1_600_000_000))
    later = PackCache(tmp_path / "packs")
    assert later.pack(pkg, DefaultFilter(), tmp_path).sha256 != first.sha256
