"""The pytest side of `suite_sessions`, on with `--sparkpush-suite-sessions` (`connect test`
without `--classic`): the redirection for the run, its line at the start, the static confs it
ignored named once at the end, and the pytest-xdist split (`xdist_share`): the controller holds
the generation before its workers start; each worker clones it; every ignored conf a worker
saw reaches the controller's summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from sparkpush.live.suite_sessions import SuiteSessions
from sparkpush.live.xdist_share import publish_for_workers, withdraw

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

    from sparkpush.live.project import LiveProject

REDIRECTED = (
    "the suite's own SparkSessions (SparkSession.builder, getActiveSession) run on the "
    "project's generation; `connect test --classic` leaves them classic"
)
IGNORED_CONFS_KEY = "sparkpush_ignored_confs"
"""Where a pytest-xdist worker leaves its ignored confs for the controller."""


class SuiteSessionsPlugin:
    NAME = "sparkpush-suite-sessions"

    def __init__(
        self,
        config: pytest.Config,
        run_session: Callable[[], SparkSession],
        open_project: Callable[[], LiveProject],
        say: Callable[[str], None],
    ) -> None:
        self.config = config
        self.suite = SuiteSessions(run_session)
        self.open_project = open_project
        self.say = say

    def install(self) -> None:
        self.suite.install()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Say so; under pytest-xdist, hold the generation before the workers start (they
        start in xdist's own `pytest_sessionstart`, which runs last)."""
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
