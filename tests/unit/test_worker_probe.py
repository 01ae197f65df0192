"""The workers' Python remembered per server: keyed by what changes on restart, user-only."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from sparkpush.environment.worker_probe import MAX_ENTRIES, WorkerPythonCache, server_identity
from sparkpush.errors import ServerUnreachableError


class _Confs:
    """Stands in for a SessionClient's Config RPC: only `get_conf` is used."""

    def __init__(self, values: Mapping[str, str | None] | None) -> None:
        self.values = values

    def get_conf(self, keys: Iterable[str]) -> dict[str, str | None]:
        if self.values is None:
            raise ServerUnreachableError("gone")
        return {key: self.values.get(key) for key in keys}


def _identity(values: Mapping[str, str | None] | None, remote: str = "sc://h:1") -> str | None:
    return server_identity(_Confs(values), remote)  # type: ignore[arg-type]


def test_identity_changes_with_a_server_restart_and_with_the_workers_python_conf() -> None:
    first = _identity({"spark.app.id": "local-1"})
    assert first is not None
    assert _identity({"spark.app.id": "local-1"}) == first
    assert _identity({"spark.app.id": "local-2"}) != first
    assert _identity({"spark.app.id": "local-1"}, remote="sc://other:1") != first
    other_python = {"spark.app.id": "local-1", "spark.sql.execution.pyspark.python": "env/py"}
    assert _identity(other_python) != first


def test_no_identity_without_an_app_id_or_an_answer() -> None:
    assert _identity({}) is None
    assert _identity(None) is None


def test_cache_is_user_only_and_remembers_per_identity(tmp_path: Path) -> None:
    cache = WorkerPythonCache(tmp_path / "state" / "worker-python.json")
    assert cache.get("a") is None
    cache.put("a", "3.11")
    cache.put("b", "3.12")
    cache.put(None, "3.10")
    assert (cache.get("a"), cache.get("b"), cache.get(None)) == ("3.11", "3.12", None)
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700


def test_cache_keeps_the_newest_entries(tmp_path: Path) -> None:
    cache = WorkerPythonCache(tmp_path / "worker-python.json")
    for index in range(MAX_ENTRIES + 5):
        cache.put(f"server-{index}", "3.11")
    cache.put("server-5", "3.11")  # used again: newest
    assert cache.get("server-0") is None
    assert cache.get("server-5") == "3.11"
    assert cache.get(f"server-{MAX_ENTRIES + 4}") == "3.11"
    assert len(json.loads(cache.path.read_text())["servers"]) == MAX_ENTRIES


def test_a_broken_cache_file_is_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "worker-python.json"
    for text in ("{", "[]", '{"servers": {"a": 1}}', '{"servers": [["a"], 3]}'):
        path.write_text(text)
        assert WorkerPythonCache(path).get("a") is None
