"""What sparkpush knows about a server: each fact asked the first time it is needed, then
remembered for as long as it holds, in one cache.

fact                how it is asked                                     how long it holds
------------------  --------------------------------------------------  -------------------
the Spark version   AnalyzePlan(SparkVersion) on the session            this `ServerFacts`
`CLONE_SESSION`     the caller's own CloneSession (`clone_or_none`);    `Lifetime.VERSION`
                    UNIMPLEMENTED is a no
`WORKER_PYTHON`     a UDF on a worker: the UDF loader's check (its      `Lifetime.START`
                    caller remembers it), or the probe child
`WORKER_TARGET`     the probe child (`worker_probe`): seconds, a UDF    `Lifetime.START`
                    on a session of its own
`BUILTIN_FUNCTIONS` `SHOW SYSTEM FUNCTIONS` (`builtin_functions`)          `Lifetime.VERSION`
a session is alive  one call on that session (`session_alive`)          never remembered

The cache is one user-only file, `server-facts.json` in the user's state dir: per server
identity (a digest of the server's URL and what the lifetime is keyed by; no credentials),
the facts found, most recently learnt last. Each entry also holds a digest of the URL alone
(`"server"`), so that a command that asks nothing (`connect udfs`) can read what was last
learnt about a URL (`FactCache.latest`). (The builtin names had a cache of their own before,
`builtin-functions.json`: no longer read.) It is only a cache: a missing, corrupt or foreign
entry is a miss and the fact is asked again; a probe that fails leaves nothing behind.

A new fact is one `Fact` below (its name, lifetime and JSON form) and, unless callers learn it
as a side effect of their own work (then they `remember` it), one method that asks it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

from sparkpush.connect.rpc_errors import SESSION_GONE
from sparkpush.connect.session import Session
from sparkpush.connect.session_release import release
from sparkpush.connect.sql_query import run_sql
from sparkpush.errors import (
    CloneUnsupportedError,
    EnvironmentBuildError,
    ServerError,
    SparkpushError,
)
from sparkpush.remote.target import Target
from sparkpush.remote.worker_probe import (
    PROBE_TIMEOUT_S,
    ProbeAnswer,
    WorkerProbe,
    parse_probe_answer,
    run_worker_probe,
)
from sparkpush.remote.worker_target import WorkerTarget
from sparkpush.state.folders import user_state_dir
from sparkpush.state.server_records import ServerRecords

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

CACHE_NAME = "server-facts.json"
MAX_SERVERS = 64
"""Identities kept (a server has one per Spark version and one per start): the oldest go."""
ASK_TIMEOUT_S = 10.0
LIST_FUNCTIONS_TIMEOUT_S = 30.0
SERVER_KEY = "server"
"""The key in an entry's facts that holds the digest of the server's URL (not a fact)."""
START_CONFS = ("spark.app.id", "spark.sql.execution.pyspark.python")

FunctionLister = Callable[[Target], "frozenset[str] | None"]
"""Lists the server's builtin function names (lower case); None where it cannot run SQL."""
SessionAlive = Callable[[str, str | None], bool]
"""(session_id, server_side_session_id) -> whether the server still holds that session."""


class Lifetime(Enum):
    """How long a fact holds: what, besides the server's URL, its cache entry is keyed by."""

    VERSION = "version"
    """The server's Spark version and the local pyspark's (an RPC comes with both): a server
    upgraded in place is asked again; a restart is not."""
    START = "start"
    """The server's `spark.app.id` (new at every start) and the session's
    `spark.sql.execution.pyspark.python` (a session may pick other workers): asked again after
    every restart."""


@dataclass(frozen=True)
class Fact(Generic[T]):
    """One thing known about a server: its name in the cache, how long it holds, its JSON form."""

    name: str
    lifetime: Lifetime
    from_json: Callable[[object], T]
    """Raises TypeError or ValueError on a form it does not know: the fact is then a miss."""
    to_json: Callable[[T], object]


def _exactly(kind: type[T]) -> Callable[[object], T]:
    def read(value: object) -> T:
        if not isinstance(value, kind):
            raise TypeError(f"not a {kind.__name__}: {value!r}")
        return value

    return read


def _worker_target(value: object) -> WorkerTarget:
    if not isinstance(value, dict):
        raise TypeError(f"not a target: {value!r}")
    return WorkerTarget.from_json(value)


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise TypeError(f"not a list of names: {value!r}")
    return frozenset(value)


def _sorted_names(names: frozenset[str]) -> object:
    return sorted(names)


CLONE_SESSION: Fact[bool] = Fact("clone_session", Lifetime.VERSION, _exactly(bool), bool)
"""Whether the server has CloneSession (Spark >= 4.1; 4.0 answers UNIMPLEMENTED). Asked by
trying: `ServerFacts.clone_or_none` around the caller's own clone (no probe of its own)."""
WORKER_PYTHON: Fact[str] = Fact("worker_python", Lifetime.START, _exactly(str), str)
"""The workers' Python minor (`3.11`): UDF pickles only load there. Asked by a UDF on a worker:
the UDF loader's check (its caller `remember`s it) or `ServerFacts.worker_python`."""
WORKER_TARGET: Fact[WorkerTarget] = Fact(
    "worker_target", Lifetime.START, _worker_target, WorkerTarget.as_json
)
"""What the workers run (Python, ABI, platform, glibc, interpreter, the versions pyspark needs
there): the environment's wheels are chosen for it. Asked by `ServerFacts.worker_target`."""


BUILTIN_FUNCTIONS: Fact[frozenset[str]] = Fact(
    "builtin_functions", Lifetime.VERSION, _names, _sorted_names
)
"""The server's builtin function names, lower case: a UDF named like one never runs from SQL
(the builtin wins). Asked by `ServerFacts.builtin_functions` (`SHOW SYSTEM FUNCTIONS`)."""


def client_version() -> str:
    """The local pyspark's version (an older client may lack an RPC the server has)."""
    from pyspark.version import __version__

    return str(__version__)


def server_url(target: Target) -> str:
    """The server's URL as facts are keyed: no token, no session; headers (which may route
    to another cluster) included. Only its digest is stored."""
    return replace(target.spec, session_id=None).display()


def url_digest(url: str) -> str:
    return hashlib.sha256(json.dumps(["url", url]).encode()).hexdigest()


def list_builtin_functions(target: Target) -> frozenset[str] | None:
    """`SHOW SYSTEM FUNCTIONS` on a throwaway session (None on an in-memory server)."""
    if target.transport is not None:  # an in-memory server in unit tests runs no SQL
        return None
    client = target.client()
    try:
        table = run_sql(client, "SHOW SYSTEM FUNCTIONS", timeout=LIST_FUNCTIONS_TIMEOUT_S)
        release(client)
    finally:
        client.close()
    if table is None or table.num_columns == 0:
        return frozenset()
    return frozenset(str(name).lower() for name in table.column(0).to_pylist())


class FactCache:
    """`{"servers": [[identity, {fact name: its JSON}], ...]}` (see `ServerRecords`: user-only,
    most recently learnt last, a write that fails is ignored)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or user_state_dir() / CACHE_NAME

    def get(self, identity: str, fact: Fact[T]) -> T | None:
        found = self._facts(identity).get(fact.name)
        if found is None:
            return None
        try:
            return fact.from_json(found)
        except (TypeError, ValueError):  # another version's form, or damaged: ask again
            return None

    def put(self, identity: str, fact: Fact[T], value: T, url: str | None = None) -> None:
        facts = self._facts(identity)
        encoded = fact.to_json(value)
        server = {SERVER_KEY: url_digest(url)} if url is not None else {}
        if facts.get(fact.name) == encoded and all(facts.get(k) == v for k, v in server.items()):
            return  # nothing new: no write
        self._records().store(identity, {**facts, **server, fact.name: encoded})

    def latest(self, url: str, fact: Fact[T]) -> T | None:
        """The fact as last learnt about the server at `url` (any start or version of it),
        without asking the server anything; None when never learnt."""
        digest = url_digest(url)
        for facts in reversed(list(self._records().read().values())):
            if isinstance(facts, dict) and facts.get(SERVER_KEY) == digest and fact.name in facts:
                try:
                    return fact.from_json(facts[fact.name])
                except (TypeError, ValueError):
                    return None
        return None

    def _facts(self, identity: str) -> dict[str, object]:
        found = self._records().read().get(identity)
        return dict(found) if isinstance(found, dict) else {}

    def _records(self) -> ServerRecords:
        return ServerRecords(self.path, MAX_SERVERS)


class ServerFacts:
    """The facts of the server behind `target`, each asked at most once by this object.

    The server is asked on `session` where the caller has one (saving a session; an RPC on a
    new session creates it there, as the caller's own first call would); else on a throwaway
    session, released at once. `probe` runs the probe child (tests pass a fake one).
    """

    def __init__(
        self,
        target: Target,
        session: Session | None = None,
        *,
        cache: FactCache | None = None,
        probe: WorkerProbe | None = None,
        list_functions: FunctionLister | None = None,
    ) -> None:
        self.target = target
        self._session = session
        self._cache = cache or FactCache()
        self._probe = probe or run_worker_probe
        self._list_functions = list_functions or list_builtin_functions
        self._version: str | None = None
        self._identities: dict[Lifetime, str | None] = {}

    def spark_version(self, timeout: float = ASK_TIMEOUT_S) -> str:
        """The server's Spark version (one round trip, the first time)."""
        if self._version is None:
            self._version = self._ask(lambda session: session.spark_version(timeout=timeout))
        return self._version

    def known(self, fact: Fact[T]) -> T | None:
        """The fact as remembered for this server, or None; never asks the fact itself (the
        server's identity may cost one round trip)."""
        identity = self._identity(fact.lifetime)
        return None if identity is None else self._cache.get(identity, fact)

    def remember(self, fact: Fact[T], value: T) -> None:
        """Keep what was found out about this server (by a probe, or by a caller's own work)."""
        identity = self._identity(fact.lifetime)
        if identity is not None:
            self._cache.put(identity, fact, value, server_url(self.target))

    def clone_or_none(self, clone: Callable[[], R]) -> R | None:
        """`clone()` (the caller's CloneSession), unless the server is known to have none;
        None where it has none. The answer is remembered; any other failure is raised."""
        if self.known(CLONE_SESSION) is False:
            return None
        try:
            made = clone()
        except CloneUnsupportedError as exc:
            log.info("the server cannot clone sessions: %s", exc.message)
            self.remember(CLONE_SESSION, False)
            return None
        self.remember(CLONE_SESSION, True)
        return made

    def worker_python(self) -> str:
        """The workers' Python minor: known, or asked by the probe child (which also learns
        the whole target; a worker on another minor names its own version in its refusal)."""
        known = self.known(WORKER_PYTHON)
        if known is not None:
            return known
        answer = self._probe_workers()
        if answer.python is None:
            raise EnvironmentBuildError(_not_found(answer))
        return answer.python

    def worker_target(self) -> WorkerTarget:
        """What the workers run: known, or asked by the probe child (seconds)."""
        known = self.known(WORKER_TARGET)
        if known is not None:
            return known
        answer = self._probe_workers()
        if answer.worker_target is None:
            raise EnvironmentBuildError(_not_found(answer))
        return answer.worker_target

    def builtin_functions(self) -> frozenset[str] | None:
        """The server's builtin function names: known, or listed now; None when the server
        cannot say (the failure is logged, not raised: this only feeds warnings)."""
        try:
            known = self.known(BUILTIN_FUNCTIONS)
            if known is not None:
                return known
            names = self._list_functions(self.target)
        except SparkpushError as exc:
            log.info("could not list the server's builtin functions: %s", exc.message)
            return None
        if names is not None:
            self.remember(BUILTIN_FUNCTIONS, names)
        return names

    def session_alive(self, session_id: str, server_side_session_id: str | None) -> bool:
        """Whether the server still holds the session: one call on it, never remembered (a
        session may be released, expire or lose its server at any moment). Other failures
        are raised."""
        session = self.target.session(session_id, server_side_session_id)
        try:
            session.spark_version()
        except ServerError as exc:
            if exc.error_class in SESSION_GONE:
                log.info("session %s is gone (%s)", session_id, exc.error_class)
                return False
            raise
        finally:
            session.close()
        return True

    def _probe_workers(self) -> ProbeAnswer:
        """Run the probe child and remember what it found; a failed probe is not remembered."""
        self._identity(Lifetime.START)  # before the probe: the facts belong to this start
        stdout = self._probe(self.target)
        if stdout is None:
            raise EnvironmentBuildError(
                f"the server's Python workers did not answer within {PROBE_TIMEOUT_S:.0f} s"
            )
        answer = parse_probe_answer(stdout)
        if answer.python is not None:
            self.remember(WORKER_PYTHON, answer.python)
        if answer.worker_target is not None:
            self.remember(WORKER_TARGET, answer.worker_target)
        return answer

    def _identity(self, lifetime: Lifetime) -> str | None:
        """The key of this server's facts of `lifetime`; None: none (nothing is remembered)."""
        if lifetime not in self._identities:
            self._identities[lifetime] = self._find_identity(lifetime)
        return self._identities[lifetime]

    def _find_identity(self, lifetime: Lifetime) -> str | None:
        parts: list[str | None]
        if lifetime is Lifetime.VERSION:
            parts = [self.spark_version(), client_version()]
        else:
            try:
                values = self._ask(lambda session: session.get_conf(START_CONFS))
            except SparkpushError as exc:
                log.info("cannot tell which start of the server this is: %s", exc.message)
                return None
            if not values.get("spark.app.id"):
                return None
            parts = [values.get(key) for key in START_CONFS]
        text = json.dumps([lifetime.value, server_url(self.target), *parts])
        return hashlib.sha256(text.encode()).hexdigest()

    def _ask(self, call: Callable[[Session], R]) -> R:
        if self._session is not None:
            return call(self._session)
        session = self.target.session()
        try:
            return call(session)
        finally:
            release(session)
            session.close()


def _not_found(answer: ProbeAnswer) -> str:
    return f"cannot find what the server's Python workers run: {answer.error}"
