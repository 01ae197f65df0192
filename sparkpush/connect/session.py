"""`Session`: what sync, submit and the daemon need of one Spark Connect session.

`SessionClient` is the real one, over gRPC; tests put an in-memory one in its place (like
httpx's `MockTransport`). Every method raises only `SparkpushError`s (see `rpc_errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from sparkpush.connect.proto import pb


class LossWatch(Protocol):
    """Notices a server that went away without sending an RPC (see `connection_watch`)."""

    def poke(self) -> None:
        """Ask an idle connection to connect again (call it every poll)."""
        ...

    def lost(self) -> bool: ...

    def close(self) -> None: ...


class Session(Protocol):
    """RPCs on one (user_id, session_id) of one server."""

    user_id: str
    session_id: str
    server_side_session_id: str | None
    """The server's id for the session, once an answer carried it."""

    @property
    def endpoint(self) -> str:
        """`host:port`, for messages."""
        ...

    def spark_version(self, timeout: float = ...) -> str:
        """The server's Spark version; doubles as the reachability and authentication probe."""
        ...

    def set_conf(self, pairs: Mapping[str, str], timeout: float = ...) -> None: ...

    def get_conf(self, keys: Iterable[str], timeout: float = ...) -> dict[str, str | None]:
        """The session's values of `keys` (None for one without a value)."""
        ...

    def add_artifacts(
        self, requests: Iterable[pb.AddArtifactsRequest], timeout: float | None = None
    ) -> pb.AddArtifactsResponse:
        """One client-streaming AddArtifacts call."""
        ...

    def register_java_udf(
        self, name: str, class_name: str, returns: str, timeout: float = ...
    ) -> None:
        """Register a Java UDF on the server's classpath as the SQL function `name`."""
        ...

    def interrupt_all(self, timeout: float = ...) -> list[str]: ...

    def interrupt_tag(self, tag: str, timeout: float = ...) -> list[str]: ...

    def clone_session(self, timeout: float = ..., clone_id: str | None = None) -> tuple[str, str]:
        """A server-side copy of this session: the clone's (session_id, server_side_session_id).

        `clone_id`: the clone's id, chosen first so that it can be recorded before the
        server creates it (crash safety); a new UUID by default.

        Raises `CloneUnsupportedError` where the server has no `CloneSession` (Spark 4.0).
        """
        ...

    def release_session(self, timeout: float = ...) -> str | None:
        """Release the session on the server (its artifacts are deleted); the server's id of
        the session it released, None when it held no such session."""
        ...

    def watch_connection(self) -> LossWatch:
        """Follow the connection to notice a server that went away during a long wait."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Session: ...

    def __exit__(self, *_: object) -> None: ...


class SessionFactory(Protocol):
    """Opens a `Session` on a server: a new one, or an existing one by its ids."""

    def __call__(
        self, session_id: str | None = None, server_side_session_id: str | None = None
    ) -> Session: ...
