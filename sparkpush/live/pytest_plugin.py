"""The pytest plugin (`pytest11` entry point): `spark` and `spark_isolated` on the live generation.

Inert unless a collected test uses one of its fixtures: loading it imports nothing but pytest,
and a suite that never asks for `spark` runs exactly as without it. When a test does ask, the
project is synced (through its daemon when one runs, read-your-writes) and its generation held
before the first test starts; a failure there is one line and no test starts. A conftest's
own `spark` fixture overrides this one, as pytest fixtures do.

With `--sparkpush-suite-sessions` (what `connect test` runs with, unless `--classic`), the
sessions the suite builds itself are the run's session too (see `live.suite_sessions`), and
under pytest-xdist each worker clones the generation its controller holds (`live.xdist_share`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from sparkpush.live.pytest_stash import PROJECT_KEY, held_by

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

    from sparkpush.errors import SparkpushError
    from sparkpush.live.live_project import LiveProject, LiveSession

T = TypeVar("T")
OUR_FIXTURES = ("spark", "spark_isolated")
_SAVED_ENV = pytest.StashKey["dict[str, str | None]"]()
_SPARK = pytest.StashKey["LiveSession"]()
_SUITE_SESSIONS = pytest.StashKey[bool]()
_PENDING_LINES = pytest.StashKey["list[str]"]()
_RUN_SESSION_LOCK = threading.Lock()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sparkpush", "sparkpush: the spark fixtures on the live generation")
    group.addoption(
        "--sparkpush-remote",
        metavar="URL",
        help="Spark Connect URL for the spark fixtures (default: config, then the embedded "
        "server).",
    )
    group.addoption(
        "--sparkpush-fresh",
        action="store_true",
        help="Run the spark fixtures on an own session with the project's artifacts and UDFs, "
        "not on the project's generation.",
    )
    group.addoption(
        "--sparkpush-keep-warm",
        action="store_true",
        help="At the end, leave a clone of the generation with its Python worker started for "
        "the next run (released by that run, or by the server's idle timeout).",
    )
    # two options, not argparse's BooleanOptionalAction: its negative would be
    # --no-sparkpush-worker-output, out of the --sparkpush- namespace
    group.addoption(
        "--sparkpush-worker-output",
        action="store_true",
        dest="sparkpush_worker_output",
        default=None,
        help="Show what the UDFs print and log on the workers: in a failing test's report, "
        "live with -s (default: on, or worker_output in the config).",
    )
    group.addoption(
        "--sparkpush-no-worker-output",
        action="store_false",
        dest="sparkpush_worker_output",
        default=None,
        help="Do not show what the UDFs print and log on the workers.",
    )
    group.addoption(
        "--sparkpush-config",
        metavar="FILE",
        help="The sparkpush config file (default: [tool.sparkpush] in the nearest pyproject.toml).",
    )
    group.addoption(
        "--sparkpush-suite-sessions",
        action="store_true",
        help="Every SparkSession the suite builds itself (SparkSession.builder, "
        "getActiveSession) is the run's session on the generation, and no classic Spark JVM "
        "starts (what `connect test` does unless --classic).",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before the first conftest is imported: a session built at import time is redirected too."""
    if _early_option(early_config, "sparkpush_suite_sessions"):
        _redirect_suite_sessions(early_config)


def _redirect_suite_sessions(config: pytest.Config) -> None:
    from sparkpush.live.pytest_suite_sessions import SuiteSessionsPlugin

    plugin = SuiteSessionsPlugin(
        config,
        open_run_session=lambda: _open_run_session(config).spark,
        open_project=lambda: live_project(config),
        say=lambda line: _say(config, line),
    )
    config.pluginmanager.register(plugin, SuiteSessionsPlugin.NAME)
    config.stash[_SUITE_SESSIONS] = True
    plugin.install()


def pytest_configure(config: pytest.Config) -> None:
    from sparkpush.live.pytest_hints import ApiGapHints

    config.pluginmanager.register(ApiGapHints(), ApiGapHints.NAME)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Hold the generation before the first test when any test will use our fixtures."""
    if any(uses_our_fixtures(item) for item in session.items):
        live_project(session.config)


@pytest.fixture(scope="session")
def spark(pytestconfig: pytest.Config) -> Iterator[SparkSession]:
    """A Spark Connect session on the project's current generation (a clone where the server
    supports CloneSession), for the whole run."""
    live = run_session(pytestconfig)
    if not pytestconfig.stash.get(_SUITE_SESSIONS, False):
        _point_environment_at(pytestconfig, live_project(pytestconfig), live)
    yield live.spark


def run_session(config: pytest.Config) -> LiveSession:
    """The run's session (`spark`, and what the suite's own builders return), made on first
    use and released when the run ends; `stop()` does not end it. Exits pytest on failure."""
    return _or_exit(lambda: _open_run_session(config))


def _open_run_session(config: pytest.Config) -> LiveSession:
    """`run_session`; raises SparkpushError."""
    from sparkpush.live.suite_sessions import keep_running

    with _RUN_SESSION_LOCK:
        live = config.stash.get(_SPARK, None)
        if live is None:
            live = _open_project(config).session()
            keep_running(live.spark)
            config.stash[_SPARK] = live
        return live


@pytest.fixture
def spark_isolated(pytestconfig: pytest.Config) -> Iterator[SparkSession]:
    """A fresh clone of the project's generation for one test, released after it."""
    from sparkpush.errors import CloneUnsupportedError, SparkpushError
    from sparkpush.live.pyspark_session import make_default

    project = live_project(pytestconfig)
    try:
        live = project.clone()
    except CloneUnsupportedError as exc:  # Spark 4.0: no per-test copy of the generation
        pytest.skip(f"spark_isolated needs CloneSession on the server: {exc.message}")
    except SparkpushError as exc:
        _exit(exc)
    try:
        yield live.spark
    finally:
        project.release(live)
        shared = pytestconfig.stash.get(_SPARK, None)
        make_default(shared.spark if shared is not None else None)


def live_project(config: pytest.Config) -> LiveProject:
    """The run's project, opened (synced, held) on first use; exits pytest on failure. A
    pytest-xdist worker takes the generation its controller holds instead."""
    return _or_exit(lambda: _open_project(config))


def _open_project(config: pytest.Config) -> LiveProject:
    """`live_project`; raises SparkpushError."""
    project = config.stash.get(PROJECT_KEY, None)
    if project is None:
        project = _open(config)
        config.stash[PROJECT_KEY] = project
        if project.owner_pid is None:
            _announce(config, project)
        _follow_worker_output(config, project)
    return project


@pytest.hookimpl(trylast=True)  # after pytest-xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    project = held_by(session.config)
    keep_warm = bool(session.config.getoption("sparkpush_keep_warm", False))
    # a worker of pytest-xdist leaves no spare: its controller does, once
    ours = project is not None and project.owner_pid is None
    if ours and keep_warm and exitstatus != pytest.ExitCode.INTERRUPTED:
        assert project is not None
        project.leave_spare(_start_python_worker)
    _close(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    _close(config)


def uses_our_fixtures(item: pytest.Item) -> bool:
    """Whether the test gets `spark` or `spark_isolated` from this plugin (not a conftest's)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        _resolves_to_ours(name, info.name2fixturedefs.get(name, ()))
        for name in OUR_FIXTURES
        if name in info.names_closure
    )


def _resolves_to_ours(name: str, definitions: Sequence[Any]) -> bool:
    """Follow overrides from the closest definition; one that asks for its own name uses the
    next one out (pytest's fixture override chain)."""
    for definition in reversed(definitions):
        if getattr(definition.func, "__module__", None) == __name__:
            return True
        if name not in definition.argnames:
            return False
    return False


def _open(config: pytest.Config) -> LiveProject:
    from sparkpush.live.live_project import LiveOptions, LiveProject
    from sparkpush.live.xdist_share import shared_from_controller

    # early options: a conftest may build a session before pytest has parsed them all
    config_file = _early_option(config, "sparkpush_config")
    options = LiveOptions(
        remote=_early_option(config, "sparkpush_remote"),
        fresh=bool(_early_option(config, "sparkpush_fresh")),
        config_file=Path(config_file) if config_file else None,
        working_dir=config.invocation_params.dir,
    )
    shared = shared_from_controller()
    if shared is not None:
        return LiveProject.adopt(options, shared.held, shared.owner_pid, shared.remote)
    return LiveProject.open(options, notify=lambda line: _say(config, line))


def _follow_worker_output(config: pytest.Config, project: LiveProject) -> None:
    from sparkpush.live.pytest_worker_output import follow_worker_output
    from sparkpush.workerout.pickle_hook import install_pickle_hook
    from sparkpush.workerout.settings import worker_output_on

    flag = _early_option(config, "sparkpush_worker_output")
    if worker_output_on(flag, project.config.worker_output):
        follow_worker_output(config, project)
    else:  # the generation may still capture: its UDFs must not hang it (see worker_print)
        install_pickle_hook()


def _early_option(config: pytest.Config, name: str) -> Any:
    """An option of ours, also while the initial conftests load (before pytest sets them)."""
    value = config.getoption(name, None)
    if value is None or value is False:
        value = getattr(config.known_args_namespace, name, value)
    return value


def _announce(config: pytest.Config, project: LiveProject) -> None:
    held = project.held
    assert held is not None
    what = "a fresh session" if held.owned else f"generation {held.number}"
    by = " (daemon)" if held.by_daemon else ""
    udfs = ", ".join(held.udfs) if held.udfs else "none"
    _say(config, f"{what}{by} on {project.remote}, session {held.session_id}, UDFs: {udfs}")


def _say(config: pytest.Config, line: str) -> None:
    """A line on the terminal; one said while the initial conftests load (a session built at
    import time), before pytest has a terminal, waits for the next line said with one."""
    pending = config.stash.setdefault(_PENDING_LINES, [])
    pending.append(f"sparkpush: {line}")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    # said while a module is collected or a fixture runs: past pytest's capture, to the terminal
    shown = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with shown:
        for each in pending:
            reporter.write_line(each)
    pending.clear()


def _or_exit(call: Callable[[], T]) -> T:
    """`call()`; a SparkpushError ends the run with one line and its exit code."""
    from sparkpush.errors import SparkpushError

    try:
        return call()
    except SparkpushError as exc:
        _exit(exc)


def _exit(error: SparkpushError) -> NoReturn:
    pytest.exit(f"sparkpush: error: {error.message}", returncode=error.exit_code)


def _start_python_worker(spark: SparkSession) -> None:
    """One Python UDF call: the session's Python worker is up for the next run."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import LongType

    spark.range(1).select(udf(lambda x: x, LongType())("id")).collect()


def _point_environment_at(config: pytest.Config, project: LiveProject, live: LiveSession) -> None:
    """`SparkSession.builder.getOrCreate()` in the code under test returns `spark`: PySpark
    looks at SPARK_REMOTE (no token in it) before it finds the default session."""
    spec = project.target.spec.with_session(live.session_id)
    saved = {name: os.environ.get(name) for name in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    config.stash[_SAVED_ENV] = saved
    os.environ["SPARK_REMOTE"] = spec.url(include_token=False)
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"


def _close(config: pytest.Config) -> None:
    project = config.stash.get(PROJECT_KEY, None)
    if project is not None:
        config.stash[PROJECT_KEY] = None
        project.close()
    saved = config.stash.get(_SAVED_ENV, None)
    if saved is not None:
        del config.stash[_SAVED_ENV]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
