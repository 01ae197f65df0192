"""Relative paths of a submitted script resolve where `connect submit` ran (a local server)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, clean_env, run_connect

pytestmark = pytest.mark.integration

APP = """
import sys
from pyspark.sql import SparkSession

table = sys.argv[1]
spark = SparkSession.builder.appName("relative").getOrCreate()
people = spark.read.json("data/people.json")
people.write.mode("overwrite").parquet("out/people")
people.write.mode("overwrite").saveAsTable(table)
print("parquet rows:", spark.read.parquet("out/people").count())
print("table rows:", spark.table(table).count())
"""


def project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "data" / "people.json").write_text(
        '{"name": "Ann", "age": 31}\n{"name": "Bob", "age": 25}\n'
    )
    (root / "app.py").write_text(APP)
    return root


def assert_resolved_locally(result_stdout: str, root: Path, state: Path, table: str) -> None:
    assert "parquet rows: 2" in result_stdout
    assert "table rows: 2" in result_stdout
    assert list((root / "out" / "people").glob("part-*.parquet"))
    # managed tables live in the documented warehouse, not in the server's working directory
    assert (state / "warehouse" / table).is_dir()
    assert not (state / "out").exists()
    assert not (state / "spark-warehouse").exists()


def test_relative_reads_and_writes_resolve_in_the_submit_directory(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = project(tmp_path / "proj")
    table = f"people_{uuid.uuid4().hex[:8]}"
    result = run_connect(["submit", "app.py", table], env=embedded_server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert_resolved_locally(result.stdout, root, embedded_server.state_home / "sparkpush", table)


def test_a_loopback_remote_served_by_a_local_spark_is_treated_as_local(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = project(tmp_path / "proj")
    table = f"people_{uuid.uuid4().hex[:8]}"
    env = clean_env(
        XDG_STATE_HOME=str(tmp_path / "no-embedded-state"),
        SPARK_REMOTE=embedded_server.remote_with_token,
    )
    result = run_connect(["submit", "app.py", table], env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert_resolved_locally(result.stdout, root, embedded_server.state_home / "sparkpush", table)
