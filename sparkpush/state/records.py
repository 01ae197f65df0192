"""The one codec between our records (frozen dataclasses) and JSON values, on disk and on
the wire.

`record_from_json` checks a document against the record's type hints with msgspec's
`convert` (missing keys, wrong types, bad enum values, nested records, tuples from lists);
keys the record does not know are ignored, so a newer writer's extra keys do not break an
older reader, and a field with a default may be missing, so files an older sparkpush wrote
still load. Anything else raises `RecordError`, one line that names the record and where in
it the problem is (`$.entries[3].size`).

`record_to_json` writes every field (a None or an empty tuple too: the keys we print and keep
do not depend on the values), enums as their values, tuples as lists. msgspec's own
`to_builtins` leaves out fields at their defaults, which would change those keys, so the
encoding side is this short walk over `dataclasses.fields`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

R = TypeVar("R")

OMIT_IF_NONE = {"omit_if_none": True}
"""Field metadata: `record_to_json` leaves the key out while the value is None."""


class RecordError(ValueError):
    """A JSON document that is not the record it should be."""


def record_from_json(kind: type[R], document: Any, *, what: str | None = None) -> R:
    """`document` (parsed JSON) as a `kind`; RecordError, naming `what`, on anything else."""
    # here, not at the top: commands that read no record (`--help`) do not pay its import
    import msgspec

    try:
        return msgspec.convert(document, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise RecordError(f"not a {what or _name_of(kind)}: {exc}") from None


def record_to_json(record: Any) -> dict[str, Any]:
    """A dataclass record as a JSON object (a dict of JSON values)."""
    if isinstance(record, type) or not dataclasses.is_dataclass(record):
        raise TypeError(f"not a record: {type(record).__name__}")
    return _record_to_json(record)


def json_value(value: Any) -> Any:
    """`value` with its records, enums, tuples and mappings turned into JSON values."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in _FIELDS or (dataclasses.is_dataclass(kind) and not isinstance(value, type)):
        return _record_to_json(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}
"""Per record class: each field's name and whether it is left out while None."""


def _record_to_json(record: Any) -> dict[str, Any]:
    kind = type(record)
    names = _FIELDS.get(kind)
    if names is None:
        names = tuple(
            (f.name, bool(f.metadata.get("omit_if_none"))) for f in dataclasses.fields(kind)
        )
        _FIELDS[kind] = names
    document: dict[str, Any] = {}
    for name, omit_if_none in names:
        value = getattr(record, name)
        if value is None and omit_if_none:
            continue
        document[name] = value if type(value) in _PLAIN else json_value(value)
    return document


def _name_of(kind: type) -> str:
    """`SyncSummary` -> `sync summary`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", getattr(kind, "__name__", str(kind))).lower()
