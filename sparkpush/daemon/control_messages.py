"""The control channel: one JSON object per line each way (JSON Lines), between one user's
processes only.

A client sends a `ControlRequest`; the daemon answers `status` with a `DaemonStatus`,
`flush` and `lease` with a `GenerationReply`, `stop` with `{"ok": true}` and anything it
cannot serve with a `Refusal`.
"""

from __future__ import annotations

import io
import json
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from sparkpush.state.records import OMIT_IF_NONE, RecordError, record_from_json, record_to_json
from sparkpush.sync.summary import SyncSummary

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


class ControlOp(str, Enum):
    STATUS = "status"
    FLUSH = "flush"
    LEASE = "lease"
    """Flush, then hold the current generation until the connection closes."""
    STOP = "stop"


@dataclass(frozen=True)
class ControlRequest:
    op: ControlOp

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ControlRequest:
        try:
            return record_from_json(cls, document)
        except RecordError:
            raise ProtocolError(f"unknown op {document.get('op')!r}") from None


@dataclass(frozen=True)
class Refusal:
    """A request the daemon would not or could not serve."""

    error: str
    ok: bool = False

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @staticmethod
    def found_in(document: Mapping[str, Any]) -> Refusal | None:
        """The refusal `document` is, if it is one (every other reply has more keys)."""
        if set(document) == {"ok", "error"} and document["ok"] is False:
            return Refusal(str(document["error"]))
        return None


STOPPING = {"ok": True}
"""The answer to `stop`, sent before the daemon goes."""


@dataclass(frozen=True)
class GenerationReply:
    """The answer to `flush` and `lease`: the generation to use, and the last sync's error.

    `ok` is False when there is no generation (or, for a lease, none could be held).
    """

    ok: bool
    session_id: str | None = field(default=None, metadata=OMIT_IF_NONE)
    generation: int | None = field(default=None, metadata=OMIT_IF_NONE)
    server_side_session_id: str | None = field(default=None, metadata=OMIT_IF_NONE)
    remote: str | None = field(default=None, metadata=OMIT_IF_NONE)
    error: str | None = field(default=None, metadata=OMIT_IF_NONE)
    exit_code: int | None = field(default=None, metadata=OMIT_IF_NONE)
    last_sync: SyncSummary | None = None
    """The daemon's last sync, with when (`at`) and how long (`ms`)."""
    lease: int | None = field(default=None, metadata=OMIT_IF_NONE)
    applied: tuple[SyncSummary, ...] = ()
    """The daemon's syncs that changed something since it last answered a flush, this one's
    own included, oldest first: what was done for the changes the flush waited for."""

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> GenerationReply:
        try:
            return record_from_json(cls, document)
        except RecordError as exc:
            raise ProtocolError(str(exc)) from None

    def with_lease(self, session_id: str, lease: int) -> GenerationReply:
        return replace(self, session_id=session_id, lease=lease)


@dataclass(frozen=True, kw_only=True)
class DaemonStatus:
    """The answer to `status` (`connect daemon status --json` prints it)."""

    ok: bool = True
    pid: int
    project: str
    session_id: str | None = None
    generation: int | None = None
    remote: str | None = None
    last_sync: SyncSummary | None = None
    """The daemon's last sync, with when (`at`) and how long (`ms`)."""
    last_error: str | None = None
    server_reachable: bool
    artifacts: int
    udfs: int
    syncs: int
    started_at: float
    leases: Mapping[str, int] = field(default_factory=dict)
    """Retired generations (and bases) still held, by session id: how many leases (or live
    generations cloned from it) each."""
    base_session_id: str | None = None
    """The base session the current generation was cloned from (None: not layered)."""
    waiting_for_server: bool = False
    """The embedded server is not running: the daemon waits for someone to start it."""

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> DaemonStatus:
        try:
            return record_from_json(cls, document)
        except RecordError as exc:
            raise ProtocolError(str(exc)) from None
