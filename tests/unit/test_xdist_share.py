"""The generation a pytest-xdist controller holds, as its workers read it: only a worker of
that very controller takes it, never a nested pytest that inherited the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sparkpush.live.live_project import HeldGeneration, Revision
from sparkpush.live.xdist_share import (
    SHARED_ENV,
    XDIST_WORKER_ENV,
    publish_for_workers,
    shared_from_controller,
    withdraw,
)

HELD = HeldGeneration(
    session_id="11111111-1111-4111-8111-111111111111",
    server_side_session_id="s-1",
    number=4,
    udfs=("shout",),
    by_daemon=True,
    owned=True,
    revision=Revision(4, "digest"),
)

READ_IN_A_CHILD = (
    "from sparkpush.live.xdist_share import shared_from_controller\n"
    "print(repr(shared_from_controller()))\n"
)


def read_in_child(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", READ_IN_A_CHILD], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_worker_of_this_controller_takes_the_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(XDIST_WORKER_ENV, raising=False)
    publish_for_workers(HELD, "sc://localhost:15002")
    try:
        env = {**dict(os.environ), XDIST_WORKER_ENV: "gw0"}
        shown = read_in_child(env)
        assert "session_id='11111111-1111-4111-8111-111111111111'" in shown
        assert "owned=True" in shown and "udfs=('shout',)" in shown
        assert "Revision(generation=4, digest='digest')" in shown
        assert "remote='sc://localhost:15002'" in shown
        assert "token" not in dict(os.environ)[SHARED_ENV]
        # not a worker: a nested pytest run with the variable inherited
        assert read_in_child(dict(os.environ)) == "None"
        # a worker, but of another process (this one is its parent's child, not the owner)
        monkeypatch.setenv(XDIST_WORKER_ENV, "gw0")
        assert shared_from_controller() is None
    finally:
        withdraw()
    assert SHARED_ENV not in dict(os.environ)


def test_a_garbled_variable_is_no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(XDIST_WORKER_ENV, "gw1")
    monkeypatch.setenv(SHARED_ENV, '{"owner_pid": "x"}')
    assert shared_from_controller() is None


@pytest.mark.parametrize(
    "held",
    [
        {"session_id": 5},
        {"udfs": "shout"},
        {"revision": {"generation": "4", "digest": "d"}},
        {"by_daemon": "yes"},
    ],
)
def test_a_held_generation_with_values_of_the_wrong_kind_is_no_generation(
    monkeypatch: pytest.MonkeyPatch, held: dict[str, object]
) -> None:
    publish_for_workers(HELD, "sc://localhost:15002")
    try:
        document = json.loads(os.environ[SHARED_ENV])
        document.update(owner_pid=os.getppid(), held={**document["held"], **held})
        monkeypatch.setenv(SHARED_ENV, json.dumps(document))
        monkeypatch.setenv(XDIST_WORKER_ENV, "gw0")
        assert shared_from_controller() is None
    finally:
        withdraw()
