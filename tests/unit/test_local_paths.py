"""Which paths of a submitted script are made absolute, and how (no server)."""

from __future__ import annotations

import pytest

from sparkpush.submit.local_paths import absolute_options, absolute_path, absolute_paths

BASE = "/home/ann/proj"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/people.json", "/home/ann/proj/data/people.json"),
        ("out", "/home/ann/proj/out"),
        ("./data/x.csv", "/home/ann/proj/data/x.csv"),
        ("../shared/x.csv", "/home/ann/shared/x.csv"),
        ("data/*.json", "/home/ann/proj/data/*.json"),
        ("data/{a,b}/part-*", "/home/ann/proj/data/{a,b}/part-*"),
        ("data/2024-01-01T00:00/x", "/home/ann/proj/data/2024-01-01T00:00/x"),
        ("/abs/people.json", "/abs/people.json"),
        ("file:/abs/people.json", "file:/abs/people.json"),
        ("file:///abs/people.json", "file:///abs/people.json"),
        ("file:relative", "file:relative"),
        ("s3a://bucket/key/*.json", "s3a://bucket/key/*.json"),
        ("hdfs://nn:8020/x", "hdfs://nn:8020/x"),
        ("abfss://c@a.dfs.core.windows.net/x", "abfss://c@a.dfs.core.windows.net/x"),
        ("", ""),
    ],
)
def test_only_relative_scheme_less_paths_change(path: str, expected: str) -> None:
    assert absolute_path(path, BASE) == expected


def test_lists_keep_their_order_and_none_stays_none() -> None:
    assert absolute_paths(["b.json", "/a.json", "s3a://x/c.json"], BASE) == [
        "/home/ann/proj/b.json",
        "/a.json",
        "s3a://x/c.json",
    ]
    assert absolute_paths(None, BASE) is None


def test_only_location_options_change() -> None:
    options = {
        "path": "out",
        "checkpointLocation": "chk",
        "CHECKPOINTLOCATION": "chk2",
        "header": "true",
        "sep": "a/b",
        "removed": None,
    }
    assert absolute_options(options, BASE) == {
        "path": "/home/ann/proj/out",
        "checkpointLocation": "/home/ann/proj/chk",
        "CHECKPOINTLOCATION": "/home/ann/proj/chk2",
        "header": "true",
        "sep": "a/b",
        "removed": None,
    }


def test_plans_carry_absolute_paths_once_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan classes themselves, without a server: a read, a write, a stream write."""
    from pyspark.sql.connect import plan

    from sparkpush.submit import local_paths

    for name, method in (
        ("DataSource", "plan"),
        ("WriteOperation", "command"),
        ("WriteOperationV2", "command"),
        ("WriteStreamOperation", "command"),
    ):
        monkeypatch.setattr(getattr(plan, name), method, getattr(getattr(plan, name), method))
    monkeypatch.setattr(plan, "_sparkpush_local_paths", None, raising=False)
    local_paths.install(BASE)
    wrapped = plan.DataSource.plan
    local_paths.install(BASE)  # twice: wrapped once
    assert plan.DataSource.plan is wrapped

    source = plan.DataSource(format="json", options={"path": "in2"}, paths=["in", "/abs"])
    read = source.plan(None)  # type: ignore[arg-type]
    assert list(read.read.data_source.paths) == ["/home/ann/proj/in", "/abs"]
    assert read.read.data_source.options["path"] == "/home/ann/proj/in2"

    write = plan.WriteOperation(plan.DataSource(format="json", paths=["in"]))
    write.path = "out"
    write.options = {"checkpointLocation": "chk"}
    command = write.command(None)  # type: ignore[arg-type]
    assert command.write_operation.path == "/home/ann/proj/out"
    assert command.write_operation.options["checkpointLocation"] == "/home/ann/proj/chk"
    assert list(command.write_operation.input.read.data_source.paths) == ["/home/ann/proj/in"]

    stream = plan.WriteStreamOperation(plan.DataSource(format="rate", is_streaming=True))
    stream.write_op.path = "sink"
    stream.write_op.options["checkpointLocation"] = "chk"
    started = stream.command(None)  # type: ignore[arg-type]
    assert started.write_stream_operation_start.path == "/home/ann/proj/sink"
    assert started.write_stream_operation_start.options["checkpointLocation"] == (
        "/home/ann/proj/chk"
    )
