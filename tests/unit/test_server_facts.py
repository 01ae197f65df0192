"""The server-facts service against the in-memory server and a fake probe child: each fact
asked once per server start (or Spark version), asked again after a restart (or an upgrade),
a damaged cache is a miss, a failed probe leaves nothing behind."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.errors import (
    CloneUnsupportedError,
    EnvironmentBuildError,
    ServerError,
    ServerUnreachableError,
)
from sparkpush.remote.server_facts import (
    BUILTIN_FUNCTIONS,
    CLONE_SESSION,
    MAX_SERVERS,
    WORKER_PYTHON,
    WORKER_TARGET,
    FactCache,
    ServerFacts,
)
from sparkpush.remote.target import Target
from sparkpush.remote.worker_probe import parse_probe_answer
from sparkpush.remote.worker_target import WorkerTarget
from tests.fake_session import FakeServer
from tests.support.worker_targets import LINUX_WORKERS

MISMATCH = (
    "[PYTHON_VERSION_MISMATCH] Python in worker has different version: 3.10 than that in "
    "driver: 3.11, PySpark cannot run with different minor versions."
)


class FakeProbeChild:
    """Stands in for the probe child (no PySpark process): prints `answers` in turn."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.runs: list[Target] = []

    def __call__(self, target: Target) -> str | None:
        self.runs.append(target)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def target_answer(target: WorkerTarget = LINUX_WORKERS) -> str:
    return "some PySpark noise\n" + json.dumps({"target": target.as_json()}) + "\n"


def facts_of(server: FakeServer, probe: FakeProbeChild, **session_conf: str) -> ServerFacts:
    """A command's facts, asked on a session of its own (with `session_conf` set)."""
    target = server.target()
    session = target.session()
    if session_conf:
        session.set_conf(session_conf)
    return ServerFacts(target, session, probe=probe)


def test_the_workers_target_is_asked_once_per_server_start() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    assert facts_of(server, probe).worker_target() == LINUX_WORKERS
    assert facts_of(server, probe).worker_target() == LINUX_WORKERS  # another command: remembered
    assert facts_of(server, probe).worker_python() == "3.11"  # learnt with the target
    assert len(probe.runs) == 1
    server.restart()
    assert facts_of(server, probe).worker_target() == LINUX_WORKERS
    assert len(probe.runs) == 2


def test_the_workers_are_asked_again_for_a_session_that_picks_other_workers() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    facts_of(server, probe).worker_target()
    other = facts_of(server, probe, **{"spark.sql.execution.pyspark.python": "env/bin/python"})
    assert other.known(WORKER_TARGET) is None
    other.worker_target()
    assert len(probe.runs) == 2


def test_a_python_found_by_the_udf_loader_is_known_to_the_next_command() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    first = facts_of(server, probe)
    assert first.known(WORKER_PYTHON) is None
    first.remember(WORKER_PYTHON, "3.12")
    assert facts_of(server, probe).worker_python() == "3.12"
    assert probe.runs == []
    server.restart()
    assert facts_of(server, probe).known(WORKER_PYTHON) is None


@pytest.mark.parametrize(
    "answer",
    [None, '{"error": "boom"}', "Traceback (most recent call last):\n", ""],
    ids=["timeout", "error", "crash", "silence"],
)
def test_a_failed_probe_is_not_remembered(answer: str | None) -> None:
    server, probe = FakeServer(), FakeProbeChild(answer, target_answer())
    with pytest.raises(EnvironmentBuildError) as failed:
        facts_of(server, probe).worker_target()
    assert "Python workers" in failed.value.message
    if answer is None:
        assert "did not answer within 180 s" in failed.value.message
    assert facts_of(server, probe).known(WORKER_TARGET) is None
    assert facts_of(server, probe).known(WORKER_PYTHON) is None
    assert facts_of(server, probe).worker_target() == LINUX_WORKERS  # asked again, then remembered
    assert len(probe.runs) == 2


def test_workers_on_another_minor_name_their_python_in_the_refusal() -> None:
    server, probe = FakeServer(), FakeProbeChild(json.dumps({"error": MISMATCH}))
    with pytest.raises(EnvironmentBuildError, match="PYTHON_VERSION_MISMATCH"):
        facts_of(server, probe).worker_target()  # no target: the environment cannot be built
    assert facts_of(server, probe).worker_python() == "3.10"  # but the version is known
    assert len(probe.runs) == 1


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        '{"servers": {"a": 1}}',
        '{"servers": [["a"], 3]}',
        "\x00\xff binary",
        "FOREIGN",  # a well-formed file whose entry for this server has values of other forms
    ],
)
def test_a_corrupt_cache_file_is_a_miss(text: str) -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    facts_of(server, probe).worker_target()
    path = FactCache().path
    if text == "FOREIGN":
        [[identity, _]] = json.loads(path.read_text())["servers"]
        foreign = {"worker_target": {"python": 3}, "worker_python": [3, 11], "clone_session": 1}
        text = json.dumps({"servers": [[identity, foreign]]})
    path.write_text(text)
    facts = facts_of(server, probe)
    assert facts.known(WORKER_PYTHON) is None
    assert facts.known(CLONE_SESSION) is None
    assert facts.worker_target() == LINUX_WORKERS
    assert len(probe.runs) == 2
    assert facts_of(server, probe).worker_target() == LINUX_WORKERS  # the file is whole again
    assert len(probe.runs) == 2


def test_without_the_servers_start_nothing_is_remembered() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    server.fail("get_conf", ServerUnreachableError("gone"), ServerUnreachableError("gone"))
    facts_of(server, probe).worker_target()
    facts_of(server, probe).worker_target()
    assert len(probe.runs) == 2
    assert not FactCache().path.exists()


def counting_clone(server: FakeServer, calls: list[int]) -> Callable[[], tuple[str, str]]:
    def clone() -> tuple[str, str]:
        calls.append(1)
        source = server.target().session()
        source.set_conf({"spark.sparkpush.test": "1"})  # the server clones only what it holds
        return source.clone_session()

    return clone


def test_clone_support_holds_across_restarts_and_is_asked_again_after_an_upgrade() -> None:
    server, probe = FakeServer(supports_clone=False), FakeProbeChild("")
    calls: list[int] = []
    assert facts_of(server, probe).clone_or_none(counting_clone(server, calls)) is None
    server.restart()
    assert facts_of(server, probe).clone_or_none(counting_clone(server, calls)) is None
    assert len(calls) == 1  # the answer holds for this Spark version, restarts or not
    server.version, server.supports_clone = "4.1.0", True  # upgraded in place
    made = facts_of(server, probe).clone_or_none(counting_clone(server, calls))
    assert made is not None and made[0] in server.clones
    assert facts_of(server, probe).known(CLONE_SESSION) is True
    assert len(calls) == 2


def test_a_clone_that_fails_otherwise_is_raised_and_not_remembered() -> None:
    server, probe = FakeServer(), FakeProbeChild("")
    server.fail("clone_session", ServerError("[INTERNAL] disk full"))
    with pytest.raises(ServerError):
        facts_of(server, probe).clone_or_none(counting_clone(server, []))
    assert facts_of(server, probe).known(CLONE_SESSION) is None


def test_the_servers_answers_are_asked_once_per_facts_object() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    facts = facts_of(server, probe)
    facts.spark_version()
    facts.worker_target()
    facts.known(CLONE_SESSION)
    facts.known(WORKER_PYTHON)
    facts.remember(CLONE_SESSION, True)
    assert server.rpcs == {"spark_version": 1, "get_conf": 1}


def test_without_a_session_the_facts_are_asked_on_a_throwaway_one() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    assert ServerFacts(server.target(), probe=probe).worker_target() == LINUX_WORKERS
    [throwaway] = server.sessions
    assert server.released == [throwaway]
    assert server.opened == server.closed == 1


def test_the_cache_is_user_only_and_holds_neither_url_nor_token() -> None:
    server, probe = FakeServer(), FakeProbeChild(target_answer())
    spec = parse_connection_string("sc://fake.invalid:15002/;token=secret-token-value")
    facts = ServerFacts(replace(server.target(), spec=spec), probe=probe)
    facts.worker_target()
    path = FactCache().path
    assert path.name == "server-facts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert "secret-token-value" not in text and "fake.invalid" not in text


def test_the_cache_keeps_the_servers_learnt_last(tmp_path: Path) -> None:
    cache = FactCache(tmp_path / "facts.json")
    for index in range(MAX_SERVERS + 5):
        cache.put(f"server-{index}", WORKER_PYTHON, "3.11")
    cache.put("server-5", CLONE_SESSION, True)  # learnt again: kept longest
    assert cache.get("server-0", WORKER_PYTHON) is None
    assert cache.get("server-5", WORKER_PYTHON) == "3.11"
    assert cache.get("server-5", CLONE_SESSION) is True
    assert len(json.loads(cache.path.read_text())["servers"]) == MAX_SERVERS


def test_remembering_what_is_known_writes_nothing(tmp_path: Path) -> None:
    cache = FactCache(tmp_path / "facts.json")
    cache.put("server", CLONE_SESSION, True)
    before = cache.path.stat().st_ino  # a write replaces the file (a new inode)
    cache.put("server", CLONE_SESSION, True)
    assert cache.path.stat().st_ino == before
    cache.put("server", CLONE_SESSION, False)
    assert cache.path.stat().st_ino != before


def test_a_session_is_alive_until_released_or_its_server_restarts() -> None:
    server = FakeServer()
    target = server.target()
    session = target.session()
    session.spark_version()
    facts = ServerFacts(target)
    assert facts.session_alive(session.session_id, session.server_side_session_id)
    session.release_session()
    assert not facts.session_alive(session.session_id, session.server_side_session_id)
    other = target.session()
    other.spark_version()
    server.restart()
    assert not facts.session_alive(other.session_id, other.server_side_session_id)
    server.fail("spark_version", ServerUnreachableError("gone"))
    with pytest.raises(ServerUnreachableError):
        facts.session_alive(other.session_id, None)


@pytest.mark.parametrize(
    ("stdout", "target", "python"),
    [
        (target_answer(), LINUX_WORKERS, "3.11"),
        (json.dumps({"error": MISMATCH}), None, "3.10"),
        (json.dumps({"error": "boom"}), None, None),
        (json.dumps({"target": {"python": "3.11"}}), None, None),  # another version's form
        ("", None, None),
        ("Traceback (most recent call last):", None, None),
    ],
)
def test_the_probe_childs_answer(
    stdout: str, target: WorkerTarget | None, python: str | None
) -> None:
    answer = parse_probe_answer(stdout)
    assert (answer.worker_target, answer.python) == (target, python)
    assert answer.error or target is not None


def test_clone_unsupported_is_remembered_as_no(tmp_path: Path) -> None:
    server, probe = FakeServer(), FakeProbeChild("")

    def unsupported() -> None:
        raise CloneUnsupportedError("cloning the session (CloneSession) failed: UNIMPLEMENTED")

    assert facts_of(server, probe).clone_or_none(unsupported) is None
    assert facts_of(server, probe).known(CLONE_SESSION) is False


class FakeFunctionLister:
    """Stands in for `SHOW SYSTEM FUNCTIONS` (the in-memory server runs no SQL)."""

    def __init__(self, names: frozenset[str] | None = frozenset({"upper", "to_json"})) -> None:
        self.names = names
        self.calls = 0
        self.error: Exception | None = None

    def __call__(self, target: Target) -> frozenset[str] | None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.names


def builtins_of(server: FakeServer, lister: FakeFunctionLister) -> frozenset[str] | None:
    with server.target().session() as session:
        return ServerFacts(server.target(), session, list_functions=lister).builtin_functions()


def test_builtin_names_are_asked_once_per_spark_version() -> None:
    server, lister = FakeServer(), FakeFunctionLister()
    assert builtins_of(server, lister) == {"upper", "to_json"}
    assert builtins_of(server, lister) == {"upper", "to_json"}  # another command: remembered
    assert lister.calls == 1
    server.version = "4.1.0"  # upgraded in place: a new release may have new builtins
    assert builtins_of(server, lister) == {"upper", "to_json"}
    assert lister.calls == 2


def test_builtin_names_are_one_more_fact_in_the_one_cache() -> None:
    server = FakeServer()
    builtins_of(server, FakeFunctionLister())
    entries = json.loads(FactCache().path.read_text())["servers"]
    assert [facts[BUILTIN_FUNCTIONS.name] for _, facts in entries] == [["to_json", "upper"]]


def test_builtin_names_last_learnt_are_read_without_asking_the_server() -> None:
    server = FakeServer()
    builtins_of(server, FakeFunctionLister())
    url = server.target().spec.display()
    server.fail("spark_version", ServerUnreachableError("gone"))
    assert FactCache().latest(url, BUILTIN_FUNCTIONS) == {"upper", "to_json"}
    assert FactCache().latest("sc://elsewhere:15002", BUILTIN_FUNCTIONS) is None


def test_builtin_names_the_server_cannot_give_are_none_and_not_remembered() -> None:
    server, lister = FakeServer(), FakeFunctionLister()
    lister.error = ServerUnreachableError("gone")
    assert builtins_of(server, lister) is None
    lister.error = None
    assert builtins_of(server, lister) == {"upper", "to_json"}
    assert lister.calls == 2


def test_the_old_builtin_names_cache_is_ignored() -> None:
    old = FactCache().path.with_name("builtin-functions.json")
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(json.dumps({"servers": [["sc://localhost:15002", ["stale"]]]}))
    server, lister = FakeServer(), FakeFunctionLister()
    assert builtins_of(server, lister) == {"upper", "to_json"}
    assert lister.calls == 1
