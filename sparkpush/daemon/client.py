"""Talking to a project's running daemon over its control socket."""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import Any

from sparkpush.daemon.control_messages import (
    ControlOp,
    ControlRequest,
    DaemonStatus,
    GenerationReply,
    ProtocolError,
    Refusal,
    decode,
    encode,
    peer_uid,
    read_line,
)
from sparkpush.errors import DaemonRefusedError, ForeignDaemonError
from sparkpush.state.daemon_paths import daemon_paths, socket_address

CONNECT_TIMEOUT_S = 10.0
"""How long a full listen queue (a burst of commands) may delay a connection."""
CONNECT_RETRY_S = 0.02
FLUSH_TIMEOUT_S = 900.0


class DaemonUnavailable(Exception):
    """No daemon answers on the project's socket."""


class DaemonConnection:
    """One connection; a lease taken on it lasts until `close()` (or this process dies)."""

    def __init__(self, path: Path) -> None:
        self._socket = _connect(path)
        try:
            owner = peer_uid(self._socket)
            if owner != os.getuid():
                raise ForeignDaemonError(
                    f"{path} is served by uid {owner}, not by you (uid {os.getuid()}): refused"
                )
        except BaseException:
            self._socket.close()
            raise
        self._reader = self._socket.makefile("rb")

    def status(self, timeout: float = 10.0) -> DaemonStatus:
        try:
            return DaemonStatus.from_json(self.call(ControlOp.STATUS, timeout))
        except ProtocolError as exc:
            raise DaemonUnavailable(str(exc)) from None

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> GenerationReply:
        """Raises ProtocolError on a reply of another form (another sparkpush version)."""
        return GenerationReply.from_json(self.call(ControlOp.FLUSH, timeout))

    def lease(self, timeout: float = FLUSH_TIMEOUT_S) -> GenerationReply:
        """A flush that holds its generation until `close()`; ProtocolError as `flush`."""
        return GenerationReply.from_json(self.call(ControlOp.LEASE, timeout))

    def stop(self, timeout: float = 10.0) -> None:
        self.call(ControlOp.STOP, timeout)

    def call(self, op: ControlOp, timeout: float) -> dict[str, Any]:
        """One request, its reply as sent (the typed methods above read it)."""
        self._socket.settimeout(timeout)
        try:
            self._socket.sendall(encode(ControlRequest(op).to_json()))
            line = read_line(self._reader)
        except OSError as exc:
            raise DaemonUnavailable(str(exc)) from None
        except ProtocolError as exc:
            raise DaemonUnavailable(str(exc)) from None
        if not line:
            raise DaemonUnavailable("the daemon closed the connection")
        try:
            document = decode(line)
        except ProtocolError as exc:
            raise DaemonUnavailable(str(exc)) from None
        refusal = Refusal.found_in(document)
        if refusal is not None and op is not ControlOp.STOP:
            raise DaemonRefusedError(f"the project's daemon refused: {refusal.error}")
        return document

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._socket.close()

    def __enter__(self) -> DaemonConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _connect(path: Path) -> socket.socket:
    """A connected socket; a full listen queue (EAGAIN) is retried, not taken as "not running"."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    with socket_address(path) as address:
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT_S)
            try:
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EAGAIN or time.monotonic() > deadline:
                    raise DaemonUnavailable(str(exc)) from None
            time.sleep(CONNECT_RETRY_S)


def connect_to_daemon(project_root: Path) -> DaemonConnection | None:
    """A connection to the project's daemon, or None when none is running."""
    path = daemon_paths(project_root).socket
    if not path.exists():
        return None
    try:
        return DaemonConnection(path)
    except DaemonUnavailable:
        return None
