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
        return {"op": self.op.value}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ControlRequest:
        op = document.get("op")
        try:
            return cls(ControlOp(op))
        except ValueError:
            raise ProtocolError(f"unknown op {op!r}") from None


@dataclass(frozen=True)
class Refusal:
    """A request the daemon would not or could not serve."""

    error: str

    def to_json(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error}

    @staticmethod
    def found_in(document: Mapping[str, Any]) -> Refusal | None:
        """The refusal `document` is, if it is one (every other reply has more keys)."""
        if set(document) == {"ok", "error"} and document["ok"] is False:
            return Refusal(str(document["error"]))
        return None


STOPPING = {"ok": True}
"""The answer to `stop`, sent before the daemon goes."""


@dataclass(frozen=True)
class DaemonSync:
    """The daemon's last sync: what `connect sync --json` prints, plus when and how long."""

    summary: SyncSummary
    at: float
    ms: float

    def to_json(self) -> dict[str, Any]:
        return {**self.summary.to_json(), "at": self.at, "ms": self.ms}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> DaemonSync:
        return cls(SyncSummary.from_json(document), float(document["at"]), float(document["ms"]))


@dataclass(frozen=True)
class GenerationReply:
    """The answer to `flush` and `lease`: the generation to use, and the last sync's error.

    `ok` is False when there is no generation (or, for a lease, none could be held).
    """

    ok: bool
    session_id: str | None = None
    generation: int | None = None
    server_side_session_id: str | None = None
    remote: str | None = None
    error: str | None = None
    exit_code: int | None = None
    last_sync: DaemonSync | None = None
    lease: int | None = None
    applied: tuple[DaemonSync, ...] = ()
    """The daemon's syncs that changed something since it last answered a flush, this one's
    own included, oldest first: what was done for the changes the flush waited for."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ok": self.ok,
            "last_sync": self.last_sync.to_json() if self.last_sync else None,
            "applied": [sync.to_json() for sync in self.applied],
        }
        for name in _OPTIONAL_GENERATION_FIELDS:
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> GenerationReply:
        try:
            last_sync = document.get("last_sync")
            return cls(
                ok=bool(document["ok"]),
                last_sync=DaemonSync.from_json(last_sync) if last_sync is not None else None,
                applied=tuple(DaemonSync.from_json(s) for s in document.get("applied") or ()),
                **{name: document.get(name) for name in _OPTIONAL_GENERATION_FIELDS},
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ProtocolError(f"not a generation reply: {exc}") from None

    def with_lease(self, session_id: str, lease: int) -> GenerationReply:
        return replace(self, session_id=session_id, lease=lease)


_OPTIONAL_GENERATION_FIELDS = (
    "session_id",
    "generation",
    "server_side_session_id",
    "remote",
    "error",
    "exit_code",
    "lease",
)


@dataclass(frozen=True)
class DaemonStatus:
    """The answer to `status` (`connect daemon status --json` prints it)."""

    pid: int
    project: str
    session_id: str | None
    generation: int | None
    remote: str | None
    last_sync: DaemonSync | None
    last_error: str | None
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
        return {
            "ok": True,
            "pid": self.pid,
            "project": self.project,
            "session_id": self.session_id,
            "generation": self.generation,
            "remote": self.remote,
            "last_sync": self.last_sync.to_json() if self.last_sync else None,
            "last_error": self.last_error,
            "server_reachable": self.server_reachable,
            "artifacts": self.artifacts,
            "udfs": self.udfs,
            "leases": dict(self.leases),
            "base_session_id": self.base_session_id,
            "syncs": self.syncs,
            "started_at": self.started_at,
            "waiting_for_server": self.waiting_for_server,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> DaemonStatus:
        try:
            last_sync = document.get("last_sync")
            generation = document.get("generation")
            return cls(
                pid=int(document["pid"]),
                project=str(document["project"]),
                session_id=document.get("session_id"),
                generation=int(generation) if generation is not None else None,
                remote=document.get("remote"),
                last_sync=DaemonSync.from_json(last_sync) if last_sync is not None else None,
                last_error=document.get("last_error"),
                server_reachable=bool(document["server_reachable"]),
                artifacts=int(document["artifacts"]),
                udfs=int(document["udfs"]),
                syncs=int(document["syncs"]),
                started_at=float(document["started_at"]),
                leases={str(k): int(v) for k, v in dict(document.get("leases") or {}).items()},
                base_session_id=document.get("base_session_id"),
                waiting_for_server=bool(document.get("waiting_for_server", False)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ProtocolError(f"not a daemon status: {exc}") from None
