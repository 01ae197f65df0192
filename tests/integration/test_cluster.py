"""Every artifact kind on a local standalone cluster: executors in their own JVMs and workers."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, EmbeddedServer, run_connect
from tests.integration.conftest import EVERY_KIND, SIMPLE_APP, sync_json, write_udf_project
from tests.session_query import query_session
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_server(standalone_cluster: EmbeddedServer) -> EmbeddedServer:
    return standalone_cluster


def test_status_shows_the_standalone_master(cluster_server: EmbeddedServer) -> None:
    status = json.loads(
        run_connect_in_process(["server", "status", "--json"], env=cluster_server.env).stdout
    )
    assert str(status["master"]).startswith("spark://127.0.0.1:")
    assert len(status["cluster_pids"]) == 3


def test_every_kind_reaches_separate_executors(
    cluster_server: EmbeddedServer, every_kind_project: Path
) -> None:
    summary = sync_json(cluster_server, every_kind_project)
    result = query_session(
        cluster_server,
        str(summary["session_id"]),
        EVERY_KIND
        + """
from pyspark.sql.functions import udf
@udf("string")
def where(_):
    import os
    # python worker -> pyspark daemon -> the JVM that runs the task
    daemon = os.getppid()
    with open(f"/proc/{daemon}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[1]
jvms = sorted({r[0] for r in spark.range(0, 8, 1, 8).select(where("id")).collect()})
print("task-jvms:", ",".join(jvms))
""",
    )
    assert result.returncode == 0, result.stderr
    assert "python: helpers-v1|wheel|from-archive|from-file" in result.stdout
    assert "java: 13" in result.stdout
    status = json.loads(
        run_connect_in_process(["server", "status", "--json"], env=cluster_server.env).stdout
    )
    task_jvms = result.stdout.split("task-jvms: ")[1].split()[0].split(",")
    assert str(status["pid"]) not in task_jvms  # not the driver: separate executor JVMs


def test_submit_runs_simple_app_on_the_cluster(cluster_server: EmbeddedServer) -> None:
    result = run_connect(SIMPLE_APP, env=cluster_server.env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "Lines with a: 9, lines with b: 2" in result.stdout


def test_scalar_pandas_and_table_udfs_from_a_module_run_on_executors(
    cluster_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = write_udf_project(tmp_path / "udf-project")
    result = run_connect_in_process(
        [
            "sql",
            "--json",
            "SELECT tagged('a') AS t, plus_one(CAST(41 AS BIGINT)) AS p, "
            "(SELECT sum(square) FROM Squares(4)) AS s",
        ],
        env=cluster_server.env,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"t": "a-v1", "p": 42, "s": 14}]


EXECUTOR_PROBE = """
from pyspark.sql.functions import udf
@udf("string")
def probe(_):
    import os, tempfile
    return f"{'SPARK_CONNECT_AUTHENTICATE_TOKEN' in os.environ}|{tempfile.gettempdir()}"
rows = spark.range(0, 8, 1, 8).select(probe("id")).collect()
print("probe:", ";".join(sorted({row[0] for row in rows})))
"""


def test_executors_python_workers_get_no_token_write_in_scratch_and_are_watched(
    cluster_server: EmbeddedServer,
) -> None:
    """Executor JVMs and their Python workers: no token, temp files in the state folder, and
    their daemons are among those the reaper watches."""
    from sparkpush.server.process_group import all_processes, command_line, read_process
    from sparkpush.server.reaper import worker_daemons

    result = query_session(cluster_server, str(uuid.uuid4()), EXECUTOR_PROBE)
    assert result.returncode == 0, result.stderr
    probes = result.stdout.split("probe: ")[1].split()[0].split(";")
    scratch = str(cluster_server.state_home / "sparkpush" / "scratch")
    assert probes and all(probe == f"False|{scratch}/tmp" for probe in probes), probes
    status = json.loads(
        run_connect_in_process(["server", "status", "--json"], env=cluster_server.env).stdout
    )
    # the reaper was given the server and every cluster process to watch
    reaper_args = command_line(status["reaper_pid"]) or ()
    assert {str(pid) for pid in [status["pid"], *status["cluster_pids"]]} <= set(reaper_args)
    watched = [read_process(pid) for pid in [status["pid"], *status["cluster_pids"]]]
    sessions = {process.session for process in watched if process is not None}
    daemons = worker_daemons(all_processes(), sessions, os.getuid())
    executor_daemons = [d for d in daemons if d.session != status["pid"]]
    assert executor_daemons, daemons
