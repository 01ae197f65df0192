"""pip runs outside the project lock: while a sync builds the project's environment (minutes,
on a real index), the project's other commands are not held up; a second sync that needs the
same environment waits for that build instead of running pip again."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sparkpush.config.settings import ArtifactSettings, Config, EnvironmentSettings, LayerSettings
from sparkpush.environment.session_parts import ARCHIVE_NAME
from sparkpush.remote.server_facts import WORKER_TARGET, ServerFacts
from sparkpush.remote.target import Target
from sparkpush.remote.worker_target import local_target
from sparkpush.state.folders import state_dir
from sparkpush.state.project_lock import SYNC_LOCK
from sparkpush.sync.engine import SyncResult, sync_project
from tests.fake_session import FakeServer
from tests.support.waiting import wait_until

PIP_WAIT_S = 120
"""How long the fake pip waits to be let go before it gives up (it never should)."""


@pytest.fixture
def slow_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pip that says it started (`started` in the folder it returns), then waits for a `go`
    file there before it installs one package: the test decides when the build ends."""
    folder = tmp_path / "pip"
    folder.mkdir()
    script = folder / "pip"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {folder}/calls\n'
        f"touch {folder}/started\n"
        f"n=0; while [ ! -e {folder}/go ]; do\n"
        f"  n=$((n + 1)); [ $n -gt {PIP_WAIT_S * 20} ] && exit 1; sleep 0.05\n"
        "done\n"
        'while [ "$1" != "--target" ]; do shift; done; mkdir -p "$2/m"\n'
        'echo "x = 1" > "$2/m/__init__.py"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("SPARKPUSH_PIP", str(script))
    return folder


@pytest.fixture
def target() -> Iterator[Target]:
    server = FakeServer()
    target = server.target()
    # what the probe child would find out: the workers run here
    ServerFacts(target).remember(WORKER_TARGET, local_target())
    yield target


@pytest.fixture
def config(tmp_path: Path) -> Config:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "jobs.py").write_text("def run(): return 1\n")
    return Config(
        project_root=root,
        artifacts=ArtifactSettings(pyfiles=("src/*.py",)),
        environment=EnvironmentSettings(requirements=("m==1",)),
        layers=LayerSettings(enabled=False),
    )


def in_thread(call: Callable[[], SyncResult]) -> tuple[threading.Thread, list[SyncResult]]:
    results: list[SyncResult] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    return thread, results


def project_lock_free(root: Path) -> bool:
    """Whether another command could take the project lock now (asked without waiting)."""
    fd = os.open(state_dir(root) / SYNC_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_project_lock_is_free_while_pip_builds_the_environment(
    slow_pip: Path, target: Target, config: Config
) -> None:
    thread, results = in_thread(lambda: sync_project(config, target))
    try:
        wait_until(lambda: (slow_pip / "started").exists(), what="pip to start")
        assert project_lock_free(config.project_root)
    finally:
        (slow_pip / "go").touch()
        thread.join()
    [result] = results
    assert result.current_generation is not None
    assert ARCHIVE_NAME in result.current_generation.entries


def test_a_second_sync_waits_for_the_build_and_runs_no_pip_of_its_own(
    slow_pip: Path, target: Target, config: Config
) -> None:
    first, firsts = in_thread(lambda: sync_project(config, target))
    try:
        wait_until(lambda: (slow_pip / "started").exists(), what="pip to start")
        second, seconds = in_thread(lambda: sync_project(config, target))
    finally:
        (slow_pip / "go").touch()
        first.join()
    second.join()
    assert (slow_pip / "calls").read_text().count("install") == 1
    [one], [two] = firsts, seconds
    assert one.current_generation is not None and two.current_generation is not None
    assert (
        two.current_generation.hashes[ARCHIVE_NAME] == one.current_generation.hashes[ARCHIVE_NAME]
    )
