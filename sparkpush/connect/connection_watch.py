"""Noticing within seconds that a server stopped accepting connections, without an RPC.

A server that dies closes its connections: the channel drops to IDLE. gRPC does not reconnect
an idle channel by itself, so `poke` asks it to; a server that is gone then refuses, and the
channel reports TRANSIENT_FAILURE. The server counts as lost once it has been disconnected
for `lost_after` seconds with at least one refused attempt. A channel that only went idle
(nothing sent for a long time) reconnects at once and never counts as lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc

LOST_AFTER_S = 3.0


class ConnectionWatch:
    """Follows one channel's connectivity; `lost()` once the server looks gone."""

    def __init__(
        self,
        channel: grpc.Channel,
        lost_after: float = LOST_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channel = channel
        self._lost_after = lost_after
        self._clock = clock
        self._lock = threading.Lock()
        self._state: grpc.ChannelConnectivity | None = None
        self._disconnected_since: float | None = None
        self._refused = False
        channel.subscribe(self.observe, try_to_connect=True)

    def observe(self, state: grpc.ChannelConnectivity) -> None:
        """Called by gRPC on every change of the channel's state."""
        with self._lock:
            self._state = state
            if state is grpc.ChannelConnectivity.READY:
                self._disconnected_since = None
                self._refused = False
                return
            if self._disconnected_since is None and state in (
                grpc.ChannelConnectivity.IDLE,
                grpc.ChannelConnectivity.TRANSIENT_FAILURE,
            ):
                self._disconnected_since = self._clock()
            if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                self._refused = True

    def poke(self) -> None:
        """Ask an idle channel to connect again (call it every poll)."""
        with self._lock:
            idle = self._state is grpc.ChannelConnectivity.IDLE
        if idle:
            # a throwaway subscription carries the request to connect
            self._channel.subscribe(_ignore, try_to_connect=True)
            self._channel.unsubscribe(_ignore)

    def lost(self) -> bool:
        with self._lock:
            since = self._disconnected_since
            return since is not None and self._refused and self._clock() - since >= self._lost_after

    def close(self) -> None:
        self._channel.unsubscribe(self.observe)


def _ignore(_state: grpc.ChannelConnectivity) -> None:
    """A subscriber that only asks the channel to connect."""
