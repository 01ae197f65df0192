"""`connect server ...`: the embedded server's process, state files and security."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sparkpush.server.process_group import all_processes, command_line, wait_gone
from tests.conftest import EmbeddedServer, clean_env, free_port, run_connect, run_connect_in_process
from tests.integration.conftest import AS_NOBODY, as_root, server_pid, status_json
from tests.session_query import query_session

pytestmark = pytest.mark.integration


def test_status_json_describes_the_running_server(embedded_server: EmbeddedServer) -> None:
    status = status_json(embedded_server.env)
    assert status["running"] is True
    assert status["url"] == f"sc://localhost:{embedded_server.port}"
    assert status["master"] == "local[2]"
    assert isinstance(status["pid"], int)
    for key in ("token_file", "log_file"):
        assert Path(str(status[key])).is_file()
    assert embedded_server.token not in json.dumps(status)


def test_state_is_user_only(embedded_server: EmbeddedServer) -> None:
    folder = embedded_server.state_home / "sparkpush"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("server.json", "server.token", "server.log"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_token_is_in_no_command_line_and_no_log(embedded_server: EmbeddedServer) -> None:
    token = embedded_server.token.encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert token not in cmdline.read_bytes(), cmdline
        except OSError:
            continue
    log = embedded_server.state_home / "sparkpush" / "server.log"
    assert token not in log.read_bytes()


def listening_addresses(pid: int) -> dict[int, str]:
    """Port -> hex local address of every TCP socket `pid` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:
                address, port = local.rsplit(":", 1)
                found[int(port, 16)] = address
    return found


def test_every_port_of_the_server_is_on_loopback(embedded_server: EmbeddedServer) -> None:
    """The Connect port and the driver's untokened RPC and block manager ports alike."""
    pid = int(str(status_json(embedded_server.env)["pid"]))
    listening = listening_addresses(pid)
    assert embedded_server.port in listening
    assert len(listening) >= 2
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    assert set(listening.values()) <= loopback, listening


def test_start_on_a_running_server_says_so(embedded_server: EmbeddedServer) -> None:
    result = run_connect_in_process(["server", "start"], env=embedded_server.env)
    assert result.returncode == 0
    assert "already running" in result.stdout


def test_port_in_use_is_a_clear_error(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path))
    result = run_connect_in_process(
        ["server", "start", "--port", str(embedded_server.port)], env=env
    )
    assert result.returncode == 3
    assert f"port {embedded_server.port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_stale_pid_file_is_detected_and_cleaned(tmp_path: Path) -> None:
    folder = tmp_path / "sparkpush"
    folder.mkdir(mode=0o700)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = {
        "pid": dead.pid,
        "port": free_port(),
        "url": "sc://localhost:1",
        "token_file": str(folder / "server.token"),
        "master": "local[*]",
        "log_file": str(folder / "server.log"),
        "started_at": 0.0,
    }
    (folder / "server.json").write_text(json.dumps(state))
    env = clean_env(XDG_STATE_HOME=str(tmp_path))
    assert status_json(env)["running"] is False
    assert not (folder / "server.json").exists()


def test_stop_never_kills_a_process_it_did_not_start(tmp_path: Path) -> None:
    folder = tmp_path / "sparkpush"
    folder.mkdir(mode=0o700)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state = {
            "pid": bystander.pid,
            "port": 15002,
            "url": "sc://localhost:15002",
            "token_file": str(folder / "server.token"),
            "master": "local[*]",
            "log_file": str(folder / "server.log"),
            "started_at": 0.0,
        }
        (folder / "server.json").write_text(json.dumps(state))
        result = run_connect_in_process(
            ["server", "stop"], env=clean_env(XDG_STATE_HOME=str(tmp_path))
        )
        assert result.returncode == 0
        assert "not running" in result.stdout
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_missing_java_is_explained(tmp_path: Path) -> None:
    env = clean_env(XDG_STATE_HOME=str(tmp_path), PATH=str(Path(sys.executable).parent))
    env.pop("JAVA_HOME", None)
    result = run_connect_in_process(["server", "start", "--port", str(free_port())], env=env)
    assert result.returncode == 3
    assert "no Java found" in result.stderr
    assert "Java 17+" in result.stderr


def test_too_old_java_is_explained(tmp_path: Path) -> None:
    fake_home = tmp_path / "jdk11"
    (fake_home / "bin").mkdir(parents=True)
    java = fake_home / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    env = clean_env(XDG_STATE_HOME=str(tmp_path), JAVA_HOME=str(fake_home))
    result = run_connect_in_process(["server", "start", "--port", str(free_port())], env=env)
    assert result.returncode == 3
    assert "Java 11 found via JAVA_HOME" in result.stderr


def test_submit_with_nothing_configured_starts_the_embedded_server(tmp_path: Path) -> None:
    """The embedded default, from nothing: submit starts it, says so, runs, and stop stops it."""
    project = tmp_path / "project"
    project.mkdir()
    port = free_port()
    (project / "pyproject.toml").write_text(f"[tool.sparkpush.server]\nport = {port}\n")
    (project / "app.py").write_text(
        "from pyspark.sql import SparkSession\n"
        "print('rows', SparkSession.builder.getOrCreate().range(4).count())\n"
    )
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    try:
        result = run_connect(["submit", "app.py"], env=env, cwd=project)
        assert result.returncode == 0, result.stderr
        assert "starting the embedded Spark Connect server" in result.stderr
        assert "rows 4" in result.stdout
        status = status_json(env)
        assert status["running"] is True
        pid = int(str(status["pid"]))
    finally:
        stopped = run_connect(["server", "stop"], env=env)
    assert "stopped" in stopped.stdout
    assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_start_on_another_port_says_where_it_runs_and_fails(
    embedded_server: EmbeddedServer,
) -> None:
    other = free_port()
    result = run_connect_in_process(
        ["server", "start", "--port", str(other)], env=embedded_server.env
    )
    assert result.returncode == 2
    assert f"already runs at sc://localhost:{embedded_server.port}" in result.stderr
    assert f"not on port {other}" in result.stderr
    same = run_connect_in_process(
        ["server", "start", "--port", str(embedded_server.port)], env=embedded_server.env
    )
    assert same.returncode == 0
    assert "already running" in same.stdout


WORKER_ENVIRONMENT = """
from pyspark.sql.functions import udf
@udf("string")
def worker_env(_):
    import os
    return ",".join(sorted(os.environ))
print("worker-env:", spark.range(1).select(worker_env("id")).first()[0])
"""


def test_token_reaches_neither_python_workers_nor_the_jvm_environment(
    embedded_server: EmbeddedServer,
) -> None:
    """A UDF reads its environment: no token; nor is it in the JVM's environ or argv."""
    result = query_session(embedded_server, str(uuid.uuid4()), WORKER_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    names = result.stdout.split("worker-env: ")[1].split()[0].split(",")
    assert "SPARK_JOB_ARTIFACT_UUID" in names  # it is a worker's environment
    assert "SPARK_CONNECT_AUTHENTICATE_TOKEN" not in names
    pid = server_pid(embedded_server.env)
    token = embedded_server.token.encode()
    assert token not in Path(f"/proc/{pid}/environ").read_bytes()
    assert token not in Path(f"/proc/{pid}/cmdline").read_bytes()
    folder = embedded_server.state_home / "sparkpush"
    holders = [path for path in folder.rglob("*") if path.is_file() and token in path.read_bytes()]
    assert holders == [folder / "server.token"]
    assert stat.S_IMODE((folder / "server.token").stat().st_mode) == 0o600


@as_root
def test_uploads_are_user_only_and_inside_the_state_folder(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    """The server's copies of uploads: not in /tmp, user-only files in 0700 folders,
    unreadable for another user."""
    secret = tmp_path / f"secret-{uuid.uuid4().hex}.txt"
    secret.write_text("private\n")
    secret.chmod(0o600)
    result = query_session(
        embedded_server, str(uuid.uuid4()), f"spark.addArtifacts({str(secret)!r}, file=True)"
    )
    assert result.returncode == 0, result.stderr
    folder = embedded_server.state_home / "sparkpush"
    copies = list((folder / "scratch").rglob(secret.name))
    assert copies, "the upload is not in the server's scratch folder"
    assert not list(Path("/tmp").glob(f"artifacts-*/*/files/{secret.name}"))
    for copy in copies:
        # Spark adds a+x to the copies it fetches for executors: no read or write is what counts
        assert stat.S_IMODE(copy.stat().st_mode) & 0o066 == 0, copy
        for parent in copy.parents:
            if parent == folder:
                break
            assert stat.S_IMODE(parent.stat().st_mode) & 0o077 == 0, parent
        as_nobody = subprocess.run([*AS_NOBODY, "cat", str(copy)], capture_output=True, text=True)
        assert as_nobody.returncode != 0
        assert "Permission denied" in as_nobody.stderr, as_nobody.stderr
        assert "private" not in as_nobody.stdout
    # the control: the same command reads a file that others may read
    control = Path("/tmp") / f"sparkpush-control-{uuid.uuid4().hex}"
    control.write_text("public\n")
    try:
        control.chmod(0o644)
        readable = subprocess.run([*AS_NOBODY, "cat", str(control)], capture_output=True, text=True)
        assert readable.stdout == "public\n", readable.stderr
    finally:
        control.unlink()


def test_kill_9_then_start_reuses_the_port_cleans_up_and_stop_waits(tmp_path: Path) -> None:
    """Right after `kill -9` (its sockets in TIME-WAIT) the server starts again on the same
    port; what the dead server left in scratch is removed; `stop` returns once it is gone."""
    env = clean_env(XDG_STATE_HOME=str(tmp_path))
    port = free_port()
    started = run_connect(["server", "start", "--port", str(port)], env=env)
    assert started.returncode == 0, started.stderr
    try:
        scratch = tmp_path / "sparkpush" / "scratch"
        left_behind = sorted(path.name for path in (scratch / "tmp").iterdir())
        assert any(name.startswith("artifacts-") for name in left_behind)
        first = server_pid(env)
        first_reaper = int(str(status_json(env)["reaper_pid"]))
        # a connection open at the kill leaves the server's end of it in TIME-WAIT
        with socket.create_connection(("127.0.0.1", port)):
            os.kill(first, signal.SIGKILL)
            assert wait_gone(first, 30)
        again = run_connect(["server", "start", "--port", str(port)], env=env)
        assert again.returncode == 0, again.stderr
        assert not set(left_behind) & {path.name for path in (scratch / "tmp").iterdir()}
        assert wait_gone(first_reaper, 30)  # the dead server's reaper saw it go
        second = server_pid(env)
        second_reaper = int(str(status_json(env)["reaper_pid"]))
    finally:
        stopped = run_connect(["server", "stop"], env=env)
    assert stopped.returncode == 0
    assert "stopped" in stopped.stdout
    assert command_line(second_reaper) is None
    # returned only once the JVM (and every process of its session) had exited
    assert [p.pid for p in all_processes() if p.session == second] == []


def test_two_commands_starting_the_server_at_once_start_one(tmp_path: Path) -> None:
    """Parallel submits with no server yet: one JVM, the other command finds it."""
    env = clean_env(XDG_STATE_HOME=str(tmp_path))
    port = free_port()
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "sparkpush", "server", "start", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        results = [start.communicate(timeout=300) for start in starts]
        assert [start.returncode for start in starts] == [0, 0], results
        marker = f"spark.connect.grpc.binding.port={port}"
        servers = [p.pid for p in all_processes() if marker in p.args]
        assert servers == [server_pid(env)]
    finally:
        for start in starts:
            if start.poll() is None:
                start.kill()
                start.wait()
        stopped = run_connect(["server", "stop"], env=env)
    assert stopped.returncode == 0
    assert [p.pid for p in all_processes() if marker in p.args] == []
