"""The probe child: what the server's Python workers run, read by a one-row UDF on a throwaway
session of their own (seconds: the session starts a Python worker).

`run_worker_probe` starts `python -m sparkpush.remote.worker_probe` (a `ChildProcess`) with
PySpark's client on a new session (see `connect.client_environment`): nothing on its stdin,
and the child prints one JSON line, the workers' `worker_facts()` as {"target": {...}} or
{"error": "..."}; a child still running after `PROBE_TIMEOUT_S` is killed. A worker on
another Python minor refuses the UDF itself (PYTHON_VERSION_MISMATCH), naming its version:
that much is an answer too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sparkpush.connect.client_environment import answer_from_a_worker, session_environment
from sparkpush.connect.connection_string import new_session_id
from sparkpush.processes.child_process import StartChild, output_within, start_module
from sparkpush.remote.target import Target
from sparkpush.remote.worker_target import WorkerTarget, worker_python_from_error

PROBE_TIMEOUT_S = 180.0
PROBE_MODULE = "sparkpush.remote.worker_probe"

WorkerProbe = Callable[[Target], str | None]
"""Runs the probe child against `target`: its stdout, or None when it did not finish in time."""


def run_worker_probe(
    target: Target, start: StartChild = start_module, timeout: float = PROBE_TIMEOUT_S
) -> str | None:
    """The real probe child (a PySpark client in a process of its own): its stdout, or None
    when it did not finish within `timeout` seconds."""
    env = session_environment(target.spec, new_session_id(), None, target.ca_file)
    child = start(PROBE_MODULE, env)
    child.close_input()
    return output_within(child, timeout)


@dataclass(frozen=True)
class ProbeAnswer:
    """What the probe child found: the whole target, or at least the workers' Python, or why not."""

    worker_target: WorkerTarget | None = None
    python: str | None = None
    """`3.11`: known with the target, and also when the workers refused the UDF as another minor."""
    error: str = ""


def parse_probe_answer(stdout: str) -> ProbeAnswer:
    """The probe child's last line (noise before it is PySpark's)."""
    lines = stdout.strip().splitlines()
    try:
        answer: Any = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if isinstance(answer.get("target"), dict):
        try:
            worker_target = WorkerTarget.from_json(answer["target"])
        except ValueError:  # another version's form
            pass
        else:
            return ProbeAnswer(worker_target=worker_target, python=worker_target.python)
    error = " ".join(str(answer.get("error") or "no answer from the probe").split())
    return ProbeAnswer(python=worker_python_from_error(error), error=error)


def _probe_main() -> int:
    """In the probe child: print the workers' facts as {"target": {...}}."""
    from sparkpush.remote.worker_target import worker_facts

    return answer_from_a_worker("target", worker_facts)


if __name__ == "__main__":
    sys.stdout.flush()
    code = _probe_main()
    sys.stdout.flush()
    os._exit(code)  # skip teardown: gRPC channels can hang it (see the notes)
