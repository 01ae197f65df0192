"""Kinds of UDF from PySpark's eval types."""

from __future__ import annotations

import pytest
from pyspark.util import PythonEvalType

from sparkpush.udf.udf_kind import UdfKind, kind_of_eval_type


@pytest.mark.parametrize(
    ("eval_type", "kind"),
    [
        (PythonEvalType.SQL_BATCHED_UDF, UdfKind.SCALAR),
        (PythonEvalType.SQL_ARROW_BATCHED_UDF, UdfKind.SCALAR),
        (PythonEvalType.SQL_SCALAR_PANDAS_UDF, UdfKind.PANDAS),
        (PythonEvalType.SQL_SCALAR_PANDAS_ITER_UDF, UdfKind.PANDAS),
        (PythonEvalType.SQL_GROUPED_AGG_PANDAS_UDF, UdfKind.PANDAS),
        (250, UdfKind.ARROW),  # SQL_SCALAR_ARROW_UDF, where pyspark has arrow_udf
        (PythonEvalType.SQL_TABLE_UDF, UdfKind.UDTF),
        (PythonEvalType.SQL_ARROW_TABLE_UDF, UdfKind.UDTF),
    ],
)
def test_kind_of_eval_type(eval_type: int, kind: UdfKind) -> None:
    assert kind_of_eval_type(eval_type) is kind
