"""The embedded server's own packages and static confs (`[tool.sparkpush.server] packages`
and `conf`), applied at `connect server start`; a project asking for other ones is told,
in one line, how to restart the server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import clean_env, free_port, run_connect, run_connect_in_process, trust_project
from tests.maven_repo import write_test_repository

pytestmark = pytest.mark.integration

SERVER_CONFIG = """
[tool.sparkpush.packages]
repositories = ["m2"]

[tool.sparkpush.server]
master = "local[1]"
packages = ["ivy://com.example:helper:1.1?transitive=false"]

[tool.sparkpush.server.conf]
"spark.sparkpush.test.marker" = "from-server-conf"
"""
RESTART = "connect server stop && connect server start"


@pytest.fixture(scope="module")
def server_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A project with server packages and a conf, and the embedded server it started."""
    base = tmp_path_factory.mktemp("server-packages")
    write_test_repository(base / "project" / "m2", base / "work")
    root = base / "project"
    (root / "pyproject.toml").write_text(SERVER_CONFIG)
    (base / "empty").mkdir()
    (base / "home").mkdir()
    env = clean_env(
        XDG_STATE_HOME=str(base / "state"),
        XDG_CACHE_HOME=str(base / "cache"),
        HOME=str(base / "home"),
        DEFAULT_ARTIFACT_REPOSITORY=(base / "empty").as_uri(),
    )
    trust_project(root, env)
    started = run_connect(
        ["server", "start", "--port", str(free_port())], env=env, cwd=root, timeout=400
    )
    assert started.returncode == 0, started.stderr
    try:
        yield root, env
    finally:
        stopped = run_connect(["server", "stop"], env=env, cwd=root)
        assert stopped.returncode == 0, stopped.stderr
        shutil.rmtree(base / "state" / "sparkpush" / "scratch", ignore_errors=True)


def test_server_packages_and_conf_are_on_the_server_itself(
    server_project: tuple[Path, dict[str, str]],
) -> None:
    root, env = server_project
    # no session jar: the class comes from the server's own class path
    query = "SELECT reflect('com.example.helper.Exclaim', 'of', 'hi') AS r"
    answer = run_connect_in_process(["sql", "--json", query], env=env, cwd=root)
    assert answer.returncode == 0, answer.stderr
    assert "HI!" in answer.stdout
    marker = run_connect_in_process(
        ["sql", "--json", "SET spark.sparkpush.test.marker"], env=env, cwd=root
    )
    assert marker.returncode == 0, marker.stderr
    assert "from-server-conf" in marker.stdout
    assert RESTART not in answer.stderr + marker.stderr
    report = run_connect_in_process(["packages", "--json"], env=env, cwd=root)
    server = json.loads(report.stdout)["server"]
    assert server["resolved"]
    assert [j["coordinate"] for j in server["jars"]] == ["com.example:helper:1.1"]
    again = run_connect_in_process(["server", "start"], env=env, cwd=root)
    assert again.returncode == 0 and "already running" in again.stdout
    assert RESTART not in again.stderr


def test_a_project_with_other_server_settings_is_told_once(
    server_project: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _, env = server_project
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text(
        '[tool.sparkpush.server.conf]\n"spark.sparkpush.test.marker" = "another"\n'
    )
    answer = run_connect_in_process(["sql", "--json", "SELECT 1 AS one"], env=env, cwd=other)
    assert answer.returncode == 0, answer.stderr
    lines = [line for line in answer.stderr.splitlines() if RESTART in line]
    assert len(lines) == 1, answer.stderr
    assert "[tool.sparkpush.server]" in lines[0]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pyproject.toml").write_text("")
    start = run_connect_in_process(["server", "start"], env=env, cwd=plain)
    assert start.returncode == 0, start.stderr
    assert "does not ask for" in start.stderr and RESTART in start.stderr
