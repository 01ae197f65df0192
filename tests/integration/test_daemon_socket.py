"""The daemon's control socket and state folder against another user on the same machine,
a cloned repository that ships a `.sparkpush`, oversized requests and bursts of commands.

Tests that play "another user" really switch to uid 65534 (nobody): CI runs as root.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.state.daemon_paths import daemon_paths
from tests.conftest import EmbeddedServer, clean_env, free_port, run_connect
from tests.integration.conftest import (
    AS_NOBODY,
    NOBODY,
    RestartableServer,
    as_root,
    daemon_status,
    other_user_python,
    own_server,
    start_as_nobody,
)
from tests.support import run_connect_in_process
from tests.support.forked_runs import run_connect_forked, start_connect_forked

pytestmark = pytest.mark.integration


# Answers every line with a daemon status that is not ours.
PLANTED_DAEMON = """
import json, socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(64)
print("listening", flush=True)
while True:
    connection, _ = server.accept()
    connection.recv(4096)
    answer = {"ok": True, "pid": 4242, "generation": 99, "session_id": "planted",
              "syncs": 1, "server_reachable": True}
    connection.sendall((json.dumps(answer) + "\\n").encode())
    connection.close()
"""

# Listens on an inherited, already bound socket: the listener's uid is what SO_PEERCRED shows.
INHERITED_LISTENER = PLANTED_DAEMON.replace(
    "server = socket.socket(socket.AF_UNIX)\nserver.bind(sys.argv[1])\n",
    "server = socket.socket(fileno=int(sys.argv[1]))\n",
)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A /tmp-like folder (1777) that every user can write to."""
    folder = Path(tempfile.mkdtemp(prefix="sp-shared-", dir="/tmp"))
    folder.chmod(0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def deep_project(parent: Path) -> Path:
    """A project whose `.sparkpush/daemon.sock` is too long for sockaddr_un (108 bytes)."""
    root = parent / ("deep-" + "d" * 60) / ("project-" + "p" * 60)
    root.mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("a")
    (root / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nfiles = ["data/*.txt"]\n')
    assert len(os.fsencode(root / ".sparkpush" / "daemon.sock")) > 108
    return root


def tree_modes(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_uid, stat.S_IMODE(p.lstat().st_mode))
        for p in [folder, *folder.rglob("*")]
    }


@as_root
def test_a_socket_folder_planted_in_tmp_by_another_user_is_never_used(
    embedded_server: EmbeddedServer, tmp_path: Path, shared_tmp: Path
) -> None:
    root = deep_project(tmp_path)
    # where the daemon used to fall back to: $TMPDIR/sparkpush-<uid>/<digest>.sock
    planted_folder = shared_tmp / f"sparkpush-{os.getuid()}"
    digest = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:20]
    mkdir = f"import os; os.mkdir({str(planted_folder)!r}, 0o755)"
    subprocess.run([*AS_NOBODY, other_user_python(), "-c", mkdir], check=True)
    planted = start_as_nobody(["-c", PLANTED_DAEMON, str(planted_folder / f"{digest}.sock")])
    env = {**embedded_server.env, "TMPDIR": str(shared_tmp)}
    try:
        before = tree_modes(planted_folder)
        assert daemon_status(root, env)["running"] is False
        started = run_connect(["daemon", "start"], env=env, cwd=root)
        assert started.returncode == 0, started.stderr
        answer = daemon_status(root, env)
        assert answer["pid"] == int(daemon_paths(root).pid.read_text())
        assert answer["session_id"] != "planted"
        assert tree_modes(planted_folder) == before  # not chmodded, nothing added
        assert daemon_paths(root).socket.exists()
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=root)
        planted.kill()
        planted.wait()


@as_root
def test_a_control_socket_served_by_another_user_is_not_believed(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = cloned_project(tmp_path)
    socket_path = daemon_paths(root).socket
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(socket_path))
    planted = start_as_nobody(
        ["-c", INHERITED_LISTENER, str(listener.fileno())], pass_fds=(listener.fileno(),)
    )
    listener.close()
    try:
        result = run_connect_in_process(
            ["daemon", "status", "--json"], env=embedded_server.env, cwd=root
        )
        assert result.returncode == 2, result.stdout
        assert "served by uid 65534" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "planted" not in result.stdout
    finally:
        planted.kill()
        planted.wait()


def victim_folder(parent: Path) -> Path:
    victim = parent / "victim"
    victim.mkdir()
    victim.chmod(0o755)
    (victim / "keep.txt").write_text("mine")
    return victim


def cloned_project(parent: Path) -> Path:
    root = parent / "clone"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.txt").write_text("a")
    (root / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nfiles = ["data/*.txt"]\n')
    return root


COMMANDS = [["daemon", "status"], ["daemon", "start"], ["sync"], ["submit", "app.py"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_repository_shipping_a_sparkpush_symlink_is_refused(
    embedded_server: EmbeddedServer, tmp_path: Path, command: list[str]
) -> None:
    root = cloned_project(tmp_path)
    (root / "app.py").write_text("print('ran')\n")
    victim = victim_folder(tmp_path)
    (root / ".sparkpush").symlink_to(victim)
    before = tree_modes(victim)
    try:
        result = run_connect(command, env=embedded_server.env, cwd=root)
    finally:
        (root / ".sparkpush").unlink()  # so that a daemon started by mistake can be stopped
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {root / '.sparkpush'} is a symbolic link: refused"
    ]
    assert tree_modes(victim) == before


@pytest.mark.parametrize(
    ("name", "command"),
    [("daemon.log", ["daemon", "start"]), ("sync.lock", ["sync"]), ("daemon.lock", ["watch"])],
)
def test_a_link_shipped_inside_a_sparkpush_folder_is_never_written_through(
    embedded_server: EmbeddedServer, tmp_path: Path, name: str, command: list[str]
) -> None:
    root = cloned_project(tmp_path)
    (root / ".sparkpush").mkdir(mode=0o755)  # as git creates it
    victim = tmp_path / "bashrc"
    victim.write_text("mine\n")
    victim.chmod(0o644)
    (root / ".sparkpush" / name).symlink_to(victim)
    try:
        result = run_connect(command, env=embedded_server.env, cwd=root, timeout=120)
    finally:
        (root / ".sparkpush" / name).unlink()
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {root / '.sparkpush' / name} is a symbolic link: refused"
    )
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "mine\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


@as_root
@pytest.mark.parametrize(
    ("owner", "mode", "problem"),
    [
        (NOBODY, 0o700, "belongs to uid 65534"),
        (0, 0o777, "group or others may write to it"),
        (0, 0o770, "group or others may write to it"),
    ],
)
def test_a_sparkpush_folder_not_ours_alone_is_refused(
    embedded_server: EmbeddedServer, tmp_path: Path, owner: int, mode: int, problem: str
) -> None:
    root = cloned_project(tmp_path)
    state = root / ".sparkpush"
    state.mkdir()
    os.chown(state, owner, owner)
    state.chmod(mode)
    results = []
    try:
        for command in (["daemon", "start"], ["sync"]):
            results.append(run_connect(command, env=embedded_server.env, cwd=root))
        assert list(state.iterdir()) == []
        assert stat.S_IMODE(state.stat().st_mode) == mode
    finally:
        os.chown(state, 0, 0)
        state.chmod(0o700)
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)
    for result in results:
        assert result.returncode == 2, result.stderr
        assert problem in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@as_root
def test_another_user_gets_an_error_not_a_traceback_for_a_folder_they_cannot_use(
    embedded_server: EmbeddedServer, shared_tmp: Path
) -> None:
    probe = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import sparkpush"], capture_output=True, text=True
    )
    assert probe.returncode == 0, f"another user cannot run this interpreter: {probe.stderr}"
    root = cloned_project(shared_tmp)
    for path in (root, *root.rglob("*")):
        os.chown(path, NOBODY, NOBODY)
    (root / ".sparkpush").mkdir(mode=0o755)  # root's, left by an earlier `sudo connect ...`
    result = subprocess.run(
        [*AS_NOBODY, sys.executable, "-m", "sparkpush", "daemon", "status"],
        cwd=root,
        env=clean_env(
            HOME=str(shared_tmp),
            XDG_STATE_HOME=str(shared_tmp / "state"),
            XDG_CONFIG_HOME=str(shared_tmp / "config"),  # not the test session's (root's)
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "belongs to uid 0" in result.stderr


@pytest.fixture
def small_daemon(embedded_server: EmbeddedServer, tmp_path: Path) -> Iterator[Path]:
    root = cloned_project(tmp_path)
    started = run_connect(["daemon", "start"], env=embedded_server.env, cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        yield root
    finally:
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_a_huge_request_line_is_cut_off_and_the_daemon_stays_small(
    embedded_server: EmbeddedServer, small_daemon: Path
) -> None:
    env = embedded_server.env
    pid = int(daemon_status(small_daemon, env)["pid"])
    peak_before = rss_kib(pid, "VmHWM")
    chunk = b"x" * (1024 * 1024)
    sent = 0
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(daemon_paths(small_daemon).socket))
        client.settimeout(60)
        try:
            while sent < 512 * len(chunk):  # no newline, ever
                client.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 64 * len(chunk), "the daemon kept reading a line with no end"
        reply = client.recv(4096)
    assert b"message too long" in reply
    peak_after = rss_kib(pid, "VmHWM")
    assert peak_after - peak_before < 64 * 1024, (peak_before, peak_after)
    after = daemon_status(small_daemon, env)
    assert after["running"] is True
    assert after["pid"] == pid


def test_a_burst_of_30_status_calls_all_get_an_answer(
    embedded_server: EmbeddedServer, small_daemon: Path
) -> None:
    from sparkpush.daemon import launcher
    from sparkpush.daemon.control_messages import DaemonStatus

    callers = 30
    start = threading.Barrier(callers)
    answers: list[DaemonStatus | None] = []

    def call() -> None:
        start.wait()
        answers.append(launcher.daemon_status(small_daemon))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == callers
    assert None not in answers
    # as many `connect` processes at once (forked from a warm one: they start within
    # milliseconds of each other, not over the seconds 30 interpreters take to start)
    commands = [
        start_connect_forked(
            ["daemon", "status", "--json"], env=embedded_server.env, cwd=small_daemon
        )
        for _ in range(callers)
    ]
    try:
        for command in commands:
            assert command.wait(timeout=300) == 0, command.output()[1]
        outputs = [json.loads(command.output()[0]) for command in commands]
    finally:
        for command in commands:
            if command.poll() is None:
                command.kill()
                command.wait()
            command.close()
    assert [o["running"] for o in outputs] == [True] * callers


def loose_modes(folder: Path) -> dict[str, str]:
    """Files and folders under `folder` that group or others may read or write."""
    return {
        str(p): oct(stat.S_IMODE(p.lstat().st_mode))
        for p in [folder, *folder.rglob("*")]
        if stat.S_IMODE(p.lstat().st_mode) & 0o077
    }


def test_daemon_server_and_loader_files_are_user_only_under_umask_000(tmp_path: Path) -> None:
    root = tmp_path / "umask-proj"
    root.mkdir()
    (root / "udfs.py").write_text(
        "from pyspark.sql.functions import udf\n\n\n@udf('string')\ndef word():\n    return 'w'\n"
    )
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        f"[tool.sparkpush.server]\nport = {free_port()}\n"
    )
    # not there yet: the daemon creates it when it starts the embedded server
    state_home = tmp_path / "home" / ".local" / "state"
    env = clean_env(XDG_STATE_HOME=str(state_home))

    def connect(*args: str) -> subprocess.CompletedProcess[str]:
        return run_connect_forked(list(args), env=env, cwd=root, umask=0)

    try:
        started = connect("daemon", "start")
        assert started.returncode == 0, started.stderr
        synced = connect("sync")
        assert synced.returncode == 0, synced.stderr
        answer = connect("sql", "--json", "SELECT word() AS w")
        assert json.loads(answer.stdout) == [{"w": "w"}], answer.stderr
        state = root / ".sparkpush"
        assert (state / "udf-loader.log").exists()
        assert (state / "daemon.sock").exists()
        assert (state_home / "sparkpush" / "server.token").exists()
        assert loose_modes(state) == {}
        assert loose_modes(state_home / "sparkpush") == {}
        for created in (tmp_path / "home", state_home.parent, state_home):
            assert stat.S_IMODE(created.stat().st_mode) & 0o022 == 0, created
    finally:
        connect("daemon", "stop")
        connect("server", "stop")


def test_first_sql_after_a_server_restart_uses_the_new_token(
    tmp_path: Path, restartable_server: RestartableServer
) -> None:
    root = cloned_project(tmp_path)
    token_file = restartable_server.state_home / "sparkpush" / "server.token"
    with own_server(root, restartable_server) as env:
        assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
        first = run_connect_in_process(["sql", "--json", "SELECT 1 AS one"], env=env, cwd=root)
        assert json.loads(first.stdout) == [{"one": 1}], first.stderr
        old_token = token_file.read_text()
        assert run_connect(["server", "stop"], env=env, cwd=root).returncode == 0
        assert run_connect(["server", "start"], env=env, cwd=root).returncode == 0
        assert token_file.read_text() != old_token
        again = run_connect_in_process(["sql", "--json", "SELECT 2 AS two"], env=env, cwd=root)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == [{"two": 2}]
        assert daemon_status(root, env)["last_error"] is None
