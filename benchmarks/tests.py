"""A project's existing test suite, unmodified: `connect test` (warm daemon) against the same
suite run classic, alternately, in the same run.

    .venv/bin/python benchmarks/tests.py [--rounds 3]

The suite is 60 tests written for classic PySpark, in the shapes real suites have: a conftest
fixture `SparkSession.builder.master("local[2]")...getOrCreate()`, a helper module whose
module-level session the test modules import, library code asking
`SparkSession.getActiveSession()`, `pyspark.testing.assertDataFrameEqual`, chispa's
`assert_df_equality`, relative-path reads of a project data file and the project's Python UDF
applied as a column. The project's daemon runs; its generation holds the UDF module.

Each round runs, from the process start (the terminal's view: `pytest -v`'s PASSED/FAILED
words in the raw stream):
- `connect test --keep-warm` (the suite's sessions on clones of the generation, serial),
- `connect test --keep-warm -n 2` (pytest-xdist: each worker its own clone),
- `python -m pytest` (classic: one local[2] JVM per run, as the suite's conftest asks),
and records the time to the first result, to the last result, and to the process's exit.
Goals: ours >= 2x faster to the last result; the first result >= 5x. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import bench_server

TESTS = 60

CONFIG = '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'

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
    return spark.createDataFrame([("ann", 31), ("bob", 25), ("cy", 40)], ["name", "age"])


def older_than(df, years):
    return df.where(F.col("age") > years)


def average_age(df):
    return df.agg(F.avg("age").alias("avg")).first()["avg"]
"""

CONFTEST = """
import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    session = (
        SparkSession.builder.master("local[2]")
        .appName("existing-suite")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()
"""

HELPER_SESSION = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.master("local[2]").appName("helper").getOrCreate()
"""

FIXTURE_TESTS = """
import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual


@pytest.mark.parametrize("n", range(10))
def test_range_sums(spark, n):
    df = spark.range(n + 1).selectExpr("sum(id) AS s")
    assertDataFrameEqual(df, [Row(s=n * (n + 1) // 2)])
"""

MODULE_SESSION_TESTS = """
import pytest

from tests.spark import spark


@pytest.mark.parametrize("n", range(10))
def test_group_counts(n):
    df = spark.range(20).selectExpr(f"id % {n + 1} AS k").groupBy("k").count()
    assert df.count() == n + 1
"""

LIBRARY_TESTS = """
import pytest

from mylib import people


@pytest.mark.parametrize("years", range(20, 40, 2))
def test_library_code_on_the_active_session(years):
    df = people.older_than(people.people(), years)
    assert df.count() == sum(1 for age in (31, 25, 40) if age > years)
"""

CHISPA_TESTS = """
import pytest
from chispa import assert_df_equality


@pytest.mark.parametrize("n", range(10))
def test_frames_equal(spark, n):
    left = spark.range(n).selectExpr("id * 2 AS doubled")
    right = spark.createDataFrame([(i * 2,) for i in range(n)], "doubled bigint")
    assert_df_equality(left, right, ignore_nullable=True)
"""

FILE_TESTS = """
import pytest
from pyspark.sql import functions as F


@pytest.mark.parametrize("n", range(10))
def test_reads_the_project_data(spark, n):
    people = spark.read.option("header", True).option("inferSchema", True).csv("data/people.csv")
    assert people.where(F.col("age") > n * 4).count() <= 3
"""

UDF_TESTS = """
import pytest

from udfs import shout


@pytest.mark.parametrize("word", [f"w{i}" for i in range(10)])
def test_the_project_udf(spark, word):
    row = spark.createDataFrame([(word,)], ["w"]).select(shout("w").alias("s")).first()
    assert row.s == word.upper() + "!"
"""

SUITE = {
    "test_fixture.py": FIXTURE_TESTS,
    "test_module_session.py": MODULE_SESSION_TESTS,
    "test_library.py": LIBRARY_TESTS,
    "test_chispa.py": CHISPA_TESTS,
    "test_files.py": FILE_TESTS,
    "test_udfs.py": UDF_TESTS,
}


def make_project(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "mylib").mkdir()
    (root / "data").mkdir()
    (root / "pyproject.toml").write_text(CONFIG)
    (root / "udfs.py").write_text(UDFS)
    (root / "mylib" / "__init__.py").write_text("")
    (root / "mylib" / "people.py").write_text(LIBRARY)
    (root / "data" / "people.csv").write_text("name,age\nann,31\nbob,25\ncy,40\n")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "spark.py").write_text(HELPER_SESSION)
    for name, body in SUITE.items():
        (root / "tests" / name).write_text(body)


@dataclass(frozen=True)
class Timing:
    first: float
    """Seconds from the start to the first PASSED/FAILED word."""
    last: float
    """... to the last one."""
    exit: float
    """... to the process's exit."""
    passed: int
    output: str


def timed_run(command: list[str], env: dict[str, str], cwd: Path) -> Timing:
    """Run `command`, watching its raw output as a terminal shows it (pytest -v writes the
    word before its newline)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    first: float | None = None
    last: float | None = None
    seen = 0
    output = b""
    while chunk := os.read(process.stdout.fileno(), 65536):
        output += chunk
        words = output.count(b" PASSED") + output.count(b" FAILED")
        if words > seen:
            seen, last = words, time.perf_counter() - started
            first = first if first is not None else last
    process.wait()
    total = time.perf_counter() - started
    text = output.decode(errors="replace")
    if first is None or last is None:
        raise SystemExit(f"no test result from {' '.join(command)}:\n{text}")
    passed = text.count(" PASSED")
    return Timing(first, last, total, passed, text)


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "load_average_start": os.getloadavg()[0],
        "tests": TESTS,
    }
    pytest_v = ["-v", "-p", "no:cacheprovider", "tests"]
    runs = {
        "connect_test": [sys.executable, "-m", "sparkpush", "test", "--keep-warm", *pytest_v],
        "connect_test_n2": [
            *(sys.executable, "-m", "sparkpush", "test", "--keep-warm", "-n", "2"),
            *pytest_v,
        ],
        "classic": [sys.executable, "-m", "pytest", *pytest_v],
    }
    timings: dict[str, list[Timing]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="sparkpush-tests-") as temp, bench_server() as server:
        project = Path(temp) / "project"
        make_project(project)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SPARK", "PYSPARK"))},
            "XDG_STATE_HOME": str(Path(server.state.token_file).parent.parent),
            # the classic run's Python workers: this interpreter, as in an activated venv
            "PYSPARK_PYTHON": sys.executable,
        }
        daemon = [sys.executable, "-m", "sparkpush", "daemon"]
        started = subprocess.run([*daemon, "start"], env=env, cwd=project, capture_output=True)
        if started.returncode != 0:
            raise SystemExit(f"connect daemon start failed: {started.stderr.decode()}")
        try:
            # one run first: the generation is built, the spare left, the workers' imports warm
            warm = timed_run(runs["connect_test"], env, project)
            if warm.passed != TESTS:
                raise SystemExit(f"connect test did not pass all {TESTS}:\n{warm.output[-5000:]}")
            for round_ in range(args.rounds):
                for name, command in runs.items():
                    timing = timed_run(command, env, project)
                    if timing.passed != TESTS:
                        raise SystemExit(
                            f"{name}: {timing.passed}/{TESTS} passed\n{timing.output[-5000:]}"
                        )
                    timings[name].append(timing)
                print(
                    f"round {round_ + 1}: "
                    + "; ".join(
                        f"{name} first {t[-1].first:.2f} s, last {t[-1].last:.2f} s, "
                        f"exit {t[-1].exit:.2f} s"
                        for name, t in timings.items()
                    ),
                    flush=True,
                )
        finally:
            subprocess.run([*daemon, "stop"], env=env, cwd=project, check=False)
    figures["load_average_end"] = os.getloadavg()[0]
    for name, values in timings.items():
        figures[name] = {
            kind: {
                "p50": p50([getattr(t, kind) for t in values]),
                "all": [round(getattr(t, kind), 2) for t in values],
            }
            for kind in ("first", "last", "exit")
        }
    ours, xdist, classic = figures["connect_test"], figures["connect_test_n2"], figures["classic"]
    ratios = {
        "last_result": round(classic["last"]["p50"] / ours["last"]["p50"], 1),
        "exit": round(classic["exit"]["p50"] / ours["exit"]["p50"], 1),
        "first_result": round(classic["first"]["p50"] / ours["first"]["p50"], 1),
        "n2_vs_serial_last_result": round(ours["last"]["p50"] / xdist["last"]["p50"], 2),
        "n2_vs_classic_last_result": round(classic["last"]["p50"] / xdist["last"]["p50"], 1),
    }
    figures["ratios"] = ratios
    print(
        f"{TESTS} tests, p50: last result: connect test {ours['last']['p50']} s, -n 2 "
        f"{xdist['last']['p50']} s, classic local[2] {classic['last']['p50']} s"
    )
    print(
        f"process exit: connect test {ours['exit']['p50']} s (it leaves a warm clone for the "
        f"next run first), -n 2 {xdist['exit']['p50']} s, classic {classic['exit']['p50']} s"
    )
    print(
        f"first result: connect test {ours['first']['p50']} s, classic {classic['first']['p50']} s"
    )
    print(
        f"ratios: last result {ratios['last_result']}x (goal >= 2x), exit {ratios['exit']}x, "
        f"first result {ratios['first_result']}x (goal >= 5x), -n 2 vs serial "
        f"{ratios['n2_vs_serial_last_result']}x"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
