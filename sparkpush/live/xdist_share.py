"""pytest-xdist: the controller holds the generation, each worker clones that same generation.

`connect test -n N`: the controller (the `connect test` process) syncs and holds the project's
generation before its workers start, and leaves what it holds in the environment the workers
inherit (session ids only: no token, which each worker reads from where the controller did).
A worker takes that generation instead of syncing on its own, and records each clone it makes
under the controller's process id: the worker releases its clones when it ends, and the
controller releases any a worker left (killed, or stopped on Ctrl-C before it could) once the
workers are gone (`LiveProject.close`). A controller killed with `kill -9` leaves the records to
the project's next sync.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from sparkpush.live.live_project import HeldGeneration
from sparkpush.state.records import record_from_json, record_to_json

SHARED_ENV = "SPARKPUSH_TEST_GENERATION"
XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"
"""Set by pytest-xdist in each worker before it reads any conftest."""


@dataclass(frozen=True)
class SharedGeneration:
    """What the controller holds, as its workers see it."""

    owner_pid: int
    """The controller's process id: a worker's clones are recorded under it."""
    remote: str
    """The server, without a token (`ConnectionSpec.display()`)."""
    held: HeldGeneration


def publish_for_workers(held: HeldGeneration, remote: str) -> None:
    """In the controller, before the workers start: what they clone from."""
    shared = SharedGeneration(owner_pid=os.getpid(), remote=remote, held=held)
    os.environ[SHARED_ENV] = json.dumps(record_to_json(shared))


def withdraw() -> None:
    os.environ.pop(SHARED_ENV, None)


def shared_from_controller() -> SharedGeneration | None:
    """In a pytest-xdist worker of a controller that published its generation: that
    generation; else None (a nested pytest inherits the variable, not the parent process)."""
    text = os.environ.get(SHARED_ENV)
    if not text or not os.environ.get(XDIST_WORKER_ENV):
        return None
    try:
        shared = record_from_json(SharedGeneration, json.loads(text))
    except ValueError:  # not JSON, or a RecordError
        return None
    return shared if shared.owner_pid == os.getppid() else None
