"""Attached runs on a clone of the generation: what a script sets stays out of the generation."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import session_alive, sync_json
from tests.support import run_connect_in_process, wait_until
from tests.support.submits import started_submit

pytestmark = pytest.mark.integration

SETS_EVERYTHING = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
spark.conf.set("spark.sql.shuffle.partitions", "1")
spark.sql("SET spark.sql.session.timeZone=Asia/Tokyo")
spark.range(3).createOrReplaceTempView("leaked_view")
spark.udf.register("leaked_udf", lambda x: x + 1, "long")
print("session", spark.client._session_id)
print("partitions", spark.conf.get("spark.sql.shuffle.partitions"))
"""


def sql_json(server: EmbeddedServer, root: Path, query: str) -> object:
    result = run_connect_in_process(["sql", "--json", query], env=server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def sql_fails(server: EmbeddedServer, root: Path, query: str) -> str:
    result = run_connect_in_process(["sql", query], env=server.env, cwd=root)
    assert result.returncode == 1, result.stdout
    return result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.conf]\n"spark.sql.shuffle.partitions" = "7"\n'
    )
    (root / "app.py").write_text(SETS_EVERYTHING)
    return root


def test_what_an_attached_script_sets_never_reaches_the_generation(
    embedded_server: EmbeddedServer, project: Path
) -> None:
    generation = sync_json(embedded_server, project)
    result = run_connect(["submit", "--attach", "app.py"], env=embedded_server.env, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "partitions 1" in result.stdout
    ran_on = result.stdout.split("session ", 1)[1].split()[0]
    assert ran_on != generation["session_id"]
    assert not session_alive(embedded_server, ran_on)  # the clone is released with the run
    assert sync_json(embedded_server, project)["session_id"] == generation["session_id"]
    assert sql_json(embedded_server, project, "SET spark.sql.shuffle.partitions") == [
        {"key": "spark.sql.shuffle.partitions", "value": "7"}
    ]
    zone = sql_json(embedded_server, project, "SET spark.sql.session.timeZone")
    assert zone != [{"key": "spark.sql.session.timeZone", "value": "Asia/Tokyo"}]
    assert "leaked_view" in sql_fails(embedded_server, project, "SELECT * FROM leaked_view")
    assert "leaked_udf" in sql_fails(embedded_server, project, "SELECT leaked_udf(1)")


WAITS = """
import os, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("session", spark.client._session_id, flush=True)
deadline = time.time() + 120
while not os.path.exists("done") and time.time() < deadline:
    time.sleep(0.2)
"""


def recorded(root: Path) -> set[str]:
    return {s.session_id for s in unfinished_sessions(root)}


def test_an_attached_run_stopped_by_sigterm_releases_its_clone(
    embedded_server: EmbeddedServer, project: Path
) -> None:
    generation = sync_json(embedded_server, project)
    run, [clone] = started_submit(
        embedded_server.env, project, "waits.py", WAITS, "--attach", first_word="session"
    )
    try:
        assert clone != generation["session_id"]
        assert clone in recorded(project)
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=120)
        assert run.returncode == 143
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert not session_alive(embedded_server, clone)
    assert recorded(project) == set()
    assert session_alive(embedded_server, str(generation["session_id"]))


def test_an_attached_run_killed_with_kill_9_leaves_its_clone_to_the_next_sync(
    embedded_server: EmbeddedServer, project: Path
) -> None:
    generation = sync_json(embedded_server, project)
    run, [clone] = started_submit(
        embedded_server.env, project, "waits.py", WAITS, "--attach", first_word="session"
    )
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert recorded(project) == {clone}
    assert session_alive(embedded_server, clone)
    [record] = [s for s in unfinished_sessions(project) if s.session_id == clone]
    # the group's kill reaches the script too, but under load its exit can lag the submit's:
    # a record whose owner still runs is rightly kept
    wait_until(lambda: not record.owner_alive(), what="the killed run's processes to exit")
    again = sync_json(embedded_server, project)
    assert again["session_id"] == generation["session_id"]
    assert not session_alive(embedded_server, clone)
    assert recorded(project) == set()


def test_with_layers_off_an_attached_run_uses_the_generation_itself(
    embedded_server: EmbeddedServer, project: Path
) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.sparkpush.layers]\nenabled = false\n")
    generation = sync_json(embedded_server, project)
    result = run_connect(["submit", "--attach", "app.py"], env=embedded_server.env, cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"session {generation['session_id']}" in result.stdout
    assert "clone" not in result.stderr
    assert session_alive(embedded_server, str(generation["session_id"]))
