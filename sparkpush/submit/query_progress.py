"""Query progress (stages, tasks) drawn on one stderr line by the child, for a TTY only."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import IO, Any

from pyspark.sql.connect.shell.progress import ProgressHandler

from sparkpush.progress.status_line import StatusLine

SHOW_AFTER_S = 0.5
"""Quick queries draw nothing: a line that flashes and vanishes only distracts."""


class QueryProgressLine(ProgressHandler):
    """A `spark.registerProgressHandler` handler; clears its line when the query is done."""

    def __init__(self, stream: IO[str], clock: Any = time.monotonic) -> None:
        self.line = StatusLine(stream)
        self.clock = clock
        self.started: dict[str | None, float] = {}

    def __call__(
        self,
        stages: Iterable[Any] | None,
        inflight_tasks: int,
        operation_id: str | None,
        done: bool,
    ) -> None:
        if done:
            self.started.pop(operation_id, None)
            self.line.clear()
            return
        began = self.started.setdefault(operation_id, self.clock())
        if self.clock() - began < SHOW_AFTER_S:
            return
        self.line.draw(render_progress(list(stages or ()), inflight_tasks))


def render_progress(stages: list[Any], inflight_tasks: int) -> str:
    """`query: stage 2/3, tasks 10/40 (4 running)` from PySpark's StageInfo list."""
    total = sum(s.num_tasks for s in stages)
    completed = sum(s.num_completed_tasks for s in stages)
    finished_stages = sum(1 for s in stages if s.done)
    return (
        f"query: stages {finished_stages}/{len(stages)}, tasks {completed}/{total} "
        f"({inflight_tasks} running)"
    )
