"""One-line messages for UDF modules that fail to load."""

from __future__ import annotations

import signal

import pytest

from sparkpush.errors import ExitCode, UdfLoadError
from sparkpush.udf.loader_messages import LoadProblem
from sparkpush.udf.problems import describe_exit, describe_problem, describe_timeout


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (
            LoadProblem("syntax", "udfs.py", 3, error_type="SyntaxError", message="invalid syntax"),
            "udfs.py:3: SyntaxError: invalid syntax",
        ),
        (
            LoadProblem("import", "udfs.py", 5, error_type="ValueError", message="boom\nmore"),
            "udfs.py:5: ValueError: boom (while importing)",
        ),
        (
            LoadProblem("import", "udfs.py", 5, error_type="KeyError", message=""),
            "udfs.py:5: KeyError (while importing)",
        ),
        (
            LoadProblem("exit", "udfs.py", message="3"),
            "udfs.py called sys.exit(3) while being imported",
        ),
        (
            LoadProblem("exit", "udfs.py", message=""),
            "udfs.py called sys.exit() while being imported",
        ),
        (
            LoadProblem(
                "pickle", "udfs.py", 10, name="f", message="cannot pickle '_thread.lock' object"
            ),
            "udfs.py:10: cannot pickle UDF 'f': cannot pickle '_thread.lock' object",
        ),
        (LoadProblem("missing", "nope.py"), "UDF module nope.py does not exist"),
        (
            LoadProblem("java", name="add_one", message="class not found"),
            "java_udfs.add_one: cannot register it: class not found",
        ),
    ],
)
def test_problem_messages(problem: LoadProblem, expected: str) -> None:
    assert describe_problem(problem) == expected


def test_timeout_names_the_module() -> None:
    assert describe_timeout("udfs.py", 30) == (
        "udfs.py: still loading after 30 s (an infinite loop at import?)"
    )
    assert describe_timeout(None, 120) == "the UDF loader gave no answer within 120 s"


@pytest.mark.parametrize(
    ("file", "returncode", "expected"),
    [
        ("udfs.py", -signal.SIGSEGV, "udfs.py crashed the interpreter (signal SIGSEGV)"),
        ("udfs.py", 4, "udfs.py ended the interpreter with exit code 4 while being imported"),
        (None, -signal.SIGKILL, "the UDF loader crashed the interpreter (signal SIGKILL)"),
    ],
)
def test_exit_messages(file: str | None, returncode: int, expected: str) -> None:
    assert describe_exit(file, returncode) == expected


def test_load_errors_are_usage_errors() -> None:
    assert UdfLoadError("x").exit_code == ExitCode.USAGE
