"""The per-server record file: newest last, bounded, user-only, a damaged file reads empty."""

from __future__ import annotations

import os
from pathlib import Path

from sparkpush.state.server_records import ServerRecords


def test_the_newest_entries_are_kept_and_a_stored_key_moves_to_the_end(tmp_path: Path) -> None:
    records = ServerRecords(tmp_path / "state" / "servers.json", limit=2)
    records.store("a", 1)
    records.store("b", 2)
    records.store("a", 3)  # a again: now the newest
    records.store("c", 4)  # b, the oldest, goes
    assert records.read() == {"a": 3, "c": 4}
    assert list(records.read()) == ["a", "c"]
    assert oct(os.stat(records.path).st_mode & 0o777) == "0o600"


def test_a_damaged_or_foreign_file_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    for text in ("not json", '{"servers": 3}', '["x"]'):
        path.write_text(text)
        assert ServerRecords(path, limit=4).read() == {}
    path.write_text('{"servers": [["k", true], ["bad"], 7]}')
    assert ServerRecords(path, limit=4).read() == {"k": True}
