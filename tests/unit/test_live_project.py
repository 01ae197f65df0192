"""LiveProject against the in-memory server: clones where the server has CloneSession, the
generation itself where it does not (Spark 4.0), what is released, and the warm spare."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sparkpush.config.settings import load_config
from sparkpush.errors import CloneUnsupportedError
from sparkpush.live.live_project import HeldGeneration, LiveProject, Revision
from sparkpush.live.pyspark_session import make_default
from sparkpush.live.spare import take_spare
from tests.fake_session import FakeServer

GENERATION = "11111111-1111-4111-8111-111111111111"


@pytest.fixture(autouse=True)
def no_default_session_left() -> Iterator[None]:
    yield
    make_default(None)


def live_project(server: FakeServer, root: Path, digest: str = "d1") -> LiveProject:
    (root / "pyproject.toml").write_text("[tool.sparkpush]\n")
    project = LiveProject(load_config(cwd=root), server.target(), notify=lambda _: None)
    with server.target().session(GENERATION) as generation:
        generation.spark_version()  # the generation exists on the server
    project.held = HeldGeneration(
        session_id=GENERATION,
        server_side_session_id=server.sessions[GENERATION].server_side_session_id,
        number=3,
        udfs=(),
        by_daemon=True,
        revision=Revision(3, digest),
    )
    return project


def test_sessions_are_clones_released_at_the_end_and_the_generation_never(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    project = live_project(server, tmp_path)
    shared, isolated = project.session(), project.clone()
    assert shared.cloned and isolated.cloned
    assert len({shared.session_id, isolated.session_id, GENERATION}) == 3
    assert shared.spark.client._session_id == shared.session_id
    project.release(isolated)
    assert server.released == [isolated.session_id]
    project.close()
    assert server.released == [isolated.session_id, shared.session_id]
    assert not server.sessions[GENERATION].released


def test_without_clone_session_spark_is_the_generation_and_isolated_clones_fail(
    tmp_path: Path,
) -> None:
    server = FakeServer(supports_clone=False)
    project = live_project(server, tmp_path)
    shared = project.session()
    assert not shared.cloned and shared.session_id == GENERATION
    with pytest.raises(CloneUnsupportedError):
        project.clone()
    project.leave_spare(lambda _: None)  # no clones, no spare
    project.close()
    assert server.released == []
    assert take_spare(tmp_path) is None


def test_a_spare_of_the_same_generation_is_taken_another_is_released(tmp_path: Path) -> None:
    server = FakeServer()
    first = live_project(server, tmp_path)
    first.session()
    warmed: list[str] = []
    first.leave_spare(lambda spark: warmed.append(spark.client._session_id))
    first.close()
    assert len(warmed) == 1 and warmed[0] not in server.released

    same = live_project(server, tmp_path)
    taken = same.session()
    assert same.took_spare and taken.session_id == warmed[0]
    same.leave_spare(lambda spark: warmed.append(spark.client._session_id))
    same.close()

    changed = live_project(server, tmp_path, digest="d2")  # a UDF re-registered in place
    fresh = changed.session()
    assert not changed.took_spare and fresh.session_id != warmed[1]
    assert warmed[1] in server.released
    changed.close()


def test_a_worker_records_its_clones_under_its_controller_which_releases_what_is_left(
    tmp_path: Path,
) -> None:
    from sparkpush.sync.unfinished import unfinished_sessions

    server = FakeServer()
    controller = live_project(server, tmp_path)
    controller.lent_to_workers = True
    assert controller.held is not None
    # a pytest-xdist worker: the controller's generation, borrowed, clones recorded under it
    worker = LiveProject(
        controller.config,
        server.target(),
        notify=lambda _: None,
        held=controller.held,
        owner_pid=os.getpid(),
    )
    kept, left = worker.session(), worker.clone()
    owners = {s.session_id: s.pids for s in unfinished_sessions(tmp_path)}
    assert owners == {kept.session_id: (os.getpid(),), left.session_id: (os.getpid(),)}
    worker.release(kept)
    assert server.released == [kept.session_id]
    # the worker dies without releasing `left`: its controller does, the generation never
    controller.close()
    assert server.released == [kept.session_id, left.session_id]
    assert unfinished_sessions(tmp_path) == []
    assert not server.sessions[GENERATION].released


def test_a_worker_s_close_releases_its_own_clones_never_the_borrowed_session(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    controller = live_project(server, tmp_path)
    assert controller.held is not None
    borrowed = replace(controller.held, owned=True)  # a fresh session: the controller's
    worker = LiveProject(
        controller.config, server.target(), lambda _: None, held=borrowed, owner_pid=1
    )
    mine = worker.session()
    worker.close()
    assert server.released == [mine.session_id]


def test_a_taken_spare_is_recorded_until_it_is_released(tmp_path: Path) -> None:
    from sparkpush.sync.unfinished import unfinished_sessions

    server = FakeServer()
    first = live_project(server, tmp_path)
    first.session()
    first.leave_spare(lambda _: None)
    first.close()
    assert unfinished_sessions(tmp_path) == []  # the spare file owns it meanwhile
    second = live_project(server, tmp_path)
    taken = second.session()
    assert second.took_spare
    # a run killed now leaves it recorded: the next sync releases it
    assert [s.session_id for s in unfinished_sessions(tmp_path)] == [taken.session_id]
    second.close()
    assert unfinished_sessions(tmp_path) == []
    assert taken.session_id in server.released


class NoActiveSession(Exception):
    """PySpark's error for a query on a session whose client was closed."""

    def getCondition(self) -> str:  # PySpark's name for it
        return "NO_ACTIVE_SESSION"


def test_a_dataframe_of_the_session_refresh_let_go_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparkpush.live.shell import LiveShell

    server = FakeServer()
    project = live_project(server, tmp_path)
    monkeypatch.setattr(project, "hold", lambda: project.held)  # the generation is current
    lines: list[str] = []
    shell = LiveShell(project, {}, say=lines.append)
    first = shell.start()
    assert shell.error_line(NoActiveSession()) is None  # nothing let go yet: PySpark's own
    shell.refresh()
    line = shell.error_line(NoActiveSession())
    assert line is not None and "spark.refresh() let go: build it again with spark" in line
    assert shell.error_line(ValueError("other")) is None
    assert first.is_stopped and shell.spark is not first
    shell.spark.stop()
    assert shell.error_line(NoActiveSession()) == (
        "sparkpush: spark is stopped: spark.refresh() gives a new one"
    )
    shell.close()


def test_a_controller_that_cloned_nothing_itself_still_leaves_a_spare(tmp_path: Path) -> None:
    server = FakeServer()
    controller = live_project(server, tmp_path)  # its pytest-xdist workers made the clones
    assert controller.clones_supported is None
    controller.leave_spare(lambda _: None)
    controller.close()
    spare = take_spare(tmp_path)
    assert spare is not None and spare.session_id in server.clones
    assert spare.session_id not in server.released
