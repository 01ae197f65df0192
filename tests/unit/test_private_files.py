"""State folders and files are user-only whatever the umask, and never used through a link."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.daemon.process_main import _PrivateRotatingLog
from sparkpush.errors import UnsafeStateDirError
from sparkpush.state.private_files import ensure_private_dir, private_opener


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_new_state_folder_and_its_missing_parents_are_not_world_writable(
    tmp_path: Path, open_umask: None
) -> None:
    folder = ensure_private_dir(tmp_path / "home" / ".local" / "state" / "sparkpush")
    assert mode(folder) == 0o700
    assert mode(folder.parent) == 0o755
    assert mode(tmp_path / "home") == 0o755


def test_existing_own_folder_is_tightened_to_0700(tmp_path: Path) -> None:
    folder = tmp_path / ".sparkpush"
    folder.mkdir(mode=0o755)
    ensure_private_dir(folder)
    assert mode(folder) == 0o700


def test_a_symlinked_state_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    link = tmp_path / ".sparkpush"
    link.symlink_to(victim)
    with pytest.raises(UnsafeStateDirError, match="is a symbolic link: refused"):
        ensure_private_dir(link)
    assert mode(victim) == 0o755


@pytest.mark.parametrize("loose", [0o777, 0o770, 0o722, 0o1777])
def test_a_state_folder_others_may_write_is_refused(
    tmp_path: Path, open_umask: None, loose: int
) -> None:
    folder = tmp_path / ".sparkpush"
    folder.mkdir()
    folder.chmod(loose)
    with pytest.raises(UnsafeStateDirError, match="group or others may write to it"):
        ensure_private_dir(folder)
    assert mode(folder) == loose


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another uid needs root")
def test_a_state_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / ".sparkpush"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(UnsafeStateDirError, match="belongs to uid 65534"):
        ensure_private_dir(folder)


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".sparkpush").write_text("")
    with pytest.raises(UnsafeStateDirError, match="cannot use"):
        ensure_private_dir(tmp_path / ".sparkpush")


def test_private_opener_creates_0600_under_umask_000(tmp_path: Path, open_umask: None) -> None:
    with open(tmp_path / "udf-loader.log", "ab", opener=private_opener) as log:
        log.write(b"x")
    assert mode(tmp_path / "udf-loader.log") == 0o600


def test_private_opener_never_writes_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "bashrc"
    target.write_text("mine\n")
    (tmp_path / "daemon.log").symlink_to(target)
    with (
        pytest.raises(UnsafeStateDirError, match="is a symbolic link: refused"),
        open(tmp_path / "daemon.log", "ab", opener=private_opener),
    ):
        pass
    assert target.read_text() == "mine\n"


def test_rotated_daemon_logs_stay_0600_under_umask_000(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "daemon.log"
    handler = _PrivateRotatingLog(path, maxBytes=200, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test-rotation")
    logger.addHandler(handler)
    try:
        for line in range(50):
            logger.warning("line %d of a log that rotates", line)
    finally:
        logger.removeHandler(handler)
        handler.close()
    logs = sorted(tmp_path.glob("daemon.log*"))
    assert len(logs) == 3
    assert {p.name: mode(p) for p in logs} == {p.name: 0o600 for p in logs}
