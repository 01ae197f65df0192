"""`<project>/.sparkpush/environment.lock.json`: the resolved pins, readable, per target.

Each entry says: this input (requirements, pip options, wheels, target) resolved to these
packages, stored in the user's cache under this key. An unchanged input finds its entry and
its cached archive without running pip.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.state.folders import state_dir
from sparkpush.state.private_files import read_json, write_private_json
from sparkpush.state.records import RecordError, record_from_json, record_to_json

LOCK_FILE = "environment.lock.json"
LOCK_VERSION = 1
MAX_ENTRIES = 8


@dataclass(frozen=True, kw_only=True)
class LockEntry:
    input: str
    spec: str
    key: str
    target: str
    packages: dict[str, str]
    left_out: dict[str, str] = field(default_factory=dict)
    """Missing in entries written before it."""
    sha256: str


def lock_path(project_root: Path) -> Path:
    return project_root / ".sparkpush" / LOCK_FILE


def read_lock(project_root: Path) -> list[LockEntry]:
    """The entries, oldest first; none when the file is missing or in another form."""
    document = read_json(lock_path(project_root))
    if not isinstance(document, dict) or document.get("version") != LOCK_VERSION:
        return []
    entries: list[LockEntry] = []
    for raw in document.get("environments") or []:
        with contextlib.suppress(RecordError):
            entries.append(record_from_json(LockEntry, raw, what="environment lock entry"))
    return entries


def find_entry(
    project_root: Path, *, input_key: str | None = None, spec_key: str | None = None
) -> LockEntry | None:
    """The newest entry for this input (or, without a target, for this spec)."""
    for entry in reversed(read_lock(project_root)):
        if input_key is not None and entry.input == input_key:
            return entry
        if input_key is None and entry.spec == spec_key:
            return entry
    return None


def record_entry(project_root: Path, entry: LockEntry) -> None:
    kept = [e for e in read_lock(project_root) if e.input != entry.input][-(MAX_ENTRIES - 1) :]
    state_dir(project_root)
    write_private_json(
        lock_path(project_root),
        {"version": LOCK_VERSION, "environments": [record_to_json(e) for e in (*kept, entry)]},
    )
