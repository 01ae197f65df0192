"""The server workers' Python version, found once per server instead of once per session.

Finding it runs a probe UDF, which starts a Python worker for the session: seconds on every
fresh submit. The answer belongs to the server, so it is remembered under the server's
identity: its URL (no credentials), its `spark.app.id` (new at every server start) and the
session's `spark.sql.execution.pyspark.python` (a session may pick other workers). The file
is user-only, in the user's state dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import SparkpushError
from sparkpush.private_files import read_json, write_private_json
from sparkpush.server.state import user_state_dir

CACHE_NAME = "worker-python.json"
MAX_ENTRIES = 32
IDENTITY_CONFS = ("spark.app.id", "spark.sql.execution.pyspark.python")


def server_identity(client: SessionClient, remote: str) -> str | None:
    """A key that changes when the server restarts or the session's workers differ."""
    try:
        values = client.get_conf(IDENTITY_CONFS)
    except SparkpushError:
        return None
    if not values.get("spark.app.id"):
        return None
    text = json.dumps([remote, *(values.get(key) for key in IDENTITY_CONFS)])
    return hashlib.sha256(text.encode()).hexdigest()


class WorkerPythonCache:
    """`{"servers": [[identity, "3.11"], ...]}`, newest last, at most MAX_ENTRIES."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or user_state_dir() / CACHE_NAME

    def get(self, identity: str | None) -> str | None:
        if identity is None:
            return None
        found = self._read().get(identity)
        return found if isinstance(found, str) else None

    def put(self, identity: str | None, version: str | None) -> None:
        if identity is None or not version:
            return
        entries = self._read()
        entries.pop(identity, None)
        entries[identity] = version
        kept = [[key, value] for key, value in entries.items()][-MAX_ENTRIES:]
        with contextlib.suppress(OSError):  # only a cache: the next run probes again
            write_private_json(self.path, {"servers": kept})

    def _read(self) -> dict[str, object]:
        data = read_json(self.path)
        servers = data.get("servers") if isinstance(data, dict) else None
        if not isinstance(servers, list):
            return {}
        return {
            str(entry[0]): entry[1]
            for entry in servers
            if isinstance(entry, list) and len(entry) == 2
        }
