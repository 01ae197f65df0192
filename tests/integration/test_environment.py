"""The project's Python environment on a real cluster: a binary package from PyPI imported
inside executors (scalar, pandas and table UDFs), a pin change, and syncs that run no pip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer
from tests.support import run_connect_in_process

pytestmark = [pytest.mark.integration, pytest.mark.package_index]

UDFS = """
import pandas as pd
from pyspark.sql.functions import pandas_udf, udf, udtf


def _where() -> str:
    import msgpack
    # the C extension, not the pure-Python fallback: a binary wheel for the workers' platform
    binary = msgpack.Packer.__module__ == "msgpack._cmsgpack"
    assert msgpack.unpackb(msgpack.packb([1, 2])) == [1, 2]
    version = ".".join(map(str, msgpack.version))
    return f"{version}|{binary}|{msgpack.__file__}"


@udf("string")
def packed(_):
    return _where()


@pandas_udf("string")
def packed_pandas(s: pd.Series) -> pd.Series:
    return s.map(lambda _: _where())


@udtf(returnType="v: string")
class PackedTable:
    def eval(self, n: int):
        for _ in range(n):
            yield (_where(),)
"""

RECORDING_PIP = """#!/bin/sh
echo "$@" >> "{log}"
exit 1
"""


@pytest.fixture(scope="module")
def cluster(
    standalone_cluster: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment for the standalone cluster, with a user cache (built environments)
    shared by this module."""
    cache_home = tmp_path_factory.mktemp("env-cache")
    return {**standalone_cluster.env, "XDG_CACHE_HOME": str(cache_home)}


def project(root: Path, pin: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "udfs.py").write_text(UDFS)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        f'[tool.sparkpush.environment]\nrequirements = ["msgpack=={pin}"]\n'
    )
    return root


def no_pip(env: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], Path]:
    """`env` with a pip that records its calls and fails: a sync that needs pip fails."""
    log = tmp_path / "pip-calls.log"
    script = tmp_path / "recording-pip"
    script.write_text(RECORDING_PIP.format(log=log))
    script.chmod(0o755)
    return {**env, "SPARKPUSH_PIP": str(script)}, log


def connect_json(env: dict[str, str], root: Path, *args: str) -> object:
    result = run_connect_in_process(list(args), env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def values(env: dict[str, str], root: Path, query: str) -> set[str]:
    rows = connect_json(env, root, "sql", "--json", query)
    assert isinstance(rows, list)
    return {str(row["v"]) for row in rows}


def test_a_binary_package_reaches_executors_in_every_udf_kind_and_a_no_op_runs_no_pip(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path / "p", "1.0.8")
    first = connect_json(cluster, root, "sync", "--json")
    assert isinstance(first, dict) and first["action"] == "new_generation"
    held = connect_json(cluster, root, "artifacts", "--json")
    assert isinstance(held, dict)
    assert [a["name"] for a in held["artifacts"]] == ["archives/sparkpush_env.tar.gz#sparkpush_env"]
    found = (
        values(cluster, root, "SELECT packed(id) AS v FROM range(0, 8, 1, 8)")
        | values(cluster, root, "SELECT packed_pandas(id) AS v FROM range(0, 8, 1, 8)")
        | values(cluster, root, "SELECT v FROM PackedTable(3)")
    )
    assert len(found) >= 1
    for value in found:
        version, binary, path = value.split("|")
        assert (version, binary) == ("1.0.8", "True"), value
        # unpacked from the session's archive on the executor, not an installed copy
        assert f"{os.sep}sparkpush_env{os.sep}site-packages{os.sep}msgpack" in path, value

    env, pip_log = no_pip(cluster, tmp_path)
    again = connect_json(env, root, "sync", "--json")
    assert isinstance(again, dict)
    assert again["action"] == "nothing" and again["generation"] == first["generation"]
    assert not pip_log.exists(), pip_log.read_text()
    report = connect_json(env, root, "env", "--json")
    assert isinstance(report, dict)
    assert report["packages"] == {"msgpack": "1.0.8"}
    assert report["in_current_generation"] is True
    assert (root / ".sparkpush" / "environment.lock.json").is_file()


def test_a_pin_change_is_a_new_generation_with_the_new_version_only(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path / "p", "1.0.8")
    before = connect_json(cluster, root, "sync", "--json")
    assert isinstance(before, dict)
    project(root, "1.1.0")
    env, pip_log = no_pip(cluster, tmp_path)
    preview = connect_json(env, root, "sync", "--dry-run", "--json")
    assert isinstance(preview, dict) and preview["action"] == "new_generation"
    assert not pip_log.exists()  # a dry run builds nothing

    after = connect_json(cluster, root, "sync", "--json")
    assert isinstance(after, dict) and after["generation"] == int(before["generation"]) + 1
    query = "SELECT packed(id) AS v FROM range(0, 16, 1, 16)"
    assert {v.split("|")[0] for v in values(cluster, root, query)} == {"1.1.0"}

    # back to the old pin: found in the lock and the cache, so no pip, a new generation
    project(root, "1.0.8")
    back = connect_json(env, root, "sync", "--json")
    assert isinstance(back, dict) and back["generation"] == int(after["generation"]) + 1
    assert not pip_log.exists(), pip_log.read_text()
    assert {v.split("|")[0] for v in values(env, root, query)} == {"1.0.8"}
