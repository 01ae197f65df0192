"""LiveProject against the in-memory server: clones where the server has CloneSession, the
generation itself where it does not (Spark 4.0), what is released, and the warm spare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.config.settings import load_config
from sparkpush.errors import CloneUnsupportedError
from sparkpush.live.project import HeldGeneration, LiveProject, Revision
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
