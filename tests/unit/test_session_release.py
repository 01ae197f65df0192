"""One release path: every session sparkpush releases goes through
`connect.session_release.release`, which never raises and says what became of the session."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sparkpush
from sparkpush.connect.session_release import RELEASE_TIMEOUT_S, Released, release, release_by_id
from sparkpush.errors import (
    CallCancelledError,
    ServerError,
    ServerUnavailableError,
    SparkpushError,
)
from tests.fake_session import FakeServer

ROOT = Path(sparkpush.__file__).parent
RELEASE_PATH = ROOT / "connect" / "session_release.py"
OWN_RELEASE = {ROOT / "submit" / "run_session.py": "a bounded release that must raise"}
"""Places that call ReleaseSession themselves, each with the reason (said in its code too)."""


def release_calls(path: Path) -> int:
    """Calls of a `release_session` method in the module at `path`."""
    return sum(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "release_session"
        for node in ast.walk(ast.parse(path.read_text()))
    )


def test_every_release_goes_through_one_function() -> None:
    callers = {p for p in ROOT.rglob("*.py") if release_calls(p)}
    assert callers == {RELEASE_PATH, *OWN_RELEASE}


def test_a_release_says_released_then_not_held() -> None:
    server = FakeServer()
    with server.open() as session:
        session.spark_version()  # creates it on the server
        assert release(session) is Released.RELEASED
        assert release(session) is Released.NOT_HELD
    assert server.closed == server.opened


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (ServerUnavailableError("cannot reach"), Released.UNREACHABLE),
        (CallCancelledError("cut off"), Released.UNREACHABLE),
        (
            ServerError("[INVALID_HANDLE.SESSION_CLOSED] closed", "INVALID_HANDLE.SESSION_CLOSED"),
            Released.REFUSED,
        ),
        (SparkpushError("odd"), Released.REFUSED),
    ],
)
def test_a_failed_release_is_told_never_raised(failure: SparkpushError, outcome: Released) -> None:
    server = FakeServer()
    server.fail("release_session", failure)
    assert release_by_id(server.open, "some-session") is outcome
    assert outcome.answered is (outcome is not Released.UNREACHABLE)
    assert not outcome.gone
    assert server.closed == server.opened


def test_one_deadline_for_every_release() -> None:
    deadlines: list[float] = []

    class Recording:
        session_id = "s"

        def release_session(self, timeout: float = 0.0) -> str | None:
            deadlines.append(timeout)
            return "server-s"

    assert release(Recording()) is Released.RELEASED  # type: ignore[arg-type]
    assert deadlines == [RELEASE_TIMEOUT_S]
