from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.artifacts.local_artifact import artifacts_from_flags
from sparkpush.errors import ExitCode, UsageError


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for name in ("a.py", "b.zip", "c.egg", "lib.jar", "env.tar.gz", "data.csv", "x.whl"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    return tmp_path


def test_flags_map_to_server_names(files: Path) -> None:
    found = artifacts_from_flags(
        py_files=(f"{files}/a.py,{files}/b.zip", f"{files}/c.egg"),
        jars=(f"{files}/lib.jar",),
        archives=(f"{files}/env.tar.gz#env",),
        files=(f"{files}/data.csv",),
    )
    assert [a.name for a in found] == [
        "pyfiles/a.py",
        "pyfiles/b.zip",
        "pyfiles/c.egg",
        "jars/lib.jar",
        "archives/env.tar.gz#env",
        "files/data.csv",
    ]


def test_same_file_twice_is_sent_once(files: Path) -> None:
    found = artifacts_from_flags(py_files=(f"{files}/a.py", f"{files}/a.py"))
    assert len(found) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"py_files": ("{d}/missing.py",)}, "does not exist"),
        ({"py_files": ("{d}/x.whl",)}, "is not a .py, .zip or .egg file"),
        ({"py_files": ("{d}/data.csv",)}, "is not a .py, .zip or .egg file"),
        ({"py_files": ("{d}/folder",)}, "is not a file"),
        ({"jars": ("{d}/a.py",)}, "is not a .jar file"),
        ({"archives": ("{d}/env.tar.gz#../up",)}, "must be a plain folder name"),
        ({"archives": ("{d}/env.tar.gz#a/b",)}, "must be a plain folder name"),
        ({"archives": ("{d}/data.csv",)}, "is not a .zip, .jar, .tar.gz"),
        ({"files": ("{d}/missing.txt",)}, "does not exist"),
    ],
)
def test_bad_artifact_flags_give_one_line_usage_errors(
    files: Path, flags: dict[str, tuple[str, ...]], message: str
) -> None:
    resolved = {k: tuple(v.format(d=files) for v in values) for k, values in flags.items()}
    with pytest.raises(UsageError) as caught:
        artifacts_from_flags(**resolved)
    assert message in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text("")
    with pytest.raises(UsageError, match=r"both be sent as pyfiles/m\.py"):
        artifacts_from_flags(py_files=(f"{tmp_path}/one/m.py,{tmp_path}/two/m.py",))
