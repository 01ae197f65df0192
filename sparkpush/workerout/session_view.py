"""A reader of one session's worker log view over a connection of its own."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sparkpush.remote.target import Target
from sparkpush.workerout.reader import WorkerLogReader

CLOCK_MARGIN_S = 1.0
"""How far before its start a run's floor is put on a remote server, whose workers' clocks
may be a little behind ours (on this machine they are the same clock)."""


class SessionLogView:
    """`reader` reads the session `session_id`; `close()` closes the connection."""

    def __init__(
        self,
        target: Target,
        session_id: str,
        server_side_session_id: str | None = None,
        floor_us: int | None = None,
    ) -> None:
        self._client = target.client(session_id, server_side_session_id)
        self.reader = WorkerLogReader(self._run_query, floor_us)

    def _run_query(self, sql: str, timeout: float) -> list[Mapping[str, Any]]:
        # pyarrow costs half a second to import: only once there is something to read
        from sparkpush.connect.sql_query import run_sql

        table = run_sql(self._client, sql, timeout=timeout)
        return table.to_pylist() if table is not None else []

    def close(self) -> None:
        self._client.close()


def floor_for(started_at: float, local_server: bool) -> int:
    """The floor (microseconds) for a run that started at `started_at` (seconds)."""
    margin = 0.0 if local_server else CLOCK_MARGIN_S
    return int((started_at - margin) * 1_000_000)


def now_floor(local_server: bool) -> int:
    return floor_for(time.time(), local_server)
