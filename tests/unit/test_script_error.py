"""The one line a report gets for a script's uncaught exception."""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.errors import PySparkAttributeError, PySparkNotImplementedError

from sparkpush.submit.script_error import (
    NO_RDD_HINT,
    SCRIPT_ERROR_ENV,
    describe_exception,
    read_script_error,
    script_error_file,
    scrub,
    write_script_error,
)


class ProjectError(Exception):
    pass


def test_builtin_exception_is_type_and_first_line_of_its_message() -> None:
    error = describe_exception(ValueError("bad value\nsecond line"))
    assert error.message == "ValueError: bad value"
    assert error.hint is None


def test_exception_without_message_is_its_type() -> None:
    assert describe_exception(KeyError()).message == "KeyError"


def test_other_exceptions_carry_their_module_like_a_traceback() -> None:
    assert describe_exception(ProjectError("x")).message == f"{__name__}.ProjectError: x"


def test_jvm_attributes_and_rdds_get_the_spark_connect_hint() -> None:
    jvm = PySparkAttributeError(
        errorClass="JVM_ATTRIBUTE_NOT_SUPPORTED", messageParameters={"attr_name": "sparkContext"}
    )
    rdd = PySparkNotImplementedError(
        errorClass="NOT_IMPLEMENTED", messageParameters={"feature": "rdd"}
    )
    other = PySparkNotImplementedError(
        errorClass="NOT_IMPLEMENTED", messageParameters={"feature": "foo"}
    )
    assert describe_exception(jvm).hint == NO_RDD_HINT
    assert describe_exception(rdd).hint == NO_RDD_HINT
    assert describe_exception(other).hint is None


def test_secrets_and_token_looking_values_are_cut_out() -> None:
    text = "failed sc://h:1/;token=abc;x-key=hdr1 with Bearer xyz and s3cret"
    assert scrub(text, ["s3cret", "hdr1", "1"]) == (
        "failed sc://h:1/;token=***;x-key=*** with Bearer *** and ***"
    )


def test_the_child_writes_what_the_parent_reads(tmp_path: Path) -> None:
    with script_error_file() as path:
        assert path.parent.stat().st_mode & 0o077 == 0
        write_script_error(RuntimeError("boom tok123"), {SCRIPT_ERROR_ENV: str(path)})
        error = read_script_error(path, ["tok123"])
    assert error is not None
    assert error.message == "RuntimeError: boom ***"
    assert not path.parent.exists()


def test_nothing_written_reads_as_none(tmp_path: Path) -> None:
    assert read_script_error(tmp_path / "missing.json", []) is None
    (tmp_path / "torn.json").write_text('{"mess')
    assert read_script_error(tmp_path / "torn.json", []) is None
    (tmp_path / "odd.json").write_text(json.dumps([1]))
    assert read_script_error(tmp_path / "odd.json", []) is None
