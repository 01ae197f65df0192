"""A UDF named like a Spark builtin never runs from SQL (the builtin wins): the sync, `connect
udfs` and `connect doctor` say so and suggest a rename, with the names the server lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect_in_process

pytestmark = pytest.mark.integration

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def to_json(x):
    return "mine"


@udf("string")
def shout(x):
    return str(x).upper()
"""


def test_a_udf_named_like_a_builtin_is_warned_of_everywhere(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "udfs.py").write_text(UDFS)
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    env = embedded_server.env

    synced = run_connect_in_process(["sync", "--json"], env=env, cwd=root)
    assert synced.returncode == 0, synced.stderr
    warnings = json.loads(synced.stdout.strip().splitlines()[-1])["warnings"]
    assert [w for w in warnings if "builtin" in w] == [
        next(w for w in warnings if w.startswith("UDF to_json is named like Spark's builtin"))
    ]
    assert "rename it" in warnings[-1]
    # the server's builtin answers, as the warning says
    answer = run_connect_in_process(
        ["sql", "--json", "SELECT to_json(named_struct('a', 1)) AS v"], env=env, cwd=root
    )
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == [{"v": '{"a":1}'}]

    listed = run_connect_in_process(["udfs"], env=env, cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert "warning: UDF to_json is named like Spark's builtin function to_json" in listed.stderr
    assert "shout" not in listed.stderr
    as_json = json.loads(run_connect_in_process(["udfs", "--json"], env=env, cwd=root).stdout)
    assert len(as_json["warnings"]) == 1 and "to_json" in as_json["warnings"][0]

    doctor = run_connect_in_process(["doctor", "--json"], env=env, cwd=root)
    checks = {c["name"]: c for c in json.loads(doctor.stdout.strip().splitlines()[-1])["checks"]}
    assert checks["udf names"]["ok"] is False
    assert "to_json" in checks["udf names"]["detail"]
