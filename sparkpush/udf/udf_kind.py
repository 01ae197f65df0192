"""What kind of UDF a PySpark eval type is, as `connect udfs` shows it."""

from __future__ import annotations

from enum import Enum


class UdfKind(str, Enum):
    SCALAR = "scalar"
    PANDAS = "pandas"
    ARROW = "arrow"
    UDTF = "udtf"
    JAVA = "java"


def kind_of_eval_type(eval_type: int) -> UdfKind:
    """The kind of a Python UDF from PySpark's `PythonEvalType` number."""
    if eval_type >= 300:
        return UdfKind.UDTF
    if eval_type >= 250:
        return UdfKind.ARROW
    if eval_type >= 200:
        # 207, 209 and 210 are PySpark's Arrow map and grouped-map types.
        return UdfKind.ARROW if eval_type in (207, 209, 210, 215) else UdfKind.PANDAS
    # 100 is a plain Python UDF, 101 the same with Arrow as its transport.
    return UdfKind.SCALAR
