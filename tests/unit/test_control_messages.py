"""The daemon's control-socket records read back what they wrote, and refuse other forms."""

from __future__ import annotations

import json

import pytest

from sparkpush.artifacts.planner import PlanAction
from sparkpush.daemon.control_messages import (
    ControlOp,
    ControlRequest,
    DaemonStatus,
    DaemonSync,
    GenerationReply,
    ProtocolError,
    decode,
    encode,
)
from sparkpush.sync.summary import SyncSummary

SUMMARY = SyncSummary(
    session_id="s-1",
    generation=3,
    action=PlanAction.NEW_GENERATION,
    uploaded=2,
    skipped=5,
    bytes=1024,
    seconds=0.25,
    reasons=("jars/a.jar changed",),
    released=(),
    warnings=(),
    udfs=("plus_one",),
    by_daemon=True,
)


def through_the_socket(document: dict[str, object]) -> dict[str, object]:
    return decode(encode(document))


def test_a_lease_reply_reads_back_what_the_daemon_sent() -> None:
    reply = GenerationReply(
        ok=True,
        session_id="s-1",
        generation=3,
        remote="sc://localhost:15002",
        last_sync=DaemonSync(SUMMARY, at=1700000000.5, ms=250.0),
    ).with_lease("s-1", 7)
    assert GenerationReply.from_json(through_the_socket(reply.to_json())) == reply


def test_a_reply_without_a_generation_keeps_its_error_and_exit_code() -> None:
    reply = GenerationReply(ok=False, error="the daemon is stopping", exit_code=3)
    document = reply.to_json()
    assert document == {
        "ok": False,
        "error": "the daemon is stopping",
        "exit_code": 3,
        "last_sync": None,
        "applied": [],
    }
    assert GenerationReply.from_json(document) == reply


def test_a_reply_says_what_the_daemon_applied_since_the_last_flush() -> None:
    applied = (DaemonSync(SUMMARY, at=1700000000.5, ms=250.0),)
    reply = GenerationReply(ok=True, session_id="s-1", generation=3, applied=applied)
    assert GenerationReply.from_json(through_the_socket(reply.to_json())) == reply
    # an older daemon sends no `applied`: nothing is known to have been applied
    older = {k: v for k, v in reply.to_json().items() if k != "applied"}
    assert GenerationReply.from_json(older).applied == ()


def test_a_reply_of_another_form_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        GenerationReply.from_json({"ok": True, "last_sync": {"action": "upload"}})


def test_status_has_the_documented_fields_and_reads_back() -> None:
    status = DaemonStatus(
        pid=42,
        project="/p",
        session_id="s-1",
        generation=3,
        remote=None,
        last_sync=DaemonSync(SUMMARY, at=1.0, ms=2.0),
        last_error=None,
        server_reachable=True,
        artifacts=4,
        udfs=1,
        syncs=2,
        started_at=0.5,
        leases={"s-0": 1},
        base_session_id="b-1",
    )
    document = through_the_socket(status.to_json())
    assert document["last_sync"]["action"] == "new_generation"  # type: ignore[index]
    assert json.loads(json.dumps(document))["leases"] == {"s-0": 1}
    assert document["base_session_id"] == "b-1"
    assert DaemonStatus.from_json(document) == status


@pytest.mark.parametrize("op", list(ControlOp))
def test_every_request_reads_back(op: ControlOp) -> None:
    request = ControlRequest(op)
    assert ControlRequest.from_json(through_the_socket(request.to_json())) == request


@pytest.mark.parametrize("document", [{}, {"op": "reboot"}, {"op": 1}])
def test_an_unknown_op_is_a_protocol_error(document: dict[str, object]) -> None:
    with pytest.raises(ProtocolError, match="unknown op"):
        ControlRequest.from_json(document)
