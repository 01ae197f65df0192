from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparkpush.sync.generation import Generation, load_generation, manifest_path, save_generation
from sparkpush.udf.registered import RegisteredUdf, SessionUdfs

SESSION = "6f1c1c3e-8e0a-4a34-9d6c-1b0b8f3a2d11"

PLUS_ONE = {
    "kind": "python",
    "return_type": "int",
    "source": "udfs.py",
    "fingerprint": "ff" * 32,
    "generation": 3,
}

# A manifest exactly as sparkpush wrote it before the UDF area became a typed record.
MANIFEST_WRITTEN_BEFORE = {
    "version": 1,
    "session_id": SESSION,
    "generation": 4,
    "remote": "sc://localhost:15002",
    "server_side_session_id": None,
    "updated_at": 1_700_000_000.5,
    "pending_release": [],
    "base": None,
    "entries": [],
    "udfs": {
        "session_id": SESSION,
        "worker_python": "3.11",
        "functions": {
            "plus_one": PLUS_ONE,
            "add_one": {
                "kind": "java",
                "return_type": "IntegerType",
                "source": "com.example.AddOne",
                "fingerprint": "jj",
                "generation": 4,
            },
        },
        "sources": "5e" * 32,
    },
}


def registrations() -> SessionUdfs:
    return SessionUdfs(
        session_id=SESSION,
        worker_python="3.12",
        sources=None,
        functions={
            "plus_one": RegisteredUdf("plus_one", "python", "int", "udfs.py", "ff", 2),
            "adhoc": RegisteredUdf("adhoc", "python", "string", "udfs.py", "aa"),
        },
    )


def write_manifest(root: Path, document: object) -> None:
    path = manifest_path(root)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document))


def test_registrations_round_trip_through_json() -> None:
    document = json.loads(json.dumps(registrations().to_json()))
    assert SessionUdfs.from_json(document) == registrations()


def test_no_registrations_are_written_as_an_empty_object() -> None:
    assert SessionUdfs().to_json() == {}
    assert SessionUdfs.from_json({}) == SessionUdfs()


def test_registrations_round_trip_through_the_manifest(tmp_path: Path) -> None:
    generation = Generation(SESSION, 2, "sc://h", None, {}, udfs=registrations())
    save_generation(tmp_path, generation)
    loaded = load_generation(tmp_path)
    assert loaded is not None and loaded.udfs == registrations()


def test_a_manifest_written_before_the_record_still_loads(tmp_path: Path) -> None:
    write_manifest(tmp_path, MANIFEST_WRITTEN_BEFORE)
    loaded = load_generation(tmp_path)
    assert loaded is not None
    assert loaded.udfs.worker_python == "3.11" and loaded.udfs.sources == "5e" * 32
    assert loaded.registered_udfs() == [
        RegisteredUdf("add_one", "java", "IntegerType", "com.example.AddOne", "jj", 4),
        RegisteredUdf("plus_one", "python", "int", "udfs.py", "ff" * 32, 3),
    ]
    save_generation(tmp_path, loaded)
    assert (
        json.loads(manifest_path(tmp_path).read_text())["udfs"] == (MANIFEST_WRITTEN_BEFORE["udfs"])
    )


def test_registrations_of_another_session_are_not_in_this_one() -> None:
    stale = SessionUdfs(session_id="older", functions=registrations().functions)
    generation = Generation(SESSION, 2, "sc://h", None, {}, udfs=stale)
    assert stale.in_session(SESSION) == SessionUdfs()
    assert generation.registered_udfs() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("session_id", 5),
        ("worker_python", ["3.11"]),
        ("sources", False),
        ("functions", []),
        ("functions", {"plus_one": "ff"}),
        ("functions", {"plus_one": {"kind": "python"}}),
        ("functions", {"plus_one": {**PLUS_ONE, "generation": "3"}}),
        ("functions", {"plus_one": {**PLUS_ONE, "fingerprint": None}}),
    ],
)
def test_a_manifest_with_bad_registrations_is_unusable(
    tmp_path: Path, key: str, value: object
) -> None:
    document = json.loads(json.dumps(MANIFEST_WRITTEN_BEFORE))
    document["udfs"][key] = value
    write_manifest(tmp_path, document)
    assert load_generation(tmp_path) is None
