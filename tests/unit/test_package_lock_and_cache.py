"""The lock file (read back, checked: a repository may ship it) and the jar cache (content-
addressed, user-only, hash-checked on reading), and what the server already has."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from sparkpush.errors import UnsafeStateDirError
from sparkpush.packages.cache import (
    VERIFIED_FILE,
    jar_path,
    maven_cache_root,
    store_jars,
    verified_jars,
)
from sparkpush.packages.coordinates import ModuleId
from sparkpush.packages.lock import (
    LeftOut,
    LockedJar,
    LockEntry,
    find_entry,
    lock_path,
    newest_entry,
    read_lock,
    record_entry,
)
from sparkpush.packages.provided import SPARK_DEFAULT_EXCLUDES, module_of_jar, provided_modules

SHA = "a" * 64


def entry(key: str, scope: str = "session", name: str = "jars/g_a-1.0.jar") -> LockEntry:
    jar = LockedJar("g:a:1.0", name, "1.0", SHA, 10, "file:///srv/m2/", ("g:b",))
    return LockEntry(
        input=key,
        scope=scope,
        coordinates=("g:b:1.0",),
        repositories=("file:///srv/m2/",),
        jars=(jar,),
        left_out=(LeftOut("org.slf4j:slf4j-api", "1.7", "2.0.17"),),
        evicted=("g:a:0.9",),
        resolved_at=1765000000.5,
    )


def test_lock_entries_round_trip_and_are_kept_per_scope(tmp_path: Path) -> None:
    first = entry("1" * 64)
    record_entry(tmp_path, first)
    assert read_lock(tmp_path) == [first]
    assert find_entry(tmp_path, "1" * 64) == first
    assert lock_path(tmp_path).stat().st_mode & 0o777 == 0o600
    for n in range(2, 12):
        record_entry(tmp_path, entry(f"{n:x}" * 64))
    record_entry(tmp_path, entry("f" * 64, scope="server"))
    kept = read_lock(tmp_path)
    assert len([e for e in kept if e.scope == "session"]) == 8
    assert find_entry(tmp_path, "1" * 64) is None  # the oldest went first
    assert newest_entry(tmp_path, "server") == entry("f" * 64, scope="server")
    assert newest_entry(tmp_path, "session") == entry("b" * 64)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "jars/../../etc/passwd.jar"},
        {"name": "files/x.jar"},
        {"name": "jars/x.jar/y.jar"},
        {"sha256": "../../x"},
        {"sha256": "A" * 64},
        {"size": -1},
        {"size": "10"},
    ],
)
def test_a_shipped_lock_cannot_point_outside_the_cache(
    tmp_path: Path, bad: dict[str, object]
) -> None:
    record_entry(tmp_path, entry("1" * 64))
    document = json.loads(lock_path(tmp_path).read_text())
    document["resolutions"][0]["jars"][0].update(bad)
    lock_path(tmp_path).write_text(json.dumps(document))
    assert read_lock(tmp_path) == []


def test_store_and_verify_by_hash(tmp_path: Path) -> None:
    source = tmp_path / "x.jar"
    source.write_bytes(b"jar bytes")
    [stored] = store_jars([source])
    assert stored.path == jar_path(stored.sha256)
    assert stored.path.stat().st_mode & 0o777 == 0o600
    assert (maven_cache_root().stat().st_mode & 0o777) == 0o700
    found = verified_jars([(stored.sha256, stored.size)])
    assert found[stored.sha256] == stored
    assert verified_jars([(SHA, 3)]) == {SHA: None}


def test_a_changed_entry_is_rehashed_and_dropped(tmp_path: Path) -> None:
    source = tmp_path / "x.jar"
    source.write_bytes(b"jar bytes")
    [stored] = store_jars([source])
    stored.path.write_bytes(b"JAR BYTES")  # same size, other bytes: its ctime moved
    assert verified_jars([(stored.sha256, stored.size)]) == {stored.sha256: None}
    assert not stored.path.exists()


def test_a_known_entry_is_not_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "x.jar"
    source.write_bytes(b"jar bytes")
    [stored] = store_jars([source])
    assert (maven_cache_root() / VERIFIED_FILE).is_file()

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"hashed {path} again")

    monkeypatch.setattr("sparkpush.packages.cache.file_sha256", no_hashing)
    assert verified_jars([(stored.sha256, stored.size)])[stored.sha256] == stored


def test_entries_others_could_have_written_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "x.jar"
    source.write_bytes(b"jar bytes")
    [stored] = store_jars([source])
    stored.path.chmod(0o666)
    with pytest.raises(UnsafeStateDirError, match="others may write"):
        verified_jars([(stored.sha256, stored.size)])
    stored.path.chmod(0o600)
    stored.path.parent.chmod(0o777)
    with pytest.raises(UnsafeStateDirError):
        verified_jars([(stored.sha256, stored.size)])
    stored.path.parent.chmod(0o700)
    planted = tmp_path / "planted.jar"
    planted.write_bytes(b"jar bytes")
    stored.path.unlink()
    os.symlink(planted, stored.path)
    with pytest.raises(UnsafeStateDirError, match="not a regular file"):
        verified_jars([(stored.sha256, stored.size)])


def test_a_cache_root_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    (shared / "sparkpush").mkdir(parents=True)
    (shared / "sparkpush").chmod(0o777)  # anyone could have put jars under it
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared))
    with pytest.raises(UnsafeStateDirError):
        maven_cache_root()


def jar(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def test_what_the_server_has_comes_from_its_jars(tmp_path: Path) -> None:
    jars = tmp_path / "pyspark" / "jars"
    jars.mkdir(parents=True)
    own = "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties"
    jar(
        jars / "jackson-databind-2.21.2.jar",
        {own: "groupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.21.2\n"},
    )
    shaded = "META-INF/maven/com.google.guava/guava/pom.properties"
    jar(
        jars / "parquet-jackson-1.17.0.jar",
        {
            "META-INF/maven/org.apache.parquet/parquet-jackson/pom.properties": (
                "groupId=org.apache.parquet\nartifactId=parquet-jackson\nversion=1.17.0\n"
            ),
            shaded: "groupId=com.google.guava\nartifactId=guava\nversion=33\n",
        },
    )
    jar(jars / "scala-library-2.13.18.jar", {"library.properties": ""})
    assert module_of_jar(jars / "scala-library-2.13.18.jar") == (
        ModuleId("*", "scala-library"),
        "2.13.18",
    )
    provided = provided_modules(jars)
    assert provided.version_of("com.fasterxml.jackson.core", "jackson-databind") == "2.21.2"
    assert provided.version_of("org.scala-lang", "scala-library") == "2.13.18"
    # a shaded copy is relocated inside its jar: not on the class path under its own name
    assert provided.version_of("com.google.guava", "guava") is None
    assert provided.version_of("org.apache.spark", "spark-core_2.13") == ""
    again = provided_modules(jars)  # from the cache this time
    assert again.versions == provided.versions
    without = provided_modules(None)
    assert set(without.versions) == set(SPARK_DEFAULT_EXCLUDES)


def test_the_tree_follows_who_asked_for_what() -> None:
    from sparkpush.packages.status import dependency_tree

    def locked(coordinate: str, *by: str) -> LockedJar:
        return LockedJar(coordinate, "jars/x.jar", "1", SHA, 1, "r", by)

    tree = dependency_tree(
        [locked("g:app:1"), locked("g:lib:1", "g:app"), locked("g:leaf:1", "g:lib", "g:app")]
    )
    assert [n["coordinate"] for n in tree] == ["g:app:1"]
    assert [n["coordinate"] for n in tree[0]["dependencies"]] == ["g:lib:1", "g:leaf:1"]
    assert [n["coordinate"] for n in tree[0]["dependencies"][0]["dependencies"]] == ["g:leaf:1"]


def test_an_entry_written_before_left_out_evicted_and_requested_by_still_loads(
    tmp_path: Path,
) -> None:
    record_entry(tmp_path, entry("1" * 64))
    document = json.loads(lock_path(tmp_path).read_text())
    older = document["resolutions"][0]
    del older["left_out"], older["evicted"], older["jars"][0]["requested_by"]
    lock_path(tmp_path).write_text(json.dumps(document))
    [loaded] = read_lock(tmp_path)
    assert (loaded.left_out, loaded.evicted, loaded.jars[0].requested_by) == ((), (), ())


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        ("entry", {"coordinates": [1]}),
        ("entry", {"scope": None}),
        ("entry", {"left_out": [{"module": "m"}]}),
        ("jar", {"repository": 5}),
        ("jar", {"requested_by": "g:b"}),
    ],
)
def test_a_lock_entry_with_a_value_of_the_wrong_kind_is_dropped(
    tmp_path: Path, where: str, bad: dict[str, object]
) -> None:
    record_entry(tmp_path, entry("1" * 64))
    document = json.loads(lock_path(tmp_path).read_text())
    target = document["resolutions"][0]
    (target if where == "entry" else target["jars"][0]).update(bad)
    lock_path(tmp_path).write_text(json.dumps(document))
    assert read_lock(tmp_path) == []
