"""`connect test` and the pytest plugin on the real server: the project's UDFs by name, the
code on disk after an edit, nothing leaking into the generation, clones released on Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, EmbeddedServer, run_connect
from tests.integration.conftest import (
    daemon_status,
    generation_after,
    session_alive,
    watching,
    write_udf_project,
)
from tests.support import run_connect_in_process, wait_until

pytestmark = pytest.mark.integration

USER_TESTS = """
from pathlib import Path

from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual


def test_a_project_udf_by_name(spark):
    print("TAGGED", spark.sql("SELECT tagged('x') AS t").first()["t"])
    Path("clone.txt").write_text(spark.client._session_id)


def test_assert_dataframe_equal(spark):
    actual = spark.sql("SELECT plus_one(id) AS n FROM range(3)")
    assertDataFrameEqual(actual, [Row(n=1), Row(n=2), Row(n=3)])


def test_isolated_gets_its_own_clone(spark, spark_isolated):
    assert spark_isolated.client._session_id != spark.client._session_id
    assert spark_isolated.sql("SELECT tagged('y') AS t").first()["t"].startswith("y-")
"""

LEAKY_TESTS = """
def test_sets_a_conf_and_a_temp_view(spark):
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    spark.range(2).createOrReplaceTempView("leaked_view")
    assert spark.conf.get("spark.sql.shuffle.partitions") == "7"
    assert spark.table("leaked_view").count() == 2
"""

SLOW_TESTS = """
import time
from pathlib import Path


def test_waits(spark):
    spark.sql("SELECT tagged('x')").collect()
    Path("clone.txt").write_text(spark.client._session_id)
    time.sleep(600)
"""


def user_project(root: Path, tests: str) -> Path:
    write_udf_project(root)
    (root / "tests").mkdir()
    (root / "tests" / "test_user.py").write_text(tests)
    return root


def connect_test(
    server: EmbeddedServer, root: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return run_connect(["test", *args], env=server.env, cwd=root, timeout=600)


def last_json(stdout: str) -> dict[str, object]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def test_a_user_suite_sees_project_udfs_and_the_edited_udf_through_the_daemon(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", USER_TESTS)
    started = run_connect(["daemon", "start"], env=embedded_server.env, cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        plain = connect_test(embedded_server, root, "--json", "-s", "-q", "tests")
        assert plain.returncode == 0, plain.stdout + plain.stderr
        # without --keep-warm a run leaves nothing on the server
        assert last_json(plain.stdout)["warm_spare"] is False
        assert not (root / ".sparkpush" / "spare-clone.json").exists()
        assert not session_alive(embedded_server, (root / "clone.txt").read_text())
        first = connect_test(embedded_server, root, "--keep-warm", "--json", "-s", "-q", "tests")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "TAGGED x-v1" in first.stdout
        report = last_json(first.stdout)
        assert report["counts"] == {
            "passed": 3,
            "failed": 0,
            "errors": 0,
            "skipped": 0,
            "xfailed": 0,
            "xpassed": 0,
        }
        assert report["status"] == "passed" and report["cloned"] is True
        assert report["generation"] == 1 and report["session_id"]
        assert report["warm_spare"] is False
        spare = json.loads((root / ".sparkpush" / "spare-clone.json").read_text())
        assert session_alive(embedded_server, spare["session_id"])
        again = connect_test(embedded_server, root, "--keep-warm", "--json", "-s", "-q", "tests")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "TAGGED x-v1" in again.stdout
        assert last_json(again.stdout)["warm_spare"] is True
        assert not session_alive(embedded_server, spare["session_id"])  # used, then released
        spare = json.loads((root / ".sparkpush" / "spare-clone.json").read_text())
        assert "token" not in first.stdout + first.stderr
        # an edit right before the run: the daemon's flush makes the run see it
        (root / "helpers.py").write_text("def tag():\n    return 'v2'\n")
        second = connect_test(
            embedded_server, root, "--keep-warm", "--report", "r.json", "-s", "-q", "tests"
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "TAGGED x-v2" in second.stdout
        second_report = json.loads((root / "r.json").read_text())
        assert second_report["status"] == "passed"
        # the spare was cloned before the edit: not used, released
        assert second_report["warm_spare"] is False
        assert not session_alive(embedded_server, spare["session_id"])
        # the daemon serves another server than the one asked for: one line, no test runs
        other = f"sc://127.0.0.1:{embedded_server.port}"
        mismatch = connect_test(embedded_server, root, "--remote", other, "-q", "tests")
        assert mismatch.returncode == 2, mismatch.stdout + mismatch.stderr
        assert "the project's daemon syncs to sc://localhost" in mismatch.stdout
        assert "Traceback" not in mismatch.stdout + mismatch.stderr
        assert "TAGGED" not in mismatch.stdout
    finally:
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=root)


def test_a_failing_test_is_pytest_s_exit_code_and_counted(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    tests = "def test_wrong(spark):\n    assert spark.range(2).count() == 3\n"
    root = user_project(tmp_path / "proj", tests)
    result = connect_test(embedded_server, root, "--json", "-q", "tests")
    assert result.returncode == 1, result.stdout + result.stderr
    report = last_json(result.stdout)
    assert report["status"] == "failed" and report["counts"]["failed"] == 1  # type: ignore[index]


def test_confs_and_temp_views_a_test_sets_stay_out_of_the_generation(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", LEAKY_TESTS)
    result = connect_test(embedded_server, root, "-q", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    conf = run_connect_in_process(
        ["sql", "--json", "SET spark.sql.shuffle.partitions"], env=embedded_server.env, cwd=root
    )
    assert conf.returncode == 0, conf.stderr
    assert json.loads(conf.stdout)[0]["value"] != "7"
    view = run_connect_in_process(
        ["sql", "SELECT * FROM leaked_view"], env=embedded_server.env, cwd=root
    )
    assert view.returncode != 0
    assert "leaked_view" in view.stderr


def test_a_broken_udf_module_is_one_line_and_no_test_starts(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", "def test_x(spark):\n    open('ran', 'w')\n")
    (root / "udfs.py").write_text("raise RuntimeError('broken on purpose')\n")
    result = connect_test(embedded_server, root, "--json", "-q", "tests")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "broken on purpose" in output and "Traceback" not in output
    assert not (root / "ran").exists()
    assert last_json(result.stdout)["status"] == "error"


def test_the_run_holds_its_generation_and_ctrl_c_releases_clone_and_lease(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", SLOW_TESTS)
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text() + '[tool.sparkpush.artifacts]\nfiles = ["d.txt"]\n'
    )
    (root / "d.txt").write_text("1")
    env = embedded_server.env
    assert run_connect(["daemon", "start"], env=env, cwd=root).returncode == 0
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "test", "--json", "-q", "tests"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _text(root / "clone.txt"), 300, what="the test to start")
        clone = (root / "clone.txt").read_text()
        first = daemon_status(root, env)
        assert first["generation"] == 1 and session_alive(embedded_server, clone)
        # a new generation while the run holds generation 1: it stays, leased
        (root / "d.txt").write_text("2")
        generation_after(root, env, 1)
        # the daemon saves generation 2 before it retires generation 1 (a status read in
        # between, on a loaded machine, shows no lease yet): wait for the retirement
        second = wait_until(
            lambda: (status := daemon_status(root, env))["leases"] and status,
            what="generation 1 retired while leased",
        )
        # generation 1 is leased; its base (replaced: d.txt is base) is held by generation 1
        assert second["leases"][first["session_id"]] == 1
        assert first["base_session_id"] and second["base_session_id"] != first["base_session_id"]
        assert second["leases"] == {first["session_id"]: 1, first["base_session_id"]: 1}
        assert session_alive(embedded_server, first["session_id"])
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
        assert run.returncode == 130, stdout + stderr
        assert last_json(stdout)["status"] == "interrupted"
        assert not session_alive(embedded_server, clone)
        wait_until(
            lambda: not session_alive(embedded_server, first["session_id"]),
            what="the daemon to release generation 1 once the run's lease ended",
        )
        assert daemon_status(root, env)["leases"] == {}
        assert not (root / ".sparkpush" / "spare-clone.json").exists()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        run_connect_in_process(["daemon", "stop"], env=env, cwd=root)


def test_a_run_killed_with_kill_9_leaves_its_clone_to_the_next_sync(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", SLOW_TESTS)
    env = embedded_server.env
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "test", "-q", "tests"],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _text(root / "clone.txt"), 300, what="the test to start")
        clone = (root / "clone.txt").read_text()
        assert session_alive(embedded_server, clone)
        run.kill()
        run.wait()
        # nothing of the run released it; the project's next sync does, its process gone
        assert session_alive(embedded_server, clone)
        synced = run_connect_in_process(["sync", "--json"], env=env, cwd=root)
        assert synced.returncode == 0, synced.stderr
        assert not session_alive(embedded_server, clone)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


@pytest.mark.parametrize("runner", ["pytest", "connect test"])
def test_the_plugin_works_under_plain_pytest_too(
    embedded_server: EmbeddedServer, tmp_path: Path, runner: str
) -> None:
    root = user_project(tmp_path / "proj", USER_TESTS)
    command = (
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
        if runner == "pytest"
        else [sys.executable, "-m", "sparkpush", "test"]
    )
    result = subprocess.run(
        [*command, "-s", "-q", "tests"],
        env=embedded_server.env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TAGGED x-v1" in result.stdout
    assert "sparkpush: generation 1 on sc://localhost" in result.stdout


WATCHED_TESTS = """
def test_tagged(spark):
    print("TAGGED", spark.sql("SELECT tagged('x')").first()[0], "{mark}", flush=True)
"""


def test_watch_test_reruns_the_tests_after_a_udf_edit_and_a_test_edit(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", WATCHED_TESTS.format(mark="t1"))
    with watching(["--test", "-s", "-q", "tests"], embedded_server.env, root) as (watch, lines):
        lines.wait_for("TAGGED x-v1 t1")
        (root / "helpers.py").write_text("def tag():\n    return 'v2'\n")
        lines.wait_for("TAGGED x-v2 t1")
        (root / "tests" / "test_user.py").write_text(WATCHED_TESTS.format(mark="t2"))
        lines.wait_for("TAGGED x-v2 t2")
    assert watch.returncode == 0


def test_the_testing_example_passes_with_connect_test(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "testing"
    shutil.copytree(REPO / "examples" / "testing", root)
    result = connect_test(embedded_server, root, "--json", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    report = last_json(result.stdout)
    assert report["counts"]["passed"] == 3  # type: ignore[index]


SPARK_40_CONFTEST = """
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import CloneUnsupportedError


def _no_clone(self, *args, **kwargs):
    raise CloneUnsupportedError("cloning the session (CloneSession) failed: UNIMPLEMENTED")


SessionClient.clone_session = _no_clone  # what a Spark 4.0 server answers
"""

SPARK_40_TESTS = """
import json
from pathlib import Path


def test_spark_is_the_generation_itself(spark):
    manifest = json.loads(Path(".sparkpush/manifest.json").read_text())
    assert spark.client._session_id == manifest["session_id"]
    assert spark.sql("SELECT tagged('z')").first()[0] == "z-v1"


def test_isolated_needs_clones(spark_isolated):
    raise AssertionError("not reached")
"""


def _no_clone_facts(server: EmbeddedServer) -> int:
    """How many servers the shared state's facts cache says cannot clone."""
    facts = server.state_home / "sparkpush" / "server-facts.json"
    if not facts.exists():
        return 0
    return facts.read_text().replace('":false', '": false').count('"clone_session": false')


def test_without_clone_session_spark_is_the_generation_and_isolated_tests_skip(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", SPARK_40_TESTS)
    (root / "tests" / "conftest.py").write_text(SPARK_40_CONFTEST)
    no_clone_before = _no_clone_facts(embedded_server)
    # the server is really a 4.3 one, shared by the whole test session: what this suite
    # pretends is learnt in a state dir of its own (the same server: its record and token)
    state = tmp_path / "state"
    (state / "sparkpush").mkdir(parents=True)
    for name in ("server.json", "server.token"):
        source = embedded_server.state_home / "sparkpush" / name
        (state / "sparkpush" / name).write_bytes(source.read_bytes())
    result = run_connect(
        ["test", "--json", "-q", "-rs", "tests"],
        env={**embedded_server.env, "XDG_STATE_HOME": str(state)},
        cwd=root,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = last_json(result.stdout)
    assert report["cloned"] is False
    assert report["counts"]["passed"] == 1 and report["counts"]["skipped"] == 1  # type: ignore[index]
    assert "spark_isolated needs CloneSession" in result.stdout
    assert session_alive(embedded_server, str(report["session_id"]))  # never released
    assert not (root / ".sparkpush" / "spare-clone.json").exists()
    # the pretended 4.0 is not remembered about the shared 4.3 server
    assert _no_clone_facts(embedded_server) <= no_clone_before


def test_fresh_runs_on_an_own_session_with_the_project_udfs_released_at_the_end(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = user_project(tmp_path / "proj", USER_TESTS)
    result = connect_test(embedded_server, root, "--fresh", "--json", "-s", "-q", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TAGGED x-v1" in result.stdout and "a fresh session" in result.stdout
    report = last_json(result.stdout)
    assert report["generation"] == 0
    assert not session_alive(embedded_server, str(report["session_id"]))
    assert not (root / ".sparkpush" / "manifest.json").exists()  # no generation was made


def _text(path: Path) -> str:
    """The file's text, empty while it does not exist (or is not written yet)."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
