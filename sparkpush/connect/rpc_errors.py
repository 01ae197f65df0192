"""Turning gRPC failures into SparkpushErrors with one-line messages.

The only place that looks at gRPC status codes: everything above `connect/` sees the typed
errors of `sparkpush.errors` (httpx's `map_httpcore_exceptions` does the same for httpcore).
"""

from __future__ import annotations

import re

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sparkpush.connect.worker_failure import PYTHON_EXCEPTION, parse_worker_failure
from sparkpush.errors import (
    ArtifactConflictError,
    AuthenticationError,
    CallCancelledError,
    CallTimeoutError,
    CloneUnsupportedError,
    ServerError,
    ServerUnavailableError,
    ServerUnreachableError,
    SparkpushError,
    UdfFailedError,
)

_ERROR_CLASS = re.compile(r"^\[([A-Z0-9_.]+)\]")


_HTTP_STATUS = re.compile(r"Received http2 header with status: (\d+)")
_NOT_GRPC_MARKERS = ("Failed parsing HTTP/2", "Trying to connect an http1.x server")
_NO_SERVICE = "unknown service spark.connect"
_NO_METHOD_MARKERS = ("Method not found", "unknown method")
SESSION_GONE = frozenset(
    {
        "INVALID_HANDLE.SESSION_CHANGED",
        "INVALID_HANDLE.SESSION_CLOSED",
        "INVALID_HANDLE.SESSION_NOT_FOUND",
    }
)
"""What the server answers about a session it no longer holds under the server-side id the
client saw: another session by that id (a restarted server makes one on first use), released,
or (for calls that never create one, such as CloneSession's source) not there."""


def error_class_of(exc: grpc.RpcError) -> str | None:
    """Spark's error class (e.g. `INVALID_HANDLE.SESSION_CHANGED`) if the server sent one.

    Read from the `ErrorInfo` the server attaches to the status, as PySpark does; the
    `[CLASS]` prefix of the message is the fallback for servers that attach none.
    """
    info = _error_info(exc)
    if info is not None and info.metadata.get("errorClass"):
        return str(info.metadata["errorClass"])
    match = _ERROR_CLASS.match(_details(exc))
    return match.group(1) if match else None


def translate_rpc_error(exc: grpc.RpcError, endpoint: str, action: str) -> SparkpushError:
    """The SparkpushError that says what went wrong with `action` in one line."""
    code = exc.code() if hasattr(exc, "code") else None
    details = _first_line(_details(exc))
    if code == grpc.StatusCode.UNAUTHENTICATED or code == grpc.StatusCode.PERMISSION_DENIED:
        return AuthenticationError(
            f"authentication failed at {endpoint}: {details or 'token refused'}"
        )
    not_spark_connect = _not_spark_connect(details)
    if not_spark_connect is None and code == grpc.StatusCode.UNIMPLEMENTED:
        not_spark_connect = _no_such_method(details, action)
    if not_spark_connect is not None:
        return ServerUnreachableError(
            f"{endpoint} did not answer as a Spark Connect server ({not_spark_connect}); "
            f"check the host and port"
        )
    unreachable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    if unreachable and "CERTIFICATE_VERIFY_FAILED" in details:
        reason = details.rsplit("CERTIFICATE_VERIFY_FAILED", 1)[1].strip(": ").removesuffix(": OK")
        return ServerUnreachableError(
            f"TLS handshake with {endpoint} failed: its certificate is not trusted "
            f"({reason or 'verification failed'}); check the CA file (--ca-file, ca_file)"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return CallTimeoutError(
            f"cannot reach Spark Connect server at {endpoint}: no answer in time"
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        return ServerUnavailableError(f"cannot reach Spark Connect server at {endpoint}: {details}")
    message = f"{action} failed: {details}"
    if code == grpc.StatusCode.UNIMPLEMENTED and "CloneSession" in details + action:
        return CloneUnsupportedError(message, error_class=error_class_of(exc))
    if code == grpc.StatusCode.CANCELLED:
        return CallCancelledError(message, error_class=error_class_of(exc))
    error_class = error_class_of(exc)
    if error_class == "ARTIFACT_ALREADY_EXISTS":
        return ArtifactConflictError(message)
    failure = parse_worker_failure(_details(exc)) if error_class == PYTHON_EXCEPTION else None
    if failure is not None:
        return UdfFailedError(
            f"{action} failed: a UDF raised on a Python worker: {failure.summary()}",
            tuple(failure.traceback_lines()),
            error_class=error_class,
        )
    return ServerError(message, error_class=error_class)


def _error_info(exc: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The `ErrorInfo` in the `grpc-status-details-bin` trailer, if there is one."""
    try:
        status = rpc_status.from_call(exc)
    except (AttributeError, TypeError, ValueError, DecodeError):  # not a call, or a bad trailer
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def _not_spark_connect(details: str) -> str | None:
    """What answered instead of a Spark Connect server, if the details show one did."""
    status = _HTTP_STATUS.search(details)
    if status is not None:
        return f"HTTP status {status.group(1)}"
    if any(marker in details for marker in _NOT_GRPC_MARKERS):
        return "it does not speak HTTP/2: a plain HTTP server?"
    if _NO_SERVICE in details:
        return "a gRPC server without the Spark Connect service"
    return None


def _no_such_method(details: str, action: str) -> str | None:
    """A gRPC server's own answer to a method it does not serve (grpc-python: `Method not
    found!`, grpc-java: `Method not found: <service>/<method>`, grpc-go: `unknown method`).
    Every Spark Connect server we support (>= 4.0) serves every method we call except
    CloneSession (>= 4.1), so for anything else no Spark Connect service answered."""
    if not details.startswith(_NO_METHOD_MARKERS) or "CloneSession" in details + action:
        return None
    return "a gRPC server without the Spark Connect service"


def _details(exc: grpc.RpcError) -> str:
    details = exc.details() if hasattr(exc, "details") else None
    return details or str(exc)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:500]
