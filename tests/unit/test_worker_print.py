"""The print sent to the workers inside every UDF pickle: one write per print, named after the
UDF, and nothing else changed; checked against PySpark's own worker log capture."""

from __future__ import annotations

import builtins
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sparkpush.workerout import worker_print
from sparkpush.workerout.pickle_hook import install_pickle_hook, remove_listener


@pytest.fixture
def whole_lines() -> Iterator[None]:
    """The whole-line print installed in this process for one test, then the old one back."""
    original = builtins.print
    worker_print.install()
    try:
        yield
    finally:
        builtins.print = original


class Recorder(io.StringIO):
    """A stream that notes each write and the function that made it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, bool]] = []
        self.flushed = 0

    def write(self, text: str) -> int:
        caller = sys._getframe(1)
        self.writes.append((text, caller.f_code.co_name, "self" in caller.f_locals))
        return super().write(text)

    def flush(self) -> None:
        self.flushed += 1


def called_as_pyspark_would(function: Any, *args: Any) -> Any:
    """Call `function` from a frame of a file inside PySpark (as the worker does)."""
    import pyspark

    worker = os.path.join(os.path.dirname(pyspark.__file__), "sparkpush_test_worker.py")
    code = compile("result = function(*args)", worker, "exec")
    namespace: dict[str, Any] = {"function": function, "args": args, "__name__": "pyspark.x"}
    exec(code, namespace)
    return namespace["result"]


def shout(x: int, stream: Any) -> int:
    print("hello from", x, "end", file=stream)
    return x


def helper(stream: Any) -> None:
    print("from a helper", file=stream)


def calls_helper(stream: Any) -> None:
    helper(stream)


class Squares:
    def eval(self, stream: Any) -> None:
        print("in a UDTF", file=stream)


def test_one_print_is_one_write_named_after_the_udf(whole_lines: None) -> None:
    stream = Recorder()
    called_as_pyspark_would(shout, 3, stream)
    assert stream.writes == [("hello from 3 end\n", "shout", False)]


def test_a_helpers_print_is_named_after_the_udf_that_called_it(whole_lines: None) -> None:
    stream = Recorder()
    called_as_pyspark_would(calls_helper, stream)
    assert stream.writes == [("from a helper\n", "calls_helper", False)]


def test_a_udtf_method_names_its_class(whole_lines: None) -> None:
    stream = Recorder()
    called_as_pyspark_would(Squares().eval, stream)
    assert stream.writes == [("in a UDTF\n", "eval", True)]


def test_print_keeps_its_arguments(whole_lines: None) -> None:
    stream = Recorder()
    print("a", "b", sep="-", end="!", file=stream, flush=True)
    print("c", sep=None, end=None, file=stream)
    assert [w[0] for w in stream.writes] == ["a-b!", "c\n"]
    assert stream.flushed == 1
    with pytest.raises(TypeError):
        print("x", sep=3, file=stream)  # type: ignore[call-overload]


def test_no_stdout_prints_nothing(whole_lines: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    print("nowhere")


def test_installing_twice_keeps_one_print(whole_lines: None) -> None:
    installed = builtins.print
    assert worker_print.with_whole_lines("the object") == "the object"
    assert builtins.print is installed


def test_pysparks_worker_capture_records_the_print_as_one_line_of_the_udf(
    whole_lines: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    worker_io = pytest.importorskip("pyspark.logger.worker_io")  # Spark >= 4.1
    monkeypatch.setenv("PYSPARK_SPARK_SESSION_UUID", "a-session")

    def udf(x: int) -> int:
        print("n =", x, "done")
        return x

    def task() -> None:
        with worker_io.capture_outputs():
            called_as_pyspark_would(udf, 7)

    task()
    captured = capfd.readouterr().out.splitlines()
    marker = "PYTHON_WORKER_LOGGING:"
    payloads = [line.split(marker, 1)[1].split(":", 1)[1] for line in captured if marker in line]
    records = [json.loads(payload) for payload in payloads if payload]
    assert [(r["msg"], r["context"].get("func_name")) for r in records] == [("n = 7 done", "udf")]


def test_every_pickle_carries_the_print_and_unpickles_as_it_was(whole_lines: None) -> None:
    from pyspark import cloudpickle
    from pyspark.serializers import CloudPickleSerializer

    pickled: list[bool] = []

    def listener() -> None:
        pickled.append(True)

    original = CloudPickleSerializer.dumps
    install_pickle_hook(listener)
    try:
        data = CloudPickleSerializer().dumps((lambda x: x + 1, "long"))
    finally:
        remove_listener(listener)
        CloudPickleSerializer.dumps = getattr(CloudPickleSerializer.dumps, "__wrapped__", original)  # type: ignore[method-assign]
    assert pickled == [True]
    assert b"with_whole_lines" in data  # by value: the workers have no sparkpush
    function, return_type = cloudpickle.loads(data)
    assert (function(1), return_type) == (2, "long")


def test_a_captured_stream_gets_an_empty_line_after_every_64_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spark's reader of the workers' log lines recurses once per line until a line that is
    not a log line: thousands in a row overflowed its stack and hung the query."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setenv("PYSPARK_SPARK_SESSION_UUID", "a-session")
    original = builtins.print
    try:
        worker_print.install()
        for n in range(130):
            sys.stdout.write(f"PYTHON_WORKER_LOGGING:1:{{}} {n}\n")
    finally:
        builtins.print = original
    lines = stream.getvalue().split("\n")
    assert lines[64] == "" and lines[129] == ""
    assert len([line for line in lines if line]) == 130


def test_outside_a_capturing_worker_stdout_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.delenv("PYSPARK_SPARK_SESSION_UUID", raising=False)
    original = builtins.print
    try:
        worker_print.install()
        assert sys.stdout is stream
    finally:
        builtins.print = original
