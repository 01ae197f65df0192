"""The watch daemon against the real server: edits go live, stale code is never served."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import (
    AS_NOBODY,
    USE_PACKAGE,
    RestartableServer,
    as_root,
    daemon_status,
    generation_after,
    other_user_python,
    own_server,
    session_alive,
    traversable_by_others,
    watching,
)
from tests.jvm import add_constant_udf, compile_java
from tests.session_query import query_session
from tests.support import run_connect_in_process, wait_until

pytestmark = pytest.mark.integration

UDF_CALL = """
from pyspark.sql.functions import udf
from pyspark.sql.types import LongType

@udf("string")
def tag(_):
    import mypkg.helpers
    return mypkg.helpers.tag()

spark.udf.registerJavaFunction("add_ten", "com.ex.AddTen", LongType())
print("tag", spark.range(1).select(tag("id")).first()[0])
print("java", spark.sql("SELECT add_ten(CAST(1 AS BIGINT))").first()[0])
"""


def test_status_json_has_the_documented_fields(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    current = daemon_status(daemon, embedded_server.env)
    for key in (
        "pid",
        "session_id",
        "generation",
        "remote",
        "last_sync",
        "last_error",
        "artifacts",
        "udfs",
    ):
        assert key in current
    assert current["running"] is True
    assert current["artifacts"] == 3
    assert embedded_server.token not in json.dumps(current)


def test_second_start_says_it_runs(embedded_server: EmbeddedServer, daemon: Path) -> None:
    again = run_connect(["daemon", "start"], env=embedded_server.env, cwd=daemon)
    assert again.returncode == 0
    assert "already running" in again.stdout


@pytest.mark.compat
def test_edited_module_goes_live_in_a_new_generation(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    (daemon / "src" / "mypkg" / "helpers.py").write_text("def tag():\n    return 'v2'\n")
    second = generation_after(daemon, env, int(first["generation"]))
    assert second["session_id"] != first["session_id"]
    result = query_session(embedded_server, second["session_id"], UDF_CALL)
    assert "tag v2" in result.stdout, result.stderr
    wait_until(lambda: not session_alive(embedded_server, first["session_id"]), what="release")


@pytest.mark.compat
def test_recompiled_class_gives_the_new_result_never_the_stale_one(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    before = query_session(embedded_server, first["session_id"], UDF_CALL)
    assert "java 11" in before.stdout, before.stderr
    compile_java(add_constant_udf("com.ex", "AddTen", 100), "com.ex.AddTen", daemon / "classes")
    second = generation_after(daemon, env, int(first["generation"]))
    after = query_session(embedded_server, second["session_id"], UDF_CALL)
    assert "java 101" in after.stdout, after.stderr


def test_deleted_file_builds_a_new_generation(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    (daemon / "data" / "a.txt").unlink()
    second = generation_after(daemon, env, int(first["generation"]))
    assert second["artifacts"] == 2


def test_a_burst_of_500_class_files_is_one_generation(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    burst = daemon / "classes" / "com" / "burst"
    burst.mkdir(parents=True)

    def write_all(version: int) -> None:
        for index in range(500):
            (burst / f"C{index}.class").write_bytes(b"\xca\xfe\xba\xbe" + bytes([version]) * 8)

    # A burst is one generation when it has no quiet gap of the daemon's debounce (50 ms). On
    # a loaded machine the writer, or the daemon's delivery of the 1,500 events, can pause
    # that long once: then a burst is legitimately two generations (the second completes
    # it). Never one per file, and never a generation still moving after a flush.
    write_all(1)
    flushed = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
    assert flushed.returncode == 0, flushed.stderr
    added = daemon_status(daemon, env)
    assert added["artifacts"] == first["artifacts"]  # the class folder is one jar
    assert 1 <= added["generation"] - first["generation"] <= 2  # a changed jar: a new session

    write_all(2)  # a rebuild: every class changes at once
    generation_after(daemon, env, int(added["generation"]))
    # a flush syncs every event of the rebuild still on its way
    flushed = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
    assert flushed.returncode == 0, flushed.stderr
    settled = daemon_status(daemon, env)
    assert 1 <= settled["generation"] - added["generation"] <= 2
    # settled: another flush finds nothing to do
    again = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
    assert again.returncode == 0, again.stderr
    assert daemon_status(daemon, env)["generation"] == settled["generation"]


def test_read_your_writes_submit_right_after_a_save(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    (daemon / "app.py").write_text(USE_PACKAGE)
    for version in ("rw1", "rw2", "rw3"):
        (daemon / "src" / "mypkg" / "helpers.py").write_text(
            f"def tag():\n    return '{version}'\n"
        )
        result = run_connect(["submit", "app.py"], env=embedded_server.env, cwd=daemon)
        assert result.returncode == 0, result.stderr
        assert "attached to the daemon's generation" in result.stderr
        assert f"tag {version}" in result.stdout


def test_a_lease_keeps_the_old_generation_until_the_run_ends(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    (daemon / "app.py").write_text(
        "import time, sys\n"
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print('started', flush=True)\n"
        "deadline = time.time() + 60\n"
        "import os\n"
        "while not os.path.exists('done') and time.time() < deadline:\n"
        "    time.sleep(0.2)\n"
        "print('count', spark.range(3).count())\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", "app.py"],
        env=env,
        cwd=daemon,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        assert "started" in run.stdout.readline()
        (daemon / "src" / "mypkg" / "helpers.py").write_text("def tag():\n    return 'v9'\n")
        generation_after(daemon, env, int(first["generation"]))
        # a flush waits for the sync that built the new generation, retiring the old one
        flushed = run_connect_in_process(["sync", "--json"], env=env, cwd=daemon)
        assert flushed.returncode == 0, flushed.stderr
        assert session_alive(embedded_server, first["session_id"])  # leased: kept
        assert daemon_status(daemon, env)["leases"] == {first["session_id"]: 1}
        (daemon / "done").write_text("")
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert "count 3" in out
    finally:
        if run.poll() is None:
            run.kill()
    wait_until(lambda: not session_alive(embedded_server, first["session_id"]), what="release")


def test_kill_9_then_restart_converges_without_reuploading(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    before = daemon_status(daemon, env)
    os.kill(int(before["pid"]), signal.SIGKILL)
    wait_until(lambda: not daemon_status(daemon, env)["running"], what="the daemon to go")
    restarted = run_connect(["daemon", "start"], env=env, cwd=daemon)
    assert restarted.returncode == 0, restarted.stderr
    assert "started" in restarted.stdout
    after = daemon_status(daemon, env)
    assert after["session_id"] == before["session_id"]
    assert after["last_sync"]["action"] == "nothing"
    assert after["last_sync"]["uploaded"] == 0


def test_server_restart_under_a_running_daemon(
    restartable_server: RestartableServer, daemon_project: Path
) -> None:
    with own_server(daemon_project, restartable_server) as env:
        assert run_connect(["daemon", "start"], env=env, cwd=daemon_project).returncode == 0
        first = daemon_status(daemon_project, env)
        assert run_connect(["server", "stop"], env=env, cwd=daemon_project).returncode == 0
        (daemon_project / "data" / "b.txt").write_text("b")
        wait_until(
            lambda: daemon_status(daemon_project, env)["server_reachable"] is False,
            what="the server to be unreachable",
        )
        assert daemon_status(daemon_project, env)["last_error"]
        assert run_connect(["server", "start"], env=env, cwd=daemon_project).returncode == 0
        second = generation_after(daemon_project, env, int(first["generation"]))
        assert second["session_id"] != first["session_id"]
        assert second["last_error"] is None
        assert second["artifacts"] == 4


UDF_MODULE = """
from pyspark.sql.functions import udf

import helpers


@udf("string")
def answer():
    return helpers.word()
"""


@pytest.fixture
def udf_daemon(embedded_server: EmbeddedServer, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "udf-proj"
    root.mkdir()
    (root / "udfs.py").write_text(UDF_MODULE)
    (root / "helpers.py").write_text("def word():\n    return 'first'\n")
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    env = {**embedded_server.env, "SPARKPUSH_UDF_IMPORT_TIMEOUT": "5"}
    started = run_connect(["daemon", "start"], env=env, cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        yield root
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=root)


def sql_answer(server: EmbeddedServer, root: Path) -> subprocess.CompletedProcess[str]:
    return run_connect_in_process(
        ["sql", "--json", "SELECT answer() AS a"], env=server.env, cwd=root
    )


@pytest.mark.compat
def test_udf_edit_is_live_on_the_next_sql_in_the_same_session(
    embedded_server: EmbeddedServer, udf_daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(udf_daemon, env)
    assert json.loads(sql_answer(embedded_server, udf_daemon).stdout) == [{"a": "first"}]
    for word in ("second", "third"):
        (udf_daemon / "helpers.py").write_text(f"def word():\n    return '{word}'\n")
        answer = sql_answer(embedded_server, udf_daemon)  # right after the save
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout) == [{"a": word}]
    assert daemon_status(udf_daemon, env)["session_id"] == first["session_id"]


def test_a_burst_of_udf_edits_is_answered_by_the_last_one_never_an_older_one(
    embedded_server: EmbeddedServer, udf_daemon: Path
) -> None:
    """Saves in quick succession, some while a sync loads the one before: each answer
    right after a save is that save's code (the worker forgets a change only once the sync
    that reads it has started)."""
    for round_ in range(3):
        for word in ("a", "b", "c"):
            (udf_daemon / "helpers.py").write_text(f"def word():\n    return '{word}{round_}'\n")
        answer = sql_answer(embedded_server, udf_daemon)
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout) == [{"a": f"c{round_}"}]


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def warm_loader_forks(server: EmbeddedServer, root: Path) -> list[int]:
    """The forks of the daemon's warm UDF loader (its children: the spare, or a load)."""
    daemon = int(daemon_status(root, server.env)["pid"])
    for child in children_of(daemon):
        with contextlib.suppress(OSError):
            if b"sparkpush.udf.warm_loader" in Path(f"/proc/{child}/cmdline").read_bytes():
                return children_of(child)
    return []


def fork_ended(server: EmbeddedServer, root: Path, pid: int) -> bool:
    return pid not in warm_loader_forks(server, root)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_an_edit_saved_after_the_spare_fork_was_made_answers_the_code_on_disk(
    embedded_server: EmbeddedServer, udf_daemon: Path
) -> None:
    """The warm loader forks the process of the next load ahead of time; that fork imports
    the user's modules only once its load comes, so an edit saved long after it was made is
    what the next query runs."""
    for word in ("after-spare-1", "after-spare-2", "after-spare-3"):
        [spare] = wait_until(
            lambda: warm_loader_forks(embedded_server, udf_daemon), 60, what="a spare fork"
        )
        (udf_daemon / "helpers.py").write_text(f"def word():\n    return '{word}'\n")
        answer = sql_answer(embedded_server, udf_daemon)
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout) == [{"a": word}]
        wait_until(functools.partial(fork_ended, embedded_server, udf_daemon, spare), 60)


def test_broken_udf_module_keeps_the_last_good_one_serving_until_fixed(
    embedded_server: EmbeddedServer, udf_daemon: Path
) -> None:
    env = embedded_server.env
    (udf_daemon / "udfs.py").write_text(UDF_MODULE + "\nraise ValueError('half-saved')\n")
    synced = run_connect_in_process(["sync"], env=env, cwd=udf_daemon)
    assert synced.returncode == 2
    assert "udfs.py:11: ValueError: half-saved" in synced.stderr
    assert "Traceback" not in synced.stderr
    answer = sql_answer(embedded_server, udf_daemon)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == [{"a": "first"}]
    assert "half-saved" in daemon_status(udf_daemon, env)["last_error"]
    (udf_daemon / "udfs.py").write_text(UDF_MODULE)
    (udf_daemon / "helpers.py").write_text("def word():\n    return 'fixed'\n")
    answer = sql_answer(embedded_server, udf_daemon)
    assert json.loads(answer.stdout) == [{"a": "fixed"}]
    assert daemon_status(udf_daemon, env)["last_error"] is None


def test_control_socket_and_daemon_state_are_user_only(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    from sparkpush.state.daemon_paths import daemon_paths

    paths = daemon_paths(daemon)
    assert paths.socket.exists()
    assert paths.socket.stat().st_mode & 0o777 == 0o600
    assert paths.socket.parent.stat().st_mode & 0o777 == 0o700
    for path in (paths.pid, paths.lock, paths.log):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert embedded_server.token not in paths.log.read_text()


@as_root
def test_another_user_cannot_reach_the_control_socket(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    from sparkpush.state.daemon_paths import daemon_paths

    socket_path = daemon_paths(daemon).socket
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(socket_path)!r})\n"
        "except PermissionError:\n"
        "    print('refused'); sys.exit(0)\n"
        "print('connected'); sys.exit(1)\n"
    )
    with traversable_by_others(daemon):
        result = subprocess.run(
            [*AS_NOBODY, other_user_python(), "-c", probe],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.stdout.strip() == "refused", result.stderr


def test_watch_run_reruns_the_script_on_the_new_generation(
    embedded_server: EmbeddedServer, daemon_project: Path
) -> None:
    (daemon_project / "app.py").write_text(USE_PACKAGE)
    with watching(["--run", "app.py"], embedded_server.env, daemon_project) as (watch, lines):
        lines.wait_for("tag v1")
        (daemon_project / "src" / "mypkg" / "helpers.py").write_text(
            "def tag():\n    return 'v2'\n"
        )
        lines.wait_for("tag v2")
    assert watch.returncode == 0
    assert not (daemon_project / ".sparkpush" / "daemon.pid").exists()
