"""`connect test`: pytest in this process with the spark fixtures on, and what the run came to."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import FrameType
from typing import Any

import pytest

from sparkpush.errors import ExitCode
from sparkpush.live.live_project import LiveOptions
from sparkpush.live.pytest_stash import held_by
from sparkpush.live.pytest_suite_sessions import SuiteSetupFailed
from sparkpush.submit.report import remote_for_report

PLUGIN_MODULE = "sparkpush.live.pytest_plugin"
REPORT_VERSION = 1


@dataclass
class PytestOutcome:
    """How the run ended: pytest's exit code (130 on Ctrl-C), counts, and what it ran on."""

    exit_code: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.time)
    duration_s: float = 0.0
    session_id: str | None = None
    generation: int | None = None
    remote: str | None = None
    cloned: bool | None = None
    warm_spare: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "status": self.status,
            "exit_code": self.exit_code,
            "counts": {name: self.counts.get(name, 0) for name in OUTCOMES},
            "started_at": datetime.fromtimestamp(self.started_at, tz=timezone.utc).isoformat(),
            "duration_s": round(self.duration_s, 3),
            "session_id": self.session_id,
            "generation": self.generation,
            "remote": self.remote,
            "cloned": self.cloned,
            "warm_spare": self.warm_spare,
            "error": self.error,
        }

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        if self.exit_code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            return "interrupted"
        if self.exit_code == pytest.ExitCode.NO_TESTS_COLLECTED:
            return "no_tests"
        return "passed" if self.exit_code == 0 else "failed"


OUTCOMES = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")


class OutcomeCollector:
    """A pytest plugin object: counts results and notes the generation the run held."""

    def __init__(self, outcome: PytestOutcome) -> None:
        self.outcome = outcome

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        counts = self.outcome.counts
        if hasattr(report, "wasxfail"):
            if report.when == "call" or report.skipped:
                counts["xpassed" if report.passed else "xfailed"] += 1
        elif report.when == "call":
            counts[report.outcome] += 1
        elif report.failed:
            counts["errors"] += 1
        elif report.skipped:
            counts["skipped"] += 1

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if isinstance(excinfo.value, pytest.exit.Exception):
            message = str(excinfo.value.msg)
            if message.startswith("sparkpush: error: "):
                self.outcome.error = message.removeprefix("sparkpush: error: ")
        elif not isinstance(excinfo.value, pytest.Session.Interrupted):
            # a real Ctrl-C; pytest's Interrupted (errors during collection) keeps its code 2
            self.outcome.exit_code = ExitCode.INTERRUPTED

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        project = held_by(session.config)
        if project is None or project.held is None:
            return
        self.outcome.session_id = project.held.session_id
        self.outcome.generation = project.held.number
        self.outcome.remote = remote_for_report(project.target.spec)
        self.outcome.cloned = project.clones_supported
        self.outcome.warm_spare = project.took_spare


def run_tests(pytest_args: Sequence[str], options: LiveOptions) -> PytestOutcome:
    """pytest with `pytest_args` and the plugin's options; never raises for a failed run.

    SIGTERM (CI runners, `timeout`) ends the run as Ctrl-C does, clones and lease released,
    and exits 143.
    """
    outcome = PytestOutcome()
    args = [*plugin_args(options), *pytest_args]
    terminated: list[int] = []

    def on_sigterm(signum: int, _frame: FrameType | None) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        code = pytest.main(args, plugins=[OutcomeCollector(outcome)])
    except SuiteSetupFailed as failed:  # while pytest read the conftests: its line is out
        code = failed.error.exit_code
        outcome.error = failed.error.message
    finally:
        signal.signal(signal.SIGTERM, previous)
        outcome.duration_s = time.time() - outcome.started_at
    if terminated:
        outcome.exit_code = ExitCode.TERMINATED
    elif outcome.exit_code != ExitCode.INTERRUPTED:
        outcome.exit_code = int(code)
    return outcome


def plugin_args(options: LiveOptions) -> list[str]:
    """The plugin's own options (and the plugin itself when pytest loads no entry points)."""
    args = ["-p", PLUGIN_MODULE] if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") else []
    if options.remote:
        args += ["--sparkpush-remote", options.remote]
    if options.fresh:
        args.append("--sparkpush-fresh")
    if options.keep_warm:
        args.append("--sparkpush-keep-warm")
    if options.worker_output is not None:
        args.append(
            "--sparkpush-worker-output" if options.worker_output else "--sparkpush-no-worker-output"
        )
    if not options.classic:
        args.append("--sparkpush-suite-sessions")
    if options.config_file is not None:
        args += ["--sparkpush-config", os.fspath(options.config_file)]
    return args
