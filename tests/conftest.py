"""Shared fixtures: one real embedded Spark Connect server per test session."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a `connect` child: no stray remote, no token, our extras."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPARKPUSH_", "SPARK_REMOTE", "SPARK_CONNECT_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class EmbeddedServer:
    """The test session's server; `env` makes `connect` find it as the embedded default."""

    state_home: Path
    port: int
    url: str
    token: str

    @property
    def env(self) -> dict[str, str]:
        return clean_env(XDG_STATE_HOME=str(self.state_home))

    @property
    def remote_with_token(self) -> str:
        return f"sc://localhost:{self.port}/;token={self.token}"


def run_connect(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run `connect ARGS` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "sparkpush", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=stdin,
    )


def run_connect_in_process(
    args: list[str], *, env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`run_connect` without a new interpreter: the CLI's `main` with exactly `env` as the
    environment and `cwd` as the working folder, its output captured. An exception that
    escapes shows as a traceback on stderr, as it would in a real process."""
    from click.testing import CliRunner

    from sparkpush.cli.main import main

    unset: dict[str, str | None] = {key: None for key in os.environ if key not in env}
    code: int | str | None = 0
    trace = ""
    previous = os.getcwd()
    with CliRunner().isolation(env={**unset, **env}) as (stdout, stderr, _):
        # the log lines a real process would print (pytest's own handlers keep the CLI's
        # logging.basicConfig from adding this one)
        log_lines = logging.StreamHandler(sys.stderr)
        log_lines.setFormatter(logging.Formatter("connect: %(levelname)s %(name)s: %(message)s"))
        log_lines.setLevel(logging.WARNING)
        logging.getLogger().addHandler(log_lines)
        os.chdir(cwd)
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code
        except Exception:
            code, trace = 1, traceback.format_exc()
        finally:
            os.chdir(previous)
            logging.getLogger().removeHandler(log_lines)
    return subprocess.CompletedProcess(
        ["connect", *args],
        code if isinstance(code, int) else 1,
        stdout.getvalue().decode(),
        stderr.getvalue().decode() + trace,
    )


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A real Spark Connect server from the pyspark wheel: loopback, free port, random token."""
    from sparkpush.config.settings import ServerSettings
    from sparkpush.remote.target import probe_embedded
    from sparkpush.server.process import start_server, stop_server
    from sparkpush.state.server_state import StateFiles

    state_home = tmp_path_factory.mktemp("state")
    files = StateFiles(state_home / "sparkpush")
    port = free_port()
    settings = ServerSettings(port=port, master="local[2]")
    state, _ = start_server(settings, files, probe_embedded)
    try:
        yield EmbeddedServer(
            state_home=state_home,
            port=port,
            url=state.url,
            token=Path(state.token_file).read_text().strip(),
        )
    finally:
        stop_server(files)


@pytest.fixture(autouse=True)
def user_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test has its own user config folder (trust records), also for its children."""
    home = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def trust_project(cwd: Path, env: Mapping[str, str], *args: str) -> None:
    """`connect trust` in `cwd`: lets its config's remote, token_file and ca_file take effect."""
    result = run_connect([*args, "trust"], env=env, cwd=cwd, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.fixture(autouse=True)
def user_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test has its own user cache (built Python environments), also for its children."""
    home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home
