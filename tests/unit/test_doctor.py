"""`connect doctor`'s pure parts: reading the probe's answer, versions, rendering."""

from __future__ import annotations

import json

import pytest

from sparkpush.cli.commands.doctor import render_check
from sparkpush.doctor import Check, check_spark_version, parse_probe_answer


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (json.dumps({"version": [3, 11]}), (3, 11)),
        ("noise\n" + json.dumps({"version": [3, 12]}) + "\n", (3, 12)),
        (
            json.dumps(
                {
                    "error": "[PYTHON_VERSION_MISMATCH] Python in worker has different version: "
                    "3.10 than that in driver: 3.11, PySpark cannot run with different minor"
                }
            ),
            (3, 10),
        ),
        (json.dumps({"error": "boom"}), "boom"),
        ("", "the probe UDF failed without a message"),
        ("Traceback (most recent call last):", "the probe UDF failed without a message"),
    ],
)
def test_parse_probe_answer(stdout: str, expected: object) -> None:
    assert parse_probe_answer(stdout) == expected


def test_spark_major_mismatch_fails_with_a_fix() -> None:
    check = check_spark_version("3.5.1")
    assert not check.ok
    assert "pyspark 3.x" in check.fix


def test_render_check_shows_the_fix_only_on_failure() -> None:
    assert render_check(Check("java", True, "Java 17", "unused")) == "OK   java: Java 17"
    assert (
        render_check(Check("java", False, "no Java", "install Java 17+"))
        == "FAIL java: no Java -- fix: install Java 17+"
    )
