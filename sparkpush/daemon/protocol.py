"""The control channel: one JSON object per line each way (JSON Lines), between one user's
processes only."""

from __future__ import annotations

import io
import json
import socket
import struct
from typing import Any

MAX_LINE_BYTES = 1024 * 1024


class ProtocolError(Exception):
    """A line that is not one JSON object."""


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, sort_keys=True, separators=(",", ":")) + "\n").encode()


def read_line(stream: io.BufferedIOBase) -> bytes:
    """The next line, b"" at the end; never buffers more than MAX_LINE_BYTES of it."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError("message too long")
    return line


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError("message too long")
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("not a JSON object")
    return value


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end (it cannot lie about it: SO_PEERCRED)."""
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)
