"""Which generations are in use: a lease per attached run, released with its connection.

A layered generation is a clone of a base session: a retired base is released only once no
generation cloned from it is left (each is released when its own last lease ends).
"""

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
        self._clones: dict[str, set[str]] = defaultdict(set)
        """Base session id -> generations cloned from it that are not released yet."""
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

    def retire(self, session_id: str, cloned_from: str | None = None) -> list[str]:
        """The generation (or base) is no longer current; returns the session ids free to
        release. `cloned_from`: the base of a retired generation, kept until it is released."""
        with self._lock:
            self._retired.add(session_id)
            if cloned_from is not None:
                self._clones[cloned_from].add(session_id)
            return self._collect()

    def held(self, session_id: str) -> int:
        with self._lock:
            return len(self._leases.get(session_id, ())) + len(self._clones.get(session_id, ()))

    def retired_and_held(self) -> list[str]:
        with self._lock:
            return sorted(s for s in self._retired if self._in_use(s))

    def _in_use(self, session_id: str) -> bool:
        return bool(self._leases.get(session_id) or self._clones.get(session_id))

    def _collect(self) -> list[str]:
        """Free retired sessions in use by nobody: generations first, then bases they kept."""
        freed: list[str] = []
        while True:
            free = sorted(s for s in self._retired if not self._in_use(s))
            if not free:
                return freed
            for session_id in free:
                self._retired.discard(session_id)
                self._leases.pop(session_id, None)
                self._clones.pop(session_id, None)
                for clones in self._clones.values():
                    clones.discard(session_id)
            freed.extend(free)
