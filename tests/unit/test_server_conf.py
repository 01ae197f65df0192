"""The embedded server's settings file and folders (no server)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sparkpush.server.process import _check_port_free
from sparkpush.server.server_conf import (
    TOKEN_CONF,
    ServerDirs,
    daemon_environment,
    java_options,
    properties_text,
    server_properties,
)


def test_every_folder_of_the_server_is_under_the_state_dir(tmp_path: Path) -> None:
    dirs = ServerDirs(tmp_path / "scratch", tmp_path / "warehouse", tmp_path / "metastore")
    entries = server_properties(dirs, "secret")
    assert entries[TOKEN_CONF] == "secret"
    assert entries["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert daemon_environment(dirs)["SPARK_LOCAL_DIRS"] == str(tmp_path / "scratch" / "local")
    assert daemon_environment(dirs)["TMPDIR"] == str(tmp_path / "scratch" / "tmp")
    assert (
        f"-Djava.io.tmpdir={tmp_path / 'scratch' / 'tmp'}"
        in entries["spark.driver.extraJavaOptions"]
    )
    assert (
        f"-Dderby.system.home={tmp_path / 'metastore'}" in entries["spark.driver.extraJavaOptions"]
    )


def test_java_options_quote_paths_with_spaces() -> None:
    assert java_options({"a": Path("/x/y")}) == "-Da=/x/y"
    assert java_options({"a": Path("/my dir")}) == '"-Da=/my dir"'


def test_properties_escape_backslashes_and_refuse_line_breaks() -> None:
    assert properties_text({"k": "a\\b", "s": " lead"}) == "k=a\\\\b\ns=\\ lead\n"
    with pytest.raises(ValueError):
        properties_text({"k": "a\nspark.other=1"})


def test_a_port_left_in_time_wait_by_a_killed_server_is_free() -> None:
    """After `kill -9` only TIME-WAIT sockets hold the port; the server may bind it again."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: its end goes to TIME-WAIT
    client.recv(1)
    client.close()
    listener.close()
    _check_port_free(port)


def test_a_port_with_a_listener_is_in_use() -> None:
    from sparkpush.errors import EmbeddedServerError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(EmbeddedServerError, match="already in use"):
            _check_port_free(listener.getsockname()[1])
