"""Which generations are in use: a lease per attached run, released with its connection."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict


class LeaseTable:
    """Session id -> live lease ids; a retired generation is released when its last lease ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, set[int]] = defaultdict(set)
        self._retired: set[str] = set()
        self._ids = itertools.count(1)

    def acquire(self, session_id: str) -> int:
        with self._lock:
            lease = next(self._ids)
            self._leases[session_id].add(lease)
            return lease

    def release(self, session_id: str, lease: int) -> list[str]:
        """End a lease; returns the session ids that are now free to release on the server."""
        with self._lock:
            self._leases[session_id].discard(lease)
            return self._collect()

    def retire(self, session_id: str) -> list[str]:
        """The generation is no longer current; returns the session ids free to release."""
        with self._lock:
            self._retired.add(session_id)
            return self._collect()

    def held(self, session_id: str) -> int:
        with self._lock:
            return len(self._leases.get(session_id, ()))

    def retired_and_held(self) -> list[str]:
        with self._lock:
            return sorted(s for s in self._retired if self._leases.get(s))

    def _collect(self) -> list[str]:
        free = [s for s in self._retired if not self._leases.get(s)]
        for session_id in free:
            self._retired.discard(session_id)
            self._leases.pop(session_id, None)
        return free
