"""The one record codec: every record on disk and on the wire goes through it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pytest

from sparkpush.state.records import OMIT_IF_NONE, RecordError, record_from_json, record_to_json


class Colour(str, Enum):
    RED = "red"
    DARK_BLUE = "dark_blue"


@dataclass(frozen=True)
class Part:
    size: int
    label: str | None = None


@dataclass(frozen=True)
class Whole:
    name: str
    colour: Colour
    ratio: float
    tags: tuple[str, ...]
    pairs: tuple[tuple[str, int], ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    part: Part | None = None
    parts: tuple[Part, ...] = ()
    flag: bool = False
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)


WHOLE = Whole(
    name="w",
    colour=Colour.DARK_BLUE,
    ratio=0.5,
    tags=("a", "b"),
    pairs=(("x", 1),),
    counts={"k": 2},
    part=Part(3),
    parts=(Part(4, "four"),),
)


def test_a_record_survives_a_round_trip_through_json_text() -> None:
    text = json.dumps(record_to_json(WHOLE))
    assert record_from_json(Whole, json.loads(text)) == WHOLE


def test_every_field_is_written_none_and_empty_ones_too() -> None:
    assert record_to_json(Whole("w", Colour.RED, 1.0, ())) == {
        "name": "w",
        "colour": "red",
        "ratio": 1.0,
        "tags": [],
        "pairs": [],
        "counts": {},
        "part": None,
        "parts": [],
        "flag": False,
    }


def test_a_field_marked_omit_if_none_is_written_only_when_set() -> None:
    assert record_to_json(Whole("w", Colour.RED, 1.0, (), note="n"))["note"] == "n"
    assert "note" not in record_to_json(Whole("w", Colour.RED, 1.0, ()))


def test_missing_defaulted_fields_take_their_defaults_as_an_older_writer_left_them() -> None:
    old = {"name": "w", "colour": "red", "ratio": 1, "tags": []}
    assert record_from_json(Whole, old) == Whole("w", Colour.RED, 1.0, ())


def test_unknown_keys_are_ignored_as_a_newer_writer_may_add_them() -> None:
    document = {**record_to_json(WHOLE), "added_later": [1, 2]}
    assert record_from_json(Whole, document) == WHOLE


def _without(key: str) -> dict[str, Any]:
    document = record_to_json(WHOLE)
    del document[key]
    return document


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = record_to_json(WHOLE)
    where: Any = document
    for step in path[:-1]:
        where = where[step]
    where[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_without("name"), "missing required field `name`"),
        (_with(("name",), 3), "Expected `str`, got `int` - at `$.name`"),
        (_with(("colour",), "green"), "Invalid enum value 'green' - at `$.colour`"),
        (_with(("ratio",), "1"), "Expected `float`, got `str` - at `$.ratio`"),
        (_with(("tags",), "a"), "Expected `array`, got `str` - at `$.tags`"),
        (_with(("tags", 1), None), "Expected `str`, got `null` - at `$.tags[1]`"),
        (_with(("pairs", 0), ["x"]), "at `$.pairs[0]`"),
        (_with(("counts", "k"), "2"), "Expected `int`, got `str` - at `$.counts[...]`"),
        (_with(("part", "size"), True), "Expected `int`, got `bool` - at `$.part.size`"),
        (_with(("parts", 0, "label"), 5), "at `$.parts[0].label`"),
        (_with(("flag",), 1), "Expected `bool`, got `int` - at `$.flag`"),
    ],
)
def test_a_bad_document_is_one_line_naming_the_record_and_the_place(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordError) as raised:
        record_from_json(Whole, document)
    assert str(raised.value).startswith("not a whole: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("document", [None, [], "whole", 3])
def test_a_document_that_is_no_object_is_a_record_error(document: Any) -> None:
    with pytest.raises(RecordError, match="not a part"):
        record_from_json(Part, document)


def test_a_record_error_is_a_value_error_so_a_reader_that_skips_bad_files_still_does() -> None:
    assert issubclass(RecordError, ValueError)


def test_the_error_can_name_the_record_as_its_reader_calls_it() -> None:
    with pytest.raises(RecordError, match=r"^not a manifest: "):
        record_from_json(Part, {}, what="manifest")


def test_only_records_are_written() -> None:
    with pytest.raises(TypeError):
        record_to_json({"a": 1})
    with pytest.raises(TypeError):
        record_to_json(Part)
