"""Stopping a run: deadlines, signals, and clean-up that returns even if the server hangs."""

from __future__ import annotations

import signal
import threading

from sparkpush.errors import ExitCode, ServerError
from sparkpush.submit.control import RunControl, StopReason
from sparkpush.submit.run_session import SessionLease, end_session, interrupt_run
from tests.unit.conftest import ManualClock

"""Generous: clean-up must take seconds, never the minute the fake server hangs."""


class FakeClient:
    """Answers like a server, or hangs like one that stopped answering."""

    session_id = "00000000-0000-0000-0000-000000000000"

    def __init__(self, *, hang: bool = False, tagged: list[str] | None = None) -> None:
        self.hang = hang
        self.tagged = tagged or []
        self.calls: list[str] = []
        self.closed = False

    def _maybe_hang(self) -> None:
        if self.hang:
            threading.Event().wait()  # forever: only a bounded call returns (else pytest-timeout)

    def interrupt_tag(self, tag: str, timeout: float) -> list[str]:
        self.calls.append(f"tag:{tag}")
        self._maybe_hang()
        return list(self.tagged)

    def interrupt_all(self, timeout: float) -> list[str]:
        self.calls.append("all")
        self._maybe_hang()
        return ["untagged-op"]

    def release_session(self, timeout: float) -> None:
        self.calls.append("release")
        self._maybe_hang()

    def close(self) -> None:
        self.closed = True


def lease(client: FakeClient, *, owned: bool = True) -> SessionLease:
    return SessionLease(client=client, owned=owned, run_tag="run-1")  # type: ignore[arg-type]


def test_interrupt_by_tag_is_enough_when_it_found_the_operations() -> None:
    client = FakeClient(tagged=["op-1"])
    assert interrupt_run(lease(client)) == ["op-1"]
    assert client.calls == ["tag:run-1"]


def test_interrupt_falls_back_to_all_on_an_owned_session() -> None:
    client = FakeClient(tagged=[])
    assert interrupt_run(lease(client)) == ["untagged-op"]
    assert client.calls == ["tag:run-1", "all"]


def test_interrupt_never_uses_all_on_a_session_we_do_not_own() -> None:
    client = FakeClient(tagged=[])
    assert interrupt_run(lease(client, owned=False)) == []
    assert client.calls == ["tag:run-1"]


def test_tag_rejected_by_the_server_falls_back_to_all() -> None:
    class NoTags(FakeClient):
        def interrupt_tag(self, tag: str, timeout: float) -> list[str]:
            raise ServerError("interrupting the session failed: unsupported")

    client = NoTags()
    assert interrupt_run(lease(client)) == ["untagged-op"]


def test_clean_up_returns_in_seconds_when_the_server_hangs() -> None:
    client = FakeClient(hang=True)
    held = lease(client)
    assert interrupt_run(held) == []
    assert interrupt_run(held) == []  # skipped: the server already failed to answer
    assert end_session(held) is False
    assert client.calls == ["tag:run-1", "release"]
    assert client.closed


def test_end_session_does_not_release_a_session_we_do_not_own() -> None:
    client = FakeClient()
    assert end_session(lease(client, owned=False)) is False
    assert client.calls == []
    assert client.closed


def test_deadline_latches_timeout() -> None:
    clock = ManualClock()
    control = RunControl(5.0, clock=clock)
    assert control.stop_reason is None
    assert control.remaining() == 5.0
    clock.now = 105.0
    assert control.stop_reason is StopReason.TIMEOUT
    control.receive(signal.SIGTERM)  # a later signal does not change why the run stopped
    assert control.stop_reason is StopReason.TIMEOUT
    assert control.stop_reason.exit_code == ExitCode.TIMEOUT


def test_second_sigint_is_urgent_and_runs_its_actions() -> None:
    control = RunControl(None)
    killed: list[bool] = []
    control.on_urgent(lambda: killed.append(True))
    control.receive(signal.SIGINT)
    assert control.stop_reason is StopReason.SIGINT
    assert not control.urgent.is_set()
    control.receive(signal.SIGINT)
    assert control.urgent.is_set()
    assert killed == [True]


def test_sigterm_maps_to_143() -> None:
    control = RunControl(None)
    control.receive(signal.SIGTERM)
    assert control.stop_reason is StopReason.SIGTERM
    assert control.stop_reason.exit_code == ExitCode.TERMINATED
