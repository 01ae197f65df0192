"""What is read back from the environment cache is the user's own and hashes to its record:
a planted archive with the right `environment.json` is rebuilt, never sent; a folder another
user owns or may write is refused; bytes that changed after the check never leave."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.config.settings import Config, EnvironmentSettings
from sparkpush.connect.artifact_stream import CHUNK_BYTES, upload_artifacts
from sparkpush.connect.proto import pb
from sparkpush.environment import cache
from sparkpush.environment.build import ensure_environment
from sparkpush.environment.cache import cache_root, load_cached
from sparkpush.environment.lock import read_lock
from sparkpush.environment.spec import read_spec
from sparkpush.errors import ArtifactChangedError, ExitCode, UnsafeStateDirError
from sparkpush.remote.worker_target import local_target
from tests.fake_session import FakeServer

FAKE_PIP = (
    '#!/bin/sh\necho "$@" >> {log}\nwhile [ "$1" != "--target" ]; do shift; done\n'
    'mkdir -p "$2/m"; echo "x = 1" > "$2/m/__init__.py"\n'
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Config, Path]:
    """A project whose environment was built once (by a pip that writes one module)."""
    log = tmp_path / "pip-calls"
    pip = tmp_path / "pip"
    pip.write_text(FAKE_PIP.format(log=log))
    pip.chmod(0o755)
    monkeypatch.setenv("SPARKPUSH_PIP", str(pip))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = Config(project_root=tmp_path, environment=EnvironmentSettings(requirements=("m",)))
    assert ensure_environment(config, read_spec(config), local_target()).built_now
    return config, log


def entry_folder(config: Config) -> Path:
    (entry,) = read_lock(config.project_root)
    return cache_root() / entry.key


def test_an_archive_with_the_right_record_and_other_bytes_is_rebuilt_never_used(
    built: tuple[Config, Path],
) -> None:
    config, pip_log = built
    folder = entry_folder(config)
    original = (folder / "env.tar.gz").read_bytes()
    planted = folder / "env.tar.gz.planted"
    planted.write_bytes(b"#!/bin/sh\nid\n" + original[13:])  # same size, other bytes
    planted.chmod(0o600)
    os.replace(planted, folder / "env.tar.gz")  # environment.json untouched: its sha256 matches
    again = ensure_environment(config, read_spec(config), local_target())
    assert again.built_now and pip_log.read_text().count("install") == 2
    assert (folder / "env.tar.gz").read_bytes() == original


def test_an_unchanged_entry_is_hashed_once_per_file_identity(
    built: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = built
    key = entry_folder(config).name
    hashed: list[Path] = []
    real = cache.file_sha256

    def recorded_sha256(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(cache, "file_sha256", recorded_sha256)
    cache._verified.clear()  # a new process: only the stamp in the entry is left
    for _ in range(3):
        assert load_cached(key) is not None
    assert hashed == []  # the build's own hash was stamped
    archive = entry_folder(config) / "env.tar.gz"
    os.utime(archive, ns=(1, 1))  # a new identity: hashed again, once
    for _ in range(3):
        assert load_cached(key) is not None
    assert hashed == [archive]


@as_root
@pytest.mark.parametrize("which", ["entry", "envs", "sparkpush"])
def test_a_cache_folder_of_another_user_is_refused(built: tuple[Config, Path], which: str) -> None:
    config, _ = built
    folder = {
        "entry": entry_folder(config),
        "envs": cache_root(),
        "sparkpush": cache_root().parent,
    }[which]
    os.chown(folder, 65534, 65534)
    with pytest.raises(UnsafeStateDirError, match="belongs to uid 65534") as raised:
        ensure_environment(config, read_spec(config), local_target())
    assert raised.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("where", "mode", "message"),
    [
        ("entry", 0o777, "group or others may write"),
        ("archive", 0o666, "group or others may write"),
        ("above", 0o777, "group or others may write"),
    ],
)
def test_a_cache_others_may_write_is_refused(
    built: tuple[Config, Path], where: str, mode: int, message: str
) -> None:
    config, _ = built
    folder = entry_folder(config)
    path = {"entry": folder, "archive": folder / "env.tar.gz", "above": cache_root().parent.parent}
    path[where].chmod(mode)
    with pytest.raises(UnsafeStateDirError, match=message):
        ensure_environment(config, read_spec(config), local_target())


def test_a_shared_sticky_folder_above_the_cache_is_fine(built: tuple[Config, Path]) -> None:
    config, _ = built
    cache_root().parent.parent.chmod(0o1777)  # XDG_CACHE_HOME in a /tmp-like folder
    assert not ensure_environment(config, read_spec(config), local_target()).built_now


class RecordingSession:
    """Keeps each request as it is pulled from the stream, as the wire would see it."""

    def __init__(self) -> None:
        self.fake = FakeServer().open()
        self.sent: list[pb.AddArtifactsRequest] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.fake, name)

    def add_artifacts(
        self, requests: Iterable[pb.AddArtifactsRequest], timeout: float | None = None
    ) -> pb.AddArtifactsResponse:
        def recorded() -> Iterator[pb.AddArtifactsRequest]:
            for request in requests:
                self.sent.append(request)
                yield request

        return self.fake.add_artifacts(recorded(), timeout)


@pytest.mark.parametrize("size", [100, 3 * CHUNK_BYTES + 5])
def test_bytes_that_do_not_hash_to_the_record_never_complete_an_upload(
    tmp_path: Path, size: int
) -> None:
    archive = tmp_path / "env.tar.gz"
    archive.write_bytes(b"p" * size)
    recorded = "0" * 64
    session = RecordingSession()
    artifact = LocalArtifact("archives/sparkpush_env.tar.gz#sparkpush_env", archive, None, recorded)
    with pytest.raises(ArtifactChangedError, match="does not hash to its recorded sha256"):
        upload_artifacts(session, [artifact])  # type: ignore[arg-type]
    kinds = [r.WhichOneof("payload") for r in session.sent]
    if size <= CHUNK_BYTES:
        assert kinds == []  # a small artifact is checked before its batch leaves
    else:  # every chunk but the last: the server never has the whole artifact
        assert kinds == ["begin_chunk"] + ["chunk"] * (-(-size // CHUNK_BYTES) - 2)
    stored = session.fake.server.sessions.get(session.fake.session_id)
    assert stored is None or stored.artifacts == {}
