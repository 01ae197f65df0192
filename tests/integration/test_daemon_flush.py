"""Read-your-writes without a sync: a no-op flush answers from the watcher's barrier."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.daemon.client import connect_to_daemon
from sparkpush.daemon.control_messages import GenerationReply
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import RestartableServer, daemon_status, own_server
from tests.support import run_connect_in_process, wait_until

pytestmark = pytest.mark.integration


def flush(root: Path) -> GenerationReply:
    connection = connect_to_daemon(root)
    assert connection is not None
    with connection:
        return connection.flush(timeout=120)


def test_a_no_op_flush_runs_no_sync_but_a_save_still_reads_through(
    embedded_server: EmbeddedServer,
    daemon: Path,
) -> None:
    env = embedded_server.env
    flush(daemon)
    syncs = daemon_status(daemon, env)["syncs"]
    for _ in range(5):
        assert flush(daemon).ok is True
    assert daemon_status(daemon, env)["syncs"] == syncs
    for index in range(3):
        (daemon / "data" / f"new{index}.txt").write_text("new")
        reply = flush(daemon)  # right after the save
        assert reply.ok is True
        entries = (daemon / ".sparkpush" / "manifest.json").read_text()
        assert f"files/new{index}.txt" in entries


def test_a_server_restart_without_any_save_is_noticed_by_a_flush(
    restartable_server: RestartableServer,
    daemon_project: Path,
) -> None:
    with own_server(daemon_project, restartable_server) as env:
        assert run_connect(["daemon", "start"], env=env, cwd=daemon_project).returncode == 0
        first = flush(daemon_project)
        assert run_connect(["server", "stop"], env=env, cwd=daemon_project).returncode == 0
        assert run_connect(["server", "start"], env=env, cwd=daemon_project).returncode == 0
        # no file changed: only asking the server shows the generation is gone
        wait_until(
            lambda: flush(daemon_project).session_id not in (None, first.session_id),
            what="a new generation on the restarted server",
        )
        answer = run_connect_in_process(
            ["sql", "--json", "SELECT 1 AS one"], env=env, cwd=daemon_project
        )
        assert answer.returncode == 0, answer.stderr
