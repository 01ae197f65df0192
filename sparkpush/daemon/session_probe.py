"""Whether the current generation's session still answers: what a sync asks first.

A restarted server or an expired session means a new generation; a flush that skips the sync
must still ask. The channel is kept open between probes: a new one costs a connection
(about 10 ms here), a kept one a round trip (about 1.5 ms).
"""

from __future__ import annotations

import threading

from sparkpush.connect.session import Session
from sparkpush.errors import SparkpushError
from sparkpush.remote.target import Target
from sparkpush.sync.generation import Generation

PROBE_TIMEOUT_S = 2.0


class SessionProbe:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Session | None = None
        self._key: tuple[Target, str] | None = None

    def answers(self, target: Target, generation: Generation) -> bool:
        """True when `generation`'s session answers on `target` as the same server session."""
        if generation.remote != target.spec.display() or generation.server_side_session_id is None:
            return False  # not confirmed by this server: only a sync can tell
        with self._lock:
            if self._client is None or self._key != (target, generation.session_id):
                self._close()
                self._client = target.session(
                    generation.session_id, generation.server_side_session_id
                )
                self._key = (target, generation.session_id)
            try:
                self._client.spark_version(timeout=PROBE_TIMEOUT_S)
            except SparkpushError:
                self._close()
                return False
        return True

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._key = None
