"""A long-lived client notices when the embedded server was restarted or stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.errors import ServerUnreachableError
from sparkpush.remote.target import Target, embedded_spec, target_still_current
from sparkpush.state.server_state import ServerState, StateFiles


def saved_state(root: Path, port: int, token: str, pid: int = 1234) -> ServerState:
    files = StateFiles(root)
    files.token.write_text(token)
    state = ServerState(
        pid=pid,
        port=port,
        url=f"sc://localhost:{port}",
        token_file=str(files.token),
        master="local[2]",
        log_file=str(files.log),
        started_at=1.0,
    )
    files.save(state)
    return state


@pytest.fixture
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "sparkpush"


def test_an_unchanged_embedded_server_is_still_current(state_root: Path) -> None:
    state = saved_state(state_root, 15002, "first")
    target = Target(spec=embedded_spec(state), source="embedded", embedded=state)
    assert target_still_current(target)


def test_a_restarted_embedded_server_is_resolved_again(state_root: Path) -> None:
    old = saved_state(state_root, 15002, "first")
    target = Target(spec=embedded_spec(old), source="embedded", embedded=old)
    new = saved_state(state_root, 15003, "second", pid=1235)
    assert not target_still_current(target)
    assert embedded_spec(new).token != target.spec.token


def test_a_server_restarted_on_the_same_port_is_resolved_again(state_root: Path) -> None:
    old = saved_state(state_root, 15002, "first")
    target = Target(spec=embedded_spec(old), source="embedded", embedded=old)
    saved_state(state_root, 15002, "second", pid=1235)
    assert not target_still_current(target)


def test_a_stopped_embedded_server_gets_no_token(state_root: Path) -> None:
    state = saved_state(state_root, 15002, "first")
    target = Target(spec=embedded_spec(state), source="embedded", embedded=state)
    StateFiles(state_root).clear()
    with pytest.raises(ServerUnreachableError, match="not running"):
        target_still_current(target)


def test_a_configured_remote_is_always_current(state_root: Path) -> None:
    target = Target(spec=parse_connection_string("sc://h:1/;token=t"), source="config")
    assert target_still_current(target)
