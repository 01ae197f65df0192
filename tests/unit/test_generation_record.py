from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from sparkpush.state.folders import state_dir
from sparkpush.sync.generation import (
    BaseSession,
    Generation,
    StoredArtifact,
    load_generation,
    manifest_path,
    save_generation,
)
from sparkpush.udf.registered import RegisteredUdf, SessionUdfs


def sample(generation: int = 3) -> Generation:
    return Generation(
        session_id="6f1c1c3e-8e0a-4a34-9d6c-1b0b8f3a2d11",
        number=generation,
        remote="sc://localhost:15002",
        server_side_session_id="d2a4f7a0-0000-4000-8000-000000000000",
        entries={
            "jars/a.jar": StoredArtifact("jars/a.jar", "ab" * 32, 1234, "libs/a.jar", 1),
            "pyfiles/src-0123456789ab.zip": StoredArtifact(
                "pyfiles/src-0123456789ab.zip", "cd" * 32, 99, "src", generation
            ),
        },
        udfs=SessionUdfs(
            session_id="6f1c1c3e-8e0a-4a34-9d6c-1b0b8f3a2d11",
            worker_python="3.11",
            sources="5e" * 32,
            functions={"plus_one": RegisteredUdf("plus_one", "python", "int", "udfs", "ff", 2)},
        ),
        updated_at=1_700_000_000.5,
        pending_release=("0b0b0b0b-0000-4000-8000-000000000001",),
    )


def test_round_trip(tmp_path: Path) -> None:
    save_generation(tmp_path, sample())
    assert load_generation(tmp_path) == sample()


def test_round_trip_without_server_side_id_or_udfs(tmp_path: Path) -> None:
    generation = Generation(
        session_id="s", number=1, remote="sc://h", server_side_session_id=None, entries={}
    )
    save_generation(tmp_path, generation)
    loaded = load_generation(tmp_path)
    assert loaded == generation
    assert loaded is not None and loaded.udfs == SessionUdfs() and loaded.pending_release == ()


def test_hashes_feed_the_planner(tmp_path: Path) -> None:
    assert sample().hashes == {"jars/a.jar": "ab" * 32, "pyfiles/src-0123456789ab.zip": "cd" * 32}


def test_missing_manifest_is_none(tmp_path: Path) -> None:
    assert load_generation(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b"[]",
        b"null",
        b'{"version": 2}',
        b'{"version": 1}',
    ],
)
def test_corrupt_manifest_is_none(tmp_path: Path, content: bytes) -> None:
    path = manifest_path(tmp_path)
    path.parent.mkdir()
    path.write_bytes(content)
    assert load_generation(tmp_path) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("generation", "3"),
        ("generation", True),
        ("session_id", None),
        ("server_side_session_id", 5),
        ("entries", {}),
        ("entries", [{"name": "jars/a.jar"}]),
        ("entries", ["jars/a.jar"]),
        ("udfs", []),
        ("updated_at", "yesterday"),
        ("pending_release", [1]),
    ],
)
def test_manifest_with_a_wrong_field_is_none(tmp_path: Path, key: str, value: object) -> None:
    save_generation(tmp_path, sample())
    path = manifest_path(tmp_path)
    document = json.loads(path.read_text())
    document[key] = value
    path.write_text(json.dumps(document))
    assert load_generation(tmp_path) is None


def test_manifest_that_is_a_folder_is_none(tmp_path: Path) -> None:
    manifest_path(tmp_path).mkdir(parents=True)
    assert load_generation(tmp_path) is None


def test_state_dir_and_manifest_are_private(tmp_path: Path) -> None:
    folder = state_dir(tmp_path)
    assert folder == tmp_path / ".sparkpush"
    folder.chmod(0o755)
    save_generation(tmp_path, sample())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(manifest_path(tmp_path).stat().st_mode) == 0o600


def test_saving_twice_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    save_generation(tmp_path, sample(generation=1))
    save_generation(tmp_path, sample(generation=2))
    assert [p.name for p in state_dir(tmp_path).iterdir()] == ["manifest.json"]
    loaded = load_generation(tmp_path)
    assert loaded is not None and loaded.number == 2


def test_failed_save_keeps_the_old_manifest(tmp_path: Path) -> None:
    save_generation(tmp_path, sample(generation=1))
    broken = Generation(
        session_id="s",
        number=2,
        remote="r",
        server_side_session_id=None,
        entries={},
        udfs=SessionUdfs(session_id=object()),  # type: ignore[arg-type]
    )
    with pytest.raises(TypeError):
        save_generation(tmp_path, broken)
    loaded = load_generation(tmp_path)
    assert loaded is not None and loaded.number == 1
    assert [p.name for p in state_dir(tmp_path).iterdir()] == ["manifest.json"]


def test_a_layered_generation_keeps_its_base(tmp_path: Path) -> None:
    base = BaseSession("b" * 8, "bs" * 4, ("jars/a.jar",), "cf" * 32)
    generation = replace(sample(), base=base)
    save_generation(tmp_path, generation)
    loaded = load_generation(tmp_path)
    assert loaded == generation
    assert loaded is not None and loaded.base is not None
    assert loaded.base.digest(loaded.entries) == base.digest(generation.entries)
    changed = {
        **generation.entries,
        "jars/a.jar": replace(generation.entries["jars/a.jar"], sha256="0"),
    }
    assert base.digest(changed) != base.digest(generation.entries)


def test_a_manifest_written_before_layers_has_no_base(tmp_path: Path) -> None:
    save_generation(tmp_path, sample())
    document = json.loads(manifest_path(tmp_path).read_text())
    del document["base"]
    manifest_path(tmp_path).write_text(json.dumps(document))
    loaded = load_generation(tmp_path)
    assert loaded is not None and loaded.base is None and loaded.session_id == sample().session_id


MANIFEST_AS_WRITTEN = {
    "version": 1,
    "session_id": "s-2",
    "generation": 2,
    "remote": "sc://localhost:15002",
    "server_side_session_id": None,
    "updated_at": 1700000000.5,
    "pending_release": ["s-1"],
    "udfs": {},
    "base": {
        "session_id": "b-1",
        "server_side_session_id": "bs-1",
        "names": ["jars/a.jar", "jars/b.jar"],
        "conf": "cf",
    },
    "entries": [
        {"name": "jars/a.jar", "sha256": "ab", "size": 3, "source": "libs/a.jar", "generation": 1},
        {"name": "jars/b.jar", "sha256": "cd", "size": 4, "source": "libs/b.jar", "generation": 2},
    ],
}


def test_a_manifest_an_earlier_sparkpush_wrote_loads_and_is_written_back_the_same(
    tmp_path: Path,
) -> None:
    path = manifest_path(tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps(MANIFEST_AS_WRITTEN, indent=2))
    loaded = load_generation(tmp_path)
    assert loaded is not None and loaded.number == 2
    assert loaded.base is not None and loaded.base.names == ("jars/a.jar", "jars/b.jar")
    assert loaded.entries["jars/b.jar"].size == 4
    save_generation(
        tmp_path, replace(loaded, base=replace(loaded.base, names=("jars/b.jar", "jars/a.jar")))
    )
    assert json.loads(path.read_text()) == MANIFEST_AS_WRITTEN


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("entries", 1, "size"), "4"),
        (("entries", 0, "generation"), True),
        (("base", "names"), "jars/a.jar"),
        (("updated_at",), "now"),
        (("pending_release", 0), 7),
    ],
)
def test_a_manifest_with_a_bad_value_deep_inside_is_a_miss_with_a_warning_naming_it(
    tmp_path: Path, path: tuple[object, ...], value: object, caplog: pytest.LogCaptureFixture
) -> None:
    document = json.loads(json.dumps(MANIFEST_AS_WRITTEN))
    where = document
    for step in path[:-1]:
        where = where[step]
    where[path[-1]] = value
    manifest_path(tmp_path).parent.mkdir()
    manifest_path(tmp_path).write_text(json.dumps(document))
    assert load_generation(tmp_path) is None
    assert "not a manifest" in caplog.text and "$." + str(path[0]) in caplog.text
