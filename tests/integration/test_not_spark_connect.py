"""An endpoint that answers, but not as a Spark Connect server: exit 3 and one line.

Two such endpoints on loopback: Python's own HTTP/1 server, and a bare HTTP/2 server that
answers every request with status 404 (as a web server or proxy speaking HTTP/2 would).
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import clean_env, run_connect

pytestmark = pytest.mark.integration

APP = "print('never runs')\n"

_PREFACE_BYTES = 24
_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
_HEADERS = 1
_END_STREAM_AND_HEADERS = 5
_STATUS_404 = b"\x8d"  # HPACK static table entry 13: `:status: 404`


@pytest.fixture
def http1_endpoint() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _read_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _answer_404(connection: socket.socket) -> None:
    """Speak just enough HTTP/2 to answer each request's HEADERS with `:status: 404`."""
    with connection:
        connection.settimeout(30)
        try:
            connection.sendall(_SETTINGS)
            _read_exactly(connection, _PREFACE_BYTES)
            while True:
                header = _read_exactly(connection, 9)
                length = int.from_bytes(header[:3], "big")
                kind, flags = header[3], header[4]
                stream = int.from_bytes(header[5:9], "big") & 0x7FFFFFFF
                _read_exactly(connection, length)
                if kind == 4 and not flags & 1:  # the client's SETTINGS
                    connection.sendall(_SETTINGS_ACK)
                elif kind == _HEADERS:
                    frame = len(_STATUS_404).to_bytes(3, "big") + bytes(
                        [_HEADERS, _END_STREAM_AND_HEADERS]
                    )
                    connection.sendall(frame + stream.to_bytes(4, "big") + _STATUS_404)
        except (OSError, ConnectionError):
            return


@pytest.fixture
def http2_404_endpoint() -> Iterator[int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stopped = threading.Event()

    def serve() -> None:
        while not stopped.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_answer_404, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopped.set()
        listener.close()


@pytest.fixture
def grpc_without_spark_connect() -> Iterator[int]:
    """A gRPC server serving no method: grpc-python answers UNIMPLEMENTED `Method not found!`."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)


COMMANDS = [
    pytest.param(("submit", ["app.py"]), id="submit"),
    pytest.param(("sql", ["SELECT 1"]), id="sql"),
    pytest.param(("sync", []), id="sync"),
]


def _assert_one_line_exit_3(
    command: tuple[str, list[str]], port: int, folder: Path, why: str
) -> None:
    (folder / "pyproject.toml").write_text('[project]\nname = "p"\n[tool.sparkpush]\n')
    (folder / "app.py").write_text(APP)
    remote = f"sc://localhost:{port}/;token=never-shown"
    name, rest = command
    env = clean_env(XDG_STATE_HOME=str(folder / "state"))
    result = run_connect([name, "--remote", remote, *rest], env=env, cwd=folder, timeout=120)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: localhost:{port} did not answer as a Spark Connect server ({why}); "
        "check the host and port"
    ]
    assert "never runs" not in result.stdout
    assert "never-shown" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_http1_server_is_not_a_spark_connect_server(
    http1_endpoint: int, tmp_path: Path, command: tuple[str, list[str]]
) -> None:
    _assert_one_line_exit_3(
        command, http1_endpoint, tmp_path, "it does not speak HTTP/2: a plain HTTP server?"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_http2_server_answering_404_is_not_a_spark_connect_server(
    http2_404_endpoint: int, tmp_path: Path, command: tuple[str, list[str]]
) -> None:
    _assert_one_line_exit_3(command, http2_404_endpoint, tmp_path, "HTTP status 404")


@pytest.mark.parametrize("command", COMMANDS)
def test_grpc_server_without_the_spark_connect_service_is_not_a_spark_connect_server(
    grpc_without_spark_connect: int, tmp_path: Path, command: tuple[str, list[str]]
) -> None:
    _assert_one_line_exit_3(
        command,
        grpc_without_spark_connect,
        tmp_path,
        "a gRPC server without the Spark Connect service",
    )
