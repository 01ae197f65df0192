"""A bandwidth-limiting, latency-adding TCP proxy on loopback: a remote cluster's link.

    with ThrottledLink(server_port, mbit=100, rtt_ms=50) as link:
        ... connect to 127.0.0.1:link.port ...
        link.sent_bytes  # client -> server since the start (or the last `reset_counts`)
        link.connections  # connections accepted since then

Each direction has its own token bucket of `mbit` megabits per second; `limit(None)` lifts
the limit (e.g. while a project's first sync fills the server). Each direction also delays
every chunk by half the round-trip time through a `DelayLine` (a queue of chunks stamped with
their due time, sent by a writer thread when due), so latency adds to each exchange without
slowing the stream; a new connection's first bytes wait one more round trip (TCP's
handshake, which on loopback costs nothing). Threads, three per direction and connection;
everything stops when the block ends.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

CHUNK = 64 * 1024
BURST_S = 0.05
"""A bucket holds at most this many seconds of traffic: short bursts, no long head start."""


class TokenBucket:
    """`rate` bytes per second, shared by every connection going one way; None: no limit."""

    def __init__(self, rate: float | None) -> None:
        self._lock = threading.Lock()
        self._rate = rate
        self._tokens = 0.0
        self._stamp = time.monotonic()

    def set_rate(self, rate: float | None) -> None:
        with self._lock:
            self._rate, self._tokens, self._stamp = rate, 0.0, time.monotonic()

    def take(self, count: int) -> None:
        """Block until `count` bytes may pass: each taker pays its debt by sleeping it off."""
        with self._lock:
            if self._rate is None:
                return
            now = time.monotonic()
            burst = self._rate * BURST_S
            self._tokens = min(burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= count
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait:
            time.sleep(wait)


class DelayLine:
    """Chunks come out in the order they went in, each `delay` seconds after it went in.

    `put` stamps a chunk with its due time; `get` waits until the oldest is due. The wait is
    per chunk, not per byte: a stream keeps its throughput, only shifted by `delay`. None is
    the end of the stream (due like a chunk, so it never overtakes data).
    """

    def __init__(
        self,
        delay: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay = delay
        self._clock = clock
        self._sleep = sleep
        self._chunks: queue.Queue[tuple[float, bytes | None]] = queue.Queue()

    def put(self, chunk: bytes | None) -> None:
        self._chunks.put((self._clock() + self.delay, chunk))

    def get(self) -> bytes | None:
        due, chunk = self._chunks.get()
        wait = due - self._clock()
        if wait > 0:
            self._sleep(wait)
        return chunk


class ThrottledLink:
    """Listens on 127.0.0.1:`port`, forwards to 127.0.0.1:`target_port` at `mbit` Mbit/s,
    adding `rtt_ms` of round-trip time."""

    def __init__(self, target_port: int, mbit: float | None, rtt_ms: float = 0.0) -> None:
        self.target_port = target_port
        self.rtt = rtt_ms / 1000
        self._up = TokenBucket(None)
        self._down = TokenBucket(None)
        self.limit(mbit)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._counts_lock = threading.Lock()
        self.sent_bytes = 0
        self.received_bytes = 0
        self.connections = 0
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="throttle-accept", daemon=True)

    def limit(self, mbit: float | None) -> None:
        rate = None if mbit is None else mbit * 1_000_000 / 8
        self._up.set_rate(rate)
        self._down.set_rate(rate)

    def reset_counts(self) -> None:
        with self._counts_lock:
            self.sent_bytes = self.received_bytes = self.connections = 0

    def __enter__(self) -> ThrottledLink:
        self._accepting.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._accepting.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._counts_lock:
                self.connections += 1
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            for source, sink, bucket, upward in (
                (client, server, self._up, True),
                (server, client, self._down, False),
            ):
                line = DelayLine(self.rtt / 2)
                for target, args in (
                    (self._pump, (source, line, bucket, upward)),
                    (self._deliver, (line, sink)),
                ):
                    thread = threading.Thread(target=target, args=args, daemon=True)
                    self._threads.append(thread)
                    thread.start()

    def _pump(
        self, source: socket.socket, line: DelayLine, bucket: TokenBucket, upward: bool
    ) -> None:
        if upward and self.rtt:
            time.sleep(self.rtt)  # the TCP handshake a remote server costs
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                bucket.take(len(data))
                line.put(data)
                with self._counts_lock:
                    if upward:
                        self.sent_bytes += len(data)
                    else:
                        self.received_bytes += len(data)
        except OSError:
            pass
        finally:
            line.put(None)

    def _deliver(self, line: DelayLine, sink: socket.socket) -> None:
        try:
            while (data := line.get()) is not None:
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
