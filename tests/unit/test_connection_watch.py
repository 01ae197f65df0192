"""When a channel's states mean the server is gone, and when they only mean it was idle."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from sparkpush.connect.connection_watch import ConnectionWatch

State = grpc.ChannelConnectivity
StateCallback = Callable[[grpc.ChannelConnectivity], None]


class _Channel:
    """Records subscriptions: the watch only subscribes and unsubscribes."""

    def __init__(self) -> None:
        self.connect_requests = 0
        self.subscribers: list[StateCallback] = []

    def subscribe(self, callback: StateCallback, try_to_connect: bool = False) -> None:
        self.subscribers.append(callback)
        self.connect_requests += int(try_to_connect)

    def unsubscribe(self, callback: StateCallback) -> None:
        self.subscribers.remove(callback)


def _watch() -> tuple[ConnectionWatch, _Channel, list[float]]:
    now = [0.0]
    channel = _Channel()
    watch = ConnectionWatch(channel, lost_after=3.0, clock=lambda: now[0])
    return watch, channel, now


def test_refused_reconnects_for_a_few_seconds_mean_lost() -> None:
    watch, _, now = _watch()
    watch.observe(State.READY)
    watch.observe(State.IDLE)
    watch.observe(State.CONNECTING)
    watch.observe(State.TRANSIENT_FAILURE)
    now[0] = 2.9
    assert not watch.lost()
    now[0] = 3.0
    assert watch.lost()


def test_an_idle_channel_that_reconnects_is_not_lost() -> None:
    watch, channel, now = _watch()
    watch.observe(State.READY)
    watch.observe(State.IDLE)
    before = channel.connect_requests
    watch.poke()
    assert channel.connect_requests == before + 1
    assert channel.subscribers == [watch.observe]
    watch.observe(State.CONNECTING)
    now[0] = 10.0
    assert not watch.lost()  # never refused
    watch.observe(State.READY)
    watch.observe(State.TRANSIENT_FAILURE)
    now[0] = 11.0
    assert not watch.lost()  # disconnected again only a second ago


def test_poke_leaves_a_connected_channel_alone() -> None:
    watch, channel, _ = _watch()
    watch.observe(State.READY)
    before = channel.connect_requests
    watch.poke()
    assert channel.connect_requests == before
    watch.close()
    assert channel.subscribers == []
