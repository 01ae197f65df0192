"""gRPC failures from endpoints that are not Spark Connect servers."""

from __future__ import annotations

import grpc
import pytest

from sparkpush.connect.rpc_errors import translate_rpc_error
from sparkpush.errors import ExitCode, ServerError


class _Failure(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("code", "details", "why"),
    [
        (
            grpc.StatusCode.UNIMPLEMENTED,
            "Received http2 header with status: 404",
            "HTTP status 404",
        ),
        (
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:1: "
            "Failed parsing HTTP/2 (Expected SETTINGS frame as the first frame, got frame type 79)",
            "it does not speak HTTP/2: a plain HTTP server?",
        ),
        (
            grpc.StatusCode.UNIMPLEMENTED,
            "unknown service spark.connect.SparkConnectService",
            "a gRPC server without the Spark Connect service",
        ),
        (  # grpc-python's answer for a method no handler serves
            grpc.StatusCode.UNIMPLEMENTED,
            "Method not found!",
            "a gRPC server without the Spark Connect service",
        ),
        (
            grpc.StatusCode.UNIMPLEMENTED,
            "Method not found: spark.connect.SparkConnectService/Config",
            "a gRPC server without the Spark Connect service",
        ),
        (
            grpc.StatusCode.UNIMPLEMENTED,
            "unknown method Config for service spark.connect.SparkConnectService",
            "a gRPC server without the Spark Connect service",
        ),
    ],
)
def test_an_endpoint_that_is_not_spark_connect_is_unreachable_in_one_line(
    code: grpc.StatusCode, details: str, why: str
) -> None:
    error = translate_rpc_error(_Failure(code, details), "h:1", "asking the server's version")
    assert error.exit_code == ExitCode.UNREACHABLE
    assert error.message == (
        f"h:1 did not answer as a Spark Connect server ({why}); check the host and port"
    )


@pytest.mark.parametrize(
    ("details", "action"),
    [
        ("Method not found: CloneSession", "cloning"),
        ("Method not found: spark.connect.SparkConnectService/CloneSession", "cloning"),
        ("Method not found!", "CloneSession"),
    ],
)
def test_a_method_an_older_server_lacks_stays_a_server_error(details: str, action: str) -> None:
    failure = _Failure(grpc.StatusCode.UNIMPLEMENTED, details)
    assert isinstance(translate_rpc_error(failure, "h:1", action), ServerError)
