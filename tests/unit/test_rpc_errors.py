"""gRPC failures become typed SparkpushErrors; the error class comes from the status details."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from sparkpush.connect.rpc_errors import error_class_of, translate_rpc_error
from sparkpush.errors import (
    ArtifactConflictError,
    AuthenticationError,
    CallCancelledError,
    CallTimeoutError,
    ExitCode,
    ServerError,
    ServerUnavailableError,
    SparkpushError,
)


class FailedCall(grpc.RpcError, grpc.Call):
    """A failed call as grpc raises it, optionally with an ErrorInfo in its status details."""

    def __init__(self, code: grpc.StatusCode, details: str, error_class: str | None = None) -> None:
        self._code = code
        self._details = details
        self._trailers: tuple[tuple[str, bytes], ...] = ()
        if error_class is not None:
            info = error_details_pb2.ErrorInfo(
                reason="org.apache.spark.SparkSQLException",
                domain="org.apache.spark",
                metadata={"errorClass": error_class},
            )
            status = status_pb2.Status(code=code.value[0], message=details)
            status.details.add().Pack(info)
            self._trailers = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailers


def test_the_error_class_is_read_from_the_error_info_the_server_attaches() -> None:
    # the message need not start with the class: the details are what PySpark reads too
    failure = FailedCall(
        grpc.StatusCode.INTERNAL, "The handle is invalid.", "INVALID_HANDLE.SESSION_CHANGED"
    )
    assert error_class_of(failure) == "INVALID_HANDLE.SESSION_CHANGED"


def test_the_error_info_wins_over_the_message() -> None:
    failure = FailedCall(grpc.StatusCode.INTERNAL, "[SOMETHING_ELSE] text", "SESSION_CLOSED")
    assert error_class_of(failure) == "SESSION_CLOSED"


def test_without_error_info_the_class_comes_from_the_message_prefix() -> None:
    failure = FailedCall(grpc.StatusCode.INTERNAL, "[INVALID_HANDLE.SESSION_CLOSED] closed")
    assert error_class_of(failure) == "INVALID_HANDLE.SESSION_CLOSED"
    assert error_class_of(FailedCall(grpc.StatusCode.INTERNAL, "no class here")) is None


def test_a_malformed_status_trailer_falls_back_to_the_message() -> None:
    failure = FailedCall(grpc.StatusCode.INTERNAL, "[ARTIFACT_ALREADY_EXISTS] taken", "X")
    failure._trailers = (("grpc-status-details-bin", b"\xff not a status"),)
    assert error_class_of(failure) == "ARTIFACT_ALREADY_EXISTS"


@pytest.mark.parametrize(
    ("code", "details", "error_class", "raised", "exit_code"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, "bad token", None, AuthenticationError, 3),
        (grpc.StatusCode.UNAVAILABLE, "connection refused", None, ServerUnavailableError, 3),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", None, CallTimeoutError, 3),
        (grpc.StatusCode.CANCELLED, "cancelled", None, CallCancelledError, 1),
        (grpc.StatusCode.INTERNAL, "exists", "ARTIFACT_ALREADY_EXISTS", ArtifactConflictError, 4),
        (grpc.StatusCode.INTERNAL, "boom", "SOME_CLASS", ServerError, 1),
    ],
)
def test_grpc_failures_become_typed_errors_with_their_exit_codes(
    code: grpc.StatusCode,
    details: str,
    error_class: str | None,
    raised: type[SparkpushError],
    exit_code: ExitCode,
) -> None:
    error = translate_rpc_error(FailedCall(code, details, error_class), "h:1", "uploading")
    assert type(error) is raised
    assert error.exit_code == exit_code
    if isinstance(error, ServerError):
        assert error.error_class == error_class


def test_an_untrusted_certificate_is_not_mistaken_for_a_restart() -> None:
    failure = FailedCall(grpc.StatusCode.UNAVAILABLE, "CERTIFICATE_VERIFY_FAILED: self-signed")
    error = translate_rpc_error(failure, "h:1", "probing")
    assert not isinstance(error, ServerUnavailableError)
    assert "certificate is not trusted (self-signed)" in error.message


def test_a_server_without_clone_session_says_so_in_a_typed_error() -> None:
    from sparkpush.errors import CloneUnsupportedError

    call = FailedCall(grpc.StatusCode.UNIMPLEMENTED, "Method not found: CloneSession")
    error = translate_rpc_error(call, "h:1", "cloning the session (CloneSession)")
    assert isinstance(error, CloneUnsupportedError)
    other = translate_rpc_error(FailedCall(grpc.StatusCode.UNIMPLEMENTED, "no"), "h:1", "running")
    assert not isinstance(other, CloneUnsupportedError)
