"""A clone's deadline follows what the server copies; a clone cut off by it leaves nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sparkpush.errors import CallTimeoutError, ServerDiskFullError
from sparkpush.remote.target import Target
from sparkpush.state.server_state import ServerState
from sparkpush.sync import clone_cost, clone_room
from sparkpush.sync.clone_cost import CLONE_FLOOR_S, clone_deadline, copied_bytes
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import (
    UnfinishedSession,
    clone_recorded,
    record_unfinished,
    unfinished_sessions,
)
from tests.fake_session import FakeServer
from tests.unit.test_sync_layers import project

GB = 1 << 30


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    assert server.closed == server.opened, "every session the engine opened is closed"


@pytest.fixture
def target(server: FakeServer) -> Target:
    return server.target()


def edit_class(root: Path, version: str) -> None:
    (root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe " + version.encode())


@pytest.mark.parametrize(
    ("sizes", "copied"),
    [
        ({}, 0),
        ({"jars/dep.jar": GB}, GB),  # copied once into the clone's folder
        ({"files/big.bin": GB}, 2 * GB),  # and once more into the driver's files folder
        ({"pyfiles/wheel.zip": GB}, 2 * GB),
        ({"archives/env.tar.gz#env": GB}, 3 * GB),  # copied, then unpacked there too
        ({"jars/a.jar": GB, "files/b.bin": GB, "classes/C.class": 10}, 3 * GB + 10),
    ],
)
def test_the_bytes_a_clone_copies_depend_on_the_kind(sizes: dict[str, int], copied: int) -> None:
    assert copied_bytes(sizes) == copied


def test_a_clone_of_a_3_gb_file_gets_minutes_where_an_empty_one_gets_the_floor() -> None:
    assert clone_deadline({}) == CLONE_FLOOR_S
    # the 3 GB file: the clone outlived a 10 s deadline, tries failed after 40-46 s;
    # measured here: 14-35 s for 2-3 GB of files at load 11-16
    three_gb = clone_deadline({"files/big3g.bin": 3 * GB})
    assert three_gb > 4 * 46
    assert clone_deadline({"jars/dep.jar": 100 << 20}) < 20  # a usual base stays quick to judge


def test_a_code_change_clones_the_base_with_a_deadline_for_its_size(
    server: FakeServer, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clone_cost, "SLOWEST_COPY_BYTES_PER_S", 1000)  # make bytes count
    config = project(tmp_path)
    sync_project(config, target)
    edit_class(config.project_root, "v2")
    sync_project(config, target)
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    base_sizes = {n: e.size for n, e in generation.entries.items() if n in generation.base.names}
    _, deadline = server.clone_calls[-1]
    assert deadline == pytest.approx(clone_deadline(base_sizes))
    assert deadline > CLONE_FLOOR_S + 10  # 13 KB of jar and files at 1000 B/s


def test_an_attached_clone_gets_a_deadline_for_the_generation_it_copies(
    server: FakeServer, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clone_cost, "SLOWEST_COPY_BYTES_PER_S", 1000)
    config = project(tmp_path)
    result = sync_project(config, target)
    with target.session(result.session_id) as session:
        clone_recorded(config.project_root, target, session)
    generation = load_generation(config.project_root)
    assert generation is not None
    _, deadline = server.clone_calls[-1]
    assert deadline == pytest.approx(
        clone_deadline({n: e.size for n, e in generation.entries.items()})
    )


def test_a_clone_cut_off_by_its_deadline_is_released_once_the_server_has_made_it(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = project(tmp_path)
    first = sync_project(config, target)
    edit_class(config.project_root, "v2")
    server.cut_off_clones = 1
    with pytest.raises(CallTimeoutError):
        sync_project(config, target)
    clone_id, _ = server.clone_calls[-1]
    # the server went on copying after the call gave up: releasing it then was a no-op that
    # left the clone alive for an hour; waiting for the copy first releases it for good
    assert clone_id in server.released
    assert not server.cloning
    assert unfinished_sessions(config.project_root) == []
    assert load_generation(config.project_root).session_id == first.session_id  # type: ignore[union-attr]


def test_an_attached_clone_cut_off_by_its_deadline_is_released(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = project(tmp_path)
    result = sync_project(config, target)
    server.cut_off_clones = 1
    with target.session(result.session_id) as generation, pytest.raises(CallTimeoutError):
        clone_recorded(config.project_root, target, generation)
    clone_id, _ = server.clone_calls[-1]
    assert clone_id in server.released
    assert unfinished_sessions(config.project_root) == []


def test_a_clone_a_killed_sync_left_in_the_making_is_released_by_the_next_sync(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = project(tmp_path)
    sync_project(config, target)
    # a run killed during its CloneSession call: recorded, and the server still copying
    clone_id = "0d6c3c3e-6a43-4b8e-9a8e-3b1a1e7b2f10"
    record_unfinished(config.project_root, UnfinishedSession(target.spec.display(), clone_id))
    server.cloning[clone_id] = server.sessions[next(iter(server.sessions))]
    sync_project(config, target)
    assert clone_id in server.released
    assert unfinished_sessions(config.project_root) == []


def test_a_new_big_base_is_said_once_and_its_code_changes_are_quiet(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clone_cost, "BIG_CLONE_BYTES", 10_000)  # the project's 13 KB base
    config = project(tmp_path)
    first = sync_project(config, target)
    [note] = [w for w in first.warnings if "base layer" in w]
    assert "each code change makes the server copy" in note
    edit_class(config.project_root, "v2")
    second = sync_project(config, target)
    assert not [w for w in second.warnings if "base layer" in w]


def test_a_clone_the_embedded_servers_disk_cannot_take_is_refused_before_it_starts(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    state = ServerState(
        pid=1,
        port=15002,
        url="sc://localhost:15002",
        token_file=str(tmp_path / "server.token"),
        master="local[*]",
        log_file=str(tmp_path / "server.log"),
        started_at=0.0,
        scratch=str(scratch),
    )
    embedded = replace(server.target(), embedded=state)
    full = shutil._ntuple_diskusage(total=100 * GB, used=100 * GB - (1 << 20), free=1 << 20)
    monkeypatch.setattr(clone_room.shutil, "disk_usage", lambda _path: full)
    (tmp_path / "p").mkdir()
    config = project(tmp_path / "p")
    with pytest.raises(ServerDiskFullError, match=r"1\.0 GB must stay free"):
        sync_project(config, embedded)
    assert server.clone_calls == []  # nothing copied
    assert all(s.released for s in server.sessions.values())  # the new base too
    assert unfinished_sessions(config.project_root) == []
