"""Reading one session's worker log view again and again, each row handed out once.

The view has no row id and no "since" of its own: every read returns every saved block of
the session. Rows are told apart by (time, place in block, logger, level, text); a floor
(`ts >= ...`) leaves out what came before the run, a test or a shell cell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from sparkpush.errors import ServerError
from sparkpush.workerout.records import (
    WorkerRecord,
    count_query,
    records_from_rows,
    records_query,
)
from sparkpush.workerout.settings import needs_newer_server

log = logging.getLogger(__name__)

RunQuery = Callable[[str, float], list[Mapping[str, Any]]]
"""Runs SQL on the session within a deadline (seconds) and returns its rows."""

READ_TIMEOUT_S = 60.0

_NO_VIEW = frozenset({"UNRESOLVABLE_TABLE_VALUED_FUNCTION", "UNRESOLVED_ROUTINE"})
_NOT_ENABLED = "FEATURE_NOT_ENABLED"


class WorkerLogsUnavailable(Exception):
    """The session has no worker log view to read (an old server, logging turned off).

    Never reaches the CLI: the caller says it once and stops reading."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkerLogReader:
    """Each call to `read` returns the rows not returned before, in the order written."""

    def __init__(self, run_query: RunQuery, floor_us: int | None = None) -> None:
        self._run_query = run_query
        self.floor_us = floor_us
        self._seen: set[tuple[int, int, str, str, str]] = set()
        self.last_read_s = 0.0
        """How long the last read took (the caller paces its reads by it)."""

    def read(self, timeout: float = READ_TIMEOUT_S, want: int | None = None) -> list[WorkerRecord]:
        """New rows since the last read (with `want`: at most about so many, the first ones
        written; the rest come with later reads); WorkerLogsUnavailable without a view."""
        limit = None if want is None else len(self._seen) + max(want, 0)
        rows = self._query(records_query(self.floor_us, limit), timeout)
        new = [r for r in records_from_rows(rows) if r.key not in self._seen]
        self._seen.update(r.key for r in new)
        return new

    def count_lines(self, timeout: float = READ_TIMEOUT_S) -> int:
        """Lines the view holds from the floor on (read or not)."""
        rows = self._query(count_query(self.floor_us), timeout)
        return int(rows[0].get("lines") or 0) if rows else 0

    def raise_floor(self, floor_us: int) -> None:
        """From now on only rows from `floor_us` on (a new test, a new shell cell)."""
        if self.floor_us is not None and floor_us <= self.floor_us:
            return
        self.floor_us = floor_us
        self._seen = {key for key in self._seen if key[0] >= floor_us}

    def _query(self, sql: str, timeout: float) -> list[Mapping[str, Any]]:
        started = time.monotonic()
        try:
            return self._run_query(sql, timeout)
        except ServerError as exc:
            if exc.error_class in _NO_VIEW:
                raise WorkerLogsUnavailable(needs_newer_server()) from None
            if exc.error_class == _NOT_ENABLED:
                raise WorkerLogsUnavailable(
                    "worker output is off on this session "
                    "(spark.sql.pyspark.worker.logging.enabled is not true)"
                ) from None
            raise
        finally:
            self.last_read_s = time.monotonic() - started
