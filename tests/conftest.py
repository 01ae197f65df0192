"""Shared fixtures: one real embedded Spark Connect server per test session."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# where most test modules import them from (their home is tests.support)
from tests.support import run_connect as run_connect
from tests.support import run_connect_in_process as run_connect_in_process
from tests.support import server_lifeline

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """A suite started with SIGINT ignored (a background job of a script, e.g. `pytest &` in a
    CI step) would hand that on to every child it spawns: the tests that Ctrl-C a `connect`
    child would wait for an interrupt that never comes. Python's own handler here makes the
    children start with SIGINT at its default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a `connect` child: no stray remote, no token, our extras; nothing
    of an outer pytest-xdist worker (a `connect test` inside would take its name)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPARKPUSH_", "SPARK_REMOTE", "SPARK_CONNECT_", "PYTEST_XDIST_"))
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
    # out of the repr: a failing test prints its fixtures, and CI logs are read by others
    token: str = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        return clean_env(XDG_STATE_HOME=str(self.state_home))

    @property
    def remote_with_token(self) -> str:
        return f"sc://localhost:{self.port}/;token={self.token}"


LONG_FILES = (
    "test_worker_daemons.py",
    "test_daemon_lifecycle.py",
    "test_crash_safety.py",
    "test_live_tests.py",
    "test_server.py",
    "test_daemon_socket.py",
    "test_faults.py",
)
"""Integration files with the longest tests (`--durations`), longest first. They are collected
first: `scripts/test.sh` hands files to its two xdist workers in collection order
(`--no-loadscope-reorder`), and the 40-submit soak (~3 min, one test) handed out last, as
xdist's own order by test count did, ran alone at the end while the other worker idled."""


def run_order(item: pytest.Item) -> int:
    """The long integration files first (in LONG_FILES order), then the rest as collected."""
    if "integration" in item.path.parts and item.path.name in LONG_FILES:
        return LONG_FILES.index(item.path.name)
    return len(LONG_FILES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/integration or on the embedded server has the `integration` mark,
    so that `-m "not integration"` starts no server; the long files go first."""
    unmarked = [
        item.nodeid
        for item in items
        if (
            "integration" in item.path.parts
            or "embedded_server" in getattr(item, "fixturenames", ())
        )
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests without the integration mark: {', '.join(unmarked)}")
    items.sort(key=run_order)  # stable: a file's tests keep their order


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
    lifeline = server_lifeline.watch(files.root)  # stops it should this worker die untidily
    try:
        yield EmbeddedServer(
            state_home=state_home,
            port=port,
            url=state.url,
            token=Path(state.token_file).read_text().strip(),
        )
    finally:
        stop_server(files)
        assert lifeline.stdin is not None
        lifeline.stdin.close()
        lifeline.wait(timeout=60)


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
    result = run_connect_in_process([*args, "trust"], env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr


@pytest.fixture(autouse=True)
def user_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test has its own user cache (built Python environments), also for its children."""
    home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home
