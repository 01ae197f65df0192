"""Worker lines shown (and kept in a file) up to a bound; a flood is cut and counted."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sparkpush.workerout.lines import record_lines
from sparkpush.workerout.records import WorkerRecord

SHOW_LIMIT = 1_000
"""Worker lines shown on the terminal per run (a test, a shell cell, a query, a script)."""
KEEP_LIMIT = 10_000
"""Worker lines kept in the file next to a `--report` per run."""


@dataclass(frozen=True)
class WorkerOutputCounts:
    """What a run's worker output came to: in the JSON report as `worker_output`."""

    lines: int = 0
    """Every worker line of the run, shown or not."""
    shown: int = 0
    kept: int = 0
    file: str | None = None
    note: str | None = None
    """Why there is none to show, when there cannot be (an old server, logging off)."""

    def to_json(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "shown": self.shown,
            "left_out": self.lines - self.shown,
            "kept": self.kept,
            "file": self.file,
            "note": self.note,
        }


class BoundedLines:
    """Receives a run's records in order; shows the first `show_limit` lines through `show`,
    keeps the first `keep_limit` in `keep_path` (if any), counts the rest."""

    def __init__(
        self,
        show: Callable[[str], None],
        *,
        show_limit: int = SHOW_LIMIT,
        keep_path: Path | None = None,
        keep_limit: int = KEEP_LIMIT,
    ) -> None:
        self.show = show
        self.show_limit = show_limit
        self.keep_path = keep_path
        self.keep_limit = keep_limit if keep_path is not None else 0
        self.lines = 0
        self.shown = 0
        self.kept = 0
        self.note: str | None = None
        self._keep: IO[str] | None = None
        self._lock = threading.Lock()

    @property
    def wants_records(self) -> bool:
        """Whether more records would be shown or kept (else counting them is enough)."""
        return self.wanted > 0

    @property
    def wanted(self) -> int:
        """How many more lines would be shown or kept."""
        return max(self.show_limit - self.shown, self.keep_limit - self.kept, 0)

    def add(self, records: Iterable[WorkerRecord]) -> None:
        with self._lock:
            for record in records:
                for line in record_lines(record):
                    self._add_line(line)

    def counted(self, total_lines: int) -> None:
        """The run wrote `total_lines` lines in all (counted on the server, not all read)."""
        with self._lock:
            self.lines = max(self.lines, total_lines)

    def say(self, note: str) -> None:
        """One line about the worker output itself (shown once per note)."""
        with self._lock:
            if self.note == note:
                return
            self.note = note
            self.show(f"[worker] {note}")

    def close(self) -> WorkerOutputCounts:
        """Say what was left out, close the kept file, and return the counts."""
        with self._lock:
            left_out = self.lines - self.shown
            if left_out > 0:
                kept = f"; {self.keep_path} keeps {self.kept:,}" if self.keep_path else ""
                self.show(
                    f"[worker] {left_out:,} more worker line(s) not shown (the first "
                    f"{self.shown:,} were{kept})"
                )
            if self._keep is not None:
                self._keep.close()
                self._keep = None
            return WorkerOutputCounts(
                lines=self.lines,
                shown=self.shown,
                kept=self.kept,
                file=os.fspath(self.keep_path) if self.keep_path and self.kept else None,
                note=self.note,
            )

    def _add_line(self, line: str) -> None:
        self.lines += 1
        if self.shown < self.show_limit:
            self.shown += 1
            self.show(line)
        if self.kept < self.keep_limit:
            kept = self._kept_file()
            if kept is not None:
                self.kept += 1
                kept.write(line + "\n")

    def _kept_file(self) -> IO[str] | None:
        if self._keep is None:
            assert self.keep_path is not None
            umask = os.umask(0)
            os.umask(umask)
            try:
                # as the report itself: its folder made if missing (a CI job's workspace)
                self.keep_path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.keep_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 & ~umask)
            except OSError as exc:
                self.keep_limit = 0
                note = f"cannot write {self.keep_path}: {exc.strerror or exc}"
                self.note = note
                self.show(f"[worker] {note}")
                return None
            self._keep = os.fdopen(fd, "w", encoding="utf-8", errors="replace")
        return self._keep
