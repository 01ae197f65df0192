"""A UDF named like one of Spark's builtin functions never runs from SQL: the builtin wins
(`SELECT to_json('x')` calls Spark's `to_json` whatever was registered under that name).

The builtin names come from the server itself (`SHOW SYSTEM FUNCTIONS`), asked once per
server URL and remembered in the user's state dir, so `connect udfs` and `connect doctor`
can warn without asking again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

from sparkpush.connect.sql_query import run_sql
from sparkpush.errors import SparkpushError
from sparkpush.remote.target import Target
from sparkpush.state.folders import user_state_dir
from sparkpush.state.server_records import ServerRecords

log = logging.getLogger(__name__)

CACHE_NAME = "builtin-functions.json"
MAX_SERVERS = 16
QUERY = "SHOW SYSTEM FUNCTIONS"
QUERY_TIMEOUT_S = 30.0


def builtin_clashes(udf_names: Iterable[str], builtins: frozenset[str] | None) -> list[str]:
    """One warning per UDF whose name is a builtin's (SQL names are case-insensitive)."""
    if not builtins:
        return []
    return [
        f"UDF {name} is named like Spark's builtin function {name.lower()}, which wins in SQL: "
        f"your UDF never runs there; rename it (e.g. {name}_udf; [tool.sparkpush.udf] names "
        "maps a Python name to another SQL name)"
        for name in sorted(set(udf_names))
        if name.lower() in builtins
    ]


def cached_builtins(remote: str, path: Path | None = None) -> frozenset[str] | None:
    """The builtin names remembered for the server at `remote` (its URL, no token)."""
    found = _records(path).read().get(remote)
    if not isinstance(found, list):
        return None
    return frozenset(str(name).lower() for name in found)


def server_builtins(target: Target, path: Path | None = None) -> frozenset[str] | None:
    """The server's builtin names: remembered, or asked now (None when it cannot say)."""
    remote = target.spec.display()
    known = cached_builtins(remote, path)
    if known is not None:
        return known
    if target.transport is not None:  # an in-memory server in unit tests runs no SQL
        return None
    try:
        names = _ask(target)
    except SparkpushError as exc:
        log.info("could not list the server's builtin functions: %s", exc.message)
        return None
    _records(path).store(remote, sorted(names))
    return names


def _ask(target: Target) -> frozenset[str]:
    client = target.client()
    try:
        table = run_sql(client, QUERY, timeout=QUERY_TIMEOUT_S)
        with contextlib.suppress(SparkpushError):
            client.release_session(timeout=5.0)
    finally:
        client.close()
    if table is None or table.num_columns == 0:
        return frozenset()
    return frozenset(str(name).lower() for name in table.column(0).to_pylist())


def _records(path: Path | None) -> ServerRecords:
    return ServerRecords(path or user_state_dir() / CACHE_NAME, MAX_SERVERS)
