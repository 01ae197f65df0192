"""What reclaiming a released session's folders deletes on the embedded server, and what not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkpush.server.reclaim import reclaim_session_folders

RELEASED = "3e024d23-603d-4aca-8ad4-3d0520a01ffd"
LIVE = "94ad4a0c-782a-458c-9341-640341f1d8ba"


def session_folders(scratch: Path, session_id: str) -> list[Path]:
    """The places the server keeps a folder per session (see SESSION_FOLDERS)."""
    return [
        scratch / "local" / "spark-1" / "userFiles-2" / session_id,
        scratch / "tmp" / "artifacts-3" / session_id,
        scratch / "work" / "app-4" / "0" / session_id,
    ]


def fill(folder: Path, size: int = 1000) -> Path:
    (folder / "jars").mkdir(parents=True)
    jar = folder / "jars" / "deps.jar"
    jar.write_bytes(b"x" * size)
    (folder / "env" / "bin").mkdir(parents=True)
    (folder / "env" / "bin" / "python").write_text("#!/bin/sh\n")
    return jar


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    scratch = tmp_path / "scratch"
    for session_id in (RELEASED, LIVE):
        for folder in session_folders(scratch, session_id):
            fill(folder)
    return scratch


def test_every_folder_of_the_released_session_goes_and_the_others_stay(scratch: Path) -> None:
    freed = reclaim_session_folders(scratch, RELEASED)
    assert not any(f.exists() for f in session_folders(scratch, RELEASED))
    assert all(
        (f / "jars" / "deps.jar").stat().st_size == 1000 for f in session_folders(scratch, LIVE)
    )
    assert freed == 3 * (1000 + len("#!/bin/sh\n"))


def test_a_file_still_open_is_emptied_so_its_disk_is_free_at_once(scratch: Path) -> None:
    # an executor's class loader keeps a released session's jar open: deleting it alone would
    # keep its blocks on disk until the loader goes
    jar = session_folders(scratch, RELEASED)[0] / "jars" / "deps.jar"
    with jar.open("rb") as held:
        reclaim_session_folders(scratch, RELEASED)
        assert os.fstat(held.fileno()).st_size == 0


def test_a_hard_linked_file_keeps_its_bytes(scratch: Path, tmp_path: Path) -> None:
    outside = tmp_path / "project.jar"
    outside.write_bytes(b"mine" * 100)
    folder = session_folders(scratch, RELEASED)[0]
    os.link(outside, folder / "jars" / "linked.jar")
    reclaim_session_folders(scratch, RELEASED)
    assert outside.read_bytes() == b"mine" * 100


def test_links_lead_nowhere_outside_the_scratch_folder(scratch: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim_jar = fill(victim / RELEASED)
    (scratch / "local" / "spark-9").symlink_to(victim)  # spark-9/<id> would resolve outside
    inside = session_folders(scratch, RELEASED)[1]
    (inside / "jars" / "out.jar").symlink_to(victim_jar)
    reclaim_session_folders(scratch, RELEASED)
    assert victim_jar.read_bytes() == b"x" * 1000
    assert (victim / RELEASED).is_dir()


@pytest.mark.parametrize("name", ["", "..", "*", "not-a-uuid", RELEASED.upper(), f"{RELEASED}/.."])
def test_only_a_session_id_names_a_folder_to_delete(scratch: Path, name: str) -> None:
    assert reclaim_session_folders(scratch, name) == 0
    assert all(f.exists() for f in session_folders(scratch, RELEASED))


def test_a_missing_scratch_folder_is_no_error(tmp_path: Path) -> None:
    assert reclaim_session_folders(tmp_path / "gone", RELEASED) == 0
