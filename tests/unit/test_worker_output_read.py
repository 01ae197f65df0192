"""Reading, formatting and bounding a session's worker output, without a server."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from sparkpush.errors import ServerError, ServerUnavailableError
from sparkpush.workerout.bounded import BoundedLines
from sparkpush.workerout.lines import record_lines, source_name
from sparkpush.workerout.query_output import calls_any
from sparkpush.workerout.reader import WorkerLogReader, WorkerLogsUnavailable
from sparkpush.workerout.records import (
    WorkerFrame,
    WorkerRecord,
    count_query,
    records_from_rows,
    records_query,
)
from sparkpush.workerout.settings import has_log_view, kept_file_for, worker_output_on


def row(ts: int, msg: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": ts,
        "position": fields.pop("position", 0),
        "level": "INFO",
        "logger": "stdout",
        "msg": msg,
        "function": "shout",
        "class_name": None,
        "exception": None,
        "frames": None,
    }
    base.update(fields)
    return base


class FakeView:
    """The session's view: the rows saved so far, filtered by the query's floor."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.queries: list[str] = []
        self.error: Exception | None = None

    def __call__(self, sql: str, timeout: float) -> list[Mapping[str, Any]]:
        self.queries.append(sql)
        if self.error is not None:
            raise self.error
        floor = None
        if "timestamp_micros(" in sql:
            floor = int(sql.split("timestamp_micros(")[1].split(")")[0])
        rows = [r for r in self.rows if floor is None or r["ts"] >= floor]
        if " LIMIT " in sql:
            rows = sorted(rows, key=lambda r: (r["ts"], r["position"]))
            rows = rows[: int(sql.rsplit(" LIMIT ", 1)[1])]
        if sql.startswith("SELECT count(*)"):
            lines = sum(r["msg"].count("\n") + 1 for r in rows)
            return [{"records": len(rows), "lines": lines}]
        return list(rows)


# --- the query and its rows -------------------------------------------------------------


def test_the_query_numbers_rows_before_the_floor_filters_them() -> None:
    query = records_query(1_700_000_000_000_000)
    inner = query.index("monotonically_increasing_id()")
    assert inner < query.index("WHERE ts >= timestamp_micros(1700000000000000)")
    assert "python_worker_logs()" in query
    assert "WHERE" not in records_query(None)
    assert "timestamp_micros(5)" in count_query(5)


def test_rows_come_back_in_the_order_they_were_written() -> None:
    records = records_from_rows([row(30, "c"), row(10, "a", position=1), row(10, "b", position=2)])
    assert [r.message for r in records] == ["a", "b", "c"]


def test_a_logged_exception_keeps_its_frames() -> None:
    [record] = records_from_rows(
        [row(1, "failed", exception="ValueError: x", frames=[["/p/udfs.py", "3", "shout"]])]
    )
    assert record.frames == (WorkerFrame("/p/udfs.py", "3", "shout"),)


# --- reading again and again --------------------------------------------------------------


def test_each_row_is_handed_out_once_across_reads() -> None:
    view = FakeView()
    reader = WorkerLogReader(view)
    view.rows += [row(1, "a"), row(2, "b")]
    assert [r.message for r in reader.read()] == ["a", "b"]
    # a block saved later may hold rows older than the ones already read
    view.rows += [row(0, "late", position=0), row(3, "c")]
    assert [r.message for r in reader.read()] == ["late", "c"]
    assert reader.read() == []


def test_a_read_asked_for_a_few_rows_leaves_the_rest_for_later() -> None:
    view = FakeView()
    reader = WorkerLogReader(view)
    view.rows += [row(t, f"line {t}") for t in range(10)]
    assert [r.message for r in reader.read(want=3)] == ["line 0", "line 1", "line 2"]
    assert [r.message for r in reader.read(want=2)] == ["line 3", "line 4"]
    assert len(reader.read()) == 5
    assert "ORDER BY ts, position LIMIT 5" in view.queries[1]  # 3 seen + 2 wanted


def test_two_equal_rows_of_one_microsecond_stay_two() -> None:
    view = FakeView()
    view.rows += [row(5, "same", position=0), row(5, "same", position=1)]
    assert len(WorkerLogReader(view).read()) == 2


def test_a_raised_floor_leaves_out_what_came_before() -> None:
    view = FakeView()
    reader = WorkerLogReader(view, floor_us=10)
    view.rows += [row(5, "before the run"), row(12, "the run's")]
    assert [r.message for r in reader.read()] == ["the run's"]
    view.rows.append(row(20, "the next test's"))
    reader.raise_floor(15)
    assert [r.message for r in reader.read()] == ["the next test's"]
    reader.raise_floor(1)  # a floor only goes up
    assert reader.floor_us == 15


def test_lines_are_counted_on_the_server_from_the_floor() -> None:
    view = FakeView()
    view.rows += [row(1, "one\ntwo"), row(2, "three")]
    assert WorkerLogReader(view).count_lines() == 3


@pytest.mark.parametrize(
    ("error_class", "says"),
    [
        ("UNRESOLVABLE_TABLE_VALUED_FUNCTION", "needs Spark >= 4.1"),
        ("FEATURE_NOT_ENABLED", "is off on this session"),
    ],
)
def test_a_session_without_the_view_is_one_line_not_an_error(error_class: str, says: str) -> None:
    view = FakeView()
    view.error = ServerError(f"[{error_class}] ...", error_class=error_class)
    with pytest.raises(WorkerLogsUnavailable, match=says):
        WorkerLogReader(view).read()


def test_other_failures_reach_the_caller() -> None:
    view = FakeView()
    view.error = ServerUnavailableError("gone")
    with pytest.raises(ServerUnavailableError):
        WorkerLogReader(view).read()


# --- lines ---------------------------------------------------------------------------------


def record(message: str, **fields: Any) -> WorkerRecord:
    return records_from_rows([row(1, message, **fields)])[0]


@pytest.mark.parametrize(
    ("fields", "lines"),
    [
        ({}, ["[worker shout] hello there"]),
        ({"logger": "stderr", "level": "ERROR"}, ["[worker shout] stderr: hello there"]),
        ({"logger": "myapp", "level": "WARNING"}, ["[worker shout] WARNING myapp: hello there"]),
        ({"function": "eval", "class_name": "Squares"}, ["[worker Squares.eval] hello there"]),
        ({"function": "context_provider"}, ["[worker] hello there"]),
        (
            {"logger": "myapp", "level": "WARNING", "function": "warning", "class_name": "Logger"},
            ["[worker] WARNING myapp: hello there"],
        ),
    ],
)
def test_a_line_is_marked_with_the_udf_or_logger_it_came_from(
    fields: dict[str, Any], lines: list[str]
) -> None:
    assert record_lines(record("hello there", **fields)) == lines


def test_a_record_of_several_lines_marks_each() -> None:
    assert record_lines(record("multi\nline")) == ["[worker shout] multi", "[worker shout] line"]


def test_a_logged_exception_shows_the_users_frames_and_its_line() -> None:
    logged = record(
        "failed",
        logger="myapp",
        level="ERROR",
        exception="ValueError: bad",
        frames=[
            ["/srv/site-packages/pyspark/worker.py", "1", "main"],
            ["/p/udfs.py", "3", "shout"],
        ],
    )
    assert record_lines(logged) == [
        "[worker shout] ERROR myapp: failed",
        "[worker shout] Traceback (most recent call last):",
        '[worker shout]   File "/p/udfs.py", line 3, in shout',
        "[worker shout] ValueError: bad",
    ]


def test_no_name_where_the_capture_found_no_udf() -> None:
    assert source_name(record("x", function=None)) is None


# --- bounded -------------------------------------------------------------------------------


def test_a_flood_is_cut_and_counted(tmp_path: Path) -> None:
    shown: list[str] = []
    output = BoundedLines(shown.append, show_limit=3)
    output.add(record(f"line {i}") for i in range(5))
    assert not output.wants_records
    output.counted(100_000)
    counts = output.close()
    assert shown[:3] == ["[worker shout] line 0", "[worker shout] line 1", "[worker shout] line 2"]
    assert shown[3] == "[worker] 99,997 more worker line(s) not shown (the first 3 were)"
    assert (counts.lines, counts.shown, counts.kept) == (100_000, 3, 0)
    assert counts.to_json()["left_out"] == 99_997


def test_the_kept_file_holds_more_than_the_terminal(tmp_path: Path) -> None:
    shown: list[str] = []
    kept = tmp_path / "report.worker-output.log"
    output = BoundedLines(shown.append, show_limit=2, keep_path=kept, keep_limit=4)
    output.add(record(f"line {i}") for i in range(6))
    counts = output.close()
    assert kept.read_text().splitlines() == [f"[worker shout] line {i}" for i in range(4)]
    assert counts.file == str(kept)
    assert (counts.lines, counts.shown, counts.kept) == (6, 2, 4)
    assert "keeps 4" in shown[-1]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o666 & ~umask


def test_no_file_without_lines(tmp_path: Path) -> None:
    kept = tmp_path / "r.worker-output.log"
    counts = BoundedLines(lambda _: None, keep_path=kept).close()
    assert not kept.exists()
    assert counts.file is None


def test_a_note_is_said_once() -> None:
    shown: list[str] = []
    output = BoundedLines(shown.append)
    output.say("worker output needs Spark >= 4.1")
    output.say("worker output needs Spark >= 4.1")
    assert shown == ["[worker] worker output needs Spark >= 4.1"]
    assert output.close().note == "worker output needs Spark >= 4.1"


def test_an_unwritable_kept_file_is_said_not_raised(tmp_path: Path) -> None:
    shown: list[str] = []
    (tmp_path / "a-file").write_text("")
    output = BoundedLines(shown.append, keep_path=tmp_path / "a-file" / "x.log")
    output.add([record("one")])
    assert output.close().kept == 0
    assert any("cannot write" in line for line in shown)


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "has"),
    [("4.0.5", False), ("4.1.0", True), ("4.3.0", True), ("5.0.0-preview", True), (None, True)],
)
def test_the_view_came_with_spark_4_1(version: str | None, has: bool) -> None:
    assert has_log_view(version) is has


def test_the_flag_wins_over_the_config() -> None:
    assert worker_output_on(None, True) and not worker_output_on(None, False)
    assert worker_output_on(True, False) and not worker_output_on(False, True)


def test_the_kept_file_sits_next_to_the_report() -> None:
    assert kept_file_for(Path("ci/report.json")) == Path("ci/report.worker-output.log")


@pytest.mark.parametrize(
    ("query", "calls"),
    [
        ("SELECT shout('x')", True),
        ("select SHOUT(name) from t", True),
        ("SELECT `shout`(1)", True),
        ("SELECT shouted FROM t", False),
        ("SELECT 1", False),
    ],
)
def test_only_a_query_naming_a_python_udf_reads_the_output(query: str, calls: bool) -> None:
    assert calls_any(query, ["shout"]) is calls
