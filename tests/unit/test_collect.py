from __future__ import annotations

import errno
import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sparkpush.artifacts.artifact_cache import ArtifactCache
from sparkpush.artifacts.collect import CollectedArtifacts, collect_artifacts
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.stat_cache import StatCache
from sparkpush.config.settings import ArtifactSettings
from sparkpush.errors import UsageError

PURE_WHEEL = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def write(path: Path, data: bytes | str = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def wheel(path: Path, metadata: str = PURE_WHEEL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    name, version = path.name.split("-")[:2]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}-{version}.dist-info/WHEEL", metadata)
    return path


def collect(root: Path, **settings: Any) -> CollectedArtifacts:
    return collect_artifacts(ArtifactSettings(**settings), root, StatCache())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_nothing_configured_is_nothing(tmp_path: Path) -> None:
    assert collect(tmp_path) == CollectedArtifacts((), ())


def test_python_folders_are_packed_in_memory(tmp_path: Path) -> None:
    write(tmp_path / "src" / "pkg" / "__init__.py", "")
    write(tmp_path / "src" / "pkg" / "tests" / "test_x.py", "")
    collected = collect(tmp_path, python=("src",), exclude=("tests/",))
    [desired] = collected.artifacts
    assert desired.name.startswith("pyfiles/src-")
    assert desired.artifact.data is not None and desired.artifact.path is None
    assert desired.sha256 == sha(desired.artifact.data)
    assert desired.size == len(desired.artifact.data)
    assert desired.source == tmp_path / "src"
    with zipfile.ZipFile(io.BytesIO(desired.artifact.data)) as packed:
        assert packed.namelist() == ["pkg/", "pkg/__init__.py"]


def test_each_file_kind_gets_its_prefix(tmp_path: Path) -> None:
    write(tmp_path / "jobs" / "helper.py", "H = 1\n")
    wheel(tmp_path / "dist" / "tiny-1.0-py3-none-any.whl")
    write(tmp_path / "libs" / "udf.jar", b"PK jar")
    write(tmp_path / "data" / "lookup.zip", b"PK zip")
    write(tmp_path / "conf" / "app.conf", b"a=1")
    collected = collect(
        tmp_path,
        pyfiles=("jobs/helper.py",),
        wheels=("dist/*.whl",),
        jars=("libs/udf.jar",),
        archives=("data/lookup.zip#lookup",),
        files=("conf/app.conf",),
    )
    assert [a.name for a in collected.artifacts] == [
        "pyfiles/helper.py",
        "pyfiles/tiny-1.0-py3-none-any.zip",
        "jars/udf.jar",
        "archives/lookup.zip#lookup",
        "files/app.conf",
    ]
    jar = collected.by_name["jars/udf.jar"]
    assert jar.artifact.path == tmp_path / "libs" / "udf.jar"
    assert (jar.sha256, jar.size) == (sha(b"PK jar"), 6)
    assert collected.hashes["files/app.conf"] == sha(b"a=1")
    assert collected.warnings == ()


def test_archive_without_alias_keeps_its_file_name(tmp_path: Path) -> None:
    write(tmp_path / "env.tar.gz")
    assert [a.name for a in collect(tmp_path, archives=("env.tar.gz",)).artifacts] == [
        "archives/env.tar.gz"
    ]


def test_a_class_folder_is_sent_as_one_jar_with_its_resources(tmp_path: Path) -> None:
    classes = tmp_path / "target" / "classes"
    write(classes / "com" / "example" / "AddOne.class", b"\xca\xfe\xba\xbe1")
    write(classes / "com" / "example" / "AddOne$1.class", b"\xca\xfe\xba\xbe2")
    write(classes / "META-INF" / "services" / "com.example.Plugin", "com.example.AddOne\n")
    write(classes / "com" / "example" / "Skip.class")
    collected = collect(tmp_path, classes=("target/classes",), exclude=("Skip.class",))
    [jar] = collected.artifacts
    assert jar.name.startswith("jars/classes-target-classes-") and jar.name.endswith(".jar")
    assert jar.source == classes
    assert jar.artifact.data is not None
    with zipfile.ZipFile(io.BytesIO(jar.artifact.data)) as archive:
        files = [n for n in archive.namelist() if not n.endswith("/")]
        assert files == [
            "META-INF/services/com.example.Plugin",
            "com/example/AddOne$1.class",
            "com/example/AddOne.class",
        ]
        assert archive.read("com/example/AddOne.class") == b"\xca\xfe\xba\xbe1"
    assert jar.sha256 == hashlib.sha256(jar.artifact.data).hexdigest()


def test_same_class_from_two_folders_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a" / "p" / "X.class", b"1")
    write(tmp_path / "b" / "p" / "X.class", b"2")
    with pytest.raises(
        UsageError, match=r"^artifacts.classes: p/X.class is in two class folders: a and b$"
    ):
        collect(tmp_path, classes=("a", "b"))


def test_one_class_folder_matched_twice_is_one_jar(tmp_path: Path) -> None:
    write(tmp_path / "out" / "p" / "X.class", b"1")
    collected = collect(tmp_path, classes=("out", "o*"))
    assert len(collected.artifacts) == 1


def test_class_folder_without_classes_warns(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    collected = collect(tmp_path, classes=("out",))
    assert collected.artifacts == ()
    assert collected.warnings == ("artifacts.classes: out has no .class files",)


def test_globs_are_sorted_and_recursive(tmp_path: Path) -> None:
    write(tmp_path / "libs" / "b.jar")
    write(tmp_path / "libs" / "a.jar")
    write(tmp_path / "libs" / "deep" / "c.jar")
    write(tmp_path / "libs" / "readme.txt")
    collected = collect(tmp_path, jars=("libs/**/*.jar",))
    assert [a.name for a in collected.artifacts] == ["jars/a.jar", "jars/b.jar", "jars/c.jar"]


def test_globs_skip_ignored_paths(tmp_path: Path) -> None:
    write(tmp_path / "jobs" / "a.py")
    write(tmp_path / ".venv" / "lib" / "b.py")
    write(tmp_path / "jobs" / "__pycache__" / "c.py")
    write(tmp_path / "jobs" / "skip_me.py")
    collected = collect(tmp_path, pyfiles=("**/*.py",), exclude=("skip_*",))
    assert [a.name for a in collected.artifacts] == ["pyfiles/a.py"]


def test_python_glob_picks_folders(tmp_path: Path) -> None:
    write(tmp_path / "pkgs" / "one" / "__init__.py")
    write(tmp_path / "pkgs" / "two" / "__init__.py")
    write(tmp_path / "pkgs" / "stray.py")
    collected = collect(tmp_path, python=("pkgs/*",))
    names = [a.name for a in collected.artifacts]
    assert [n.split("-")[0] for n in names] == ["pyfiles/one", "pyfiles/two"]


def test_absolute_paths_and_globs_work_in_folders_the_user_allows(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "x.jar")
    project = tmp_path / "project"
    project.mkdir()
    settings = ArtifactSettings(
        jars=(str(elsewhere / "*.jar"),),
        files=(str(elsewhere / "x.jar"),),
        allowed_roots=(elsewhere,),
    )
    collected = collect_artifacts(settings, project, StatCache())
    assert [a.name for a in collected.artifacts] == ["jars/x.jar", "files/x.jar"]


def outside_project(tmp_path: Path) -> Path:
    """A project, and beside it the user's secrets."""
    write(tmp_path / "home" / ".ssh" / "id_rsa", "PRIVATE KEY")
    write(tmp_path / "home" / "secret.jar", "x")
    project = tmp_path / "project"
    write(project / "pkg" / "__init__.py")
    write(project / "classes" / "A.class")
    return project


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("files", "{home}/.ssh/*"),
        ("files", "{home}/.ssh/id_rsa"),
        ("files", "../home/.ssh/id_rsa"),
        ("files", "../home/.ssh/*"),
        ("jars", "../home/*.jar"),
        ("python", "{home}/.ssh"),
    ],
)
def test_globs_resolve_inside_the_project_root_only(
    tmp_path: Path, kind: str, pattern: str
) -> None:
    project = outside_project(tmp_path)
    with pytest.raises(UsageError) as caught:
        collect(project, **{kind: (pattern.format(home=tmp_path / "home"),)})
    assert "leads outside the project" in caught.value.message
    assert caught.value.message.startswith(f"artifacts.{kind}: ")


def test_a_home_relative_path_is_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = outside_project(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for pattern in ("~/.ssh/*", "~/.ssh/id_rsa"):
        with pytest.raises(UsageError, match="leads outside the project"):
            collect(project, files=(pattern,))


@pytest.mark.parametrize(
    ("kind", "link", "pattern"),
    [
        ("files", "envdump.txt", "envdump.txt"),
        ("files", "data/envdump.txt", "data/*"),
        ("python", "pkg/envdump.py", "pkg"),
        ("classes", "classes/B.class", "classes"),
    ],
)
def test_a_symlink_leaving_the_project_is_refused_by_name(
    tmp_path: Path, kind: str, link: str, pattern: str
) -> None:
    project = outside_project(tmp_path)
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(tmp_path / "home" / ".ssh" / "id_rsa")
    with pytest.raises(UsageError) as caught:
        collect(project, **{kind: (pattern,)})
    message = caught.value.message
    assert "envdump" in message or "B.class" in message
    assert "a symlink to" in message and "id_rsa" in message
    assert "\n" not in message


def test_a_symlink_to_the_root_folder_is_refused_clearly(tmp_path: Path) -> None:
    project = outside_project(tmp_path)
    (project / "pkg" / "everything").symlink_to("/")
    with pytest.raises(
        UsageError, match=r"everything leads outside the project \(a symlink to /\)"
    ):
        collect(project, python=("pkg",))


def test_symlinks_inside_the_project_are_fine(tmp_path: Path) -> None:
    project = outside_project(tmp_path)
    write(project / "real" / "helper.py", "x = 1")
    (project / "pkg" / "helper.py").symlink_to(project / "real" / "helper.py")
    (project / "pkg" / "sub").symlink_to(project / "real", target_is_directory=True)
    (project / "data.txt").symlink_to(project / "real" / "helper.py")
    collected = collect(project, python=("pkg",), files=("data.txt",))
    packed, data = collected.artifacts
    assert data.name == "files/data.txt"
    assert packed.artifact.data is not None
    with zipfile.ZipFile(io.BytesIO(packed.artifact.data)) as archive:
        assert {"pkg/helper.py", "pkg/sub/helper.py"} <= set(archive.namelist())


@pytest.mark.parametrize(
    ("kind", "pattern", "warning"),
    [
        ("jars", "libs/*.jar", "artifacts.jars: 'libs/*.jar' matches no file"),
        ("python", "src/*", "artifacts.python: 'src/*' matches no folder"),
        ("archives", "*.zip#a", "artifacts.archives: '*.zip#a' matches no file"),
        ("files", "conf/**/*.conf", "artifacts.files: 'conf/**/*.conf' matches no file"),
    ],
)
def test_glob_matching_nothing_is_a_warning(
    tmp_path: Path, kind: str, pattern: str, warning: str
) -> None:
    collected = collect(tmp_path, **{kind: (pattern,)})
    assert collected.artifacts == ()
    assert collected.warnings == (warning,)


def test_same_file_named_twice_is_sent_once(tmp_path: Path) -> None:
    write(tmp_path / "libs" / "a.jar")
    collected = collect(tmp_path, jars=("libs/a.jar", "libs/*.jar"))
    assert [a.name for a in collected.artifacts] == ["jars/a.jar"]


def test_hashes_go_through_the_stat_cache(tmp_path: Path) -> None:
    jar = write(tmp_path / "a.jar")
    os.utime(jar, (1_600_000_000, 1_600_000_000))
    cache = StatCache()
    settings = ArtifactSettings(jars=("a.jar",))
    collect_artifacts(settings, tmp_path, cache)
    collect_artifacts(settings, tmp_path, cache)
    assert (cache.hits, cache.misses) == (1, 1)


def make_bad(tmp_path: Path, case: str) -> dict[str, tuple[str, ...]]:
    """Lay out one bad input; return the settings that name it."""
    if case == "missing literal":
        return {"jars": ("libs/missing.jar",)}
    if case == "folder where a file is expected":
        (tmp_path / "libs" / "a.jar").mkdir(parents=True)
        return {"jars": ("libs/a.jar",)}
    if case == "file where a folder is expected":
        write(tmp_path / "src")
        return {"python": ("src",)}
    if case == "empty python folder":
        (tmp_path / "src").mkdir()
        return {"python": ("src",)}
    if case == "symlink loop in python folder":
        write(tmp_path / "src" / "pkg" / "__init__.py")
        (tmp_path / "src" / "pkg" / "loop").symlink_to(tmp_path / "src")
        return {"python": ("src",)}
    if case == "self-referencing symlink":
        (tmp_path / "a.jar").symlink_to(tmp_path / "a.jar")
        return {"jars": ("a.jar",)}
    if case == "symlink loop matched by a glob":
        (tmp_path / "a.jar").symlink_to(tmp_path / "a.jar")
        return {"jars": ("*.jar",)}
    if case == "non-UTF-8 name":
        (tmp_path / "conf").mkdir()
        write(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path / "conf"), b"caf\xe9.conf"))))
        return {"files": ("conf/*",)}
    if case == "non-UTF-8 name in python folder":
        write(tmp_path / "src" / "ok.py")
        with open(os.path.join(os.fsencode(tmp_path / "src"), b"caf\xe9.py"), "wb"):
            pass
        return {"python": ("src",)}
    if case == "wrong jar suffix":
        write(tmp_path / "lib.zip")
        return {"jars": ("lib.zip",)}
    if case == "wheel in pyfiles":
        wheel(tmp_path / "tiny-1.0-py3-none-any.whl")
        return {"pyfiles": ("tiny-1.0-py3-none-any.whl",)}
    if case == "wrong archive suffix":
        write(tmp_path / "data.csv")
        return {"archives": ("data.csv#d",)}
    if case == "archive alias with slash":
        write(tmp_path / "d.zip")
        return {"archives": ("d.zip#a/b",)}
    if case == "archive alias with dots":
        write(tmp_path / "d.zip")
        return {"archives": ("d.zip#..",)}
    if case == "one alias for many archives":
        write(tmp_path / "a.zip")
        write(tmp_path / "b.zip")
        return {"archives": ("*.zip#data",)}
    if case == "two sources, one name":
        write(tmp_path / "a" / "x.jar", b"1")
        write(tmp_path / "b" / "x.jar", b"2")
        return {"jars": ("a/x.jar", "b/x.jar")}
    if case == "a literal and a glob, one name":
        write(tmp_path / "x.conf", b"1")
        write(tmp_path / "sub" / "x.conf", b"2")
        return {"files": ("x.conf", "sub/*.conf")}
    if case == "fifo":
        os.mkfifo(tmp_path / "pipe.jar")
        return {"jars": ("pipe.jar",)}
    if case == "empty path":
        return {"files": ("",)}
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing literal", "artifacts.jars: libs/missing.jar does not exist"),
        ("folder where a file is expected", "artifacts.jars: libs/a.jar is a folder, not a file"),
        ("file where a folder is expected", "artifacts.python: src is not a folder"),
        ("empty python folder", "nothing to pack"),
        ("symlink loop in python folder", "symlink loop"),
        ("self-referencing symlink", "artifacts.jars: a.jar: symlink loop"),
        ("symlink loop matched by a glob", "artifacts.jars: a.jar: symlink loop"),
        ("non-UTF-8 name", "caf\\xe9.conf: file name is not valid UTF-8"),
        ("non-UTF-8 name in python folder", "caf\\xe9.py: file name is not valid UTF-8"),
        ("wrong jar suffix", "lib.zip is not a .jar file"),
        ("wheel in pyfiles", "not a .py, .zip or .egg file (wheels go in 'wheels')"),
        ("wrong archive suffix", "data.csv is not a .zip, .jar, .tar.gz, .tgz or .tar file"),
        ("archive alias with slash", "alias 'a/b' must be a plain folder name"),
        ("archive alias with dots", "alias '..' must be a plain folder name"),
        ("one alias for many archives", "'*.zip#data' matches 2 files but gives one alias"),
        ("two sources, one name", "two different sources would both be sent as jars/x.jar"),
        (
            "a literal and a glob, one name",
            "two different sources would both be sent as files/x.conf",
        ),
        ("fifo", "pipe.jar is not a regular file"),
        ("empty path", "artifacts.files: empty path"),
    ],
)
def test_bad_inputs_are_one_line_usage_errors(tmp_path: Path, case: str, message: str) -> None:
    settings = make_bad(tmp_path, case)
    with pytest.raises(UsageError) as caught:
        collect(tmp_path, **settings)
    assert message in caught.value.message
    assert caught.value.message.startswith("artifacts.")
    assert "\n" not in caught.value.message


def test_read_failure_while_hashing_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Works as root too, where chmod cannot make a file unreadable.
    write(tmp_path / "a.jar")

    def refuse(self: StatCache, path: Path) -> tuple[str, int]:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(StatCache, "sha256", refuse)
    with pytest.raises(UsageError, match=r"artifacts\.jars: cannot read a\.jar: permission denied"):
        collect(tmp_path, jars=("a.jar",))


def test_an_unchanged_class_tree_reuses_its_jar_and_a_change_rebuilds(tmp_path: Path) -> None:
    classes = tmp_path / "target" / "classes" / "com"
    classes.mkdir(parents=True)
    for index in range(3):
        (classes / f"C{index}.class").write_bytes(bytes([index]) * 10)
    old = 1_600_000_000
    for path in classes.iterdir():
        os.utime(path, (old, old))
    settings = ArtifactSettings(classes=("target/classes",))
    cache = StatCache()
    reuse = ArtifactCache()
    second = collect_artifacts(settings, tmp_path, cache, reuse=reuse)
    third = collect_artifacts(settings, tmp_path, cache, reuse=reuse)
    assert third.artifacts[0] is second.artifacts[0]
    without = collect_artifacts(settings, tmp_path, cache)  # nothing kept process-wide
    assert without.artifacts[0] is not third.artifacts[0]
    assert without.artifacts[0].sha256 == third.artifacts[0].sha256
    (classes / "C1.class").write_bytes(b"changed")
    [changed] = collect_artifacts(settings, tmp_path, cache, reuse=reuse).artifacts
    assert changed.name == third.artifacts[0].name
    assert changed.sha256 != third.artifacts[0].sha256


def test_a_just_written_class_tree_is_not_remembered(tmp_path: Path) -> None:
    write(tmp_path / "out" / "p" / "X.class", b"1")  # mtime now: inside the racy window
    settings = ArtifactSettings(classes=("out",))
    reuse = ArtifactCache()
    first = collect_artifacts(settings, tmp_path, StatCache(), reuse=reuse)
    again = collect_artifacts(settings, tmp_path, StatCache(), reuse=reuse)
    assert reuse.class_trees == {}
    assert again.artifacts[0] is not first.artifacts[0]


def old_class_folder(root: Path) -> ArtifactSettings:
    for index in range(3):
        path = write(root / "out" / "p" / f"C{index}.class", bytes([index]) * 10)
        os.utime(path, (1_600_000_000, 1_600_000_000))
    return ArtifactSettings(classes=("out",))


def test_a_jar_reused_from_the_process_cache_stays_in_the_pack_cache(tmp_path: Path) -> None:
    settings = old_class_folder(tmp_path)
    reuse = ArtifactCache()
    for _ in range(3):  # built, found in the pack cache, then taken from the process cache
        packs = PackCache(tmp_path / "packs")
        collect_artifacts(settings, tmp_path, StatCache(), packs, reuse)
        packs.save()
    one_shot = PackCache(tmp_path / "packs")
    collect_artifacts(settings, tmp_path, StatCache(), one_shot)
    assert (one_shot.hits, one_shot.misses) == (1, 0)


def test_a_remembered_jar_whose_pack_was_deleted_is_built_again(tmp_path: Path) -> None:
    settings = old_class_folder(tmp_path)
    reuse = ArtifactCache()
    packs = PackCache(tmp_path / "packs")
    collect_artifacts(settings, tmp_path, StatCache(), packs, reuse)
    [jar] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    assert reuse.class_trees and jar.artifact.path is not None
    jar.artifact.path.unlink()
    [again] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    assert again.artifact.path is not None and again.artifact.path.is_file()
    assert again.sha256 == jar.sha256


def test_a_long_lived_process_keeps_the_jar_entries_of_each_class_folder(tmp_path: Path) -> None:
    settings = old_class_folder(tmp_path)
    reuse = ArtifactCache()
    collect_artifacts(settings, tmp_path, StatCache(), PackCache(tmp_path / "packs"), reuse)
    [(folder, entries)] = reuse.jar_entries.items()
    assert folder == str(tmp_path / "out") and len(entries) == 3


def test_a_just_written_class_tree_is_sent_from_memory_and_its_same_stat_edit_is_seen(
    tmp_path: Path,
) -> None:
    class_file = write(tmp_path / "out" / "p" / "X.class", b"1")  # mtime now: racy
    settings = ArtifactSettings(classes=("out",))
    reuse = ArtifactCache()
    packs = PackCache(tmp_path / "packs")
    [first] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    packs.save()
    assert first.artifact.path is None and first.artifact.data is not None
    assert reuse.class_trees == {} and not list((tmp_path / "packs").glob("*.jar"))
    info = class_file.stat()
    class_file.write_bytes(b"2")  # same size, and the same mtime as before
    os.utime(class_file, ns=(info.st_atime_ns, info.st_mtime_ns))
    packs = PackCache(tmp_path / "packs")
    [second] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    assert second.sha256 != first.sha256
    assert second.sha256 == hashlib.sha256(second.artifact.data or b"").hexdigest()


def test_a_settled_class_tree_is_remembered_from_its_first_build_without_its_bytes(
    tmp_path: Path,
) -> None:
    settings = old_class_folder(tmp_path)
    reuse = ArtifactCache()
    packs = PackCache(tmp_path / "packs")
    [built] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    assert built.artifact.data is not None  # uploaded from the bytes just hashed
    [tree] = reuse.class_trees.values()
    [kept] = tree.artifacts
    assert kept.artifact.data is None and kept.artifact.path == built.artifact.path
    assert kept.artifact.path is not None
    assert hashlib.sha256(kept.artifact.path.read_bytes()).hexdigest() == built.sha256
    [again] = collect_artifacts(settings, tmp_path, StatCache(), packs, reuse).artifacts
    assert again is kept


def test_platform_wheels_go_to_the_environment_instead_of_being_refused(tmp_path: Path) -> None:
    platform = wheel(tmp_path / "dist" / "x-1.0-cp311-cp311-linux_x86_64.whl")
    wheel(tmp_path / "dist" / "tiny-1.0-py3-none-any.whl")
    collected = collect(tmp_path, wheels=("dist/*.whl",))
    assert collected.platform_wheels == (platform,)
    assert [a.name for a in collected.artifacts] == ["pyfiles/tiny-1.0-py3-none-any.zip"]
