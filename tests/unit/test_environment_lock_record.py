"""`environment.lock.json` entries through the record codec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sparkpush.environment.lock import LockEntry, lock_path, read_lock, record_entry

ENTRY: dict[str, Any] = {
    "input": "i1",
    "spec": "s1",
    "key": "k1",
    "target": "Python 3.11 (cp311) on linux_x86_64",
    "packages": {"msgpack": "1.0.8"},
    "left_out": {"numpy": "2.0.0"},
    "sha256": "ab" * 32,
}


def write_lock(root: Path, entries: list[Any]) -> None:
    lock_path(root).parent.mkdir(exist_ok=True)
    lock_path(root).write_text(json.dumps({"version": 1, "environments": entries}))


def test_an_entry_reads_back_as_written(tmp_path: Path) -> None:
    record_entry(tmp_path, LockEntry(**ENTRY))
    assert read_lock(tmp_path) == [LockEntry(**ENTRY)]
    assert json.loads(lock_path(tmp_path).read_text())["environments"] == [ENTRY]


def test_an_entry_written_before_left_out_still_loads(tmp_path: Path) -> None:
    older = {k: v for k, v in ENTRY.items() if k != "left_out"}
    write_lock(tmp_path, [older])
    [entry] = read_lock(tmp_path)
    assert entry.left_out == {} and entry.packages == {"msgpack": "1.0.8"}


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in ENTRY.items() if k != "sha256"},
        {**ENTRY, "packages": ["msgpack"]},
        {**ENTRY, "packages": {"msgpack": 1}},
        "entry",
        None,
    ],
)
def test_an_entry_that_is_not_one_is_skipped_and_the_others_kept(tmp_path: Path, bad: Any) -> None:
    write_lock(tmp_path, [bad, ENTRY])
    assert read_lock(tmp_path) == [LockEntry(**ENTRY)]
