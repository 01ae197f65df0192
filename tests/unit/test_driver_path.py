"""What the script's own sys.path gets from the run's Python artifacts."""

from __future__ import annotations

from pathlib import Path

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.submit.driver_path import DRIVER_PATH_ENV, driver_path_entries, extend_sys_path


def test_zips_as_they_are_loose_modules_in_one_folder_packed_ones_written(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "lib.whl").write_bytes(b"PK")
    artifacts = [
        LocalArtifact("pyfiles/helper.py", path=tmp_path / "helper.py"),
        LocalArtifact("pyfiles/wheelmod.zip", path=tmp_path / "lib.whl"),
        LocalArtifact("pyfiles/mypkg-0123.zip", data=b"PK packed"),
        LocalArtifact("pyfiles/inline.py", data=b"Y = 2\n"),
        LocalArtifact("jars/a.jar", data=b"not for python"),
    ]
    run = tmp_path / "run"
    entries = driver_path_entries(artifacts, run)
    assert entries == [
        str(run / "py-files"),
        str(tmp_path / "lib.whl"),
        str(run / "mypkg-0123.zip"),
    ]
    assert (run / "py-files" / "helper.py").read_text() == "X = 1\n"
    assert (run / "py-files" / "inline.py").read_bytes() == b"Y = 2\n"
    assert (run / "mypkg-0123.zip").read_bytes() == b"PK packed"


def test_the_entries_follow_the_scripts_own_folder() -> None:
    path = ["/scripts", "/site"]
    environ = {DRIVER_PATH_ENV: "/run/py-files:/lib.whl"}
    extend_sys_path(path, environ)
    assert path == ["/scripts", "/run/py-files", "/lib.whl", "/site"]
    assert DRIVER_PATH_ENV not in environ
