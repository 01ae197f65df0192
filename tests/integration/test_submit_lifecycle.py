"""`connect submit` and the processes around it: a killed submit takes its script with it, a
hung server ends the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparkpush.server.process_group import read_process
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer, run_connect_in_process
from tests.integration.conftest import RestartableServer, own_server, session_alive, status_json
from tests.support import wait_until
from tests.support.submits import started_submit

pytestmark = pytest.mark.integration

SLOW_QUERY = """
import os, sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()
marks = os.path.abspath(sys.argv[1])


@udf("long")
def slow(x):
    import time
    time.sleep(0.3)
    with open(marks, "a") as f:
        f.write("row\\n")
    return x


print("child", os.getpid(), spark.client._session_id, flush=True)
spark.range(0, 1000, 1, 1).select(slow("id")).collect()
print("finished", flush=True)
"""


def started_slow_query(
    env: dict[str, str], root: Path, *flags: str
) -> tuple[subprocess.Popen[str], int, str]:
    """`connect submit FLAGS slow.py marks.txt`: (it, the script's process id, the run's
    session id)."""
    run, [pid, session] = started_submit(
        env, root, "slow.py", SLOW_QUERY, *flags, args=("marks.txt",), first_word="child"
    )
    return run, int(pid), session


def rows_marked(root: Path) -> int:
    try:
        return len((root / "marks.txt").read_text().splitlines())
    except FileNotFoundError:
        return 0


def steady(root: Path, seconds: float = 4.0) -> bool:
    """No row marked for `seconds`: the query no longer runs."""
    try:
        changed = (root / "marks.txt").stat().st_mtime
    except FileNotFoundError:
        return True
    return time.time() - changed >= seconds


def test_kill_9_of_submit_ends_its_script_and_interrupts_its_query(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run, child, _ = started_slow_query(embedded_server.env, root, "--fresh")
    try:
        wait_until(lambda: rows_marked(root) >= 3, what="the query to run")
        os.kill(run.pid, signal.SIGKILL)  # the submit alone, not its process group
        _, stderr = run.communicate(timeout=60)
        wait_until(lambda: read_process(child) is None, 60, what="the script's process to end")
        wait_until(lambda: steady(root), 120, what="the query to stop")
        assert rows_marked(root) < 1000
        # the script's process said what it did (it shares the submit's stderr)
        assert "connect submit is gone: interrupting the run's operations" in stderr
        assert "interrupted 1 operation(s)" in stderr
    finally:
        if read_process(child) is not None:
            os.kill(child, signal.SIGKILL)
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_kill_9_of_an_attached_submit_never_releases_its_clone_under_its_script(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.sparkpush]\n")
    env = embedded_server.env
    run, child, clone = started_slow_query(env, root, "--attach")
    try:
        [record] = [s for s in unfinished_sessions(root) if s.session_id == clone]
        assert record.pids == (run.pid, child), "the script's process owns the clone too"
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=60)
        wait_until(lambda: read_process(child) is None, 60, what="the script's process to end")
    finally:
        if read_process(child) is not None:
            os.kill(child, signal.SIGKILL)
    synced = run_connect_in_process(["sync", "--json"], env=env, cwd=root)
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["action"] == "nothing"
    assert not session_alive(embedded_server, clone)
    assert unfinished_sessions(root) == []


TICKS = """
import os
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("child", os.getpid(), flush=True)
for tick in range(600):
    spark.range(10).count()
    print("tick", tick, flush=True)
    time.sleep(1)
"""


def test_a_hung_server_under_a_running_submit_ends_it_with_one_line(
    tmp_path: Path, restartable_server: RestartableServer
) -> None:
    """`kill -STOP` of the JVM while a script runs a query a second (the server keeps its
    connections: nothing but a question left unanswered shows it). Not the session's server:
    stopping it would stall every other test."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "ticks.py").write_text(TICKS)
    (root / "pyproject.toml").write_text("")
    with own_server(root, restartable_server) as env:
        jvm = int(str(status_json(env)["pid"]))
        run = subprocess.Popen(
            [sys.executable, "-m", "sparkpush", "submit", "--liveness-timeout", "5", "ticks.py"],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert run.stdout is not None
        child = int(run.stdout.readline().split()[1])
        while "tick 2" not in run.stdout.readline():
            pass
        os.kill(jvm, signal.SIGSTOP)
        try:
            _, stderr = run.communicate(timeout=300)
        finally:
            os.kill(jvm, signal.SIGCONT)
        assert run.returncode == 3, stderr
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, stderr
        assert "stopped answering during the run (no answer for 5 s" in errors[0]
        assert "Traceback" not in stderr
        wait_until(lambda: read_process(child) is None, 60, what="the script's process to end")
