"""The pytest plugin (`pytest11` entry point): `spark` and `spark_isolated` on the live generation.

Inert unless a collected test uses one of its fixtures: loading it imports nothing but pytest,
and a suite that never asks for `spark` runs exactly as without it. When a test does ask, the
project is synced (through its daemon when one runs, read-your-writes) and its generation held
before the first test starts; a failure there is one line and no test starts. A conftest's
own `spark` fixture overrides this one, as pytest fixtures do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from sparkpush.live.pytest_stash import PROJECT_KEY, held_by

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

    from sparkpush.errors import SparkpushError
    from sparkpush.live.project import LiveProject, LiveSession

T = TypeVar("T")
OUR_FIXTURES = ("spark", "spark_isolated")
_SAVED_ENV = pytest.StashKey["dict[str, str | None]"]()
_SPARK = pytest.StashKey["LiveSession"]()


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
    group.addoption(
        "--sparkpush-config",
        metavar="FILE",
        help="The sparkpush config file (default: [tool.sparkpush] in the nearest pyproject.toml).",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Hold the generation before the first test when any test will use our fixtures."""
    if any(uses_our_fixtures(item) for item in session.items):
        live_project(session.config)


@pytest.fixture(scope="session")
def spark(pytestconfig: pytest.Config) -> Iterator[SparkSession]:
    """A Spark Connect session on the project's current generation (a clone where the server
    supports CloneSession), for the whole run."""
    project = live_project(pytestconfig)
    live = _or_exit(project.session)
    pytestconfig.stash[_SPARK] = live
    _point_environment_at(pytestconfig, project, live)
    try:
        yield live.spark
    finally:
        project.release(live)
        del pytestconfig.stash[_SPARK]


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
    """The run's project, opened (synced, held) on first use; exits pytest on failure."""
    project = config.stash.get(PROJECT_KEY, None)
    if project is None:
        project = _or_exit(lambda: _open(config))
        config.stash[PROJECT_KEY] = project
        _announce(config, project)
    return project


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    project = held_by(session.config)
    keep_warm = bool(session.config.getoption("sparkpush_keep_warm", False))
    if project is not None and keep_warm and exitstatus != pytest.ExitCode.INTERRUPTED:
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
    from sparkpush.live.project import LiveOptions, LiveProject

    config_file = config.getoption("sparkpush_config")
    options = LiveOptions(
        remote=config.getoption("sparkpush_remote"),
        fresh=bool(config.getoption("sparkpush_fresh")),
        config_file=Path(config_file) if config_file else None,
    )
    return LiveProject.open(options, notify=lambda line: _say(config, line))


def _announce(config: pytest.Config, project: LiveProject) -> None:
    held = project.held
    assert held is not None
    what = "a fresh session" if held.owned else f"generation {held.number}"
    by = " (daemon)" if held.by_daemon else ""
    udfs = ", ".join(held.udfs) if held.udfs else "none"
    _say(config, f"{what}{by} on {project.remote}, session {held.session_id}, UDFs: {udfs}")


def _say(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"sparkpush: {line}")


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
