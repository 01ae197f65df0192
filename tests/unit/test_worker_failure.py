"""A failed UDF's traceback, from the server's message, cut to the user's own frames."""

from __future__ import annotations

import grpc
import pytest

from sparkpush.connect.rpc_errors import translate_rpc_error
from sparkpush.connect.worker_failure import parse_worker_failure
from sparkpush.errors import ServerError, UdfFailedError
from sparkpush.submit.script_error import describe_exception
from sparkpush.workerout.worker_traceback import format_worker_failure, worker_failure_of
from tests.unit.test_rpc_errors import FailedCall

SIMPLE = """[PYTHON_EXCEPTION] An exception was thrown from the Python worker: Traceback (most \
recent call last):
  File "/p/udfs.py", line 12, in shout
    raise ValueError("no boom please")
ValueError: no boom please
 SQLSTATE: 38000"""

THROUGH_PANDAS = """[PYTHON_EXCEPTION] An exception was thrown from the Python worker: \
Traceback (most recent call last):
  File "/p/job.py", line 20, in pf
    return s.map(lambda v: 1 // (v - v))
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/venv/lib/python3.11/site-packages/pandas/core/series.py", line 4719, in map
    new_values = self._map_values(arg, na_action=na_action)
  File "pandas/_libs/lib.pyx", line 2999, in pandas._libs.lib.map_infer
  File "/p/job.py", line 20, in <lambda>
    return s.map(lambda v: 1 // (v - v))
                           ~~^^~~~~~~~~
ZeroDivisionError: integer division or modulo by zero
 SQLSTATE: 38000"""

UNSIMPLIFIED = """Traceback (most recent call last):
  File "/opt/spark/python/lib/pyspark.zip/pyspark/worker.py", line 3456, in main
    process()
  File "/p/udfs.py", line 3, in shout
    return {}["x"]
KeyError: 'x'
  with a second line
"""


def test_the_users_frames_and_the_exception_are_kept() -> None:
    failure = parse_worker_failure(SIMPLE)
    assert failure is not None
    assert failure.traceback_lines() == [
        "Traceback (most recent call last):",
        '  File "/p/udfs.py", line 12, in shout',
        '    raise ValueError("no boom please")',
        "ValueError: no boom please",
    ]
    assert failure.summary() == "ValueError: no boom please (udfs.py, line 12, in shout)"


def test_library_frames_are_left_out() -> None:
    failure = parse_worker_failure(THROUGH_PANDAS)
    assert failure is not None
    files = [line for line in failure.traceback_lines() if line.startswith("  File")]
    assert files == [
        '  File "/p/job.py", line 20, in pf',
        '  File "/p/job.py", line 20, in <lambda>',
    ]
    assert failure.summary().endswith("(job.py, line 20, in <lambda>)")


def test_pysparks_own_frames_are_left_out_when_the_server_kept_them() -> None:
    failure = parse_worker_failure(UNSIMPLIFIED)
    assert failure is not None
    assert [f.function for f in failure.users_frames] == ["shout"]
    assert failure.exception == ("KeyError: 'x'", "  with a second line")


def test_a_message_without_a_traceback_is_no_failure() -> None:
    assert parse_worker_failure("[TABLE_OR_VIEW_NOT_FOUND] no such table") is None


def test_a_udf_failure_is_one_line_that_says_where() -> None:
    call = FailedCall(grpc.StatusCode.INTERNAL, SIMPLE, "PYTHON_EXCEPTION")
    error = translate_rpc_error(call, "localhost:1", "running the query")
    assert isinstance(error, UdfFailedError)
    assert error.message == (
        "running the query failed: a UDF raised on a Python worker: "
        "ValueError: no boom please (udfs.py, line 12, in shout)"
    )
    assert error.traceback[-1] == "ValueError: no boom please"


def test_other_server_errors_stay_as_they_were() -> None:
    call = FailedCall(
        grpc.StatusCode.INTERNAL, "[DIVIDE_BY_ZERO] Division by zero.", "DIVIDE_BY_ZERO"
    )
    error = translate_rpc_error(call, "localhost:1", "running the query")
    assert type(error) is ServerError


def python_exception(message: str) -> BaseException:
    """An exception of PySpark's `PythonException` class as the client raises it."""
    kind = type(
        "PythonException", (Exception,), {"__module__": "pyspark.errors.exceptions.connect"}
    )
    return kind(message)


def raised_by_pyspark(exc: BaseException) -> BaseException:
    """`exc` raised from a frame of PySpark's client, called by the user's code."""
    import os

    import pyspark

    client = os.path.join(os.path.dirname(pyspark.__file__), "sparkpush_test_client.py")
    code = compile("raise exc", client, "exec")
    try:
        exec(code, {"exc": exc})
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


def test_a_scripts_traceback_shows_its_frames_then_the_workers() -> None:
    def the_script() -> BaseException:
        return raised_by_pyspark(python_exception(SIMPLE))

    exc = the_script()
    text = format_worker_failure(exc, exc.__traceback__)
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].endswith("in raised_by_pyspark")
    assert not any("sparkpush_test_client" in line for line in lines)  # PySpark's frames
    assert lines[-4:] == [
        "The UDF raised on a Python worker:",
        '  File "/p/udfs.py", line 12, in shout',
        '    raise ValueError("no boom please")',
        "pyspark.errors.exceptions.connect.PythonException: ValueError: no boom please",
    ]


@pytest.mark.parametrize(
    "exc", [ValueError("x"), python_exception("no traceback in it"), RuntimeError(SIMPLE)]
)
def test_other_exceptions_are_left_to_python(exc: BaseException) -> None:
    assert worker_failure_of(exc) is None
    assert format_worker_failure(exc, None) is None


def test_the_report_says_what_the_udf_raised_not_pysparks_preamble() -> None:
    described = describe_exception(python_exception("\n  An exception was thrown...\n" + SIMPLE))
    assert described.message == (
        "pyspark.errors.exceptions.connect.PythonException: "
        "ValueError: no boom please (udfs.py, line 12, in shout)"
    )
