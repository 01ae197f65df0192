from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.pack_cache import CachedPack, PackCache
from sparkpush.artifacts.packing import SourceFile, walk_kept_files


def kept_at(pack: CachedPack) -> Path:
    """Where the cache keeps `pack` (packs built in this call are kept too)."""
    assert pack.path is not None
    return pack.path


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
    with zipfile.ZipFile(kept_at(second)) as stored:
        assert "pkg/mod.py" in stored.namelist()


def test_an_edit_repacks_and_drops_the_old_zip(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    cache = PackCache(tmp_path / "packs")
    first = cache.pack(pkg, DefaultFilter(), tmp_path)
    cache.save()
    (pkg / "mod.py").write_text("X = 2\n")
    os.utime(pkg / "mod.py", (1_600_000_100, 1_600_000_100))
    later = PackCache(tmp_path / "packs")
    second = later.pack(pkg, DefaultFilter(), tmp_path)
    later.save()
    assert later.misses == 1
    assert second.sha256 != first.sha256
    assert second.name != first.name
    assert not kept_at(first).exists()
    assert kept_at(second).exists()


def test_recent_edits_are_not_trusted_until_settled(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "mod.py").write_text("X = 3\n")  # mtime: now
    cache = PackCache(tmp_path / "packs")
    cache.pack(pkg, DefaultFilter(), tmp_path)
    cache.save()
    again = PackCache(tmp_path / "packs")
    again.pack(pkg, DefaultFilter(), tmp_path)
    assert again.misses == 1


def test_a_pack_of_unsettled_files_stays_in_memory_and_the_stale_one_is_dropped(
    tmp_path: Path,
) -> None:
    classes = tmp_path / "classes"
    cache = PackCache(tmp_path / "packs")
    first = cache.pack_class_jar(classes, old_class_tree(classes), "jars/classes-c.jar")
    cache.save()
    (classes / "com" / "ex" / "A.class").write_bytes(b"\xca\xfe\xba\xbe22")  # mtime: now
    later = PackCache(tmp_path / "packs")
    second = later.pack_class_jar(
        classes, walk_kept_files(classes, DefaultFilter()), "jars/classes-c.jar"
    )
    later.save()
    assert second.path is None and second.data is not None
    assert second.sha256 == hashlib.sha256(second.data).hexdigest() != first.sha256
    with zipfile.ZipFile(io.BytesIO(second.data)) as built:
        assert built.read("com/ex/A.class") == b"\xca\xfe\xba\xbe22"
    assert not kept_at(first).exists()  # the jar of the old bytes is not kept either
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == ["index.json"]


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


def old_class_tree(folder: Path) -> list[SourceFile]:
    write_old(folder / "com" / "ex" / "A.class", b"\xca\xfe\xba\xbe1")
    write_old(folder / "META-INF" / "services" / "com.ex.Plugin", b"com.ex.A\n")
    return walk_kept_files(folder, DefaultFilter())


def write_old(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (1_600_000_000, 1_600_000_000))


def test_a_class_jar_is_kept_beside_the_zip_of_the_same_folder(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    write_old(pkg / "A.class", b"\xca\xfe\xba\xbe")
    cache = PackCache(tmp_path / "packs")
    zipped = cache.pack(pkg, DefaultFilter(), tmp_path)
    jar = cache.pack_class_jar(pkg, walk_kept_files(pkg, DefaultFilter()), "jars/classes-p.jar")
    cache.save()
    later = PackCache(tmp_path / "packs")
    assert later.pack(pkg, DefaultFilter(), tmp_path) == zipped
    again = later.pack_class_jar(pkg, walk_kept_files(pkg, DefaultFilter()), "jars/classes-p.jar")
    later.save()
    assert again == jar and (later.hits, later.misses) == (2, 0)
    assert kept_at(jar).suffix == ".jar" and kept_at(jar).exists() and kept_at(zipped).exists()


def test_an_edited_class_repacks_its_jar_and_drops_the_old_one(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    cache = PackCache(tmp_path / "packs")
    first = cache.pack_class_jar(classes, old_class_tree(classes), "jars/classes-c.jar")
    cache.save()
    write_old(classes / "com" / "ex" / "A.class", b"\xca\xfe\xba\xbe22")
    later = PackCache(tmp_path / "packs")
    files = walk_kept_files(classes, DefaultFilter())
    second = later.pack_class_jar(classes, files, "jars/classes-c.jar")
    later.save()
    assert later.misses == 1
    assert second.name == first.name and second.sha256 != first.sha256
    assert not kept_at(first).exists() and kept_at(second).exists()
    with zipfile.ZipFile(kept_at(second)) as stored:
        assert stored.read("com/ex/A.class") == b"\xca\xfe\xba\xbe22"
        assert stored.read("META-INF/services/com.ex.Plugin") == b"com.ex.A\n"


def test_a_class_jar_asked_for_under_another_name_is_rebuilt(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    files = old_class_tree(classes)
    cache = PackCache(tmp_path / "packs")
    cache.pack_class_jar(classes, files, "jars/classes-c.jar")
    renamed = cache.pack_class_jar(classes, files, "jars/classes-d.jar")
    assert renamed.name == "jars/classes-d.jar" and cache.misses == 2


def test_a_read_only_cache_uses_stored_packs_and_writes_nothing(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    files = old_class_tree(classes)
    writer = PackCache(tmp_path / "packs")
    stored = writer.pack_class_jar(classes, files, "jars/classes-c.jar")
    writer.save()
    before = sorted(p.name for p in (tmp_path / "packs").iterdir())
    reader = PackCache(tmp_path / "packs", read_only=True)
    assert reader.pack_class_jar(classes, files, "jars/classes-c.jar") == stored
    write_old(classes / "com" / "ex" / "B.class", b"\xca\xfe\xba\xbeB")
    built = reader.pack_class_jar(classes, walk_kept_files(classes, DefaultFilter()), "jars/x.jar")
    reader.save()
    assert built.path is None and built.data is not None and built.sha256 != stored.sha256
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == before
    assert not (tmp_path / "other").exists()
    PackCache(tmp_path / "other", read_only=True).pack(
        make_package(tmp_path), DefaultFilter(), None
    )
    assert not (tmp_path / "other").exists()
