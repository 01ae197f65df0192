"""Whether a server has the CloneSession RPC, found once per server and remembered.

Layered generations need CloneSession (Spark >= 4.1); a Spark 4.0 server answers
UNIMPLEMENTED. Finding out costs a base session, so the answer is remembered in the user's
state dir under the server's URL (no credentials), its Spark version and the local pyspark
version: the RPC comes with the versions, and a server upgraded in place is asked again. The
file is only a cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sparkpush.state.folders import user_state_dir
from sparkpush.state.server_records import ServerRecords

CACHE_NAME = "clone-support.json"
MAX_ENTRIES = 32


def server_key(remote: str, spark_version: str, client: str) -> str:
    """The server's URL and version, and the local pyspark's (an old client has no RPC)."""
    return hashlib.sha256(json.dumps([remote, spark_version, client]).encode()).hexdigest()


def client_version() -> str:
    from pyspark.version import __version__

    return str(__version__)


class CloneSupport:
    """`{"servers": [[key, true|false], ...]}`, newest last, at most MAX_ENTRIES."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or user_state_dir() / CACHE_NAME

    def known(self, key: str) -> bool | None:
        """True or False once found for this server; None when never asked."""
        found = self._records().read().get(key)
        return found if isinstance(found, bool) else None

    def remember(self, key: str, supported: bool) -> None:
        records = self._records()
        if records.read().get(key) is not supported:
            records.store(key, supported)

    def _records(self) -> ServerRecords:
        return ServerRecords(self.path, MAX_ENTRIES)
