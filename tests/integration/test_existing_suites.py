"""`connect test` on a suite written for classic PySpark, unmodified: its own sessions (a conftest
fixture with `.master("local[2]")`, a module-level session imported at collection, library code
asking `getActiveSession()`/`active()`) run on the project's generation with its UDFs; no
classic JVM starts; `--classic` leaves them classic; `-n 2` gives each worker its own clone,
all released, also on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sparkpush.submit.script_error import NO_RDD_HINT
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import ServerSessions, session_alive
from tests.support import wait_until

pytestmark = pytest.mark.integration

REJECTED_BY_A_CLASSIC_LAUNCH = "--not-a-spark-submit-option pyspark-shell"
"""PYSPARK_SUBMIT_ARGS with which a classic SparkContext cannot start: spark-submit refuses it."""

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def shout(text):
    return text.upper() + "!"
"""

LIBRARY = """
from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def people():
    spark = SparkSession.getActiveSession()
    return spark.createDataFrame([("ann", 31), ("bob", 25)], ["name", "age"])


def loud_names(df):
    return df.selectExpr("shout(name) AS loud")


def total_rows(n):
    return SparkSession.active().range(n).withColumn("one", F.lit(1)).count()
"""

CONFTEST = """
import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    session = (
        SparkSession.builder.master("local[2]")
        .appName("existing-suite")
        .config("spark.sql.shuffle.partitions", "3")
        .config("spark.driver.memory", "1g")
        .config("spark.jars.packages", "org.example:nothing:1.0")
        .getOrCreate()
    )
    yield session
    session.stop()
"""

HELPER_SESSION = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.master("local[1]").appName("helper").getOrCreate()
"""

STOPPING_MODULE = """
import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def own_session():
    session = SparkSession.builder.master("local[1]").getOrCreate()
    yield session
    session.stop()


def test_a_module_fixture_that_stops_its_session(own_session):
    assert own_session.range(4).count() == 4
"""

SHAPES = """
import os
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from mylib import transforms
from tests.spark import spark as helper_spark


def test_the_conftest_fixture_runs_on_the_generation_with_its_udfs(spark):
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.sql("SELECT shout('hi') AS s").first()["s"] == "HI!"


def test_the_module_level_session_is_the_same_session(spark):
    assert helper_spark is spark


def test_library_code_finds_the_session_with_get_active_session():
    assertDataFrameEqual(
        transforms.loud_names(transforms.people()), [Row(loud="ANN!"), Row(loud="BOB!")]
    )
    assert transforms.total_rows(5) == 5


def test_chispa_compares_frames_of_the_generation(spark):
    expected = spark.createDataFrame([("ANN!",), ("BOB!",)], ["loud"])
    assert_df_equality(transforms.loud_names(transforms.people()), expected)


def test_a_relative_path_reads_the_project_data_file(spark):
    people = spark.read.option("header", True).csv("data/people.csv")
    assert sorted(r.name for r in people.collect()) == ["ann", "bob"]


def test_probe(spark):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path("probe").mkdir(exist_ok=True)
    Path("probe", worker).write_text(spark.client._session_id)
"""

GAPS = """
def test_uses_the_rdd_api(spark):
    spark.range(3).rdd.map(lambda row: row.id).collect()


def test_starts_a_spark_context():
    from pyspark import SparkContext

    SparkContext.getOrCreate()
"""

SLOW = """
import os
import time
from pathlib import Path


def test_waits(spark):
    Path("probe").mkdir(exist_ok=True)
    Path("probe", os.environ["PYTEST_XDIST_WORKER"]).write_text(spark.client._session_id)
    time.sleep(600)


def test_waits_too(spark):
    test_waits(spark)
"""


def classic_suite(root: Path) -> Path:
    """A project whose tests were written for classic PySpark, as they are."""
    (root / "tests").mkdir(parents=True)
    (root / "mylib").mkdir()
    (root / "data").mkdir()
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    (root / "udfs.py").write_text(UDFS)
    (root / "mylib" / "__init__.py").write_text("")
    (root / "mylib" / "transforms.py").write_text(LIBRARY)
    (root / "data" / "people.csv").write_text("name,age\nann,31\nbob,25\n")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "spark.py").write_text(HELPER_SESSION)
    (root / "tests" / "test_a_stopping.py").write_text(STOPPING_MODULE)
    (root / "tests" / "test_shapes.py").write_text(SHAPES)
    return root


def connect_test(
    server: EmbeddedServer, root: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "PYSPARK_SUBMIT_ARGS": REJECTED_BY_A_CLASSIC_LAUNCH}
    return run_connect(["test", *args, "-p", "no:cacheprovider"], env=env, cwd=root, timeout=600)


def last_json(stdout: str) -> dict[str, object]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def generation_sessions(root: Path) -> set[str]:
    generation = json.loads((root / ".sparkpush" / "manifest.json").read_text())
    base = generation.get("base") or {}
    return {generation["session_id"], *([base["session_id"]] if base else [])}


def probes(root: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in (root / "probe").iterdir()}


def recorded_sessions(root: Path) -> list[object]:
    return list(json.loads((root / ".sparkpush" / "unfinished.json").read_text())["sessions"])


def test_an_unmodified_classic_suite_runs_on_the_generation_and_no_classic_jvm_starts(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = classic_suite(tmp_path / "proj")
    server = ServerSessions.from_now(embedded_server)
    result = connect_test(embedded_server, root, "--json", "-q", "tests")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert last_json(result.stdout)["counts"]["passed"] == 7  # type: ignore[index]
    assert "the suite's own SparkSessions (SparkSession.builder, getActiveSession) run on" in output
    ignored = [line for line in output.splitlines() if "sparkpush: ignored" in line]
    assert len(ignored) == 1 and "spark.driver.memory, spark.jars.packages" in ignored[0]
    assert "[tool.sparkpush]" in ignored[0]
    clone = probes(root)["main"]
    assert clone not in generation_sessions(root)  # a clone of the generation, released
    assert server.alive() == generation_sessions(root)
    assert recorded_sessions(root) == []


def test_with_classic_the_suite_s_sessions_stay_classic(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = classic_suite(tmp_path / "proj")
    result = connect_test(embedded_server, root, "--classic", "-q", "tests/test_shapes.py")
    output = result.stdout + result.stderr
    # the suite's own builder goes to classic PySpark, which launches spark-submit: the
    # arguments the other runs pass with are refused there (at collection: tests/spark.py)
    assert result.returncode == 2, output
    assert "JAVA_GATEWAY_EXITED" in output
    assert "--not-a-spark-submit-option" in output
    assert "SparkSessions (SparkSession.builder" not in output
    assert not (root / ".sparkpush" / "manifest.json").exists()  # nothing asked for a generation


def test_n_2_gives_each_worker_its_own_clone_of_one_generation_all_released(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    root = classic_suite(tmp_path / "proj")
    # more tests than one worker takes first, so that both run some
    (root / "tests" / "test_more.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('n', range(8))\n"
        "def test_count(spark, n):\n    assert spark.range(n).count() == n\n"
    )
    server = ServerSessions.from_now(embedded_server)
    result = connect_test(embedded_server, root, "--json", "-n", "2", "-q", "tests")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    report = last_json(result.stdout)
    assert report["counts"]["passed"] == 15  # type: ignore[index]
    ignored = [line for line in output.splitlines() if "sparkpush: ignored" in line]
    assert len(ignored) == 1 and "spark.driver.memory" in ignored[0]  # seen by a worker
    generation = generation_sessions(root)
    seen = probes(root)
    assert set(seen) <= {"gw0", "gw1"} and seen
    assert not set(seen.values()) & generation
    assert str(report["session_id"]) in generation  # the controller held the generation
    assert server.alive() == generation
    assert recorded_sessions(root) == []


def test_ctrl_c_under_n_2_releases_every_worker_s_clone(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    root = classic_suite(tmp_path / "proj")
    (root / "tests" / "test_slow.py").write_text(SLOW)
    server = ServerSessions.from_now(embedded_server)
    env = {**embedded_server.env, "PYSPARK_SUBMIT_ARGS": REJECTED_BY_A_CLASSIC_LAUNCH}
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "test", "-n", "2", "-q", "tests/test_slow.py"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: len(_probes_written(root)) == 2, 300, what="both workers to start")
        clones = set(probes(root).values())
        assert len(clones) == 2
        assert all(session_alive(embedded_server, clone) for clone in clones)
        run.send_signal(signal.SIGINT)  # the controller only, as `kill -INT` does
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 130, output
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert not any(session_alive(embedded_server, clone) for clone in clones)
    assert server.alive() == generation_sessions(root)
    assert recorded_sessions(root) == []


def test_a_test_on_a_spark_connect_api_gap_gets_the_submit_hint(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = classic_suite(tmp_path / "proj")
    (root / "tests" / "test_gaps.py").write_text(GAPS)
    result = connect_test(embedded_server, root, "--json", "tests/test_gaps.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert last_json(result.stdout)["counts"]["failed"] == 2  # type: ignore[index]
    assert output.count(NO_RDD_HINT) == 2, output
    assert "CONTEXT_UNAVAILABLE_FOR_REMOTE_CLIENT" in output  # PySpark's own refusal first
    assert "JAVA_GATEWAY_EXITED" not in output  # refused before any launch


def _probes_written(root: Path) -> list[Path]:
    folder = root / "probe"
    return [p for p in folder.iterdir() if p.read_text()] if folder.is_dir() else []
