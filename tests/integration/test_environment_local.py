"""The environment on the test session's embedded server: submit with a platform wheel from
`artifacts.wheels`, a user's own archive and conf, and a build for another platform."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sparkpush.environment.build import build_environment
from sparkpush.environment.python_launcher import launcher_text
from sparkpush.environment.spec import EnvironmentSpec
from sparkpush.remote.worker_target import local_target
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import daemon_status, generation_after
from tests.support import run_connect_in_process

pytestmark = [pytest.mark.integration, pytest.mark.package_index]

APP = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()

@udf("string")
def where(_):
    import msgpack
    return ".".join(map(str, msgpack.version)) + "|" + msgpack.__file__

print("found:", spark.range(1).select(where("id")).first()[0])
"""


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"],
        check=True,
        capture_output=True,
    )


def test_submit_installs_a_platform_wheel_from_artifacts_wheels(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    pip("download", "--only-binary=:all:", "--no-deps", "-d", str(root / "dist"), "msgpack==1.0.8")
    (root / "app.py").write_text(APP)
    (root / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nwheels = ["dist/*.whl"]\n')
    result = run_connect(["submit", "app.py"], env=embedded_server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    found = result.stdout.split("found: ")[1].strip()
    assert found.startswith("1.0.8|") and "/sparkpush_env/site-packages/msgpack/" in found


def test_a_users_own_archive_and_python_conf_keep_working(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    # by hand, as PySpark's docs say: packages in an archive, the conf pointing into it
    env_dir = tmp_path / "mine"
    pip("install", "--only-binary=:all:", "--target", str(env_dir / "lib"), "msgpack==1.1.0")
    (env_dir / "bin").mkdir()
    (env_dir / "bin" / "python").write_text(
        f'#!/bin/sh\nPYTHONPATH="$(dirname "$0")/../lib:$PYTHONPATH" exec {sys.executable} "$@"\n'
    )
    (env_dir / "bin" / "python").chmod(0o755)
    with tarfile.open(tmp_path / "mine.tar.gz", "w:gz") as archive:
        archive.add(env_dir, arcname=".")
    (tmp_path / "app.py").write_text(APP)
    result = run_connect(
        [
            "submit",
            "--archives",
            "mine.tar.gz#mine",
            "--conf",
            "spark.sql.execution.pyspark.python=mine/bin/python",
            "app.py",
        ],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("found: ")[1].startswith("1.1.0|"), result.stdout


def test_a_build_for_another_platform_holds_that_platforms_wheels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = local_target()
    arm = dataclasses.replace(
        here, machine="aarch64", platform="linux_aarch64", glibc="2.28", provided={}
    )
    spec = EnvironmentSpec(("msgpack==1.0.8",), (), (), ())
    built = build_environment(spec, arm)
    with tarfile.open(built.archive) as archive:
        names = archive.getnames()
        launcher = archive.extractfile("bin/python")
        assert launcher is not None
        assert launcher.read().decode() == launcher_text(here.executable)
    compiled = [n for n in names if n.endswith(".so")]
    assert compiled and all("aarch64" in n for n in compiled), compiled
    assert built.packages == {"msgpack": "1.0.8"}

    # the same inputs in another cache: the same bytes
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-cache"))
    again = build_environment(spec, arm)
    assert again.folder != built.folder
    digest = hashlib.sha256(again.archive.read_bytes()).hexdigest()
    assert digest == built.sha256 == again.sha256


UDFS = """
from pyspark.sql.functions import udf

@udf("string")
def packed(_):
    import msgpack
    return ".".join(map(str, msgpack.version)) + "|" + msgpack.__file__
"""


def environment_project(root: Path, pin: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "udfs.py").write_text(UDFS)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        f'[tool.sparkpush.environment]\nrequirements = ["msgpack=={pin}"]\n'
    )


def test_the_daemon_serves_the_environment_to_sql_and_attached_submits_and_follows_a_pin(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    environment_project(root, "1.0.8")
    (root / "app.py").write_text(APP)
    env = embedded_server.env

    def sql_value() -> str:
        result = run_connect_in_process(
            ["sql", "--json", "SELECT packed(1) AS v"], env=env, cwd=root
        )
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout.strip().splitlines()[-1])[0]["v"])

    started = run_connect(["daemon", "start"], env=env, cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        assert sql_value().startswith("1.0.8|")
        generation = int(daemon_status(root, env)["generation"])
        environment_project(root, "1.1.0")  # the daemon watches the config file
        generation_after(root, env, generation)
        value = sql_value()
        assert value.startswith("1.1.0|") and "/sparkpush_env/site-packages/" in value
        attached = run_connect(["submit", "--attach", "app.py"], env=env, cwd=root)
        assert attached.returncode == 0, attached.stderr
        assert attached.stdout.split("found: ")[1].startswith("1.1.0|")
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=root)


def test_pandas_and_what_it_needs_are_left_out_with_one_warning(tmp_path: Path) -> None:
    from sparkpush.config.settings import Config, EnvironmentSettings
    from sparkpush.environment.build import ensure_environment
    from sparkpush.environment.spec import read_spec

    config = Config(
        project_root=tmp_path,
        environment=EnvironmentSettings(requirements=("msgpack==1.0.8", "pandas")),
    )
    built = ensure_environment(config, read_spec(config), local_target())
    assert built.cached.packages == {"msgpack": "1.0.8"}
    assert {"pandas", "numpy", "python-dateutil"} <= set(built.cached.left_out)
    assert len(built.warnings) == 1
    assert "left out" in built.warnings[0] and "pandas" in built.warnings[0]
    with tarfile.open(built.cached.archive) as archive:
        tops = {name.split("/")[1] for name in archive.getnames() if name.count("/") >= 1}
    assert not tops & {"pandas", "numpy", "dateutil"}, tops
