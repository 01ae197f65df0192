"""Each parent's handshake with its child, through an in-memory `ChildProcess`: what the
parent sends, how it reads the answer, what it does with a child that never answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparkpush.connect.client_environment import TOKEN_ENV
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.errors import UdfLoadError
from sparkpush.processes.child_process import output_within, start_module
from sparkpush.remote.target import Target
from sparkpush.remote.worker_probe import PROBE_MODULE, parse_probe_answer, run_worker_probe
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadRequest,
)
from sparkpush.udf.loading import LOADER_MODULE, ColdLoader, collect
from sparkpush.udf.warm_loader import WARM_MODULE, WarmLoader
from tests.fake_child import FakeChild, FakeStarter

TARGET = Target(parse_connection_string("sc://example:15002/;token=s3cret"), source="test")
WORKERS = {
    "python": "3.11",
    "implementation": "cp",
    "abi": "cp311",
    "system": "linux",
    "machine": "x86_64",
    "platform": "linux_x86_64",
    "glibc": "2.36",
    "executable": "/usr/bin/python3.11",
    "provided": {"pyspark": "4.1.0"},
}


def probe_child(child: FakeChild) -> None:
    """What `python -m sparkpush.remote.worker_probe` does, as its parent sees it."""
    if child.received() is not None:  # it reads nothing: its stdin is closed at once
        child.exit(2)
        return
    child.answer("WARNING: some PySpark noise")
    child.answer(json.dumps({"target": WORKERS}))
    child.exit(0)


def test_the_probe_child_runs_on_a_new_session_and_answers_one_line() -> None:
    starter = FakeStarter(probe_child)
    stdout = run_worker_probe(TARGET, start=starter)
    assert stdout is not None
    answer = parse_probe_answer(stdout)
    assert answer.worker_target is not None and answer.python == "3.11"
    [started] = starter.started
    assert started.module == PROBE_MODULE
    remote = started.env["SPARK_REMOTE"]
    assert remote.startswith("sc://example:15002/") and "session_id=" in remote
    assert "s3cret" not in remote  # the token travels on its own, never in the URL
    assert started.env[TOKEN_ENV] == "s3cret"
    assert started.child.input_closed and started.child.sent == []


def test_each_probe_gets_a_session_of_its_own() -> None:
    starter = FakeStarter(probe_child)
    run_worker_probe(TARGET, start=starter)
    run_worker_probe(TARGET, start=starter)
    first, second = (s.env["SPARK_REMOTE"] for s in starter.started)
    assert first != second


def test_a_probe_child_that_does_not_finish_in_time_is_killed() -> None:
    starter = FakeStarter(FakeChild.hang)
    assert run_worker_probe(TARGET, start=starter, timeout=0.2) is None
    assert starter.started[0].child.killed


REQUEST = LoadRequest(project_root="/project", modules=("udfs.py",))
OUTCOME = LoadOutcome(
    udfs=(LoadedUdf("add_one", "scalar", "bigint", "udfs.py", "f" * 64, True),),
    worker_python="3.11",
    dropped=(),
)


def event(kind: LoaderEventKind, **fields: object) -> str:
    return json.dumps(LoaderEvent(kind, **fields).to_json())  # type: ignore[arg-type]


def loader_child(child: FakeChild) -> None:
    """What `python -m sparkpush.udf.loader_child` does: one request, then events."""
    request = child.received()
    if request is None or child.received() is not None:  # exactly one line, then EOF
        child.exit(2)
        return
    if LoadRequest.from_json(json.loads(request)) != REQUEST:
        child.exit(3)
        return
    child.answer(event(LoaderEventKind.STARTED, pid=child.pid))
    child.answer("a line that is not an event is ignored")
    child.answer(event(LoaderEventKind.IMPORTING, file="udfs.py"))
    child.answer(event(LoaderEventKind.IMPORTED, file="udfs.py"))
    child.answer(event(LoaderEventKind.DONE, outcome=OUTCOME))
    child.exit(0)


def test_the_cold_loader_sends_one_request_and_follows_the_events_to_the_outcome(
    tmp_path: Path,
) -> None:
    starter = FakeStarter(loader_child)
    run = ColdLoader(start=starter).start(REQUEST, {"SPARK_REMOTE": "sc://h"}, tmp_path / "log")
    assert collect(run, import_seconds=30.0) == OUTCOME
    [started] = starter.started
    assert (started.module, started.cwd, started.stderr_path) == (
        LOADER_MODULE,
        "/project",
        tmp_path / "log",
    )
    assert started.child.input_closed and len(started.child.sent) == 1


def test_a_loader_child_that_dies_without_a_word_is_described_by_its_exit(
    tmp_path: Path,
) -> None:
    def crash(child: FakeChild) -> None:
        child.received()
        child.answer(event(LoaderEventKind.IMPORTING, file="udfs.py"))
        child.exit(-9)

    run = ColdLoader(start=FakeStarter(crash)).start(REQUEST, {}, tmp_path / "log")
    with pytest.raises(UdfLoadError, match=r"udfs\.py.*SIGKILL"):
        collect(run, import_seconds=30.0)


def test_a_module_that_imports_forever_gets_its_child_killed(tmp_path: Path) -> None:
    def endless_import(child: FakeChild) -> None:
        child.received()
        child.answer(event(LoaderEventKind.IMPORTING, file="udfs.py"))

    starter = FakeStarter(endless_import)
    run = ColdLoader(start=starter).start(REQUEST, {}, tmp_path / "log")
    with pytest.raises(UdfLoadError, match=r"udfs\.py: still loading after 0\.2 s"):
        collect(run, import_seconds=0.2)
    assert starter.started[0].child.killed


def test_the_real_child_speaks_lines_and_is_waited_for(tmp_path: Path) -> None:
    child = start_module("json.tool", {"PATH": "/usr/bin:/bin"}, stderr_path=tmp_path / "err")
    child.send_line('{"a": 1}')
    child.close_input()
    assert json.loads(output_within(child, 60.0) or "") == {"a": 1}
    assert (tmp_path / "err").stat().st_mode & 0o077 == 0


def warm_process(child: FakeChild) -> None:
    """What `python -m sparkpush.udf.warm_loader` does: per request line, its fork's events,
    then the fork's EXIT; EOF ends it."""
    while (line := child.received()) is not None:
        message = json.loads(line)
        if LoadRequest.from_json(message["request"]) != REQUEST:
            child.exit(3)
            return
        child.answer(event(LoaderEventKind.STARTED, pid=child.pid + 1))
        child.answer(event(LoaderEventKind.IMPORTING, file="udfs.py"))
        child.answer(event(LoaderEventKind.IMPORTED, file="udfs.py"))
        child.answer(event(LoaderEventKind.DONE, outcome=OUTCOME))
        child.answer(event(LoaderEventKind.EXIT, status=0))
    child.exit(0)


LOAD_ENV = {"SPARK_REMOTE": "sc://h/;session_id=s", TOKEN_ENV: "s3cret", "PATH": "/bin"}


def test_the_warm_loader_starts_one_process_without_the_token_and_sends_each_load_as_a_line(
    tmp_path: Path,
) -> None:
    starter = FakeStarter(warm_process)
    with WarmLoader(start=starter) as warm:
        warm.warm_up(LOAD_ENV, tmp_path / "log")
        [started] = starter.started
        assert started.child.sent == []  # started ahead of the first load, nothing asked yet
        for _ in range(2):
            assert collect(warm.start(REQUEST, LOAD_ENV, tmp_path / "log"), 30.0) == OUTCOME
    assert len(starter.started) == 1
    assert (started.module, started.stderr_path) == (WARM_MODULE, tmp_path / "log")
    assert TOKEN_ENV not in started.env  # the long-lived process never holds it
    # each fork gets the session's environment with its load
    assert [json.loads(line)["env"] for line in started.child.sent] == [LOAD_ENV, LOAD_ENV]
    assert started.child.input_closed


def test_a_warm_process_that_died_is_started_again_for_the_next_load(tmp_path: Path) -> None:
    def dies_at_its_first_load(child: FakeChild) -> None:
        child.received()
        child.answer(event(LoaderEventKind.STARTED, pid=child.pid + 1))
        child.exit(-9)

    scripts = iter([dies_at_its_first_load, warm_process])
    starter = FakeStarter(lambda child: next(scripts)(child))
    with WarmLoader(start=starter) as warm:
        with pytest.raises(UdfLoadError, match="SIGKILL"):
            collect(warm.start(REQUEST, LOAD_ENV, tmp_path / "log"), 30.0)
        assert collect(warm.start(REQUEST, LOAD_ENV, tmp_path / "log"), 30.0) == OUTCOME
    assert len(starter.started) == 2
