"""The embedded server's disk on the real server: released sessions and cut-off clones leave no
files, not even deleted ones the JVM still holds open."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkpush.config.settings import load_config
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import CallTimeoutError
from sparkpush.remote.target import Target, embedded_spec
from sparkpush.state.server_state import ServerState, StateFiles
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import session_alive

pytestmark = pytest.mark.integration

MB = 1 << 20

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def app_version(_):
    import app.version

    return str(app.version.VERSION)
"""


def server_state(server: EmbeddedServer) -> ServerState:
    state = StateFiles(server.state_home / "sparkpush").load()
    assert state is not None
    return state


def scratch_of(server: EmbeddedServer) -> Path:
    return StateFiles(server.state_home / "sparkpush").scratch


def folders_of(scratch: Path, server_side_id: str) -> list[Path]:
    return [p for p in scratch.rglob(server_side_id) if p.is_dir()]


def session_folders(scratch: Path) -> set[str]:
    """Names of the per-session folders the server keeps (artifacts and files copies)."""
    return {
        p.name
        for pattern in ("local/spark-*/userFiles-*/*", "tmp/artifacts-*/*")
        for p in scratch.glob(pattern)
        if p.is_dir()
    }


def held_deleted(pid: int, server_side_id: str) -> int:
    """Bytes of deleted files of the session that the JVM still holds open."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{fd}"
        try:
            target = os.readlink(path)
            if server_side_id in target and target.endswith(" (deleted)"):
                total += os.stat(path).st_size
        except OSError:
            continue
    return total


def write_version(root: Path, version: int) -> None:
    (root / "src" / "app" / "version.py").write_text(f"VERSION = {version}\n")


@pytest.fixture
def jar_project(tmp_path: Path) -> Path:
    """A 20 MB jar (base), a package whose version changes (code), a UDF answering it."""
    root = tmp_path / "project"
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "__init__.py").write_text("")
    write_version(root, 0)
    (root / "lib").mkdir()
    with zipfile.ZipFile(root / "lib" / "deps.jar", "w", zipfile.ZIP_STORED) as jar:
        jar.writestr("data/blob.bin", os.urandom(20 * MB))
    (root / "udfs.py").write_text(UDFS)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npython = ["src/app"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
    )
    return root


def answer(server: EmbeddedServer, root: Path) -> str:
    result = run_connect(["sql", "--json", "SELECT app_version(1) AS v"], env=server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    return str(rows[0]["v"])


def test_released_generations_leave_no_files_on_the_embedded_server(
    embedded_server: EmbeddedServer, jar_project: Path
) -> None:
    state = server_state(embedded_server)
    scratch = scratch_of(embedded_server)
    released: list[str] = []
    for version in range(3):
        write_version(jar_project, version)
        # a query: the executor fetches the generation's jar into its own folder and opens it
        assert answer(embedded_server, jar_project) == str(version)
        generation = load_generation(jar_project)
        assert generation is not None and generation.server_side_session_id is not None
        released.append(generation.server_side_session_id)
    current = released.pop()  # the last generation serves on
    for server_side_id in released:
        assert folders_of(scratch, server_side_id) == [], "a released generation's folder"
        assert held_deleted(state.pid, server_side_id) == 0, "its jar still held on disk"
    assert folders_of(scratch, current), "the serving generation keeps its files"
    assert answer(embedded_server, jar_project) == "2"


@pytest.fixture
def cut_off_clones(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every CloneSession gets a deadline shorter than the server's copy; the clone ids."""
    asked: list[str] = []
    original = SessionClient.clone_session

    def short(self: SessionClient, timeout: float = 10.0, clone_id: str | None = None) -> Any:
        asked.append(str(clone_id))
        return original(self, timeout=0.5, clone_id=clone_id)

    monkeypatch.setattr(SessionClient, "clone_session", short)
    yield asked


def test_a_clone_cut_off_by_its_deadline_leaves_no_session_and_no_files(
    embedded_server: EmbeddedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cut_off_clones: list[str],
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    with (root / "big.bin").open("wb") as big:  # files are copied twice per clone: seconds
        for _ in range(5):
            big.write(os.urandom(50 * MB))
    (root / "job.py").write_text("X = 1\n")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npyfiles = ["job.py"]\nfiles = ["big.bin"]\n'
    )
    monkeypatch.setenv("XDG_STATE_HOME", str(embedded_server.state_home))
    state = server_state(embedded_server)
    scratch = scratch_of(embedded_server)
    target = Target(embedded_spec(state), "embedded", embedded=state)
    before = session_folders(scratch)
    with pytest.raises(CallTimeoutError):
        sync_project(load_config(root / "pyproject.toml"), target)
    [clone_id] = cut_off_clones
    # the server finished the copy after the call gave up; it is released, not left for an hour
    assert not session_alive(embedded_server, clone_id)
    assert unfinished_sessions(root) == []
    assert session_folders(scratch) <= before, "the clone's or the base's folders are left"
