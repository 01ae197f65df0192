"""The embedded server's record (`server.json`) through the record codec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparkpush.state.server_state import ServerState, StateFiles

STATE = ServerState(
    pid=42,
    port=15002,
    url="sc://127.0.0.1:15002",
    token_file="/s/server.token",
    master="local[*]",
    log_file="/s/server.log",
    started_at=1700000000.5,
    cluster_pids=(43, 44),
    reaper_pid=45,
    extras="e1",
)


def test_the_record_reads_back_what_it_wrote(tmp_path: Path) -> None:
    files = StateFiles(tmp_path / "state")
    files.save(STATE)
    assert files.load() == STATE
    assert json.loads(files.state.read_text())["cluster_pids"] == [43, 44]


def test_a_record_an_older_sparkpush_wrote_still_loads(tmp_path: Path) -> None:
    files = StateFiles(tmp_path / "state")
    older = {
        "pid": 42,
        "port": 15002,
        "url": "sc://127.0.0.1:15002",
        "token_file": "/s/server.token",
        "master": "local[*]",
        "log_file": "/s/server.log",
        "started_at": 1700000000,
    }
    files.state.write_text(json.dumps(older))
    loaded = files.load()
    assert loaded is not None and loaded.pid == 42 and loaded.started_at == 1700000000.0
    assert (loaded.cluster_pids, loaded.reaper_pid, loaded.extras) == ((), None, "")


@pytest.mark.parametrize(
    "content",
    [
        "",
        "[]",
        '{"pid": 42}',
        json.dumps({**json.loads(json.dumps(STATE.__dict__)), "pid": "42"}),
        json.dumps({**json.loads(json.dumps(STATE.__dict__)), "port": None}),
        json.dumps({**json.loads(json.dumps(STATE.__dict__)), "cluster_pids": ["43"]}),
    ],
)
def test_a_file_that_is_no_server_record_is_a_miss(tmp_path: Path, content: str) -> None:
    files = StateFiles(tmp_path / "state")
    files.state.write_text(content)
    assert files.load() is None
