"""The order the suite runs in: the long integration files first (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.conftest import LONG_FILES, run_order

INTEGRATION = Path(__file__).parents[1] / "integration"


def fake_item(path: Path) -> pytest.Item:
    return cast(pytest.Item, SimpleNamespace(path=path))


def test_every_long_file_is_an_integration_test_file() -> None:
    missing = [name for name in LONG_FILES if not (INTEGRATION / name).is_file()]
    assert not missing, f"renamed or removed: update LONG_FILES: {missing}"


def test_long_files_run_first_longest_first_and_the_rest_keep_their_order() -> None:
    names = ["test_aaa.py", LONG_FILES[1], "test_zzz.py", LONG_FILES[0]]
    items: list[Any] = [fake_item(INTEGRATION / name) for name in names]
    items.append(fake_item(INTEGRATION.parent / "unit" / LONG_FILES[0]))  # not integration
    ordered = sorted(items, key=run_order)
    assert [(item.path.parent.name, item.path.name) for item in ordered] == [
        ("integration", LONG_FILES[0]),
        ("integration", LONG_FILES[1]),
        ("integration", "test_aaa.py"),
        ("integration", "test_zzz.py"),
        ("unit", LONG_FILES[0]),
    ]
