"""Worker records as terminal lines: each marked `[worker NAME]`, NAME the UDF that wrote it.

    [worker shout] hello from the worker
    [worker shout] stderr: a write to sys.stderr
    [worker shout] WARNING myapp.udfs: a logging record
    [worker Squares.eval] a print in a UDTF

A record of several lines (`print("a\\nb")`, a warning with its source line) gives one
terminal line per line, each marked. A logged exception adds the user's frames (PySpark's
own left out) and its `Class: message`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sparkpush.workerout.records import WorkerFrame, WorkerRecord

STDOUT = "stdout"
STDERR = "stderr"

_NOT_A_UDF = frozenset({"context_provider", "_showwarnmsg", "print", "write", "<module>", ""})
"""Names the capture reports when it found no UDF frame (see `worker_print`)."""


def record_lines(record: WorkerRecord) -> list[str]:
    """The terminal lines of one record."""
    label = f"[worker {source_name(record)}]" if source_name(record) else "[worker]"
    text = record.message.split("\n")
    if record.logger == STDERR:
        text[0] = f"stderr: {text[0]}"
    elif record.logger != STDOUT:
        text[0] = f"{record.level} {record.logger}: {text[0]}"
    if record.exception:
        text += [*_frame_lines(record.frames), record.exception]
    return [f"{label} {line}".rstrip() for line in text]


def records_lines(records: Iterable[WorkerRecord]) -> list[str]:
    return [line for record in records for line in record_lines(record)]


def source_name(record: WorkerRecord) -> str | None:
    """The UDF (or UDTF `Class.method`) that wrote the record, when the capture knew it."""
    function = record.function or ""
    if function in _NOT_A_UDF or record.class_name == "Logger":
        return None
    return f"{record.class_name}.{function}" if record.class_name else function


def _frame_lines(frames: Iterable[WorkerFrame]) -> list[str]:
    shown = [f for f in frames if not is_pyspark_file(f.file)]
    lines: list[str] = []
    if shown:
        lines.append("Traceback (most recent call last):")
    lines += [f'  File "{f.file}", line {f.line}, in {f.function}' for f in shown]
    return lines


def is_pyspark_file(path: str) -> bool:
    """A file of PySpark itself (site-packages, a zip on a cluster, a source checkout)."""
    normalized = path.replace("\\", "/")
    return "/pyspark/" in normalized or normalized.startswith("pyspark/")
