"""An in-memory Spark Connect server behind the `Session` protocol, for unit tests.

It stands in for the transport (as httpx's `MockTransport` does), so the logic above it (sync
engine, artifact stream) is tested without a JVM; integration tests keep the real server.
It behaves as the real one does where our logic depends on it (see SPARK_CONNECT_NOTES.md):
CRC checked per chunk, a stored name refused with other bytes (ARTIFACT_ALREADY_EXISTS), a
restarted server's session answering INVALID_HANDLE.SESSION_CHANGED.
"""

from __future__ import annotations

import collections
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.proto import pb
from sparkpush.connect.session import LossWatch
from sparkpush.errors import (
    ArtifactConflictError,
    CallTimeoutError,
    CloneUnsupportedError,
    ServerError,
    SparkpushError,
)
from sparkpush.remote.target import Target

ENDPOINT = "fake.invalid:15002"
USER_ID = "fake-user"
_NO_OVERWRITE = ("jars", "pyfiles", "files", "archives")


@dataclass
class ServerSession:
    """What the server keeps for one session id."""

    server_side_session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    artifacts: dict[str, bytes] = field(default_factory=dict)
    conf: dict[str, str] = field(default_factory=dict)
    java_udfs: dict[str, tuple[str, str]] = field(default_factory=dict)
    """SQL name -> (class, return type) registered."""
    released: bool = False


@dataclass
class AddArtifactsCall:
    """One AddArtifacts call as the server saw it."""

    requests: list[pb.AddArtifactsRequest]
    timeout: float | None


@dataclass
class FakeServer:
    """The server's state; `fail_next` makes the next RPCs named there raise the given errors."""

    sessions: dict[str, ServerSession] = field(default_factory=dict)
    calls: list[AddArtifactsCall] = field(default_factory=list)
    fail_next: dict[str, list[SparkpushError]] = field(default_factory=dict)
    corrupt_next: list[str] = field(default_factory=list)
    """Artifact names whose next arrival fails its CRC check (as bytes damaged on the way)."""
    released: list[str] = field(default_factory=list)
    opened: int = 0
    closed: int = 0
    clones: list[str] = field(default_factory=list)
    """Session ids of the clones made, in order."""
    clone_calls: list[tuple[str, float]] = field(default_factory=list)
    """(clone id, deadline) of each CloneSession call, in order (failed ones too)."""
    cut_off_clones: int = 0
    """The next N CloneSession calls hit their deadline while the server goes on copying."""
    cloning: dict[str, ServerSession] = field(default_factory=dict)
    """Clones the server is still making (see `cut_off_clones`): a ReleaseSession does not
    find them; any call that may create the session waits for the copy, then finds it (the
    real server makes a clone inside its session map's `computeIfAbsent`)."""
    supports_clone: bool = True
    """False plays a Spark 4.0 server, which has no CloneSession RPC."""
    rpcs: collections.Counter[str] = field(default_factory=collections.Counter)
    """Calls answered (or failed) per RPC: each one a round trip to a remote server."""
    version: str = "4.0.0"
    """What SparkVersion answers."""
    app_id: str = field(default_factory=lambda: f"local-{uuid.uuid4().hex[:12]}")
    """The server's `spark.app.id`: new at every start (see `restart`)."""

    def target(self) -> Target:
        """A Target whose sessions are this server's."""
        spec = parse_connection_string(f"sc://{ENDPOINT}")
        return Target(spec=spec, source="test", transport=self.open)

    def open(
        self, session_id: str | None = None, server_side_session_id: str | None = None
    ) -> FakeSession:
        self.opened += 1
        return FakeSession(self, session_id or str(uuid.uuid4()), server_side_session_id)

    def restart(self) -> None:
        """Every session is lost; a client naming an old one is told SESSION_CHANGED. The
        server's `spark.app.id` is new, as after a real restart."""
        self.sessions.clear()
        self.app_id = f"local-{uuid.uuid4().hex[:12]}"

    def fail(self, rpc: str, *errors: SparkpushError) -> None:
        self.fail_next.setdefault(rpc, []).extend(errors)

    def stored(self, session_id: str) -> dict[str, bytes]:
        return self.sessions[session_id].artifacts

    def _injected(self, rpc: str) -> None:
        self.rpcs[rpc] += 1
        queue = self.fail_next.get(rpc)
        if queue:
            raise queue.pop(0)


@dataclass
class FakeSession:
    """Implements `sparkpush.connect.session.Session` against a FakeServer."""

    server: FakeServer
    session_id: str
    server_side_session_id: str | None = None
    closed: bool = False
    user_id: str = USER_ID

    @property
    def endpoint(self) -> str:
        return ENDPOINT

    def spark_version(self, timeout: float = 10.0) -> str:
        self._answer("spark_version")
        return self.server.version

    def set_conf(self, pairs: Mapping[str, str], timeout: float = 10.0) -> None:
        self._answer("set_conf").conf.update(pairs)

    def get_conf(self, keys: Iterable[str], timeout: float = 10.0) -> dict[str, str | None]:
        conf = {"spark.app.id": self.server.app_id, **self._answer("get_conf").conf}
        return {key: conf.get(key) for key in keys}

    def add_artifacts(
        self, requests: Iterable[pb.AddArtifactsRequest], timeout: float | None = None
    ) -> pb.AddArtifactsResponse:
        received = list(requests)  # the whole stream is sent before any answer, as in gRPC
        self.server.calls.append(AddArtifactsCall(received, timeout))
        session = self._answer("add_artifacts")
        summaries = [
            pb.AddArtifactsResponse.ArtifactSummary(name=name, is_crc_successful=ok)
            for name, ok in self._store(session, _artifacts_in(received))
        ]
        return pb.AddArtifactsResponse(
            session_id=self.session_id,
            server_side_session_id=session.server_side_session_id,
            artifacts=summaries,
        )

    def register_java_udf(
        self, name: str, class_name: str, returns: str, timeout: float = 120.0
    ) -> None:
        self._answer("register_java_udf").java_udfs[name] = (class_name, returns)

    def interrupt_all(self, timeout: float = 10.0) -> list[str]:
        self._answer("interrupt_all")
        return []

    def interrupt_tag(self, tag: str, timeout: float = 10.0) -> list[str]:
        self._answer("interrupt_tag")
        return []

    def clone_session(self, timeout: float = 10.0, clone_id: str | None = None) -> tuple[str, str]:
        clone_id = clone_id or str(uuid.uuid4())
        self.server.clone_calls.append((clone_id, timeout))
        if not self.server.supports_clone:
            raise CloneUnsupportedError("cloning the session (CloneSession) failed: UNIMPLEMENTED")
        if (
            self.session_id not in self.server.sessions
            and self.session_id not in self.server.cloning
        ):
            # as the server's cloneSession: the source is looked up, never created
            self.server._injected("clone_session")
            raise _gone("INVALID_HANDLE.SESSION_NOT_FOUND")
        source = self._answer("clone_session")
        clone = ServerSession(
            artifacts=dict(source.artifacts),
            conf=dict(source.conf),
            java_udfs=dict(source.java_udfs),
        )
        self.server.clones.append(clone_id)
        if self.server.cut_off_clones > 0:
            self.server.cut_off_clones -= 1
            self.server.cloning[clone_id] = clone
            raise CallTimeoutError(
                f"cannot reach Spark Connect server at {ENDPOINT}: no answer in time"
            )
        self.server.sessions[clone_id] = clone
        return clone_id, clone.server_side_session_id

    def release_session(self, timeout: float = 10.0) -> str | None:
        self.server._injected("release_session")
        # as the server's SparkConnectSessionManager.closeSession: an unknown or already
        # released session is a no-op, not an error; only an existing one is tombstoned, and
        # only then does the answer carry its server-side id
        session = self.server.sessions.get(self.session_id)
        if session is None or session.released:
            return None
        session.released = True
        self.server.released.append(self.session_id)
        return session.server_side_session_id

    def watch_connection(self) -> LossWatch:
        return QuietWatch()

    def close(self) -> None:
        self.closed = True
        self.server.closed += 1

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _answer(self, rpc: str) -> ServerSession:
        """The server-side session for a call, created on first use, as the server does."""
        self.server._injected(rpc)
        finished = self.server.cloning.pop(self.session_id, None)
        if finished is not None:  # the call waited for the copy to end
            self.server.sessions[self.session_id] = finished
        session = self.server.sessions.get(self.session_id)
        if session is not None and session.released:
            raise _gone("INVALID_HANDLE.SESSION_CLOSED")
        if session is None:
            session = self.server.sessions[self.session_id] = ServerSession()
        if self.server_side_session_id is None:
            self.server_side_session_id = session.server_side_session_id
        elif self.server_side_session_id != session.server_side_session_id:
            raise _gone("INVALID_HANDLE.SESSION_CHANGED")
        return session

    def _store(
        self, session: ServerSession, artifacts: list[tuple[str, bytes, bool]]
    ) -> list[tuple[str, bool]]:
        verdicts: list[tuple[str, bool]] = []
        for name, data, crc_ok in artifacts:
            if name in self.server.corrupt_next:
                self.server.corrupt_next.remove(name)
                crc_ok = False
            known = session.artifacts.get(name)
            if crc_ok and known not in (None, data) and name.split("/")[0] in _NO_OVERWRITE:
                raise ArtifactConflictError(
                    f"uploading artifacts failed: [ARTIFACT_ALREADY_EXISTS] The artifact {name} "
                    "already exists."
                )
            if crc_ok:
                session.artifacts[name] = data
            verdicts.append((name, crc_ok))
        return verdicts


@dataclass
class QuietWatch:
    """A connection watch that never reports the server lost."""

    closed: bool = False

    def poke(self) -> None:
        pass

    def lost(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _artifacts_in(requests: list[pb.AddArtifactsRequest]) -> list[tuple[str, bytes, bool]]:
    """(name, bytes, CRC of every chunk right) for each artifact in an AddArtifacts stream."""
    found: list[tuple[str, bytes, bool]] = []
    for request in requests:
        kind = request.WhichOneof("payload")
        if kind == "batch":
            for single in request.batch.artifacts:
                found.append((single.name, single.data.data, _crc_ok(single.data)))
        elif kind == "begin_chunk":
            first = request.begin_chunk.initial_chunk
            found.append((request.begin_chunk.name, first.data, _crc_ok(first)))
        elif kind == "chunk":
            name, data, ok = found[-1]
            found[-1] = (name, data + request.chunk.data, ok and _crc_ok(request.chunk))
    return found


def _crc_ok(chunk: pb.AddArtifactsRequest.ArtifactChunk) -> bool:
    return zlib.crc32(chunk.data) == chunk.crc


def _gone(error_class: str) -> ServerError:
    return ServerError(
        f"running the query failed: [{error_class}] The handle is invalid.", error_class
    )
