"""The embedded server does not keep a Python worker daemon per session forever (soak)."""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sparkpush.server.process_group import all_processes, command_line
from sparkpush.server.reaper import is_worker_daemon
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import server_pid
from tests.session_query import query_session
from tests.support import wait_until

pytestmark = pytest.mark.integration

SUBMITS = 40
MAX_LEFT = 4
DRAIN_S = 100.0

APP = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

@udf("long")
def plus_one(x):
    return x + 1

spark = SparkSession.builder.getOrCreate()
print("sum:", spark.range(3).select(plus_one("id").alias("v")).groupBy().sum("v").first()[0])
"""

DAEMON_OF_THIS_SESSION = """
from pyspark.sql.functions import udf
@udf("long")
def daemon(_):
    import os
    return os.getppid()  # a worker's parent is its session's daemon
print("daemon:", spark.range(1).select(daemon("id")).first()[0])
"""


def python_processes(session: int) -> list[int]:
    """Python processes in the server JVM's process session (daemons and their workers)."""
    return [p.pid for p in all_processes() if p.session == session and is_worker_daemon(p)]


def daemon_of(server: EmbeddedServer, session_id: str) -> int:
    result = query_session(server, session_id, DAEMON_OF_THIS_SESSION)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("daemon: ")[1].split()[0])


def test_forty_submits_with_a_udf_leave_at_most_four_python_processes(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    """Released sessions' daemons go; a live session that was idle gets a new one, no error."""
    live_session = str(uuid.uuid4())
    first_daemon = daemon_of(embedded_server, live_session)
    (tmp_path / "app.py").write_text(APP)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda _: run_connect(["submit", "app.py"], env=embedded_server.env, cwd=tmp_path),
                range(SUBMITS),
            )
        )
    submitted = time.monotonic()
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "sum: 6" in result.stdout
    session = server_pid(embedded_server.env)
    peak = len(python_processes(session))
    with contextlib.suppress(AssertionError):  # the assertion below names what is left
        wait_until(
            lambda: len(python_processes(session)) <= MAX_LEFT,
            DRAIN_S - (time.monotonic() - submitted),
            interval=1,
        )
    left = python_processes(session)
    print(
        f"{SUBMITS} submits in {submitted - started:.0f} s; {peak} Python processes after them, "
        f"{len(left)} after {time.monotonic() - submitted:.0f} s"
    )
    assert len(left) <= MAX_LEFT, left
    # the idle live session's daemon went too
    wait_until(lambda: command_line(first_daemon) is None, DRAIN_S, what="its daemon to go")
    assert daemon_of(embedded_server, live_session) != first_daemon
