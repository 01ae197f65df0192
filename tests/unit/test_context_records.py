"""The sync's steps and UDF registration take one context record (the project, its server,
how to report and load), not the same long parameter list at every step."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from sparkpush.sync.context import SyncContext
from sparkpush.sync.generation_build import build_generation
from sparkpush.sync.session_build import SessionBuild
from sparkpush.udf.registration import (
    UdfContext,
    register_project_udfs,
    register_udfs_knowing_python,
)

MAX_PARAMETERS = 5


@pytest.mark.parametrize(
    ("function", "record"),
    [
        (build_generation, SyncContext),
        (SessionBuild.__init__, SyncContext),
        (register_project_udfs, UdfContext),
        (register_udfs_knowing_python, UdfContext),
    ],
)
def test_a_step_takes_the_context_record_first_and_few_parameters(
    function: Callable[..., Any], record: type
) -> None:
    parameters = [p for p in inspect.signature(function).parameters.values() if p.name != "self"]
    assert parameters[0].annotation == record.__name__
    assert len(parameters) <= MAX_PARAMETERS


@pytest.mark.parametrize("record", [SyncContext, UdfContext])
def test_the_context_records_are_frozen(record: type) -> None:
    assert getattr(record, "__dataclass_params__").frozen  # noqa: B009
