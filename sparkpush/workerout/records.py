"""Rows of a session's worker log view (`python_worker_logs()`, Spark >= 4.1) as values.

The view holds one row per write or log record of the session's Python workers: `ts` (the
worker's clock, microseconds), `level`, `logger` (`stdout`, `stderr` or the logging logger's
name), `msg` (stripped), `context` (`func_name`, `class_name`) and `exception`. The server
keeps them in blocks, one per worker and task, saved when the task ends; a read returns every
block of the session, each block's rows in the order they were written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOG_VIEW = "python_worker_logs()"
_POSITION_BITS = (1 << 33) - 1
"""`monotonically_increasing_id()` keeps the row's place in its partition (one block) here."""


@dataclass(frozen=True)
class WorkerFrame:
    file: str
    line: str
    function: str


@dataclass(frozen=True)
class WorkerRecord:
    """One row: what one write or log record of a Python worker said."""

    ts: int
    """Microseconds since the epoch, the worker's clock."""
    position: int
    """The row's place in its block: two equal rows of one microsecond stay two."""
    level: str
    logger: str
    message: str
    function: str | None = None
    class_name: str | None = None
    exception: str | None = None
    """`Class: message` of a logged exception."""
    frames: tuple[WorkerFrame, ...] = ()

    @property
    def key(self) -> tuple[int, int, str, str, str]:
        """What tells two rows apart across reads (the view has no row id)."""
        return (self.ts, self.position, self.logger, self.level, self.message)

    @property
    def line_count(self) -> int:
        return self.message.count("\n") + 1


def records_query(floor_us: int | None, limit: int | None = None) -> str:
    """The rows of the view from `floor_us` on (with `limit`: the first so many as written),
    in a shape that is cheap to send.

    The position is numbered before the filter: it must not depend on the floor."""
    where = f" WHERE ts >= timestamp_micros({int(floor_us)})" if floor_us is not None else ""
    first = f" ORDER BY ts, position LIMIT {int(limit)}" if limit is not None else ""
    return (
        "SELECT unix_micros(ts) AS ts, id & " + str(_POSITION_BITS) + " AS position, level, "
        "logger, msg, context['func_name'] AS function, context['class_name'] AS class_name, "
        "CASE WHEN exception IS NULL THEN NULL "
        "ELSE concat_ws(': ', exception.class, exception.msg) END AS exception, "
        "transform(exception.stacktrace, f -> array(f.file, f.line, f.method)) AS frames "
        f"FROM (SELECT *, monotonically_increasing_id() AS id FROM {LOG_VIEW}){where}{first}"
    )


def count_query(floor_us: int | None) -> str:
    """How many rows and lines the view holds from `floor_us` on (when rows are not wanted)."""
    where = f" WHERE ts >= timestamp_micros({int(floor_us)})" if floor_us is not None else ""
    return (
        "SELECT count(*) AS records, coalesce(sum(size(split(msg, '\\n'))), 0) AS lines "
        f"FROM {LOG_VIEW}{where}"
    )


def records_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[WorkerRecord]:
    """The query's rows (as `pyarrow.Table.to_pylist()` gives them), sorted as written."""
    records = [_record(row) for row in rows]
    records.sort(key=lambda r: (r.ts, r.position))
    return records


def _record(row: Mapping[str, Any]) -> WorkerRecord:
    frames = tuple(
        WorkerFrame(file=str(f[0] or "?"), line=str(f[1] or "?"), function=str(f[2] or "?"))
        for f in row.get("frames") or ()
        if f is not None and len(f) == 3
    )
    return WorkerRecord(
        ts=int(row.get("ts") or 0),
        position=int(row.get("position") or 0),
        level=str(row.get("level") or ""),
        logger=str(row.get("logger") or ""),
        message=str(row.get("msg") or ""),
        function=row.get("function"),
        class_name=row.get("class_name"),
        exception=row.get("exception"),
        frames=frames,
    )
