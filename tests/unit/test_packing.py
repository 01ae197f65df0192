from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sparkpush.artifacts import packing
from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.packing import pack_python_source, walk_kept_files
from sparkpush.errors import UsageError


def make_package(root: Path, name: str = "mypkg") -> Path:
    package = root / name
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 41\n")
    (package / "core.py").write_text("def answer():\n    return 42\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "leaf.py").write_text("NAME = 'leaf'\n")
    (package / "data.json").write_text('{"a": 1}\n')
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0junk")
    (package / "core.py~").write_text("backup")
    return package


def names_in(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def test_package_is_zipped_under_its_folder_name(tmp_path: Path) -> None:
    packed = pack_python_source(make_package(tmp_path), DefaultFilter())
    assert names_in(packed.data) == [
        "mypkg/",
        "mypkg/__init__.py",
        "mypkg/core.py",
        "mypkg/data.json",
        "mypkg/sub/",
        "mypkg/sub/__init__.py",
        "mypkg/sub/leaf.py",
    ]
    assert packed.sha256 == hashlib.sha256(packed.data).hexdigest()
    assert packed.name == f"pyfiles/mypkg-{packed.sha256[:12]}.zip"
    assert [p.relative_to(tmp_path).as_posix() for p in packed.files] == [
        "mypkg/__init__.py",
        "mypkg/core.py",
        "mypkg/data.json",
        "mypkg/sub/__init__.py",
        "mypkg/sub/leaf.py",
    ]


def test_source_root_without_init_is_zipped_flat(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_package(src, "alpha")
    (src / "helpers.py").write_text("H = 1\n")
    packed = pack_python_source(src, DefaultFilter())
    assert packed.name.startswith("pyfiles/src-")
    names = names_in(packed.data)
    assert "helpers.py" in names
    assert "alpha/__init__.py" in names
    assert not any(name.startswith("src/") for name in names)


def test_same_sources_give_same_bytes_whatever_the_mtimes(tmp_path: Path) -> None:
    first = pack_python_source(make_package(tmp_path / "a"), DefaultFilter())
    second_package = make_package(tmp_path / "b")
    for path in second_package.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = pack_python_source(second_package, DefaultFilter())
    again = pack_python_source(second_package, DefaultFilter())
    assert first.data == second.data == again.data
    assert first.name == second.name


def test_changed_source_changes_the_name(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    before = pack_python_source(package, DefaultFilter())
    (package / "core.py").write_text("def answer():\n    return 43\n")
    after = pack_python_source(package, DefaultFilter())
    assert before.name != after.name


def test_entries_have_fixed_times_modes_and_no_extra_fields(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    (package / "core.py").chmod(0o700)
    packed = pack_python_source(package, DefaultFilter())
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.extra == b""
            mode = info.external_attr >> 16
            if info.is_dir():
                assert mode == 0o040755
            else:
                assert mode == 0o100644
                assert info.compress_type == zipfile.ZIP_DEFLATED


def test_excludes_are_anchored_at_the_given_root(tmp_path: Path) -> None:
    package = make_package(tmp_path / "src")
    keep = DefaultFilter(["/src/mypkg/sub/", "*.json"])
    packed = pack_python_source(package, keep, root=tmp_path)
    assert names_in(packed.data) == ["mypkg/", "mypkg/__init__.py", "mypkg/core.py"]


def test_packed_zip_imports_in_a_fresh_interpreter(tmp_path: Path) -> None:
    packed = pack_python_source(make_package(tmp_path / "project"), DefaultFilter())
    archive = tmp_path / "packed.zip"
    archive.write_bytes(packed.data)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import mypkg, mypkg.core, mypkg.sub.leaf; "
        "print(mypkg.VALUE, mypkg.core.answer(), mypkg.sub.leaf.NAME)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(archive)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert result.stdout.split() == ["41", "42", "leaf"]


def test_flat_source_root_imports_in_a_fresh_interpreter(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "toplevel.py").write_text("X = 'flat'\n")
    archive = tmp_path / "packed.zip"
    archive.write_bytes(pack_python_source(src, DefaultFilter()).data)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import toplevel; print(toplevel.X)",
            str(archive),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert result.stdout.strip() == "flat"


def test_symlinked_file_is_followed(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    outside = tmp_path / "shared.py"
    outside.write_text("SHARED = True\n")
    (package / "shared.py").symlink_to(outside)
    packed = pack_python_source(package, DefaultFilter())
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        assert archive.read("mypkg/shared.py") == b"SHARED = True\n"


def test_walk_skips_ignored_folders_without_entering_them(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    loop = package / ".venv"
    loop.mkdir()
    (loop / "self").symlink_to(loop)
    found = walk_kept_files(package, DefaultFilter())
    assert [f.relative for f in found] == [
        "__init__.py",
        "core.py",
        "data.json",
        "sub/__init__.py",
        "sub/leaf.py",
    ]


def bad_source(tmp_path: Path, case: str) -> Path:
    if case == "missing":
        return tmp_path / "nope"
    if case == "a file":
        (tmp_path / "mod.py").write_text("")
        return tmp_path / "mod.py"
    package = tmp_path / "pkg"
    package.mkdir()
    if case == "empty":
        (package / "__pycache__").mkdir()
        (package / "x.pyc").write_bytes(b"")
    elif case == "symlink loop":
        (package / "__init__.py").write_text("")
        (package / "again").symlink_to(package)
    elif case == "self symlink":
        (package / "__init__.py").write_text("")
        (package / "me.py").symlink_to(package / "me.py")
    elif case == "broken symlink":
        (package / "__init__.py").write_text("")
        (package / "gone.py").symlink_to(tmp_path / "absent.py")
    elif case == "folder twice":
        (package / "__init__.py").write_text("")
        shared = tmp_path / "shared"
        shared.mkdir()
        (shared / "x.py").write_text("")
        (package / "one").symlink_to(shared)
        (package / "two").symlink_to(shared)
    elif case == "not utf-8":
        (package / "__init__.py").write_text("")
        with open(os.path.join(os.fsencode(package), b"caf\xe9.py"), "wb") as stream:
            stream.write(b"")
    elif case == "fifo":
        (package / "__init__.py").write_text("")
        os.mkfifo(package / "pipe")
    return package


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "nope does not exist"),
        ("a file", "mod.py is not a folder"),
        ("empty", "nothing to pack"),
        ("symlink loop", "symlink loop"),
        ("self symlink", "symlink loop"),
        ("broken symlink", "broken symlink"),
        ("folder twice", "reached twice"),
        ("not utf-8", "caf\\xe9.py: file name is not valid UTF-8"),
        ("fifo", "is not a regular file or folder"),
    ],
)
def test_bad_sources_are_one_line_usage_errors(tmp_path: Path, case: str, message: str) -> None:
    source = bad_source(tmp_path, case)
    with pytest.raises(UsageError) as caught:
        pack_python_source(source, DefaultFilter())
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_ignored_non_utf8_name_is_not_an_error(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    with open(os.path.join(os.fsencode(package), b"caf\xe9.pyc"), "wb"):
        pass
    assert pack_python_source(package, DefaultFilter()).files


def test_symlinked_package_keeps_its_link_name(tmp_path: Path) -> None:
    real = make_package(tmp_path / "real", "pkg_v2")
    link = tmp_path / "mypkg"
    link.symlink_to(real)
    packed = pack_python_source(link, DefaultFilter())
    assert packed.name.startswith("pyfiles/mypkg-")
    assert names_in(packed.data)[0] == "mypkg/"


def test_parent_reference_is_named_after_the_real_folder(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    packed = pack_python_source(package / "sub" / "..", DefaultFilter())
    assert packed.name.startswith("pyfiles/mypkg-")


def test_read_failure_is_a_usage_error_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = make_package(tmp_path)
    real_open = open

    def refuse_core(path: str | Path, *args: Any, **kwargs: Any) -> Any:
        if os.path.basename(path) == "core.py":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(packing, "open", refuse_core, raising=False)  # as root, chmod cannot
    with pytest.raises(UsageError, match=r"cannot read .*core\.py: permission denied"):
        pack_python_source(package, DefaultFilter())
