"""The pytest side of `suite_sessions`, on with `--sparkpush-suite-sessions` (`connect test`
without `--classic`): the redirection for the run, its line at the start, the static confs it
ignored named once at the end, and the pytest-xdist split (`xdist_share`): the controller holds
the generation before its workers start; each worker clones it; every ignored conf a worker
saw reaches the controller's summary.

The first session is made when the suite first asks, inside the suite's own code (a conftest
or a test module being imported, a fixture). If the project cannot be opened then (a broken
UDF module, the server gone), the run ends with one line and the error's exit code, as it
does when the `spark` fixture is used: within pytest's session by `pytest.exit` from the
next report of ours (an exit raised inside a module's import would be a collection error),
before it (a conftest loaded with pytest's options) by `SuiteSetupFailed`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from sparkpush.errors import SparkpushError
from sparkpush.live.suite_sessions import SuiteSessions
from sparkpush.live.xdist_share import publish_for_workers, withdraw

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

    from sparkpush.live.live_project import LiveProject

REDIRECTED = (
    "the suite's own SparkSessions (SparkSession.builder, getActiveSession) run on the "
    "project's generation; `connect test --classic` leaves them classic"
)
IGNORED_CONFS_KEY = "sparkpush_ignored_confs"
"""Where a pytest-xdist worker leaves its ignored confs for the controller."""


class SuiteSetupError(Exception):
    """Raised into the suite's code that asked for a session the run could not open."""


class SuiteSetupFailed(SystemExit):
    """The run could not open its session while pytest read its conftests: the process exits
    with the error's code (`connect test` reports it), its one line already said."""

    def __init__(self, error: SparkpushError) -> None:
        super().__init__(error.exit_code)
        self.error = error


class SuiteSessionsPlugin:
    NAME = "sparkpush-suite-sessions"

    def __init__(
        self,
        config: pytest.Config,
        open_run_session: Callable[[], SparkSession],
        open_project: Callable[[], LiveProject],
        say: Callable[[str], None],
    ) -> None:
        self.config = config
        self.suite = SuiteSessions(self.run_session)
        self.open_run_session = open_run_session
        self.open_project = open_project
        self.say = say
        self.in_session = False
        self.failed: SparkpushError | None = None

    def install(self) -> None:
        self.suite.install()

    def run_session(self) -> SparkSession:
        """What the suite's builders get; a failure ends the run (see the module)."""
        if self.failed is not None:
            raise SuiteSetupError(self.failed.message)
        try:
            return self.open_run_session()
        except SparkpushError as exc:
            self.failed = exc
            if not self.in_session:  # no pytest_unconfigure will come
                self.suite.uninstall()
                print(f"sparkpush: error: {exc.message}", file=sys.stderr)
                raise SuiteSetupFailed(exc) from None
            raise SuiteSetupError(exc.message) from None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._end_if_failed()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._end_if_failed()

    def _end_if_failed(self) -> None:
        if self.failed is not None:
            failed = self.failed
            pytest.exit(f"sparkpush: error: {failed.message}", returncode=failed.exit_code)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Say so; under pytest-xdist, hold the generation before the workers start (they
        start in xdist's own `pytest_sessionstart`, which runs last)."""
        self.in_session = True
        if _is_worker(self.config):
            return
        self.say(REDIRECTED)
        if self.config.pluginmanager.has_plugin("dsession"):
            project = self.open_project()
            assert project.held is not None
            project.lent_to_workers = True
            publish_for_workers(project.held, project.remote)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[IGNORED_CONFS_KEY] = sorted(self.suite.ignored_confs)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """pytest-xdist, in the controller: a worker ended; what it ignored joins the summary."""
        ignored = getattr(node, "workeroutput", {}).get(IGNORED_CONFS_KEY, ())
        self.suite.ignored_confs.update(ignored)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        ignored = sorted(self.suite.ignored_confs)
        if ignored and not _is_worker(self.config):
            terminalreporter.write_line(
                f"sparkpush: ignored what the suite's SparkSession builders set that a session "
                f"cannot: {', '.join(ignored)} (the server's start fixes them; what the "
                f"project's sessions get is [tool.sparkpush] in pyproject.toml)"
            )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.suite.uninstall()
        withdraw()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
