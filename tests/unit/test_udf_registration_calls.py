"""When a sync starts the UDF loader (a process that attaches to the session: a connection and
round trips to a remote cluster), against an in-memory server and a recording loader."""

from __future__ import annotations

import queue
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.config import Config, JavaUdf
from sparkpush.project_session import ready_session
from sparkpush.udf.fingerprint import java_udf_fingerprint
from sparkpush.udf.kinds import UdfKind
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadRequest,
)
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


def test_a_no_op_sync_of_a_java_udf_project_starts_no_loader(tmp_path: Path) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    first = ready_session(java_project(tmp_path), target, loader=loader)
    assert first.udfs == ("add_n",) and len(loader.requests) == 1
    again = ready_session(java_project(tmp_path), target, loader=loader)
    assert again.udfs == () and len(loader.requests) == 1


def test_a_changed_java_udf_setting_starts_the_loader_again(tmp_path: Path) -> None:
    server, loader = FakeServer(), RecordingLoader()
    target = server.target()
    ready_session(java_project(tmp_path), target, loader=loader)
    again = ready_session(java_project(tmp_path, returns="int"), target, loader=loader)
    assert again.udfs == ("add_n",) and len(loader.requests) == 2


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
