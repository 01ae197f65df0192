"""Time to the first test result: `connect test` with a warm daemon against a classic local
SparkSession fixture (the pytest-spark way), alternately, in the same run.

    .venv/bin/python benchmarks/tests.py [--rounds 5]

Ours: a project with a Python UDF module, a Java UDF class dir and a jar holding another Java
UDF, the daemon running; its test uses the Python UDF and both Java UDFs by name through the
`spark` fixture. Classic: the same test folder with a conftest whose session fixture is
`SparkSession.builder.master("local[1]").getOrCreate()` (a JVM per run); its test asks for the
Java UDF by name too, which a classic session cannot have without configuration (it fails,
as expected; that failure is printed). Each round is timed from the process start to the first
`PASSED`/`FAILED` word of `pytest -v` (as a terminal shows it), and to the process's exit.
Goal: ours >= 5x faster to the first result. The last line is one JSON object.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import bench_server

from tests.jvm import add_constant_udf, build_jar, compile_java

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def shout(text):
    return text.upper() + "!"
"""

CONFIG = """
[tool.sparkpush.udf]
modules = ["udfs.py"]

[tool.sparkpush.artifacts]
classes = ["classes"]
jars = ["lib/*.jar"]

[tool.sparkpush.java_udfs]
add_ten = { class = "com.ex.AddTen", returns = "bigint" }
add_one = { class = "com.jar.AddOne", returns = "bigint" }
"""

OUR_TEST = """
def test_project_udfs(spark):
    one = "CAST(1 AS BIGINT)"
    row = spark.sql(f"SELECT shout('hi') AS s, add_ten({one}) + add_one({one}) AS n").first()
    assert (row.s, row.n) == ("HI!", 13)
"""

CLASSIC_CONFTEST = """
import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    session = SparkSession.builder.master("local[1]").appName("tests").getOrCreate()
    yield session
    session.stop()
"""

CLASSIC_TEST = """
def test_project_udfs(spark):
    assert spark.range(3).count() == 3
    # the project's Java UDF: a classic session knows nothing of the project's jars
    spark.sql("SELECT add_one(CAST(1 AS BIGINT))").first()
"""


def make_project(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "udfs.py").write_text(UDFS)
    (root / "pyproject.toml").write_text(CONFIG)
    (root / "tests" / "test_ours.py").write_text(OUR_TEST)
    compile_java(add_constant_udf("com.ex", "AddTen", 10), "com.ex.AddTen", root / "classes")
    jar_classes = root.parent / "jar-classes"
    compile_java(add_constant_udf("com.jar", "AddOne", 1), "com.jar.AddOne", jar_classes)
    build_jar(jar_classes, root / "lib" / "udfs.jar")


def make_classic(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "conftest.py").write_text(CLASSIC_CONFTEST)
    (root / "tests" / "test_classic.py").write_text(CLASSIC_TEST)


def time_to_first_result(
    command: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, float, str]:
    """Seconds from the start to the first PASSED/FAILED word, to the process's exit, and the
    whole output.

    The word is looked for in the raw stream, as a terminal shows it: pytest -v writes it
    without its newline, which only follows after the session's teardown.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    first: float | None = None
    output = b""
    while chunk := os.read(process.stdout.fileno(), 65536):
        output += chunk
        if first is None and (b" PASSED" in output or b" FAILED" in output):
            first = time.perf_counter() - started
    process.wait()
    total = time.perf_counter() - started
    text = output.decode(errors="replace")
    if first is None:
        raise SystemExit(f"no test result from {' '.join(command)}:\n{text}")
    return first, total, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="sparkpush-tests-") as temp, bench_server() as server:
        work = Path(temp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SPARK", "PYSPARK"))},
            "XDG_STATE_HOME": str(Path(server.state.token_file).parent.parent),
        }
        ours, classic = work / "project", work / "classic"
        make_project(ours)
        make_classic(classic)
        python = [sys.executable]
        started = subprocess.run(
            [*python, "-m", "sparkpush", "daemon", "start"], env=env, cwd=ours, capture_output=True
        )
        if started.returncode != 0:
            raise SystemExit(f"connect daemon start failed: {started.stderr.decode()}")
        try:
            ours_times, classic_times = [], []
            ours_totals, classic_totals = [], []
            for round_ in range(args.rounds):
                seconds, total, output = time_to_first_result(
                    [
                        *python,
                        "-m",
                        "sparkpush",
                        "test",
                        "--keep-warm",
                        "-v",
                        "-p",
                        "no:cacheprovider",
                    ],
                    env,
                    ours,
                )
                if "1 passed" not in output:
                    raise SystemExit(f"connect test did not pass:\n{output}")
                ours_times.append(seconds)
                ours_totals.append(total)
                seconds, total, output = time_to_first_result(
                    [*python, "-m", "pytest", "-v", "-p", "no:cacheprovider"], env, classic
                )
                classic_times.append(seconds)
                classic_totals.append(total)
                java_missing = "add_one" in output and "1 failed" in output
                print(
                    f"round {round_ + 1}: first result: connect test {ours_times[-1]:.2f} s, "
                    f"classic local[1] {classic_times[-1]:.2f} s; process exit: "
                    f"{ours_totals[-1]:.2f} s, {classic_totals[-1]:.2f} s",
                    flush=True,
                )
        finally:
            subprocess.run(
                [*python, "-m", "sparkpush", "daemon", "stop"], env=env, cwd=ours, check=False
            )
    ours_p50, classic_p50 = statistics.median(ours_times), statistics.median(classic_times)
    ratio = classic_p50 / ours_p50
    ours_exit, classic_exit = statistics.median(ours_totals), statistics.median(classic_totals)
    print(f"first test result, p50: connect test {ours_p50:.2f} s, classic {classic_p50:.2f} s")
    print(
        f"process exit, p50: connect test {ours_exit:.2f} s (it leaves a warm clone for the next "
        f"run first), classic {classic_exit:.2f} s; {classic_exit / ours_exit:.1f}x"
    )
    print(f"ratio {ratio:.1f}x (goal >= 5x); the project's Java UDFs and jar: ours yes, classic ")
    print(f"{'no (the query fails: add_one is unknown)' if java_missing else 'unexpectedly yes'}")
    figures.update(
        {
            "connect_test_first_result_s": {"p50": round(ours_p50, 2), "all": ours_times},
            "classic_first_result_s": {"p50": round(classic_p50, 2), "all": classic_times},
            "connect_test_exit_s": {"p50": round(ours_exit, 2), "all": ours_totals},
            "classic_exit_s": {"p50": round(classic_exit, 2), "all": classic_totals},
            "ratio": round(ratio, 1),
            "java_udfs_in_ours": True,
            "java_udfs_in_classic": not java_missing,
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
