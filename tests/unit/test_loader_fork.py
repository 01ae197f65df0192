"""A UDF load in a fork (the warm loader's and the pre-forked script process's way)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import sys
import threading
from pathlib import Path

import pytest

from sparkpush.udf.loader_child import EXIT_PROBLEM
from sparkpush.udf.loader_fork import SpareFork, load_in_fork
from sparkpush.udf.loader_messages import LoaderEvent, LoaderEventKind, LoadRequest
from sparkpush.udf.warm_loader import serve
from tests.support import wait_until

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_without_a_session(tmp_path: Path, log_path: str | None) -> tuple[int, list[LoaderEvent]]:
    """A load whose environment names no server: the fork reports a problem and exits."""
    env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    read_end, write_end = os.pipe()
    try:
        status = load_in_fork(request, env, write_end, log_path)
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as events:
        return status, [LoaderEvent.from_json(json.loads(line)) for line in events]


def test_the_forks_events_end_with_its_exit_status(tmp_path: Path) -> None:
    status, events = load_without_a_session(tmp_path, str(tmp_path / "loader.log"))
    assert status == EXIT_PROBLEM
    kinds = [event.kind for event in events]
    assert kinds == [LoaderEventKind.STARTED, LoaderEventKind.PROBLEM, LoaderEventKind.EXIT]
    assert events[0].pid != os.getpid()
    assert events[-1].status == EXIT_PROBLEM


def test_what_the_fork_prints_goes_to_a_private_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "loader.log"
    log.write_text("the previous load\n")
    with capfd.disabled():  # sys.stderr is file descriptor 2 again, as in a real process
        load_without_a_session(tmp_path, str(log))
    text = log.read_text()
    assert "KeyError: 'SPARK_REMOTE'" in text
    assert "the previous load" not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_forking_process_keeps_its_environment_and_directory(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), sys.stdout)
    load_without_a_session(tmp_path, str(tmp_path / "loader.log"))
    assert (dict(os.environ), os.getcwd(), sys.stdout) == before


def children_of_this_process() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_spare_fork_waits_for_its_request_and_runs_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    read_end, write_end = os.pipe()
    try:
        spare = SpareFork(write_end, str(tmp_path / "loader.log"))
        assert spare.pid in children_of_this_process()  # forked before any request
        status = spare.load(request, env)
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as lines:
        events = [LoaderEvent.from_json(json.loads(line)) for line in lines]
    assert status == EXIT_PROBLEM
    assert events[0].kind is LoaderEventKind.STARTED and events[0].pid == spare.pid
    assert events[-1].kind is LoaderEventKind.EXIT


def test_a_discarded_spare_exits_having_said_nothing(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        spare = SpareFork(write_end)
        spare.discard()
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as lines:
        assert lines.read() == ""
    assert spare.pid not in children_of_this_process()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_the_warm_process_forks_each_load_before_its_request_arrives(tmp_path: Path) -> None:
    """The fork (tens of ms with PySpark imported) is off the path from an edit to its
    answer: the process that runs a load existed before that load's request was sent."""
    env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    line = (json.dumps({"env": env, "request": request}) + "\n").encode()
    before = children_of_this_process()
    waiting: list[int] = []

    def send_each_request_to_a_waiting_spare(requests: int) -> None:
        with os.fdopen(requests, "wb") as pipe:
            for _ in range(2):
                [spare] = wait_until(lambda: children_of_this_process() - before - set(waiting), 30)
                waiting.append(spare)
                pipe.write(line)
                pipe.flush()

    requests_in, requests_out = os.pipe()
    events_in, events_out = os.pipe()
    sender = threading.Thread(target=send_each_request_to_a_waiting_spare, args=(requests_out,))
    sender.start()
    try:
        serve(requests_in, events_out, spare_delay=0.05)
    finally:
        sender.join(60)
        os.close(requests_in)
        os.close(events_out)
    with os.fdopen(events_in) as lines:
        events = [LoaderEvent.from_json(json.loads(text)) for text in lines]
    assert [e.pid for e in events if e.kind is LoaderEventKind.STARTED] == waiting
    assert [e.status for e in events if e.kind is LoaderEventKind.EXIT] == [EXIT_PROBLEM] * 2
    assert children_of_this_process() == before  # the last spare is gone with the input


def test_a_request_before_the_next_spare_is_made_gets_a_fork_of_its_own(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    line = (json.dumps({"env": env, "request": request}) + "\n").encode()
    requests_in, requests_out = os.pipe()
    events_in, events_out = os.pipe()
    os.write(requests_out, line * 3)  # back to back: no time for a spare between them
    os.close(requests_out)
    try:
        serve(requests_in, events_out, spare_delay=60.0)
    finally:
        os.close(requests_in)
        os.close(events_out)
    with os.fdopen(events_in) as lines:
        events = [LoaderEvent.from_json(json.loads(text)) for text in lines]
    started = [e.pid for e in events if e.kind is LoaderEventKind.STARTED]
    assert len(set(started)) == 3
    assert [e.status for e in events if e.kind is LoaderEventKind.EXIT] == [EXIT_PROBLEM] * 3


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling policies")
def test_a_spare_waits_at_idle_priority_and_its_load_runs_as_usual(tmp_path: Path) -> None:
    """What a spare does ahead never takes a core from the query the user runs meanwhile;
    its load, once it came, runs at the usual priority."""
    port = free_port()  # nothing listens: the load keeps retrying its first call
    env = {**os.environ, "SPARK_REMOTE": f"sc://127.0.0.1:{port}"}
    request = LoadRequest(project_root=str(tmp_path), modules=("udfs.py",)).to_json()
    read_end, write_end = os.pipe()
    spare = SpareFork(write_end)
    loading = threading.Thread(target=spare.load, args=(request, env), daemon=True)
    try:
        wait_until(lambda: os.sched_getscheduler(spare.pid) == os.SCHED_IDLE, 30)
        loading.start()
        wait_until(lambda: os.sched_getscheduler(spare.pid) == os.SCHED_OTHER, 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare.pid, signal.SIGKILL)
        loading.join(30)
        os.close(write_end)
        os.close(read_end)
