"""The embedded server's port: the default when free, else a free one; an explicit one is kept."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env, run_connect, run_connect_in_process
from tests.integration.conftest import SIMPLE_APP, status_json

pytestmark = pytest.mark.integration


@contextmanager
def port_taken() -> Iterator[int]:
    """A port some other program listens on (like `nc -l 127.0.0.1 PORT`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield int(taken.getsockname()[1])


def test_quick_start_runs_when_the_default_port_is_taken(tmp_path: Path) -> None:
    """`nc -l 127.0.0.1 15002 & ./scripts/quickstart.sh`: the default port is taken by another
    program; the quick start's command still runs, on a free port the next command finds."""
    with port_taken() as default:
        # the default port made overridable: this test holds its own, not the machine's 15002
        env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARKPUSH_DEFAULT_PORT=str(default))
        try:
            result = run_connect(SIMPLE_APP, env=env, cwd=REPO)
            assert result.returncode == 0, result.stderr
            assert "Lines with a: 9, lines with b: 2" in result.stdout
            status = status_json(env)
            assert status["running"] is True
            port = int(str(status["port"]))
            assert port != default
            assert f"port {default} is in use" in result.stderr
            assert f"runs at sc://localhost:{port}" in result.stderr
            # every later command finds the server through the state, as before
            again = run_connect_in_process(
                ["sql", "--json", "SELECT 1 AS one"], env=env, cwd=tmp_path
            )
            assert again.returncode == 0, again.stderr
            assert json.loads(again.stdout) == [{"one": 1}]
            assert "starting the embedded" not in again.stderr
        finally:
            run_connect(["server", "stop"], env=env)


@pytest.mark.parametrize(
    ("where", "named"),
    [
        ("flag", "(set by --port)"),
        ("env", "(set by SPARKPUSH_SERVER_START_PORT)"),
        ("config", "(set by server.port in "),
    ],
)
def test_a_busy_port_set_explicitly_stays_an_error_naming_where(
    tmp_path: Path, where: str, named: str
) -> None:
    with port_taken() as port:
        env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
        args = ["server", "start"]
        if where == "flag":
            args += ["--port", str(port)]
        elif where == "env":
            env["SPARKPUSH_SERVER_START_PORT"] = str(port)
        else:
            (tmp_path / "pyproject.toml").write_text(f"[tool.sparkpush.server]\nport = {port}\n")
        result = run_connect(args, env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"error: port {port} on 127.0.0.1 is already in use {named}" in line
    if where == "config":
        assert str(tmp_path / "pyproject.toml") in line
