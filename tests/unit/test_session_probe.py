"""Whether the current generation's session still answers, against an in-memory server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sparkpush.daemon.session_probe import SessionProbe
from sparkpush.remote.target import Target
from sparkpush.sync.generation import Generation
from tests.fake_session import FakeServer


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def probe(server: FakeServer) -> Iterator[SessionProbe]:
    probe = SessionProbe()
    yield probe
    probe.close()
    assert server.closed == server.opened, "every session the probe opened is closed"


def generation_on(server: FakeServer, target: Target) -> Generation:
    """The record of a generation whose session the server holds."""
    with server.open() as session:
        session.set_conf({})
        return Generation(
            session_id=session.session_id,
            number=1,
            remote=target.spec.display(),
            server_side_session_id=session.server_side_session_id,
            entries={},
        )


def test_a_live_session_answers_over_one_kept_session(
    server: FakeServer, probe: SessionProbe
) -> None:
    target = server.target()
    current = generation_on(server, target)
    opened = server.opened
    assert probe.answers(target, current)
    assert probe.answers(target, current)
    assert server.opened == opened + 1


def test_a_restarted_server_does_not_answer_as_the_same_session(
    server: FakeServer, probe: SessionProbe
) -> None:
    target = server.target()
    current = generation_on(server, target)
    assert probe.answers(target, current)
    server.restart()
    assert not probe.answers(target, current)


def test_a_generation_of_another_server_is_not_probed(
    server: FakeServer, probe: SessionProbe
) -> None:
    current = generation_on(server, server.target())
    elsewhere = Generation(
        session_id=current.session_id,
        number=1,
        remote="sc://elsewhere.invalid:15002",
        server_side_session_id=current.server_side_session_id,
        entries={},
    )
    opened = server.opened
    assert not probe.answers(server.target(), elsewhere)
    assert server.opened == opened
