"""The control socket under half-open connections: bounded threads, a clear refusal, a queue."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from sparkpush.daemon.client import DaemonConnection
from sparkpush.daemon.control_messages import DaemonStatus
from sparkpush.daemon.control_server import ControlServer
from sparkpush.daemon.service import Daemon
from sparkpush.errors import DaemonRefusedError
from tests.support import wait_until

CAP = 8


class StatusOnly:
    """What the control server needs of a daemon to answer `status`."""

    def status(self) -> DaemonStatus:
        return DaemonStatus(
            pid=1,
            project="/p",
            session_id=None,
            generation=None,
            remote=None,
            last_sync=None,
            last_error=None,
            server_reachable=True,
            artifacts=0,
            udfs=0,
            syncs=1,
            started_at=0.0,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ControlServer]:
    path = tmp_path / "daemon.sock"
    control = ControlServer(
        path,
        cast(Daemon, StatusOnly()),
        on_stop=lambda: None,
        max_connections=CAP,
        request_wait_s=0.5,
        queue_wait_s=0.2,
    )
    control.serve_in_background()
    try:
        yield control
    finally:
        control.close()


def half_open(path: Path, count: int) -> list[socket.socket]:
    """Connections that never send a request (a client stuck, or someone hostile)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        sockets.append(sock)
    return sockets


def test_half_open_connections_cannot_pile_up_threads(server: ControlServer) -> None:
    before = threading.active_count()
    sockets = half_open(server.path, 40)
    try:
        peak = before
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            peak = max(peak, threading.active_count())
            time.sleep(0.01)
        assert peak <= before + CAP + 1  # the accept loop's thread is counted in `before`
        # each is answered or closed: refused beyond the cap, dropped after request_wait_s
        for sock in sockets:
            sock.settimeout(10)
            leftover = sock.recv(4096)
            assert leftover == b"" or b"the daemon is busy" in leftover
    finally:
        for sock in sockets:
            sock.close()
    wait_until(lambda: threading.active_count() <= before, 30, interval=0.01)
    with DaemonConnection(server.path) as connection:
        assert connection.status().syncs == 1


def test_a_connection_beyond_the_cap_is_refused_with_one_line(server: ControlServer) -> None:
    sockets = half_open(server.path, CAP)
    try:
        with (
            pytest.raises(DaemonRefusedError, match="the daemon is busy: 8 connections"),
            DaemonConnection(server.path) as connection,
        ):
            connection.status()
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_beyond_the_cap_waits_for_a_free_place(tmp_path: Path) -> None:
    control = ControlServer(
        tmp_path / "daemon.sock",
        cast(Daemon, StatusOnly()),
        on_stop=lambda: None,
        max_connections=CAP,
        request_wait_s=0.3,
        queue_wait_s=10.0,
    )
    control.serve_in_background()
    try:
        sockets = half_open(control.path, CAP)
        try:
            # the half-open ones are dropped after 0.3 s; the queued one is served then
            with DaemonConnection(control.path) as connection:
                assert connection.status().syncs == 1
        finally:
            for sock in sockets:
                sock.close()
    finally:
        control.close()
