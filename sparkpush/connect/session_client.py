"""One Spark Connect session seen from the client: the RPCs sparkpush needs, with deadlines.

The gRPC implementation of `connect.session.Session`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import grpc

from sparkpush.connect.channel import channel_for
from sparkpush.connect.connection_string import ConnectionSpec, new_session_id
from sparkpush.connect.connection_watch import ConnectionWatch
from sparkpush.connect.proto import commands, data_types, expressions, pb, pb_grpc
from sparkpush.connect.rpc_errors import translate_rpc_error
from sparkpush.errors import CloneUnsupportedError, SparkpushError

log = logging.getLogger(__name__)

CLIENT_TYPE = "sparkpush"
PROBE_TIMEOUT_S = 10.0
CONTROL_TIMEOUT_S = 10.0
REGISTER_TIMEOUT_S = 120.0

_Request = TypeVar("_Request")


class SessionClient:
    """RPCs on one (user_id, session_id); tracks the server-side session id it first saw."""

    def __init__(
        self,
        spec: ConnectionSpec,
        session_id: str | None = None,
        *,
        ca_file: Path | None = None,
        server_side_session_id: str | None = None,
        on_released: Callable[[str], object] | None = None,
    ) -> None:
        """`on_released`: called with the server's id of the session once the server says it
        released it (the embedded server's files of the session are then reclaimed)."""
        self.spec = spec
        self._on_released = on_released
        self.session_id = session_id or spec.session_id or new_session_id()
        # Echoing the server-side id we saw before makes a restarted server answer
        # INVALID_HANDLE.SESSION_CHANGED instead of silently creating an empty session.
        self.server_side_session_id = server_side_session_id
        self._channel, self._owns_channel = channel_for(spec, ca_file)
        self._stub = pb_grpc.SparkConnectServiceStub(self._channel)
        self._metadata = tuple(spec.metadata)
        self.user_id = spec.user_id or default_user_id()
        self._user_context = pb.UserContext(user_id=self.user_id)

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint

    # -- plumbing ---------------------------------------------------------------------------

    def _fill(self, request: _Request) -> _Request:
        request.session_id = self.session_id  # type: ignore[attr-defined]
        request.user_context.CopyFrom(self._user_context)  # type: ignore[attr-defined]
        request.client_type = CLIENT_TYPE  # type: ignore[attr-defined]
        if self.server_side_session_id and hasattr(
            request, "client_observed_server_side_session_id"
        ):
            request.client_observed_server_side_session_id = self.server_side_session_id
        return request

    def _observe(self, response: object) -> None:
        seen = getattr(response, "server_side_session_id", "")
        if seen and self.server_side_session_id is None:
            self.server_side_session_id = seen

    def _fail(self, exc: grpc.RpcError, action: str) -> SparkpushError:
        return translate_rpc_error(exc, self.spec.endpoint, action)

    # -- RPCs -------------------------------------------------------------------------------

    def spark_version(self, timeout: float = PROBE_TIMEOUT_S) -> str:
        """The server's Spark version; doubles as the reachability and authentication probe."""
        request = self._fill(
            pb.AnalyzePlanRequest(spark_version=pb.AnalyzePlanRequest.SparkVersion())
        )
        try:
            response = self._stub.AnalyzePlan(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "asking the server's version") from None
        self._observe(response)
        return str(response.spark_version.version)

    def set_conf(self, pairs: Mapping[str, str], timeout: float = CONTROL_TIMEOUT_S) -> None:
        if not pairs:
            return
        operation = pb.ConfigRequest.Operation(
            set=pb.ConfigRequest.Set(pairs=[pb.KeyValue(key=k, value=v) for k, v in pairs.items()])
        )
        request = self._fill(pb.ConfigRequest(operation=operation))
        try:
            response = self._stub.Config(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "setting Spark confs") from None
        self._observe(response)

    def get_conf(
        self, keys: Iterable[str], timeout: float = CONTROL_TIMEOUT_S
    ) -> dict[str, str | None]:
        """The session's values of `keys` (None for one without a value)."""
        operation = pb.ConfigRequest.Operation(get_option=pb.ConfigRequest.GetOption(keys=keys))
        request = self._fill(pb.ConfigRequest(operation=operation))
        try:
            response = self._stub.Config(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "reading Spark confs") from None
        self._observe(response)
        return {pair.key: pair.value if pair.HasField("value") else None for pair in response.pairs}

    def add_artifacts(
        self, requests: Iterable[pb.AddArtifactsRequest], timeout: float | None = None
    ) -> pb.AddArtifactsResponse:
        """One client-streaming AddArtifacts call (`artifact_stream` batches and retries)."""
        filled = (self._fill(r) for r in requests)
        try:
            response = self._stub.AddArtifacts(filled, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "uploading artifacts") from None
        self._observe(response)
        return response

    def execute_plan(
        self,
        plan: pb.Plan,
        *,
        tags: Iterable[str] = (),
        timeout: float | None = None,
        action: str = "running the query",
    ) -> Iterator[pb.ExecutePlanResponse]:
        request = self._fill(pb.ExecutePlanRequest(plan=plan, tags=list(tags)))
        try:
            for response in self._stub.ExecutePlan(
                request, metadata=self._metadata, timeout=timeout
            ):
                self._observe(response)
                yield response
        except grpc.RpcError as exc:
            raise self._fail(exc, action) from None

    def register_java_udf(
        self, name: str, class_name: str, returns: str, timeout: float = REGISTER_TIMEOUT_S
    ) -> None:
        """Register `class_name` as the SQL function `name` returning `returns` (a DDL type,
        parsed by the server): the command PySpark's `registerJavaFunction` sends."""
        unparsed = data_types.DataType.Unparsed(data_type_string=returns)
        output = data_types.DataType(unparsed=unparsed)
        udf = expressions.CommonInlineUserDefinedFunction(
            function_name=name,
            java_udf=expressions.JavaUDF(class_name=class_name, output_type=output),
        )
        plan = pb.Plan(command=commands.Command(register_function=udf))
        for _ in self.execute_plan(plan, timeout=timeout, action=f"registering {name}"):
            pass

    def interrupt_all(self, timeout: float = CONTROL_TIMEOUT_S) -> list[str]:
        """Interrupt every running operation of the session; returns their ids."""
        request = self._fill(
            pb.InterruptRequest(interrupt_type=pb.InterruptRequest.INTERRUPT_TYPE_ALL)
        )
        try:
            response = self._stub.Interrupt(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "interrupting the session") from None
        return list(response.interrupted_ids)

    def interrupt_tag(self, tag: str, timeout: float = CONTROL_TIMEOUT_S) -> list[str]:
        request = self._fill(
            pb.InterruptRequest(
                interrupt_type=pb.InterruptRequest.INTERRUPT_TYPE_TAG, operation_tag=tag
            )
        )
        try:
            response = self._stub.Interrupt(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "interrupting the session") from None
        return list(response.interrupted_ids)

    def release_session(self, timeout: float = CONTROL_TIMEOUT_S) -> str | None:
        """Release the session on the server (its artifacts are deleted).

        Returns the server's id of the session it released; None when it held no such session
        (never created, released or expired before, or still being cloned: see `settle`).
        """
        request = pb.ReleaseSessionRequest(
            session_id=self.session_id,
            user_context=self._user_context,
            client_type=CLIENT_TYPE,
        )
        try:
            response = self._stub.ReleaseSession(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "releasing the session") from None
        released = str(response.server_side_session_id) or None
        if released is not None and self._on_released is not None:
            self._on_released(released)
        return released

    def clone_session(
        self, timeout: float = CONTROL_TIMEOUT_S, clone_id: str | None = None
    ) -> tuple[str, str]:
        """Ask the server to copy this session (artifacts, confs, UDFs) into a new one.

        Returns the clone's (session_id, server_side_session_id). Raises
        `CloneUnsupportedError` on servers without the RPC (Spark 4.0).
        """
        if not hasattr(pb, "CloneSessionRequest"):  # a pyspark client older than 4.1
            raise CloneUnsupportedError("this pyspark client has no CloneSession (pyspark < 4.1)")
        clone_id = clone_id or new_session_id()
        request = self._fill(pb.CloneSessionRequest(new_session_id=clone_id))
        try:
            response = self._stub.CloneSession(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc, "cloning the session (CloneSession)") from None
        self._observe(response)
        return str(response.new_session_id), str(response.new_server_side_session_id)

    def watch_connection(self) -> ConnectionWatch:
        """Follow this client's connection to notice a server that went away."""
        return ConnectionWatch(self._channel)

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def default_user_id() -> str:
    """The user id PySpark's own client would pick, so both land in the same session."""
    import getpass

    found = os.getenv("SPARK_USER", os.getenv("USER"))
    if found:
        return found
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "sparkpush"
