"""The control socket: a Unix stream socket (0600, in a 0700 folder) speaking JSON Lines.

Requests and replies are the records of `control_messages`. Peers that are not
the owning user are refused (SO_PEERCRED), whatever the file modes say. A line is read
MAX_LINE_BYTES at most: a longer one closes the connection.
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


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        if peer_uid(self.connection) != os.getuid():
            self._send(Refusal("refused: not the daemon's user").to_json())
            return
        while True:
            try:
                line = read_line(self.rfile)
                if not line:
                    return
                document = decode(line)
            except ProtocolError as exc:
                self._send(Refusal(str(exc)).to_json())
                return
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
