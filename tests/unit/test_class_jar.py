from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sparkpush.artifacts import class_jar
from sparkpush.artifacts.class_jar import (
    EntryCache,
    class_jar_name,
    folders_of,
    is_class_jar,
    pack_class_jar,
)
from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.packing import walk_kept_files
from sparkpush.errors import UsageError


def class_tree(folder: Path, mtime: int) -> None:
    for relative, data in (
        ("com/ex/B.class", b"\xca\xfe\xba\xbeB"),
        ("com/ex/A.class", b"\xca\xfe\xba\xbeA"),
        ("META-INF/services/com.ex.Plugin", b"com.ex.A\n"),
    ):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))


def test_the_same_files_make_the_same_bytes_whenever_and_wherever_they_were_written(
    tmp_path: Path,
) -> None:
    class_tree(tmp_path / "one", 1_600_000_000)
    class_tree(tmp_path / "two", 1_700_000_000)
    jars = [
        pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path / f, DefaultFilter()))
        for f in ("one", "two")
    ]
    assert jars[0].data == jars[1].data
    assert jars[0].sha256 == hashlib.sha256(jars[0].data).hexdigest()
    with zipfile.ZipFile(io.BytesIO(jars[0].data)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "META-INF/MANIFEST.MF" not in names
        assert archive.read("META-INF/services/com.ex.Plugin") == b"com.ex.A\n"


def test_a_changed_class_changes_the_bytes_not_the_name(tmp_path: Path) -> None:
    class_tree(tmp_path, 1_600_000_000)
    before = pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()))
    (tmp_path / "com" / "ex" / "A.class").write_bytes(b"\xca\xfe\xba\xbeA2")
    after = pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()))
    assert after.sha256 != before.sha256 and after.name == before.name


@pytest.mark.parametrize(
    ("folder", "slug"),
    [
        ("target/classes", "target-classes"),
        ("build/classes/java/main", "build-classes-java-main"),
        (".", "root"),
        ("out dir/é", "out-dir"),
    ],
)
def test_a_class_jar_is_named_after_its_folder(tmp_path: Path, folder: str, slug: str) -> None:
    name = class_jar_name(tmp_path / folder, tmp_path)
    assert name.startswith(f"jars/classes-{slug}-") and name.endswith(".jar")
    assert is_class_jar(name)
    LocalArtifact(name=name, data=b"")  # a name the server stores as sent
    assert class_jar_name(tmp_path / folder, tmp_path) == name


def test_class_folders_whose_slugs_agree_get_different_names(tmp_path: Path) -> None:
    names = {class_jar_name(tmp_path / f, tmp_path) for f in ("a-b/c", "a/b-c", "a/b/c", "a b/c")}
    assert len(names) == 4


def test_a_class_jar_name_does_not_depend_on_where_the_project_is(tmp_path: Path) -> None:
    here = class_jar_name(tmp_path / "p1" / "out", tmp_path / "p1")
    there = class_jar_name(tmp_path / "elsewhere" / "p2" / "out", tmp_path / "elsewhere" / "p2")
    assert here == there


def test_a_class_folder_outside_the_project_is_named_by_its_full_path(tmp_path: Path) -> None:
    outside = class_jar_name(tmp_path / "shared" / "classes", tmp_path / "project")
    inside = class_jar_name(tmp_path / "project" / "shared" / "classes", tmp_path / "project")
    assert outside != inside
    assert "shared-classes" in outside


def test_the_jar_is_a_valid_zip_storing_what_deflate_cannot_shrink(tmp_path: Path) -> None:
    class_tree(tmp_path, 1_600_000_000)
    (tmp_path / "com" / "ex" / "Random.class").write_bytes(os.urandom(4000))
    (tmp_path / "com" / "ex" / "Big.class").write_bytes(b"\xca\xfe\xba\xbe" * 1000)
    jar = pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()))
    with zipfile.ZipFile(io.BytesIO(jar.data)) as archive:
        assert archive.testzip() is None
        infos = {info.filename: info for info in archive.infolist()}
        assert infos["com/ex/Random.class"].compress_type == zipfile.ZIP_STORED
        assert infos["com/ex/Big.class"].compress_type == zipfile.ZIP_DEFLATED
        assert infos["com/"].is_dir() and infos["META-INF/services/"].is_dir()
        for relative in ("com/ex/Random.class", "com/ex/Big.class", "com/ex/A.class"):
            assert archive.read(relative) == (tmp_path / relative).read_bytes()


def test_kept_entries_deflate_only_the_changed_file_and_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class_tree(tmp_path, 1_600_000_000)
    entries: EntryCache = {}
    pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()), entries)
    (tmp_path / "com" / "ex" / "A.class").unlink()
    changed = tmp_path / "com" / "ex" / "B.class"
    changed.write_bytes(b"\xca\xfe\xba\xbeB2")
    os.utime(changed, (1_600_000_100, 1_600_000_100))
    read: list[str] = []
    real_read = class_jar.read_source

    def recorded_read(path: str) -> bytes:
        read.append(os.path.basename(path))
        return real_read(path)

    monkeypatch.setattr(class_jar, "read_source", recorded_read)
    files = walk_kept_files(tmp_path, DefaultFilter())
    again = pack_class_jar("jars/classes-x.jar", files, entries)
    assert read == ["B.class"]
    assert len(entries) == 2  # the removed class's entry is gone
    assert again.data == pack_class_jar("jars/classes-x.jar", files).data


def test_a_tree_too_big_for_a_plain_zip_is_written_with_zip64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class_tree(tmp_path, 1_600_000_000)
    monkeypatch.setattr(class_jar, "_MAX_ENTRIES", 3)
    jar = pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()))
    with zipfile.ZipFile(io.BytesIO(jar.data)) as archive:
        assert archive.testzip() is None
        assert archive.read("com/ex/A.class") == b"\xca\xfe\xba\xbeA"


def many_classes(folder: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = folder / "com" / "ex" / f"p{index % 3}" / f"C{index}.class"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xca\xfe\xba\xbe" + bytes([index % 251]) * (index % 97))
        os.utime(path, (1_600_000_000, 1_600_000_000))
        paths.append(path)
    return paths


def test_classes_deflated_by_several_threads_give_the_bytes_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_classes(tmp_path, 40)
    files = walk_kept_files(tmp_path, DefaultFilter())
    alone = pack_class_jar("jars/classes-x.jar", files)
    monkeypatch.setattr(class_jar, "THREAD_MIN_FILES", 1)
    monkeypatch.setattr(class_jar.os, "cpu_count", lambda: 4)
    shares: list[int] = []

    class Recording(ThreadPoolExecutor):
        def map(self, fn: Any, *parts: Any, **options: Any) -> Iterator[Any]:
            shares.extend(len(part) for part in parts[0])
            return super().map(fn, *parts, **options)

    monkeypatch.setattr(class_jar, "ThreadPoolExecutor", Recording)
    entries: EntryCache = {}
    together = pack_class_jar("jars/classes-x.jar", files, entries)
    assert shares == [10, 10, 10, 10]
    assert together.data == alone.data and len(entries) == 40


def test_a_class_gone_before_a_thread_reads_it_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = many_classes(tmp_path, 40)
    files = walk_kept_files(tmp_path, DefaultFilter())
    paths[33].unlink()
    monkeypatch.setattr(class_jar, "THREAD_MIN_FILES", 1)
    with pytest.raises(UsageError, match=r"C33\.class does not exist"):
        pack_class_jar("jars/classes-x.jar", files)


def test_a_class_written_within_the_racy_window_is_deflated_again_at_the_next_pack(
    tmp_path: Path,
) -> None:
    class_tree(tmp_path, 1_600_000_000)
    entries: EntryCache = {}
    pack_class_jar("jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()), entries)
    edited = tmp_path / "com" / "ex" / "A.class"
    edited.write_bytes(b"\xca\xfe\xba\xbeX")  # mtime: now
    first = pack_class_jar(
        "jars/classes-x.jar", walk_kept_files(tmp_path, DefaultFilter()), entries
    )
    assert len(entries) == 2  # the new A.class is not trusted by its stat yet
    # same size, same mtime, same inode: only its bytes say it changed
    info = edited.stat()
    with edited.open("r+b") as stream:
        stream.write(b"\xca\xfe\xba\xbeY")
    os.utime(edited, ns=(info.st_atime_ns, info.st_mtime_ns))
    files = walk_kept_files(tmp_path, DefaultFilter())
    again = pack_class_jar("jars/classes-x.jar", files, entries)
    assert again.data != first.data
    assert again.data == pack_class_jar("jars/classes-x.jar", files).data
    with zipfile.ZipFile(io.BytesIO(again.data)) as archive:
        assert archive.read("com/ex/A.class") == b"\xca\xfe\xba\xbeY"


@pytest.mark.parametrize(
    ("names", "folders"),
    [
        ([], set()),
        (["Top.class", "app.properties"], set()),
        (["a/b/C.class"], {"a/", "a/b/"}),
        (["a/b/C.class", "a/b/D.class", "a/E.class"], {"a/", "a/b/"}),
        (["a/b/c/D.class", "a/x/E.class", "é/F.class"], {"a/", "a/b/", "a/b/c/", "a/x/", "é/"}),
        (["a-b/C.class", "a/b-c/D.class"], {"a-b/", "a/", "a/b-c/"}),
    ],
)
def test_a_jar_holds_every_folder_above_its_files(names: list[str], folders: set[str]) -> None:
    assert folders_of(names) == folders
