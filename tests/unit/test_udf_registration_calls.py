"""How a sync registers UDFs, in calls: Java UDFs alone from this process (one call each, on
the sync's connection), Python UDFs through the loader (a process that attaches to the
session: a connection and round trips of its own). In-memory server, recording loader."""

from __future__ import annotations

import queue
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sparkpush.config.settings import Config, JavaUdf
from sparkpush.errors import ServerError, UdfLoadError
from sparkpush.remote import server_facts
from sparkpush.sync.generation import load_generation
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.ready_session import ready_session
from sparkpush.udf.fingerprint import java_udf_fingerprint
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadRequest,
)
from sparkpush.udf.registration import UdfContext, register_project_udfs
from sparkpush.udf.udf_kind import UdfKind
from tests.fake_session import FakeServer


@dataclass
class DoneRun:
    events: queue.Queue[LoaderEvent]

    def next_event(self, timeout: float) -> LoaderEvent:
        return self.events.get(timeout=timeout)

    def kill(self) -> None:
        pass


@dataclass
class RecordingLoader:
    """Registers every Java UDF asked for, as the loader child would; records each load."""

    requests: list[LoadRequest] = field(default_factory=list)

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> DoneRun:
        self.requests.append(request)
        udfs = tuple(
            LoadedUdf(
                name,
                UdfKind.JAVA.value,
                returns,
                class_name,
                java_udf_fingerprint(class_name, returns),
                request.known.get(name) != java_udf_fingerprint(class_name, returns),
            )
            for name, (class_name, returns) in request.java_udfs.items()
        )
        if request.modules:  # one Python UDF of each kind the server parses a type for
            udfs += (
                LoadedUdf("word", UdfKind.SCALAR.value, "string", "udfs.py:3", "f1", True),
                LoadedUdf("plus", UdfKind.PANDAS.value, "bigint", "udfs.py:6", "f2", True),
                LoadedUdf("rows", UdfKind.UDTF.value, "(from analyze)", "udfs.py:9", "f3", True),
            )
        worker = "3.11" if request.modules and request.check_python else None
        events: queue.Queue[LoaderEvent] = queue.Queue()
        events.put(LoaderEvent(LoaderEventKind.DONE, outcome=LoadOutcome(udfs, worker, ())))
        events.put(LoaderEvent.exited(0))
        return DoneRun(events)


def java_project(root: Path, returns: str = "bigint") -> Config:
    return Config(project_root=root, java_udfs={"add_n": JavaUdf("com.ex.AddN", returns)})


def test_java_udfs_are_registered_without_a_loader_and_a_no_op_sync_registers_nothing(
    tmp_path: Path,
) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    first = ready_session(java_project(tmp_path), target, loader=loader)
    assert first.udfs == ("add_n",) and loader.requests == []
    assert server.sessions[first.session_id].java_udfs == {"add_n": ("com.ex.AddN", "bigint")}
    server.rpcs.clear()
    opened = server.opened
    again = ready_session(java_project(tmp_path), target, loader=loader)
    assert again.udfs == () and loader.requests == []
    assert server.rpcs == {"spark_version": 1}  # is the generation alive: nothing else
    assert server.opened - opened == 1


def test_a_changed_java_udf_setting_registers_it_again(tmp_path: Path) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    ready_session(java_project(tmp_path), target, loader=loader)
    again = ready_session(java_project(tmp_path, returns="int"), target, loader=loader)
    assert again.udfs == ("add_n",) and loader.requests == []
    assert server.sessions[again.session_id].java_udfs == {"add_n": ("com.ex.AddN", "int")}


def test_a_java_udf_the_server_refuses_is_one_line_and_the_last_registration_stays(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    target = server.target()
    first = ready_session(java_project(tmp_path), target)
    refusal = "registering add_n failed: [CANNOT_LOAD_CLASS] Cannot load class com.ex.AddN"
    server.fail("register_java_udf", ServerError(refusal, "CANNOT_LOAD_CLASS"))
    with pytest.raises(UdfLoadError) as raised:
        ready_session(java_project(tmp_path, returns="int"), target)
    assert raised.value.message == (
        "java_udfs.add_n: cannot register it: [CANNOT_LOAD_CLASS] Cannot load class com.ex.AddN"
    )
    generation = load_generation(tmp_path)
    assert generation is not None and generation.session_id == first.session_id
    assert generation.udfs.functions["add_n"].return_type == "bigint"


def test_a_java_udf_to_drop_goes_through_the_loader(tmp_path: Path) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    two = Config(
        project_root=tmp_path,
        java_udfs={"add_n": JavaUdf("com.ex.AddN", "bigint"), "old": JavaUdf("com.ex.Old", "int")},
    )
    ready_session(two, target, loader=loader)
    ready_session(java_project(tmp_path), target, loader=loader)
    [request] = loader.requests
    assert set(request.known) == {"add_n", "old"} and set(request.java_udfs) == {"add_n"}


def test_a_reload_tells_the_loader_the_python_return_types_to_ask_ahead(tmp_path: Path) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    config = Config(
        project_root=tmp_path,
        udf_modules=("udfs.py",),
        java_udfs={"add_n": JavaUdf("com.ex.AddN", "bigint")},
    )
    (tmp_path / "udfs.py").write_text("# the loader is a fake: never imported\n")
    ready_session(config, target, loader=loader)
    (tmp_path / "udfs.py").write_text("# changed\n")
    ready_session(config, target, loader=loader)
    first, reload = loader.requests
    assert first.return_types == ()  # a new generation: nothing known yet
    assert reload.return_types == ("bigint", "string")  # not the Java UDF's, not the UDTF's


def test_java_udfs_are_not_registered_in_the_empty_session_of_a_restarted_server(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    target = server.target()
    ready_session(java_project(tmp_path), target)
    generation = load_generation(tmp_path)
    assert generation is not None
    server.restart()  # between the sync's liveness check and the registration
    with pytest.raises(UdfLoadError, match="SESSION_CHANGED"):
        register_project_udfs(
            UdfContext(
                java_project(tmp_path, returns="int"),
                target,
                generation.session_id,
                generation.server_side_session_id,
            ),
            generation.udfs,
            generation=generation.number,
            sources=None,
            force=False,
        )
    after_restart = server.sessions.get(generation.session_id)
    assert after_restart is None or after_restart.java_udfs == {}


class EditedLoader(RecordingLoader):
    """Each load finds the Python UDF `word` changed (a new fingerprint)."""

    def start(self, request: LoadRequest, env: Mapping[str, str], log_path: Path) -> DoneRun:
        self.requests.append(request)
        fingerprint = f"f{len(self.requests)}"
        udf = LoadedUdf("word", UdfKind.SCALAR.value, "string", "udfs.py:3", fingerprint, True)
        events: queue.Queue[LoaderEvent] = queue.Queue()
        worker = "3.11" if request.check_python else None
        events.put(LoaderEvent(LoaderEventKind.DONE, outcome=LoadOutcome((udf,), worker, ())))
        events.put(LoaderEvent.exited(0))
        return DoneRun(events)


def test_a_daemons_next_udf_edit_asks_the_server_nothing_for_its_builtin_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UDF names are checked against the builtins after each registration; a process
    that keeps its caches between syncs (the daemon) lists them once per server."""
    listed: list[int] = []

    def list_functions(_: object) -> frozenset[str]:
        listed.append(1)
        return frozenset({"upper", "lower"})

    monkeypatch.setattr(server_facts, "list_builtin_functions", list_functions)
    server, loader, reuse = FakeServer(), EditedLoader(), ProcessCache()
    target = server.target()
    config = Config(project_root=tmp_path, udf_modules=("udfs.py",))
    (tmp_path / "udfs.py").write_text("# the loader is a fake: never imported\n")
    ready_session(config, target, loader=loader, reuse=reuse)
    (tmp_path / "udfs.py").write_text("# changed\n")
    server.rpcs.clear()
    again = ready_session(config, target, loader=loader, reuse=reuse)
    assert again.udfs  # registered again, so checked again
    assert server.rpcs == {"spark_version": 1}  # is the generation alive: nothing else
    assert len(listed) == 1
