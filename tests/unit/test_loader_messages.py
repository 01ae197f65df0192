"""The UDF loader's events read back what the child wrote; anything else is no event."""

from __future__ import annotations

import io
import json
import queue

import pytest

from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadProblem,
    LoadRequest,
)
from sparkpush.udf.loading import read_events

UDF = LoadedUdf("plus_one", "python", "bigint", "udfs.py", "f" * 64, registered=True)

EVENTS = [
    LoaderEvent(LoaderEventKind.STARTED, pid=4242),
    LoaderEvent(LoaderEventKind.PYTHON, worker="3.11"),
    LoaderEvent(LoaderEventKind.IMPORTING, file="udfs.py"),
    LoaderEvent(LoaderEventKind.IMPORTED, file="udfs.py"),
    LoaderEvent(LoaderEventKind.REGISTERING),
    LoaderEvent(
        LoaderEventKind.PROBLEM,
        problem=LoadProblem("import", file="udfs.py", line=3, error_type="NameError", message="x"),
    ),
    LoaderEvent(LoaderEventKind.DONE, outcome=LoadOutcome((UDF,), "3.11", ("old_udf",))),
    LoaderEvent.exited(1),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.kind.value for e in EVENTS])
def test_each_event_reads_back_from_its_json_line(event: LoaderEvent) -> None:
    line = json.dumps(event.to_json())
    assert json.loads(line)["event"] == event.kind.value
    assert LoaderEvent.from_json(json.loads(line)) == event


def test_lines_that_are_no_event_are_skipped() -> None:
    stream = io.BytesIO(
        b"not json\n"
        b"[1, 2]\n"
        b'{"event": "reboot"}\n'
        b'{"no_event": 1}\n' + json.dumps(LoaderEvent.exited(0).to_json()).encode() + b"\n"
    )
    events: queue.Queue[LoaderEvent] = queue.Queue()
    read_events(stream, events)
    assert events.get_nowait() == LoaderEvent.exited(0)
    assert events.empty()


def test_a_request_reads_back_from_its_json_line_with_the_types_to_ask_ahead() -> None:
    request = LoadRequest(
        project_root="/p",
        modules=("udfs.py",),
        java_udfs={"add_n": ("com.ex.AddN", "bigint")},
        known={"word": "f" * 64},
        return_types=("bigint", "string"),
    )
    line = json.dumps(request.to_json())
    assert LoadRequest.from_json(json.loads(line)) == request


def test_a_request_from_an_older_parent_asks_nothing_ahead() -> None:
    document = LoadRequest(project_root="/p").to_json()
    del document["return_types"]
    assert LoadRequest.from_json(document).return_types == ()
