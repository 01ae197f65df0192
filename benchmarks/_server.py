"""A dedicated embedded Spark Connect server for one benchmark run: free port, own state dir.

    from _server import bench_server
    with bench_server() as server:
        client = server.target.client()

The server is stopped when the block ends, on an exception or Ctrl-C as well. The token stays
in its 0600 file; `pyspark_token_env` exposes it to PySpark clients through the environment
(`SPARK_CONNECT_AUTHENTICATE_TOKEN`), so URLs never carry it.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sparkpush.config.settings import ServerSettings
from sparkpush.remote.target import Target, embedded_spec, probe_embedded
from sparkpush.server.process import start_server, stop_server
from sparkpush.state.server_state import ServerState, StateFiles

TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"


@dataclass(frozen=True)
class BenchServer:
    """The running server: `url` has no token; `target` carries it for sparkpush clients."""

    port: int
    state: ServerState
    target: Target

    @property
    def url(self) -> str:
        return f"sc://localhost:{self.port}"

    @property
    def token_file(self) -> Path:
        return Path(self.state.token_file)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def bench_server(master: str = "local[2]") -> Iterator[BenchServer]:
    """Start a server on a free port with a temporary state dir; always stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="sparkpush-bench-state-") as temp:
        files = StateFiles(Path(temp) / "sparkpush")
        port = free_port()
        # start_server stops the process itself if it fails or is interrupted while starting
        state, _ = start_server(ServerSettings(port=port, master=master), files, probe_embedded)
        try:
            yield BenchServer(port=port, state=state, target=Target(embedded_spec(state), "bench"))
        finally:
            stop_server(files)


@contextmanager
def pyspark_token_env(server: BenchServer) -> Iterator[None]:
    """PySpark clients created inside the block authenticate without a token in their URL."""
    with restored_environment(TOKEN_ENV, "SPARK_REMOTE"):
        os.environ.pop("SPARK_REMOTE", None)
        os.environ[TOKEN_ENV] = server.token_file.read_text().strip()
        yield


@contextmanager
def restored_environment(*keys: str) -> Iterator[None]:
    """The environment variables `keys` are as they were before the block, whatever it set."""
    saved = {key: os.environ.get(key) for key in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let `kill PID` unwind like Ctrl-C, so `finally` blocks stop the server."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
