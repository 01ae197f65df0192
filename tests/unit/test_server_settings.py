"""The embedded server's settings: flags over the config over the last start over defaults."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sparkpush.cli.commands import server as server_command
from sparkpush.cli.context import AppContext
from sparkpush.config.settings import DEFAULT_MASTER, ServerSettings
from sparkpush.server.last_start import load_last_start, save_last_start
from sparkpush.state.server_state import ServerState, StateFiles


def test_what_is_unset_comes_from_the_fallback() -> None:
    flags = ServerSettings(workers=2)
    config = ServerSettings(port=16000, port_source="server.port in x", ui=True, workers=0)
    merged = flags.over(config)
    assert merged == ServerSettings(
        port=16000, master=None, ui=True, workers=2, port_source="server.port in x"
    )
    assert merged.effective_master == DEFAULT_MASTER
    # a master of one's own means no local cluster, whatever the fallback had
    assert ServerSettings(master="local[1]").over(ServerSettings(workers=2)).workers == 0


def test_the_last_start_keeps_its_settings_and_only_an_explicit_port(tmp_path: Path) -> None:
    files = StateFiles(tmp_path)
    save_last_start(files, ServerSettings(master="local[1]", ui=True, workers=2))
    assert load_last_start(files) == ServerSettings(master="local[1]", ui=True, workers=2)
    save_last_start(files, ServerSettings(port=16001, port_source="--port"))
    again = load_last_start(files)
    assert again.port == 16001
    assert again.port_source == "--port, kept from the server's last start"
    # started again from that record: the note is not repeated
    save_last_start(files, again)
    assert load_last_start(files).port_source == again.port_source


def test_a_damaged_last_start_record_sets_nothing(tmp_path: Path) -> None:
    files = StateFiles(tmp_path)
    files.last_start.write_text('{"workers": "two", "port": true}')
    assert load_last_start(files) == ServerSettings()


def test_server_start_reports_the_whole_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`server start --workers 2` said "started in 36.1 s" after 49.5 s: the local cluster's
    start was left out. The time said is the time waited."""

    def slow_start(
        settings: ServerSettings, *_args: object, **_kwargs: object
    ) -> tuple[ServerState, bool]:
        time.sleep(0.6)  # a cluster starting before the server's own clock begins
        state = ServerState(
            pid=1,
            port=15002,
            url="sc://localhost:15002",
            token_file="t",
            master="spark://127.0.0.1:7077",
            log_file="l",
            started_at=time.time(),
        )
        return state, True

    monkeypatch.setattr(server_command, "start_server", slow_start)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(server_command.start, [], obj=AppContext())
    assert result.exit_code == 0, result.output
    took = float(re.search(r"started at sc://localhost:15002 in ([0-9.]+) s", result.output)[1])  # type: ignore[index]
    assert took >= 0.6
