"""A base too big to clone within a control call's deadline still syncs with layers, on the real
server (issue #21 item 2: a 3 GB file never synced with layers on).

A 3 GB file takes a minute or more to clone on a busy machine, too long for a test; so the
test takes the fixed 10 s every control call gets away from each clone's deadline and sends a
200 MB file: what is left of the deadline is only what the base's size earns it. A fixed
deadline leaves 0.2 s, which no server copies 400 MB in; a deadline that follows the size
leaves seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkpush.config.settings import load_config
from sparkpush.connect.session_client import SessionClient
from sparkpush.remote.target import Target, embedded_spec
from sparkpush.state.server_state import StateFiles
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer
from tests.integration.conftest import session_alive

pytestmark = pytest.mark.integration

MB = 1 << 20
CONTROL_DEADLINE_S = 10.0
"""What every control call, a clone among them, may take whatever its size."""
FIXED_PART_LEFT_S = 0.2


@pytest.fixture
def size_part_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Each CloneSession's deadline without the fixed part every control call gets; the
    deadlines asked for."""
    asked: list[float] = []
    original = SessionClient.clone_session

    def shortened(
        self: SessionClient, timeout: float = CONTROL_DEADLINE_S, clone_id: str | None = None
    ) -> Any:
        asked.append(timeout)
        left = max(timeout - CONTROL_DEADLINE_S, 0.0) + FIXED_PART_LEFT_S
        return original(self, timeout=left, clone_id=clone_id)

    monkeypatch.setattr(SessionClient, "clone_session", shortened)
    yield asked


def test_a_base_whose_clone_outlasts_a_control_deadline_syncs_with_layers(
    embedded_server: EmbeddedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size_part_only: list[float],
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    with (root / "big.bin").open("wb") as big:  # a file is copied twice per clone
        for _ in range(4):
            big.write(os.urandom(50 * MB))
    (root / "job.py").write_text("X = 1\n")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npyfiles = ["job.py"]\nfiles = ["big.bin"]\n'
    )
    monkeypatch.setenv("XDG_STATE_HOME", str(embedded_server.state_home))
    files = StateFiles(embedded_server.state_home / "sparkpush")
    state = files.load()
    assert state is not None
    target = Target(embedded_spec(state), "embedded", embedded=state)
    config = load_config(root / "pyproject.toml")

    sync_project(config, target)  # the base gets the file, the generation is its clone
    first = load_generation(root)
    assert first is not None and first.base is not None, "the big file left the layers"
    (root / "job.py").write_text("X = 2\n")
    sync_project(config, target)  # a code change: one more clone of the 200 MB base
    second = load_generation(root)
    assert second is not None and second.base is not None
    assert second.base.session_id == first.base.session_id, "the base was sent again"
    assert second.session_id != first.session_id

    assert len(size_part_only) == 2
    assert session_alive(embedded_server, second.session_id)
    assert not session_alive(embedded_server, first.session_id)
    assert unfinished_sessions(root) == []
