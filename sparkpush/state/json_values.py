"""Reading back the JSON we wrote: each value checked to be of the kind we wrote."""

from __future__ import annotations

from typing import Any


def typed(value: Any, kind: type) -> Any:
    """`value` if it is a `kind` (a boolean is never an int here); else TypeError."""
    if isinstance(value, bool) and kind is not bool:
        raise TypeError(f"expected {kind.__name__}, got a boolean")
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def optional_str(value: Any) -> str | None:
    return None if value is None else typed(value, str)
