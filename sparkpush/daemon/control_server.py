"""The control socket: a Unix stream socket (0600, in a 0700 folder) speaking JSON Lines.

Requests: {"op": "status"}, {"op": "flush"}, {"op": "lease"} (flush, then hold a lease on
the current generation until the connection closes) and {"op": "stop"}. Peers that are not
the owning user are refused (SO_PEERCRED), whatever the file modes say. A line is read
MAX_LINE_BYTES at most: a longer one closes the connection.
"""

from __future__ import annotations

import logging
import os
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sparkpush.daemon.paths import socket_address
from sparkpush.daemon.protocol import (
    MAX_LINE_BYTES,
    ProtocolError,
    decode,
    encode,
    peer_uid,
    read_line,
)
from sparkpush.daemon.service import Daemon

log = logging.getLogger(__name__)


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        if peer_uid(self.connection) != os.getuid():
            self._send({"ok": False, "error": "refused: not the daemon's user"})
            return
        while True:
            try:
                line = read_line(self.rfile)
                if not line:
                    return
                request = decode(line)
            except ProtocolError as exc:
                self._send({"ok": False, "error": str(exc)})
                return
            if not self._serve(request):
                return

    def _serve(self, request: dict[str, Any]) -> bool:
        op = request.get("op")
        daemon = self.server.daemon
        if op == "status":
            self._send({"ok": True, **daemon.status()})
        elif op == "flush":
            self._send(daemon.flush())
        elif op == "lease":
            self._hold_lease(daemon)
            return False
        elif op == "stop":
            self._send({"ok": True})
            self.server.request_stop()
            return False
        else:
            self._send({"ok": False, "error": f"unknown op {op!r}"})
        return True

    def _hold_lease(self, daemon: Daemon) -> None:
        reply = daemon.flush()
        leased = daemon.lease_current()
        if leased is None:
            self._send({**reply, "ok": False})
            return
        session_id, lease = leased
        try:
            self._send({**reply, "session_id": session_id, "lease": lease})
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

    def __init__(self, path: Path, daemon: Daemon, on_stop: Callable[[], None]) -> None:
        self.daemon = daemon
        self.on_stop = on_stop
        path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)
        try:
            with socket_address(path) as address:
                super().__init__(address, _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self.path = path

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
