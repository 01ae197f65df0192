"""A loopback TCP proxy for tests that corrupts, cuts or stalls client-to-server bytes.

`arm(fault)` sets the fault; its offset counts client-to-server bytes from that moment on,
over whichever connections carry them (gRPC keeps one connection per channel and opens a new
one after a cut). Every fault but FLIP_MARKER fires once. Server-to-client bytes pass as is.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

READ_BYTES = 64 * 1024
POLL_S = 0.1


class FaultKind(Enum):
    NONE = "none"
    FLIP = "flip"
    """XOR one byte at `offset` with `mask`."""
    FLIP_MARKER = "flip_marker"
    """XOR a byte inside every occurrence of `marker` (lands in artifact data, not framing)."""
    CUT = "cut"
    """Close both sides once `offset` bytes have been forwarded."""
    STALL = "stall"
    """Hold the stream for `seconds` once `offset` bytes have been forwarded, then go on."""
    BLACKHOLE = "blackhole"
    """Stop forwarding (but keep the connection open) once `offset` bytes went through."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind = FaultKind.NONE
    offset: int = 0
    mask: int = 0x5A
    seconds: float = 0.0
    marker: bytes = b""

    def describe(self) -> str:
        if self.kind is FaultKind.NONE:
            return "none"
        if self.kind is FaultKind.FLIP_MARKER:
            return "flip every marker"
        if self.kind is FaultKind.STALL:
            return f"stall {self.seconds:.1f} s at byte {self.offset}"
        return f"{self.kind.value} at byte {self.offset}"


NO_FAULT = Fault()


@dataclass
class FaultState:
    """The armed fault and the client bytes forwarded since it was armed."""

    fault: Fault = NO_FAULT
    forwarded: int = 0
    applied: bool = False


@dataclass
class FaultProxy:
    """Listens on 127.0.0.1:`port` and forwards to 127.0.0.1:`upstream_port`."""

    upstream_port: int
    max_connection_s: float = 120.0
    """No connection lives longer than this, so no test can hang on the proxy."""
    port: int = 0
    connections: int = 0
    state: FaultState = field(default_factory=FaultState)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> FaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(POLL_S)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def arm(self, fault: Fault) -> FaultState:
        """Apply `fault` from now on; the returned state tells whether it fired."""
        with self._lock:
            self.state = FaultState(fault)
            return self.state

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            client.close()
            return
        # either side going away (OSError) ends the connection
        with contextlib.closing(client), contextlib.closing(upstream), contextlib.suppress(OSError):
            self._pump(client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        ends = time.monotonic() + self.max_connection_s
        blackholed = False
        while not self._stop.is_set() and time.monotonic() < ends:
            readable, _, _ = select.select([client, upstream], [], [], POLL_S)
            for source in readable:
                data = source.recv(READ_BYTES)
                if not data:
                    return
                if source is upstream:
                    client.sendall(data)
                    continue
                if blackholed:
                    continue
                with self._lock:
                    state = self.state
                    head, action, tail = _apply(state, data)
                upstream.sendall(head)
                if action is FaultKind.CUT:
                    _reset(client)
                    _reset(upstream)
                    return
                if action is FaultKind.BLACKHOLE:
                    blackholed = True
                    continue
                if action is FaultKind.STALL:
                    self._stop.wait(min(state.fault.seconds, ends - time.monotonic()))
                upstream.sendall(tail)


def _apply(state: FaultState, data: bytes) -> tuple[bytes, FaultKind, bytes]:
    """Split one read of client bytes: (send now, what happens next, send after a stall)."""
    fault = state.fault
    start = state.forwarded
    state.forwarded += len(data)
    kind = fault.kind
    if kind is FaultKind.FLIP_MARKER:
        return _flip_markers(fault, state, data), FaultKind.NONE, b""
    if state.applied or kind is FaultKind.NONE or not start <= fault.offset < state.forwarded:
        return data, FaultKind.NONE, b""
    state.applied = True
    position = fault.offset - start
    if kind is FaultKind.FLIP:
        flipped = bytearray(data)
        flipped[position] ^= fault.mask or 0x01
        return bytes(flipped), FaultKind.NONE, b""
    return data[:position], kind, data[position:]


def _flip_markers(fault: Fault, state: FaultState, data: bytes) -> bytes:
    flipped = bytearray(data)
    found = data.find(fault.marker)
    while found >= 0:
        flipped[found + len(fault.marker) // 2] ^= fault.mask or 0x01
        state.applied = True
        found = data.find(fault.marker, found + len(fault.marker))
    return bytes(flipped)


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, like a dropped link."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


@contextlib.contextmanager
def running_proxy(upstream_port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
