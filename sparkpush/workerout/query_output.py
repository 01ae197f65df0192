"""The worker output of one query on a shared session (`connect sql` on the generation)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from sparkpush.errors import SparkpushError
from sparkpush.remote.target import Target
from sparkpush.workerout.bounded import BoundedLines, WorkerOutputCounts
from sparkpush.workerout.follower import FINAL_READ_S
from sparkpush.workerout.reader import WorkerLogsUnavailable
from sparkpush.workerout.session_view import SessionLogView, floor_for


def calls_any(query: str, functions: Iterable[str]) -> bool:
    """Whether the SQL text names one of `functions` (only those can run Python code)."""
    return any(
        re.search(rf"(?<![\w`]){re.escape(name)}(?![\w`])|`{re.escape(name)}`", query, re.I)
        for name in functions
    )


def show_query_output(
    target: Target,
    session_id: str,
    server_side_session_id: str | None,
    *,
    started_at: float,
    local_server: bool,
    show: Callable[[str], None],
) -> WorkerOutputCounts:
    """Read once what the session's workers wrote since `started_at` and show it, bounded.

    Another client's query on the same session at the same time shows too: the view cannot
    tell queries apart."""
    view = SessionLogView(
        target, session_id, server_side_session_id, floor_for(started_at, local_server)
    )
    output = BoundedLines(show)
    try:
        output.add(view.reader.read(FINAL_READ_S, output.wanted))
        if not output.wants_records:
            output.counted(view.reader.count_lines(FINAL_READ_S))
    except WorkerLogsUnavailable as exc:
        output.say(exc.message)
    except SparkpushError as exc:  # the query's own answer still counts
        output.say(f"could not read the worker output: {exc.message}")
    finally:
        view.close()
    return output.close()
