"""The server workers' Python (version, and the full target an environment is built for),
found once per server instead of once per session.

Finding it runs a probe UDF, which starts a Python worker for the session: seconds on every
fresh submit. The answer belongs to the server, so it is remembered under the server's
identity: its URL (no credentials), its `spark.app.id` (new at every server start) and the
session's `spark.sql.execution.pyspark.python` (a session may pick other workers). The file
is user-only, in the user's state dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from sparkpush.connect.client_environment import answer_from_a_worker, run_on_new_session
from sparkpush.connect.session import Session
from sparkpush.environment.target import WorkerTarget
from sparkpush.errors import EnvironmentBuildError, SparkpushError
from sparkpush.remote.target import Target
from sparkpush.state.folders import user_state_dir
from sparkpush.state.server_records import ServerRecords

CACHE_NAME = "worker-python.json"
MAX_ENTRIES = 32
IDENTITY_CONFS = ("spark.app.id", "spark.sql.execution.pyspark.python")
TARGET_PROBE_TIMEOUT_S = 180.0


def server_identity(client: Session, remote: str) -> str | None:
    """A key that changes when the server restarts or the session's workers differ."""
    try:
        values = client.get_conf(IDENTITY_CONFS)
    except SparkpushError:
        return None
    if not values.get("spark.app.id"):
        return None
    text = json.dumps([remote, *(values.get(key) for key in IDENTITY_CONFS)])
    return hashlib.sha256(text.encode()).hexdigest()


class WorkerPythonCache:
    """`{"servers": [[identity, "3.11" or {"version", "target"}], ...]}`, newest last,
    at most MAX_ENTRIES."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or user_state_dir() / CACHE_NAME

    def get(self, identity: str | None) -> str | None:
        if identity is None:
            return None
        found = self._read().get(identity)
        if isinstance(found, dict):
            found = found.get("version")
        return found if isinstance(found, str) else None

    def put(self, identity: str | None, version: str | None) -> None:
        if identity is None or not version:
            return
        known = self._read().get(identity)
        if isinstance(known, dict) and known.get("version") == version:
            return  # keep the target probed with it
        self._store(identity, version)

    def get_target(self, identity: str | None) -> WorkerTarget | None:
        """The workers' full target, if a probe found it for this server."""
        found = self._read().get(identity) if identity is not None else None
        if not isinstance(found, dict) or not isinstance(found.get("target"), dict):
            return None
        try:
            return WorkerTarget.from_json(found["target"])
        except TypeError:  # another version's form: probe again
            return None

    def put_target(self, identity: str | None, target: WorkerTarget) -> None:
        if identity is None:
            return
        self._store(identity, {"version": target.python, "target": target.as_json()})

    def _store(self, identity: str, value: object) -> None:
        ServerRecords(self.path, MAX_ENTRIES).store(identity, value)

    def _read(self) -> dict[str, object]:
        return ServerRecords(self.path, MAX_ENTRIES).read()


def probe_worker_target(target: Target) -> WorkerTarget:
    """Run the facts UDF on a throwaway session of `target` (a child process with PySpark)."""
    stdout = run_on_new_session(
        target.spec, target.ca_file, "sparkpush.environment.worker_probe", TARGET_PROBE_TIMEOUT_S
    )
    if stdout is None:
        raise EnvironmentBuildError(
            f"the server's Python workers did not answer within {TARGET_PROBE_TIMEOUT_S:.0f} s"
        )
    return parse_target_answer(stdout)


def parse_target_answer(stdout: str) -> WorkerTarget:
    """The probe child's last line: {"target": {...}} or {"error": "..."}."""
    lines = stdout.strip().splitlines()
    try:
        answer: Any = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and isinstance(answer.get("target"), dict):
        try:
            return WorkerTarget.from_json(answer["target"])
        except TypeError:
            pass
    error = answer.get("error") if isinstance(answer, dict) else None
    raise EnvironmentBuildError(
        f"cannot find what the server's Python workers run: {error or 'no answer from the probe'}"
    )


def _probe_main() -> int:
    """In the probe child: print the workers' facts as {"target": {...}}."""
    from sparkpush.environment.target import worker_facts

    return answer_from_a_worker("target", worker_facts)


if __name__ == "__main__":
    sys.stdout.flush()
    code = _probe_main()
    sys.stdout.flush()
    os._exit(code)  # skip teardown: gRPC channels can hang it (see the notes)
