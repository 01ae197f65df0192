"""Refusing pickles made by another Python minor version than the server's workers run."""

from __future__ import annotations

import pytest

from sparkpush.errors import UdfLoadError
from sparkpush.remote.worker_target import worker_python_from_error
from sparkpush.udf.python_version import check_worker_python, local_python, version_mismatch


def test_same_minor_version_is_accepted() -> None:
    assert version_mismatch("3.11", "3.11") is None
    check_worker_python("3.11", "3.11.7")


def test_other_minor_version_is_refused_naming_both() -> None:
    with pytest.raises(UdfLoadError) as caught:
        check_worker_python("3.12", "3.11")
    assert "Python workers run Python 3.11" in caught.value.message
    assert "pickled by Python 3.12" in caught.value.message


@pytest.mark.parametrize(
    ("message", "worker"),
    [
        (
            "[PYTHON_VERSION_MISMATCH] Python in worker has different version: 3.10 than that "
            "in driver: 3.11, PySpark cannot run with different minor versions.",
            "3.10",
        ),
        ("Python in worker has different version (3, 9) than that in driver 3.11", "3.9"),
        ("[UNRESOLVED_ROUTINE] something else", None),
    ],
)
def test_worker_version_is_read_from_the_mismatch_error(message: str, worker: str | None) -> None:
    assert worker_python_from_error(message) == worker


def test_local_python_is_major_dot_minor() -> None:
    major, minor = local_python().split(".")
    assert major.isdigit() and minor.isdigit()
