"""The daemon's life beside the server's: a stopped server stays stopped, what the log says,
what a flush reports, a changed remote, killed runs' clones, and half-open connections."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkpush.daemon.control_server import MAX_CONNECTIONS
from sparkpush.server.process_group import read_process
from sparkpush.state.daemon_paths import daemon_paths
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import (
    EmbeddedServer,
    clean_env,
    free_port,
    run_connect,
    run_connect_in_process,
    trust_project,
)
from tests.integration.conftest import (
    daemon_status,
    generation_after,
    session_alive,
    status_json,
)
from tests.support import wait_until
from tests.support.submits import started_submit

pytestmark = pytest.mark.integration

APP = """
from pyspark.sql import SparkSession
print("rows", SparkSession.builder.getOrCreate().range(3).count())
"""


def assert_adopted(pid: int, daemon_pid: int) -> None:
    """`pid` is not the daemon's child, nor any sparkpush process's: init (or the machine's
    subreaper) adopted it at once."""
    process = read_process(pid)
    assert process is not None, f"process {pid} is gone"
    assert process.ppid != daemon_pid
    parent = read_process(process.ppid)
    parent_args = " ".join(parent.args) if parent is not None else ""
    assert "sparkpush" not in parent_args, f"{pid}'s parent is {parent_args}"


def test_a_stopped_server_stays_stopped_until_someone_starts_it_detached_as_last_started(
    tmp_path: Path, daemon_project: Path
) -> None:
    root = daemon_project
    (root / "app.py").write_text(APP)
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARKPUSH_DEFAULT_PORT=str(free_port()))
    logs = daemon_paths(root).log
    try:
        started = run_connect(["server", "start", "--master", "local[1]"], env=env, cwd=root)
        assert started.returncode == 0, started.stderr
        assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
        first = daemon_status(root, env)
        assert run_connect(["server", "stop"], env=env, cwd=root).returncode == 0
        (root / "data" / "b.txt").write_text("b")
        wait_until(
            lambda: daemon_status(root, env)["waiting_for_server"], what="the daemon to wait"
        )
        waiting = daemon_status(root, env)
        # it looks every second: give it several chances to restart the server (it used to
        # within a second), and see that it did not
        wait_until(
            lambda: daemon_status(root, env)["syncs"] >= waiting["syncs"] + 3, what="retries"
        )
        assert status_json(env)["running"] is False
        assert "connect server start" in str(daemon_status(root, env)["last_error"])
        assert "waiting for the embedded server" in logs.read_text()

        submitted = run_connect(["submit", "app.py"], env=env, cwd=root)
        assert submitted.returncode == 3
        [line] = submitted.stderr.strip().splitlines()  # nothing before it ("attached to...")
        assert line.startswith("error: the embedded server is not running and the project's")
        assert status_json(env)["running"] is False

        # whoever starts it again starts it as it was last started
        assert run_connect(["server", "start"], env=env, cwd=root).returncode == 0
        assert status_json(env)["master"] == "local[1]"
        second = generation_after(root, env, int(first["generation"]))
        assert second["waiting_for_server"] is False
        assert second["last_error"] is None
        assert "the server runs again at" in logs.read_text()
        submitted = run_connect(["submit", "app.py"], env=env, cwd=root)
        assert submitted.returncode == 0, submitted.stderr
        assert "rows 3" in submitted.stdout

        # a daemon started without a server starts it, once, as neither its child nor any
        # command's, with the last start's settings
        assert run_connect(["daemon", "stop"], env=env, cwd=root).returncode == 0
        assert run_connect(["server", "stop"], env=env, cwd=root).returncode == 0
        assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
        daemon_pid = int(daemon_status(root, env)["pid"])
        server = status_json(env)
        assert server["running"] is True
        assert server["master"] == "local[1]"
        assert_adopted(int(str(server["pid"])), daemon_pid)
        assert_adopted(int(str(server["reaper_pid"])), daemon_pid)
    finally:
        run_connect(["daemon", "stop"], env=env, cwd=root)
        run_connect(["server", "stop"], env=env, cwd=root)


UDF_MODULE = """
from pyspark.sql.functions import udf

import helpers


@udf("string")
def answer():
    return helpers.word()
"""


@pytest.fixture
def udf_project(tmp_path: Path) -> Path:
    root = tmp_path / "udf-proj"
    root.mkdir()
    (root / "udfs.py").write_text(UDF_MODULE)
    (root / "helpers.py").write_text("def word():\n    return 'first'\n")
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    return root


def test_daemon_logs_hold_every_start_stop_sync_and_error_of_the_running_daemon(
    embedded_server: EmbeddedServer, udf_project: Path
) -> None:
    env = {**embedded_server.env, "SPARKPUSH_UDF_IMPORT_TIMEOUT": "5"}
    root = udf_project
    # an earlier daemon's lines are there too: the running one's must be told apart
    for _ in range(2):
        assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
        pid = int(daemon_status(root, env)["pid"])
        if _ == 0:
            assert run_connect_in_process(["daemon", "stop"], env=env, cwd=root).returncode == 0
    try:
        for word in ("second", "third"):
            (root / "helpers.py").write_text(f"def word():\n    return '{word}'\n")
            assert run_connect_in_process(["sync"], env=env, cwd=root).returncode == 0
        (root / "udfs.py").write_text(UDF_MODULE + "\nraise ValueError('half-saved')\n")
        assert run_connect_in_process(["sync"], env=env, cwd=root).returncode == 2
        # nothing new: no sync
        assert run_connect_in_process(["sync"], env=env, cwd=root).returncode == 2
    finally:
        assert run_connect_in_process(["daemon", "stop"], env=env, cwd=root).returncode == 0
    shown = run_connect_in_process(["daemon", "logs", "-n", "500"], env=env, cwd=root)
    assert shown.returncode == 0, shown.stderr
    mine = [line for line in shown.stdout.splitlines() if f"[{pid}]" in line]
    text = "\n".join(mine)
    assert f"daemon started for {root} (pid {pid})" in text
    assert "sync: nothing to do, generation 1 serves" in text
    assert text.count("sync: registered answer in place, generation 1") == 2
    assert "udfs.py:11: ValueError: half-saved" in text
    assert f"daemon stopped (pid {pid})" in text
    assert embedded_server.token not in shown.stdout


def test_sync_json_through_the_daemon_says_what_it_applied_for_the_changes(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    before = daemon_status(daemon, env)
    run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)  # what came before is reported
    (daemon / "data" / "new.txt").write_text("new")
    # the daemon syncs the save by itself before the command asks
    wait_until(
        lambda: (
            daemon_status(daemon, env)["syncs"] > before["syncs"]
            and daemon_status(daemon, env)["last_sync"]["action"] == "add_in_place"
        ),
        what="the daemon's own sync of the save",
    )
    result = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["action"] == "nothing"  # this call had nothing left to do: documented
    assert report["generation"] == before["generation"]  # the generation serving now
    [applied] = report["applied"]
    assert applied["action"] == "add_in_place"
    assert applied["generation"] == report["generation"]
    assert any("files/new.txt" in reason for reason in applied["reasons"])
    again = json.loads(run_connect_in_process(["sync", "--json"], env=env, cwd=daemon).stdout)
    assert again["applied"] == []


def test_a_changed_remote_in_the_config_is_checked_for_trust_before_anything_is_sent(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "remote-proj"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.txt").write_text("a")
    (root / "token").write_text(embedded_server.token)  # the project's own copy
    config = root / "pyproject.toml"
    remote = f"sc://localhost:{embedded_server.port}/"
    config.write_text(
        f'[tool.sparkpush]\nremote = "{remote}"\ntoken_file = "token"\n'
        '[tool.sparkpush.artifacts]\nfiles = ["data/*.txt"]\n'
    )
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "no-embedded-state"))
    trust_project(root, env)
    assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
    try:
        elsewhere = f"sc://localhost:{free_port()}/"
        config.write_text(config.read_text().replace(remote, elsewhere))
        (root / "data" / "b.txt").write_text("b")
        wait_until(
            lambda: "connect trust" in str(daemon_status(root, env)["last_error"]),
            what="the changed remote refused until trusted",
        )
        generation = (root / ".sparkpush" / "manifest.json").read_text()
        assert "files/b.txt" not in generation, "synced to the old remote after the change"
        result = run_connect_in_process(["sync"], env=env, cwd=root)
        assert result.returncode == 2
        assert "connect trust" in result.stderr
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=root)


WAITS = """
import os, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("session", spark.client._session_id, os.getpid(), flush=True)
deadline = time.time() + 120
while time.time() < deadline:
    time.sleep(0.2)
"""


def test_a_no_op_sync_through_the_daemon_releases_a_killed_runs_clone(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    run, [clone, _] = started_submit(
        env, daemon, "waits.py", WAITS, "--attach", first_word="session"
    )
    os.killpg(run.pid, signal.SIGKILL)  # the submit and its script
    run.wait()
    [record] = [s for s in unfinished_sessions(daemon) if s.session_id == clone]
    # the group's kill reaches the script too, but under load its exit can lag the submit's:
    # a record whose owner still runs is rightly kept
    wait_until(lambda: not record.owner_alive(), what="the killed run's processes to exit")
    result = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "nothing"
    assert not session_alive(embedded_server, clone)
    assert unfinished_sessions(daemon) == []


def threads_and_peak_rss(pid: int) -> tuple[int, int]:
    fields: dict[str, Any] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return int(fields["Threads"][0]), int(fields["VmHWM"][0])


@pytest.fixture
def half_open_connections(daemon: Path) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def test_half_open_control_connections_leave_the_daemon_bounded(
    embedded_server: EmbeddedServer, daemon: Path, half_open_connections: list[socket.socket]
) -> None:
    """1,000 connections that never send a request used to make 1,009 daemon threads."""
    env = embedded_server.env
    pid = int(daemon_status(daemon, env)["pid"])
    threads_before, rss_before = threads_and_peak_rss(pid)
    path = str(daemon_paths(daemon).socket)
    peak = threads_before
    budget = time.monotonic() + 15
    for _ in range(1000):  # connect, then never send a request
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        while True:
            try:
                sock.connect(path)
                half_open_connections.append(sock)
                break
            except BlockingIOError:  # the listen queue is full: give the daemon time
                if time.monotonic() > budget:
                    sock.close()
                    break
                time.sleep(0.005)
        peak = max(peak, threads_and_peak_rss(pid)[0])
    settle = time.monotonic() + 3
    while time.monotonic() < settle:
        peak = max(peak, threads_and_peak_rss(pid)[0])
        time.sleep(0.05)
    _, rss_peak = threads_and_peak_rss(pid)
    print(
        f"{len(half_open_connections)} half-open connections: threads {threads_before} -> "
        f"peak {peak}, peak RSS {rss_before} -> {rss_peak} kB"
    )
    assert peak <= threads_before + MAX_CONNECTIONS + 2
    for sock in half_open_connections:
        sock.close()
    # the daemon answers again once they are gone (or timed out)
    wait_until(lambda: daemon_status(daemon, env)["pid"] == pid, what="the daemon to answer again")
