"""Layered generations against an in-memory server: a clone of a base plus the code layer."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.artifacts.class_jar import class_jar_name
from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.planner import PlanAction
from sparkpush.config.settings import ArtifactSettings, Config, LayerSettings
from sparkpush.errors import ServerError, ServerUnavailableError
from sparkpush.remote.server_facts import CLONE_SESSION, ServerFacts
from sparkpush.remote.target import Target
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import unfinished_sessions
from sparkpush.workerout.settings import LOGGING_CONF
from tests.fake_session import FakeServer

CLASS_JAR = class_jar_name(Path("/project/classes"), Path("/project"))
CODE = {"pyfiles/jobs.py", CLASS_JAR}
BASE = {"jars/dep.jar", "files/lookup.txt", "pyfiles/wheelmod-1.0-py3-none-any.zip"}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    assert server.closed == server.opened, "every session the engine opened is closed"


@pytest.fixture
def target(server: FakeServer) -> Target:
    return server.target()


def make_wheel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("wheelmod.py", "X = 1\n")
        wheel.writestr("wheelmod-1.0.dist-info/WHEEL", "Root-Is-Purelib: true\nTag: py3-none-any\n")


def project(root: Path, **layers: object) -> Config:
    (root / "src").mkdir()
    (root / "src" / "jobs.py").write_text("def run(): return 1\n")
    (root / "classes" / "p").mkdir(parents=True)
    (root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe v1")
    (root / "lib").mkdir()
    (root / "lib" / "dep.jar").write_bytes(b"dependency v1" * 1000)
    (root / "lookup.txt").write_text("lookup\n")
    (root / "dist").mkdir()
    make_wheel(root / "dist" / "wheelmod-1.0-py3-none-any.whl")
    return Config(
        project_root=root,
        conf={"spark.sql.shuffle.partitions": "4"},
        artifacts=ArtifactSettings(
            pyfiles=("src/*.py",),
            classes=("classes",),
            jars=("lib/*.jar",),
            files=("*.txt",),
            wheels=("dist/*.whl",),
        ),
        layers=LayerSettings(**layers),  # type: ignore[arg-type]
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return project(tmp_path)


def test_the_first_sync_builds_a_base_and_a_clone_of_it_with_the_code(
    server: FakeServer, target: Target, config: Config
) -> None:
    result = sync_project(config, target)
    assert (result.action, result.layer, result.layers) == (
        PlanAction.NEW_GENERATION,
        Layer.BASE,
        True,
    )
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    base = server.sessions[generation.base.session_id]
    assert set(base.artifacts) == BASE
    assert base.conf == {"spark.sql.shuffle.partitions": "4", LOGGING_CONF: "true"}
    assert server.clones == [result.session_id]
    clone = server.sessions[result.session_id]
    assert set(clone.artifacts) == BASE | CODE
    assert clone.conf == base.conf
    assert set(generation.base.names) == BASE
    assert generation.base.server_side_session_id == base.server_side_session_id
    assert result.bytes == sum(len(data) for data in clone.artifacts.values())
    assert unfinished_sessions(config.project_root) == []


def test_a_code_change_clones_the_same_base_and_sends_only_the_code(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    base_id = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    server.calls.clear()
    (config.project_root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe v2")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.CODE)
    assert second.reasons == (f"changed: {CLASS_JAR}",)
    assert {a.name for a in second.uploaded} == CODE
    assert second.bytes == sum(len(server.stored(second.session_id)[name]) for name in CODE)
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert generation.base.session_id == base_id
    assert set(server.stored(second.session_id)) == BASE | CODE
    with zipfile.ZipFile(io.BytesIO(server.stored(second.session_id)[CLASS_JAR])) as jar:
        assert jar.read("p/A.class").endswith(b"v2")
    assert server.released == [first.session_id]  # the base keeps serving later clones
    assert generation.entries["jars/dep.jar"].generation == 1
    assert generation.entries[CLASS_JAR].generation == 2


def test_a_code_change_asks_nothing_first_its_clone_of_the_base_is_the_question(
    server: FakeServer, target: Target, config: Config
) -> None:
    # each call is a round trip to a remote cluster: the clone's plan needs the base alive,
    # not the generation it replaces, and the clone itself fails on a base the server lost
    sync_project(config, target)
    server.rpcs.clear()
    (config.project_root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe v2")
    sync_project(config, target)
    assert server.rpcs == {
        "clone_session": 1,
        "add_artifacts": 1,
        "release_session": 1,
    }


def test_a_code_change_whose_generation_is_gone_still_clones_the_live_base(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    base_id = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    server.sessions[first.session_id].released = True  # expired, or released by someone else
    (config.project_root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe v2")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.CODE)
    assert load_generation(config.project_root).base.session_id == base_id  # type: ignore[union-attr]
    assert set(server.stored(second.session_id)) == BASE | CODE


def test_a_code_change_after_a_server_restart_builds_everything_anew(
    server: FakeServer, target: Target, config: Config
) -> None:
    sync_project(config, target)
    server.restart()
    (config.project_root / "classes" / "p" / "A.class").write_bytes(b"\xca\xfe\xba\xbe v2")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert set(server.stored(second.session_id)) == BASE | CODE


def test_a_base_change_builds_a_new_base_and_releases_the_old_generation_then_its_base(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    old_base = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    (config.project_root / "lib" / "dep.jar").write_bytes(b"dependency v2")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert second.reasons == ("changed: jars/dep.jar",)
    assert {a.name for a in second.uploaded} == BASE | CODE
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert generation.base.session_id != old_base
    assert server.released == [first.session_id, old_base]
    assert second.released == (first.session_id, old_base)


def test_changed_confs_build_a_new_base(server: FakeServer, target: Target, config: Config) -> None:
    sync_project(config, target)
    changed = Config(**{**config.__dict__, "conf": {"spark.sql.shuffle.partitions": "8"}})
    second = sync_project(changed, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert second.reasons == ("changed: session confs",)
    assert server.sessions[second.session_id].conf == {
        "spark.sql.shuffle.partitions": "8",
        LOGGING_CONF: "true",
    }


def test_a_new_base_file_is_added_in_place_to_the_generation_and_its_base(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "more.txt").write_text("more\n")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.ADD_IN_PLACE, Layer.BASE)
    assert second.session_id == first.session_id
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert "files/more.txt" in server.stored(generation.base.session_id)
    assert "files/more.txt" in generation.base.names
    # the next code change clones a base that has it
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    third = sync_project(config, target)
    assert third.layer is Layer.CODE
    assert "files/more.txt" in server.stored(third.session_id)


def test_a_new_code_file_is_added_in_place_to_the_generation_only(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "src" / "more.py").write_text("Y = 1\n")
    second = sync_project(config, target)
    assert (second.action, second.layer, second.session_id) == (
        PlanAction.ADD_IN_PLACE,
        Layer.CODE,
        first.session_id,
    )
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert "pyfiles/more.py" not in server.stored(generation.base.session_id)


def test_a_base_gone_from_the_server_is_rebuilt_at_the_next_code_change(
    server: FakeServer, target: Target, config: Config
) -> None:
    sync_project(config, target)
    base_id = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    server.sessions[base_id].released = True  # expired or released by someone else
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert second.reasons == ("base session gone",)
    assert set(server.stored(second.session_id)) == BASE | CODE


@pytest.mark.parametrize("how", ["released", "restart", "removed"])
def test_a_code_change_whose_clone_finds_the_base_gone_builds_a_new_base(
    server: FakeServer, target: Target, config: Config, how: str
) -> None:
    sync_project(config, target)
    base_id = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    if how == "released":
        server.sessions[base_id].released = True  # SESSION_CLOSED
    elif how == "restart":
        server.restart()  # SESSION_CHANGED
    else:
        del server.sessions[base_id]  # SESSION_NOT_FOUND
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert server.rpcs["clone_session"] >= 2  # the failed clone, then the new base's
    refused = server.clone_calls[1][0]
    assert refused not in server.sessions  # refused before any copy: nothing to settle or release
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert generation.base.session_id != base_id
    assert set(server.stored(second.session_id)) == BASE | CODE
    assert unfinished_sessions(config.project_root) == []


def test_code_globs_count_a_rebuilt_jar_as_code(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = project(tmp_path, code=["jars/dep*.jar"])
    sync_project(config, target)
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert "jars/dep.jar" not in generation.base.names
    (config.project_root / "lib" / "dep.jar").write_bytes(b"dependency v2")
    second = sync_project(config, target)
    assert second.layer is Layer.CODE
    assert {a.name for a in second.uploaded} == CODE | {"jars/dep.jar"}


def test_layers_disabled_builds_one_session_per_generation(
    server: FakeServer, target: Target, tmp_path: Path
) -> None:
    config = project(tmp_path, enabled=False)
    result = sync_project(config, target)
    assert (result.layers, result.layer, server.clones) == (False, None, [])
    assert set(server.stored(result.session_id)) == BASE | CODE
    assert len(server.sessions) == 1


def test_a_server_without_clone_session_gets_single_sessions_and_is_asked_once(
    server: FakeServer, target: Target, config: Config
) -> None:
    server.supports_clone = False
    first = sync_project(config, target)
    assert (first.layers, first.layer) == (False, None)
    assert set(server.sessions) == {first.session_id}  # the would-be base became the generation
    assert set(server.stored(first.session_id)) == BASE | CODE
    with target.session() as asking:
        assert ServerFacts(target, asking).known(CLONE_SESSION) is False
    server.supports_clone = True  # would clone now, but the answer is remembered
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target)
    assert (second.layers, server.clones) == (False, [])
    assert server.released == [first.session_id]


def test_a_build_failing_after_the_clone_releases_the_clone_and_the_new_base(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    (config.project_root / "lib" / "dep.jar").write_bytes(b"dependency v2")

    def failing(session: object, generation: object) -> object:
        raise ServerError("registering UDFs failed")

    with pytest.raises(ServerError):
        sync_project(config, target, prepare_generation=failing)  # type: ignore[arg-type]
    generation = load_generation(config.project_root)
    assert generation is not None and generation.session_id == first.session_id
    new_clone = server.clones[-1]
    assert generation.base is not None
    new_base = next(
        s
        for s in server.sessions
        if s not in {first.session_id, generation.base.session_id, *server.clones}
    )
    assert server.released == [new_clone, new_base]
    assert unfinished_sessions(config.project_root) == []


def test_a_base_and_clone_left_by_a_killed_build_are_released_by_the_next_sync(
    server: FakeServer, target: Target, config: Config
) -> None:
    server.fail("set_conf", ServerError("setting Spark confs failed: bad value"))
    server.fail("release_session", ServerUnavailableError("cannot reach"))
    with pytest.raises(ServerError):
        sync_project(config, target)
    (left,) = unfinished_sessions(config.project_root)
    result = sync_project(config, target)
    assert server.released == [left.session_id]
    assert result.layers and unfinished_sessions(config.project_root) == []


def test_a_clone_left_unreleased_stays_recorded_until_released(
    server: FakeServer, target: Target, config: Config
) -> None:
    def failing(session: object, generation: object) -> object:
        raise ServerError("registering UDFs failed")

    server.fail("release_session", ServerUnavailableError("cannot reach"))
    with pytest.raises(ServerError):
        sync_project(config, target, prepare_generation=failing)  # type: ignore[arg-type]
    recorded = {s.session_id for s in unfinished_sessions(config.project_root)}
    (clone,) = server.clones
    assert recorded == {clone}  # not reached; its base was released
    sync_project(config, target)
    assert clone in server.released
    assert unfinished_sessions(config.project_root) == []


def test_a_new_jar_with_a_code_change_joins_the_base_before_the_clone(
    server: FakeServer, target: Target, config: Config
) -> None:
    first = sync_project(config, target)
    base_id = load_generation(config.project_root).base.session_id  # type: ignore[union-attr]
    (config.project_root / "lib" / "more.jar").write_bytes(b"another dependency")
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    second = sync_project(config, target)
    assert (second.action, second.layer) == (PlanAction.NEW_GENERATION, Layer.CODE)
    assert {a.name for a in second.uploaded} == CODE | {"jars/more.jar"}
    generation = load_generation(config.project_root)
    assert generation is not None and generation.base is not None
    assert generation.base.session_id == base_id
    assert "jars/more.jar" in generation.base.names
    assert "jars/more.jar" in server.stored(base_id)
    assert set(server.stored(second.session_id)) == BASE | CODE | {"jars/more.jar"}
    assert server.released == [first.session_id]
    assert sync_project(config, target).action is PlanAction.NOTHING


def test_a_clone_recorded_by_a_live_run_is_left_alone_and_released_once_it_is_gone(
    server: FakeServer, target: Target, config: Config
) -> None:
    import subprocess
    import sys

    from sparkpush.sync.unfinished import UnfinishedSession, record_unfinished

    sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    running = server.open()
    running.spark_version()
    running.close()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    ended = server.open()
    ended.spark_version()
    ended.close()
    here = target.spec.display()
    record_unfinished(
        config.project_root, UnfinishedSession(here, running.session_id, pids=(os.getpid(),))
    )
    record_unfinished(
        config.project_root, UnfinishedSession(here, ended.session_id, pids=(int(gone.stdout),))
    )
    sync_project(config, target)
    assert ended.session_id in server.released
    assert running.session_id not in server.released
    assert [s.session_id for s in unfinished_sessions(config.project_root)] == [running.session_id]


def test_a_clone_whose_run_was_killed_stays_while_its_script_still_runs(
    config: Config, target: Target, server: FakeServer
) -> None:
    """`kill -9` of `connect submit --attach`: the submit is gone, its script's process may not
    be yet; the clone is not released under it."""
    import subprocess
    import sys

    from sparkpush.sync.unfinished import (
        UnfinishedSession,
        add_unfinished_owner,
        record_unfinished,
    )

    sync_project(config, target)
    (config.project_root / "src" / "jobs.py").write_text("def run(): return 2\n")
    clone = server.open()
    clone.spark_version()
    clone.close()
    killed_submit = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    here = target.spec.display()
    record_unfinished(
        config.project_root,
        UnfinishedSession(here, clone.session_id, pids=(int(killed_submit.stdout),)),
    )
    script = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        add_unfinished_owner(config.project_root, clone.session_id, script.pid)
        sync_project(config, target)
        assert clone.session_id not in server.released
    finally:
        script.kill()
        script.wait()
    sync_project(config, target)
    assert clone.session_id in server.released
    assert unfinished_sessions(config.project_root) == []


def test_a_record_written_with_one_pid_is_still_read(config: Config) -> None:
    from sparkpush.state.folders import state_dir
    from sparkpush.state.private_files import write_private_json

    write_private_json(
        state_dir(config.project_root) / "unfinished.json",
        {"sessions": [{"remote": "sc://x:1", "session_id": "s", "pid": 42}]},
    )
    [session] = unfinished_sessions(config.project_root)
    assert session.pids == (42,)
