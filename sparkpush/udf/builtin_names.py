"""A UDF named like one of Spark's builtin functions never runs from SQL: the builtin wins
(`SELECT to_json('x')` calls Spark's `to_json` whatever was registered under that name).

The builtin names are a server fact (`remote.server_facts.BUILTIN_FUNCTIONS`): asked once per
server and Spark version, so `connect udfs` and `connect doctor` can warn without asking again.
"""

from __future__ import annotations

from collections.abc import Iterable


def builtin_clashes(udf_names: Iterable[str], builtins: frozenset[str] | None) -> list[str]:
    """One warning per UDF whose name is a builtin's (SQL names are case-insensitive)."""
    if not builtins:
        return []
    return [
        f"UDF {name} is named like Spark's builtin function {name.lower()}, which wins in SQL: "
        f"your UDF never runs there; rename it (e.g. {name}_udf; [tool.sparkpush.udf] names "
        "maps a Python name to another SQL name)"
        for name in sorted(set(udf_names))
        if name.lower() in builtins
    ]
