"""Telling a Spark server of this machine from a tunnel or another program on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sparkpush.server.local_listener import is_local_spark_server

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc")

LISTEN = """
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
time.sleep(60)
"""


def test_a_loopback_port_of_a_spark_jvm_of_this_machine_is_local(tmp_path: Path) -> None:
    """A process named java, with Spark's classes in its arguments, listening on loopback."""
    java = tmp_path / "java"
    os.symlink(sys.executable, java)
    process = subprocess.Popen(
        [str(java), "-c", LISTEN, "org.apache.spark.sql.connect.service.SparkConnectServer"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        assert is_local_spark_server("localhost", port)
    finally:
        process.kill()
        process.wait()


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
