"""Clients of one server share a channel (one connection) inside `shared_channels`."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from sparkpush.connect import channel as channel_module
from sparkpush.connect.channel import KeptChannels, shared_channels
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.session_client import SessionClient

HERE = parse_connection_string("sc://127.0.0.1:1/;token=one")
OTHER_PORT = parse_connection_string("sc://127.0.0.1:2/;token=one")
OTHER_TOKEN = parse_connection_string("sc://127.0.0.1:1/;token=two")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[grpc.Channel]:
    """Every channel opened (gRPC channels connect lazily: nothing is reached)."""
    channels: list[grpc.Channel] = []
    real = channel_module.open_channel

    def counting(spec: object, ca_file: Path | None = None) -> grpc.Channel:
        channels.append(real(spec, ca_file))  # type: ignore[arg-type]
        return channels[-1]

    monkeypatch.setattr(channel_module, "open_channel", counting)
    return channels


def closed(channel: grpc.Channel) -> bool:
    try:
        channel.unary_unary("/x/y")(b"", timeout=0.01)
    except ValueError:  # "Cannot invoke RPC on closed channel!"
        return True
    except grpc.RpcError:
        return False
    return False


def test_clients_of_one_server_share_one_channel_until_the_block_ends(
    opened: list[grpc.Channel],
) -> None:
    with shared_channels():
        clients = [SessionClient(HERE, f"s{i}") for i in range(3)]
        for client in clients:
            client.close()
        assert len(opened) == 1 and not closed(opened[0])
        with shared_channels():  # nested: the same channels
            SessionClient(HERE).close()
        assert len(opened) == 1
    assert closed(opened[0])


def test_another_port_or_token_gets_its_own_channel(opened: list[grpc.Channel]) -> None:
    with shared_channels():
        for spec in (HERE, OTHER_PORT, OTHER_TOKEN, HERE):
            SessionClient(spec).close()
    assert len(opened) == 3


def test_outside_the_block_each_client_owns_and_closes_its_channel(
    opened: list[grpc.Channel],
) -> None:
    for _ in range(2):
        SessionClient(HERE).close()
    assert len(opened) == 2 and all(closed(c) for c in opened)


def test_kept_channels_outlive_their_block_until_closed(opened: list[grpc.Channel]) -> None:
    kept = KeptChannels()
    with kept.shared():
        SessionClient(HERE, "s1").close()
    assert len(opened) == 1 and not closed(opened[0])
    with kept.shared():  # the next sync: the same connection
        SessionClient(HERE, "s2").close()
        with shared_channels():  # a nested block uses the kept ones and closes nothing
            SessionClient(HERE, "s3").close()
    assert len(opened) == 1 and not closed(opened[0])
    kept.close()
    assert closed(opened[0])
    with kept.shared():  # after a close (a failure), the next block starts afresh
        SessionClient(HERE, "s4").close()
    assert len(opened) == 2 and not closed(opened[1])
    kept.close()
