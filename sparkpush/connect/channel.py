"""Building a gRPC channel from a ConnectionSpec, with the same TLS rules as Spark's clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import grpc

from sparkpush.connect.connection_string import ConnectionSpec
from sparkpush.errors import UsageError

MAX_MESSAGE_BYTES = 128 * 1024 * 1024

_ChannelKey = tuple[str, int, object, bool, str | None, Path | None]
_shared: ContextVar[dict[_ChannelKey, grpc.Channel] | None] = ContextVar(
    "sparkpush_shared_channels", default=None
)


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


@contextmanager
def shared_channels() -> Iterator[None]:
    """Within the block, clients of the same server share one channel, closed at its end.

    Each channel is a connection of its own, which costs a remote server a round trip (TCP)
    or three (TLS) before its first call; a sync opens a client per session it touches.
    Only this thread's clients share (a context variable); a nested block changes nothing.
    """
    if _shared.get() is not None:
        yield
        return
    kept = KeptChannels()
    try:
        with kept.shared():
            yield
    finally:
        kept.close()


class KeptChannels:
    """Channels a long-lived process keeps from one block to the next (the daemon, from one
    sync to the next): inside `shared()`, as inside `shared_channels`, clients of one server
    share a channel, and it stays open after the block, until `close()`.

    Used by one thread at a time. A channel to a server that went away keeps trying to
    reconnect, with backoff: `close()` after a failure, so the next block starts afresh.
    """

    def __init__(self) -> None:
        self._channels: dict[_ChannelKey, grpc.Channel] = {}

    @contextmanager
    def shared(self) -> Iterator[None]:
        if _shared.get() is not None:
            yield
            return
        token = _shared.set(self._channels)
        try:
            yield
        finally:
            _shared.reset(token)

    def close(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        for channel in channels:
            channel.close()


def channel_for(spec: ConnectionSpec, ca_file: Path | None = None) -> tuple[grpc.Channel, bool]:
    """A channel to `spec`, and whether the caller owns it (closes it): a shared one inside a
    `shared_channels` block, else a new one."""
    channels = _shared.get()
    if channels is None:
        return open_channel(spec, ca_file), True
    # exactly what `open_channel` builds the channel from; session and user travel per call
    key: _ChannelKey = (spec.host, spec.port, spec.token, spec.use_ssl, spec.user_agent, ca_file)
    channel = channels.get(key)
    if channel is None:
        channel = channels[key] = open_channel(spec, ca_file)
    return channel, False
