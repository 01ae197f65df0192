"""The control socket: a Unix stream socket (0600, in a 0700 folder) speaking JSON Lines.

Requests and replies are the records of `control_messages`. Peers that are not
the owning user are refused (SO_PEERCRED), whatever the file modes say. A line is read
MAX_LINE_BYTES at most: a longer one closes the connection. Connections are bounded: at most
MAX_CONNECTIONS at once (each is a thread; a lease keeps its own for the run); a further one
waits in the queue up to QUEUE_WAIT_S for a free place, then gets a one-line refusal, and a
connection that sends no request within REQUEST_WAIT_S is closed, so half-open connections
cannot pile up threads and memory.
"""

from __future__ import annotations

import logging
import os
import socketserver
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sparkpush.daemon.control_messages import (
    MAX_LINE_BYTES,
    STOPPING,
    ControlOp,
    ControlRequest,
    ProtocolError,
    Refusal,
    decode,
    encode,
    peer_uid,
    read_line,
)
from sparkpush.daemon.service import Daemon
from sparkpush.progress.phases import mark
from sparkpush.state.daemon_paths import socket_address

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
"""Connections served at once: commands, and the leases of attached runs and test sessions."""
QUEUE_WAIT_S = 5.0
"""How long a connection beyond MAX_CONNECTIONS waits for a free place before it is refused
(meanwhile the kernel's listen queue holds the ones behind it)."""
REQUEST_WAIT_S = 10.0
"""How long a connection may stay open without sending its next request (a lease, once held,
waits for its client's end instead)."""


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        if peer_uid(self.connection) != os.getuid():
            self._send(Refusal("refused: not the daemon's user").to_json())
            return
        while True:
            self.connection.settimeout(self.server.request_wait_s)
            try:
                line = read_line(self.rfile)
                if not line:
                    return
                document = decode(line)
            except ProtocolError as exc:
                self._send(Refusal(str(exc)).to_json())
                return
            except OSError:  # no request in time (a half-open connection), or a reset
                return
            self.connection.settimeout(None)
            try:
                request = ControlRequest.from_json(document)
            except ProtocolError as exc:
                self._send(Refusal(str(exc)).to_json())
                continue
            if not self._serve(request):
                return

    def _serve(self, request: ControlRequest) -> bool:
        """Answer one request; False once the connection is done with."""
        daemon = self.server.daemon
        if request.op is ControlOp.STATUS:
            self._send(daemon.status().to_json())
        elif request.op is ControlOp.FLUSH:
            mark("control.flush_in")
            self._send(daemon.flush().to_json())
            mark("control.reply_sent")
        elif request.op is ControlOp.LEASE:
            self._hold_lease(daemon)
            return False
        else:
            self._send(STOPPING)
            self.server.request_stop()
            return False
        return True

    def _hold_lease(self, daemon: Daemon) -> None:
        reply = daemon.flush()
        leased = daemon.lease_current()
        if leased is None:
            self._send(replace(reply, ok=False).to_json())
            return
        session_id, lease = leased
        try:
            self._send(reply.with_lease(session_id, lease).to_json())
            # The lease lasts as long as the client keeps the connection: reading until EOF
            # also notices a client that died (the kernel closes its socket).
            while self.rfile.readline(MAX_LINE_BYTES):
                pass
        except OSError:
            pass
        finally:
            daemon.end_lease(session_id, lease)

    def _send(self, message: dict[str, Any]) -> None:
        self.wfile.write(encode(message))
        self.wfile.flush()


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # a burst of `connect` commands must queue, not be refused (clients also retry)
    request_queue_size = 128

    def __init__(
        self,
        path: Path,
        daemon: Daemon,
        on_stop: Callable[[], None],
        *,
        max_connections: int = MAX_CONNECTIONS,
        request_wait_s: float = REQUEST_WAIT_S,
        queue_wait_s: float = QUEUE_WAIT_S,
    ) -> None:
        self.daemon = daemon
        self.on_stop = on_stop
        self.max_connections = max_connections
        self.request_wait_s = request_wait_s
        self.queue_wait_s = queue_wait_s
        self._open = 0
        self._place_freed = threading.Condition()
        path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)
        try:
            with socket_address(path) as address:
                super().__init__(address, _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self.path = path

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to `max_connections`; beyond, one line and close."""
        with self._place_freed:
            placed = self._place_freed.wait_for(
                lambda: self._open < self.max_connections, self.queue_wait_s
            )
            if placed:
                self._open += 1
        if placed:
            super().process_request(request, client_address)
            return
        log.warning("refused a connection: %d already open", self.max_connections)
        refusal = Refusal(
            f"the daemon is busy: {self.max_connections} connections already open; "
            "try again when some runs have ended"
        )
        try:
            request.settimeout(1.0)
            request.sendall(encode(refusal.to_json()))
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._place_freed:
                self._open -= 1
                self._place_freed.notify()

    def request_stop(self) -> None:
        threading.Thread(target=self.on_stop, name="sparkpush-stop", daemon=True).start()

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sparkpush-control", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)
