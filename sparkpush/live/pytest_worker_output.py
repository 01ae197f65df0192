"""Worker output in pytest's reports: a failing test's own section, live lines with `-s`.

Registered by the plugin once a test uses the spark fixtures. A failed UDF's traceback in a
failing test's report is cut to the test's and the UDF's own frames.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from dataclasses import dataclass

import _pytest
import pluggy
import pytest
from _pytest._code.code import TerminalRepr
from _pytest._io import TerminalWriter

from sparkpush.live.live_project import LiveProject
from sparkpush.live.worker_output import LiveWorkerOutput, follow_live_sessions
from sparkpush.workerout.bounded import BoundedLines
from sparkpush.workerout.worker_traceback import format_worker_failure

SECTION = "worker output"
"""pytest shows it as `Captured worker output call`."""
PLUGIN_NAME = "sparkpush-worker-output"
_RUNNER_DIRS = tuple(os.path.dirname(m.__file__ or "") + os.sep for m in (_pytest, pluggy))
_SHORTENED_STYLES = ("auto", "long", "short")


class WorkerOutputReports:
    """A pytest plugin object following the run's live sessions."""

    def __init__(self, output: LiveWorkerOutput, *, live: bool) -> None:
        self.output = output
        self.live = live

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.output.mark()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.when == "call" and (self.live or _failed(call)):
            self._report(item)
        report = yield
        if report.failed and call.excinfo is not None and _shortens(item.config):
            shortened = format_worker_failure(call.excinfo.value, call.excinfo.tb, _RUNNER_DIRS)
            if shortened is not None:
                report.longrepr = ShortenedFailure(shortened, item.location)
        return report

    def pytest_sessionfinish(self) -> None:
        self.output.close()

    def _report(self, item: pytest.Item) -> None:
        if self.live:
            self.output.flush_live()
            return
        lines: list[str] = []
        output = BoundedLines(lines.append)
        self.output.fill(output)
        output.close()
        if lines:
            item.add_report_section("call", SECTION, "\n".join(lines))


@dataclass(frozen=True)
class _Crash:
    """What pytest's summary line and JUnit XML read of a failure (`reprcrash`)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


class ShortenedFailure(TerminalRepr):
    """A failing test's report body: a failed UDF's traceback, the user's frames only."""

    def __init__(self, text: str, location: tuple[str, int | None, str]) -> None:
        self.text = text
        last = text.rstrip("\n").splitlines()[-1]
        self.reprcrash = _Crash(location[0], (location[1] or 0) + 1, last)

    def toterminal(self, tw: TerminalWriter) -> None:
        lines = self.text.rstrip("\n").splitlines()
        for line in lines[:-1]:
            tw.line(line)
        tw.line(lines[-1], red=True, bold=True)

    def __str__(self) -> str:
        return self.text


def follow_worker_output(config: pytest.Config, project: LiveProject) -> None:
    """Follow the project's live sessions for the rest of the run."""
    output = follow_live_sessions(project)
    live = config.getoption("capture", "fd") == "no"
    if live:
        output.show_live(_to_stderr)
    config.pluginmanager.register(WorkerOutputReports(output, live=live), PLUGIN_NAME)


def _failed(call: pytest.CallInfo[None]) -> bool:
    return call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception)


def _shortens(config: pytest.Config) -> bool:
    return config.getoption("tbstyle", "auto") in _SHORTENED_STYLES


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
