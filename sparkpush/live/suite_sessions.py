"""Inside `connect test`, every SparkSession a suite builds itself is the run's session.

A suite written for classic PySpark builds its own sessions: `SparkSession.builder.master(
"local[2]").appName(...).config(...).getOrCreate()` in a conftest fixture or at import time in
a helper module, `SparkSession.getActiveSession()` or `.active()` in library code. `install`
makes each of those the run's Spark Connect session on the project's generation, through
three interception points of PySpark, all restored by `uninstall`:

- the classic builder's `getOrCreate` and `create` (what `SparkSession.builder` is): the
  session already active in PySpark's sense, which is the run's session (next point). The
  builder's runtime confs are applied to it, as classic `getOrCreate` applies them to an
  existing session; confs only a server start can set (driver memory, `spark.jars.packages`,
  static SQL confs) are not, and are kept in `ignored_confs` to be named once; `master`,
  `remote`, `appName` and the API mode say how to build a session and mean nothing here.
- Spark Connect's `SparkSession.getActiveSession`, where the classic `getActiveSession` and
  `active()` lead (and the Connect builder's `getOrCreate`) once `SPARK_CONNECT_MODE_ENABLED`
  is set: this thread's active session, else the default one, else the run's session (made
  on first use).
- `launch_gateway`, the one function through which PySpark starts a classic Spark JVM: it
  raises, so no `SparkContext` starts behind the run's back (`connect test --classic` is the
  way to keep a suite's classic sessions).

`keep_running` makes the run's session ignore `stop()`: a fixture's teardown must not end it
for the tests after it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkpush.submit.script_error import error_condition

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

log = logging.getLogger(__name__)

CONNECT_MODE_ENV = "SPARK_CONNECT_MODE_ENABLED"
"""Set, PySpark's classic entry points (`getActiveSession`, `functions.col`...) lead to Connect."""

BUILDER_KEYS = frozenset({"spark.master", "spark.remote", "spark.app.name", "spark.api.mode"})
"""Builder options that choose how a session is made, not what it does: dropped silently."""

BUILDER_PREFIXES = ("spark.local.connect.",)

STATIC_CONF_CONDITIONS = frozenset({"CANNOT_MODIFY_CONFIG", "CANNOT_MODIFY_STATIC_CONFIG"})
"""The server's answer to a session setting a conf only a server start can set."""

CLASSIC_REFUSED = (
    "a classic Spark JVM (SparkContext) was about to start: inside connect test the suite's "
    "sessions are Spark Connect sessions on the project's generation, which have no "
    "SparkContext; use DataFrame APIs, or run the suite with `connect test --classic`"
)


class ClassicSparkRefused(RuntimeError):
    """A classic Spark JVM was about to start inside `connect test`."""

    def getCondition(self) -> str:  # PySpark's name for it
        """PySpark's own condition for a SparkContext asked of a Spark Connect client."""
        return "CONTEXT_UNAVAILABLE_FOR_REMOTE_CLIENT"


@dataclass
class SuiteSessions:
    """The interception, installed for one run; `run_session` makes (once) the run's session."""

    run_session: Callable[[], SparkSession]
    ignored_confs: set[str] = field(default_factory=set)
    """Confs the suite's builders asked for that a session cannot set."""
    _restore: list[tuple[Any, str, Any]] = field(default_factory=list, repr=False)
    _saved_mode: str | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def installed(self) -> bool:
        return bool(self._restore)

    def install(self) -> None:
        """Redirect PySpark's session entry points to the run's session (see the module)."""
        if self.installed:
            return
        import pyspark.java_gateway
        from pyspark.sql.connect.session import SparkSession as ConnectSession
        from pyspark.sql.session import SparkSession as ClassicSession

        suite = self

        def get_or_create(builder: Any) -> SparkSession:
            return suite.session_for(builder._options)

        def active_session(cls: type[ConnectSession]) -> SparkSession:
            return suite.active_session()

        self._saved_mode = os.environ.get(CONNECT_MODE_ENV)
        os.environ[CONNECT_MODE_ENV] = "1"
        self._replace(ClassicSession.Builder, "getOrCreate", get_or_create)
        self._replace(ClassicSession.Builder, "create", get_or_create)
        self._replace(ConnectSession, "getActiveSession", classmethod(active_session))
        self._replace(pyspark.java_gateway, "launch_gateway", _refuse_classic_jvm)
        core_context = _classic_core_context()
        if core_context is not None:  # it imported the function under its own name
            self._replace(core_context, "launch_gateway", _refuse_classic_jvm)

    def uninstall(self) -> None:
        """Put PySpark back as it was."""
        while self._restore:
            owner, name, original = self._restore.pop()
            setattr(owner, name, original)
        if self._saved_mode is None:
            os.environ.pop(CONNECT_MODE_ENV, None)
        else:
            os.environ[CONNECT_MODE_ENV] = self._saved_mode

    def active_session(self) -> SparkSession:
        """This thread's active session, the default one, or the run's session."""
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        active = getattr(ConnectSession._active_session, "session", None)
        if active is not None and not active.is_stopped:
            return active
        return ConnectSession._get_default_session() or self._run_session()

    def session_for(self, options: Mapping[str, Any]) -> SparkSession:
        """What a classic builder's `getOrCreate()`/`create()` returns: the active session with
        the builder's runtime confs applied."""
        session = self.active_session()
        self.apply_confs(session, options)
        return session

    def apply_confs(self, session: SparkSession, options: Mapping[str, Any]) -> None:
        """Set the runtime confs among `options` on `session`; static ones are remembered in
        `ignored_confs` and not sent again. Any other refusal raises, as it would classically."""
        wanted = {k: str(v) for k, v in options.items() if self._settable(k)}
        if not wanted:
            return
        set_all = getattr(session.conf, "_set_all", None)  # one call for them all
        if set_all is None:
            self._apply_one_by_one(session, wanted)
            return
        try:
            set_all(configs=wanted, silent=False)
        except Exception as exc:
            if error_condition(exc) not in STATIC_CONF_CONDITIONS:
                raise
            self._apply_one_by_one(session, wanted)

    def _apply_one_by_one(self, session: SparkSession, wanted: Mapping[str, str]) -> None:
        """After a refusal: each conf alone, to know every one the server refuses."""
        for key, value in wanted.items():
            try:
                session.conf.set(key, value)
            except Exception as exc:
                if error_condition(exc) not in STATIC_CONF_CONDITIONS:
                    raise
                with self._lock:
                    self.ignored_confs.add(key)

    def _settable(self, key: str) -> bool:
        if key in BUILDER_KEYS or key.startswith(BUILDER_PREFIXES):
            return False
        with self._lock:
            return key not in self.ignored_confs

    def _run_session(self) -> SparkSession:
        with self._lock:  # two threads asking first get the same session
            return self.run_session()

    def _replace(self, owner: Any, name: str, replacement: Any) -> None:
        # the class's own attribute (a classmethod object, not the bound method) goes back
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        self._restore.append((owner, name, original))
        setattr(owner, name, replacement)


def keep_running(session: SparkSession) -> None:
    """`session.stop()` does nothing from now on (`close_pyspark` still closes it)."""
    session.stop = _ignore_stop  # type: ignore[method-assign]


def _ignore_stop() -> None:
    """The run's session outlives a suite's `spark.stop()`: the run releases it at its end."""


def _refuse_classic_jvm(*_args: object, **_kwargs: object) -> None:
    raise ClassicSparkRefused(CLASSIC_REFUSED)


def _classic_core_context() -> Any:
    """`pyspark.core.context`, where SparkContext calls `launch_gateway`; None in a
    Connect-only PySpark (pyspark-client), which has no classic JVM to start."""
    try:
        import pyspark.core.context as core_context
    except ImportError:
        return None
    return core_context
