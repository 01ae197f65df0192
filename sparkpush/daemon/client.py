"""Talking to a project's running daemon over its control socket."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from sparkpush.daemon.paths import daemon_paths
from sparkpush.daemon.protocol import ProtocolError, decode, encode

CONNECT_TIMEOUT_S = 2.0
FLUSH_TIMEOUT_S = 900.0


class DaemonUnavailable(Exception):
    """No daemon answers on the project's socket."""


class DaemonConnection:
    """One connection; a lease taken on it lasts until `close()` (or this process dies)."""

    def __init__(self, path: Path) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(CONNECT_TIMEOUT_S)
        try:
            self._socket.connect(str(path))
        except OSError as exc:
            self._socket.close()
            raise DaemonUnavailable(str(exc)) from None
        self._reader = self._socket.makefile("rb")

    def call(self, op: str, timeout: float = FLUSH_TIMEOUT_S) -> dict[str, Any]:
        self._socket.settimeout(timeout)
        try:
            self._socket.sendall(encode({"op": op}))
            line = self._reader.readline()
        except OSError as exc:
            raise DaemonUnavailable(str(exc)) from None
        if not line:
            raise DaemonUnavailable("the daemon closed the connection")
        try:
            return decode(line)
        except ProtocolError as exc:
            raise DaemonUnavailable(str(exc)) from None

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._socket.close()

    def __enter__(self) -> DaemonConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect_to_daemon(project_root: Path) -> DaemonConnection | None:
    """A connection to the project's daemon, or None when none is running."""
    path = daemon_paths(project_root).socket
    if not path.exists():
        return None
    try:
        return DaemonConnection(path)
    except DaemonUnavailable:
        return None
