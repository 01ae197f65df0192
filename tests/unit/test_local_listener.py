"""Telling a Spark server of this machine from a tunnel or another program on loopback."""

from __future__ import annotations

import socket

from sparkpush.server.local_listener import is_local_spark_server


def test_a_loopback_port_of_a_program_that_is_not_spark_is_not_local() -> None:
    """As with `ssh -L` or a container's published port: the files are elsewhere."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not is_local_spark_server("localhost", listener.getsockname()[1])


def test_a_closed_port_or_another_host_is_not_local() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert not is_local_spark_server("127.0.0.1", port)
    assert not is_local_spark_server("spark.example.com", 15002)
