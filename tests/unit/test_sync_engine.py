"""The sync engine against an in-memory server: generations, in-place adds, releases.

Every test runs twice, both ways a generation is one session of its own (today's behaviour):
with `[tool.sparkpush.layers] enabled = false`, and on a server without CloneSession (Spark
4.0). Layered generations are tested in test_sync_layers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.artifacts.planner import PlanAction
from sparkpush.config.settings import ArtifactSettings, Config, LayerSettings
from sparkpush.errors import (
    CallCancelledError,
    ServerError,
    ServerUnavailableError,
    SparkpushError,
)
from sparkpush.remote.target import Target
from sparkpush.sync.engine import release_generations, sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import UnfinishedSession, record_unfinished, unfinished_sessions
from sparkpush.workerout.settings import LOGGING_CONF
from tests.fake_session import FakeServer


@pytest.fixture(params=["layers-off", "no-clone-server"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    server = FakeServer(supports_clone=request.param != "no-clone-server")
    yield server
    assert server.closed == server.opened, "every session the engine opened is closed"


@pytest.fixture
def target(server: FakeServer) -> Target:
    return server.target()


@pytest.fixture
def config(tmp_path: Path, server: FakeServer) -> Config:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "jobs.py").write_text("def run(): return 1\n")
    return Config(
        project_root=tmp_path,
        conf={"spark.sql.shuffle.partitions": "4"},
        artifacts=ArtifactSettings(pyfiles=("src/*.py",), files=("*.txt",)),
        layers=LayerSettings(enabled=server.supports_clone is False),
    )


def test_the_first_sync_builds_generation_one_with_every_artifact(
    server: FakeServer, target: Target, config: Config
) -> None:
    result = sync_project(config, target)
    assert (result.action, result.generation) == (PlanAction.NEW_GENERATION, 1)
    assert [a.name for a in result.uploaded] == ["pyfiles/jobs.py"]
    session = server.sessions[result.session_id]
    assert session.artifacts == {"pyfiles/jobs.py": b"def run(): return 1\n"}
    assert session.conf == {"spark.sql.shuffle.partitions": "4", LOGGING_CONF: "true"}
    generation = load_generation(config.project_root)
    assert generation is not None and generation.session_id == result.session_id
    assert generation.server_side_session_id == session.server_side_session_id
    assert unfinished_sessions(config.project_root) == []


def test_an_added_file_is_uploaded_into_the_current_session(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "notes.txt").write_text("new\n")
    second = sync_project(config, target)
    assert second.action is PlanAction.ADD_IN_PLACE
    assert (second.session_id, second.generation) == (first.session_id, 1)
    assert [a.name for a in second.uploaded] == ["files/notes.txt"]
    assert second.skipped == 1
    assert set(server.stored(first.session_id)) == {"pyfiles/jobs.py", "files/notes.txt"}


def test_nothing_changed_sends_nothing(server: FakeServer, target: Target, config: Config) -> None:
    first = sync_project(config, target)
    again = sync_project(config, target)
    assert again.action is PlanAction.NOTHING
    assert (again.session_id, again.uploaded) == (first.session_id, ())
    assert len(server.calls) == 1


def test_a_no_op_sync_asks_the_server_one_question(
    server: FakeServer, target: Target, config: Config
) -> None:
    # each call is a round trip to a remote cluster: only whether the session is alive
    sync_project(config, target)
    server.rpcs.clear()
    sync_project(config, target)
    assert server.rpcs == {"spark_version": 1}


def test_a_new_generation_asks_nothing_beyond_building_it(
    server: FakeServer, target: Target, config: Config
) -> None:
    sync_project(config, target)
    server.rpcs.clear()
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    sync_project(config, target)
    # the upload confirms the new session; the old one is released, never probed; a server
    # without CloneSession is asked its version (what it was found to lack is remembered by it)
    version = {"spark_version": 1} if config.layers.enabled else {}
    assert server.rpcs == {"add_artifacts": 1, "set_conf": 1, "release_session": 1, **version}


def test_a_new_generation_with_nothing_to_send_is_confirmed_by_the_server(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = Config(project_root=tmp_path, layers=LayerSettings(enabled=False))
    result = sync_project(config, target)
    generation = load_generation(tmp_path)
    assert generation is not None
    assert (
        generation.server_side_session_id
        == server.sessions[result.session_id].server_side_session_id
    )


def test_a_changed_file_starts_a_new_generation_and_releases_the_old_one(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target)
    assert (second.action, second.generation) == (PlanAction.NEW_GENERATION, 2)
    assert second.session_id != first.session_id
    assert second.reasons == ("changed: pyfiles/jobs.py",)
    assert second.released == (first.session_id,)
    assert server.released == [first.session_id]
    generation = load_generation(config.project_root)
    assert generation is not None and generation.pending_release == ()


def test_keep_old_leaves_the_previous_generation_pending(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target, keep_old=True)
    assert second.released == () and server.released == []
    generation = load_generation(config.project_root)
    assert generation is not None and generation.pending_release == (first.session_id,)


def test_a_name_the_server_already_holds_falls_back_to_a_new_generation(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    # another client put other bytes under the name this sync is about to add
    server.sessions[first.session_id].artifacts["files/notes.txt"] = b"theirs\n"
    (config.project_root / "notes.txt").write_text("ours\n")
    second = sync_project(config, target)
    assert (second.action, second.generation) == (PlanAction.NEW_GENERATION, 2)
    assert server.stored(second.session_id)["files/notes.txt"] == b"ours\n"
    assert second.released == (first.session_id,)


def test_a_restarted_server_gets_a_new_generation(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    server.restart()
    second = sync_project(config, target)
    assert (second.action, second.generation) == (PlanAction.NEW_GENERATION, 2)
    assert second.reasons == ("no current session",)
    assert server.stored(second.session_id) == {"pyfiles/jobs.py": b"def run(): return 1\n"}
    assert second.released == (first.session_id,)  # already gone there: nothing left to do


@pytest.mark.parametrize(
    "failure",
    [ServerUnavailableError("cannot reach"), CallCancelledError("releasing: cut off")],
    ids=["unreachable", "cancelled"],
)
def test_an_old_generation_not_reached_stays_pending_until_a_later_sync(
    server: FakeServer, target: Target, config: Config, failure: SparkpushError
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    server.fail("release_session", failure)
    second = sync_project(config, target)
    assert second.released == ()
    generation = load_generation(config.project_root)
    assert generation is not None and generation.pending_release == (first.session_id,)
    third = sync_project(config, target)
    assert (third.action, third.released) == (PlanAction.NOTHING, (first.session_id,))
    generation = load_generation(config.project_root)
    assert generation is not None and generation.pending_release == ()


def test_a_generation_that_fails_midway_is_released_and_the_old_one_keeps_serving(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    server.fail("set_conf", ServerError("setting Spark confs failed: bad value"))
    with pytest.raises(ServerError):
        sync_project(config, target)
    generation = load_generation(config.project_root)
    assert generation is not None and generation.session_id == first.session_id
    (failed,) = (s for s in server.sessions if s != first.session_id)
    assert server.released == [failed]
    assert unfinished_sessions(config.project_root) == []


def test_a_failed_generation_not_released_is_released_by_the_next_sync(
    server: FakeServer, target: Target, config: Config
) -> None:
    server.fail("set_conf", ServerError("setting Spark confs failed: bad value"))
    server.fail("release_session", ServerUnavailableError("cannot reach"))
    with pytest.raises(ServerError):
        sync_project(config, target)
    (left,) = unfinished_sessions(config.project_root)
    result = sync_project(config, target)
    assert server.released == [left.session_id]
    assert result.session_id != left.session_id
    assert unfinished_sessions(config.project_root) == []


def test_a_killed_run_s_session_is_released_and_other_servers_are_left_alone(
    server: FakeServer, target: Target, config: Config
) -> None:
    killed = server.open()
    killed.spark_version()  # the session exists on the server
    killed.close()
    here = UnfinishedSession(target.spec.display(), killed.session_id)
    elsewhere = UnfinishedSession("sc://other.invalid:15002", "elsewhere-session")
    record_unfinished(config.project_root, here)
    record_unfinished(config.project_root, elsewhere)
    sync_project(config, target)
    assert server.released == [killed.session_id]
    assert unfinished_sessions(config.project_root) == [elsewhere]


def test_releasing_generations_forgets_the_released_and_keeps_the_unreached(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target, keep_old=True)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 3\n")
    sync_project(config, target, keep_old=True)
    server.fail("release_session", ServerUnavailableError("cannot reach"))
    release_generations(config, target, [first.session_id, second.session_id])
    assert server.released == [second.session_id]
    generation = load_generation(config.project_root)
    assert generation is not None and generation.pending_release == (first.session_id,)


def test_a_run_killed_after_switching_keeps_its_session_as_the_current_one(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    here = UnfinishedSession(target.spec.display(), first.session_id)
    record_unfinished(config.project_root, here)  # saved the generation, died before forgetting
    again = sync_project(config, target)
    assert (again.action, again.session_id) == (PlanAction.NOTHING, first.session_id)
    assert server.released == []
    assert unfinished_sessions(config.project_root) == []
