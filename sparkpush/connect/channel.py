"""Building a gRPC channel from a ConnectionSpec, with the same TLS rules as Spark's clients."""

from __future__ import annotations

from pathlib import Path

import grpc

from sparkpush.connect.connection_string import ConnectionSpec
from sparkpush.errors import UsageError

MAX_MESSAGE_BYTES = 128 * 1024 * 1024


def open_channel(spec: ConnectionSpec, ca_file: Path | None = None) -> grpc.Channel:
    """A channel to `spec`; a token implies TLS unless the host is exactly `localhost`."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 0),
    ]
    if spec.user_agent:
        options.append(("grpc.primary_user_agent", spec.user_agent))
    token = spec.token.reveal() if spec.token is not None else None
    if not spec.use_ssl and token is None:
        return grpc.insecure_channel(spec.endpoint, options=options)
    if not spec.use_ssl and spec.host == "localhost":
        credentials = grpc.local_channel_credentials()
    else:
        credentials = grpc.ssl_channel_credentials(root_certificates=_read_ca(ca_file))
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    return grpc.secure_channel(spec.endpoint, credentials, options=options)


def _read_ca(ca_file: Path | None) -> bytes | None:
    if ca_file is None:
        return None
    try:
        return ca_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read CA file {ca_file}: {exc.strerror}") from None
