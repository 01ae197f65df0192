"""`connect watch [--run APP.py ARGS...]`: the daemon in the foreground, one line per sync."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from sparkpush.artifacts.planner import PlanAction
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.daemon.lifecycle import run_daemon
from sparkpush.daemon.script_sources import local_sources, sources_signature
from sparkpush.errors import UsageError
from sparkpush.live.watched_tests import paths_under_test, sources_under_test
from sparkpush.sync.engine import SyncResult
from sparkpush.sync.summary import SyncSummary

STOP_RUN_GRACE_S = 10.0


def print_sync(summary: SyncSummary) -> None:
    """One line for a sync that changed what serves, drawn as the daemon's log draws it."""
    if summary.changed:
        click.echo(f"sync: {summary.describe()}", err=True)


class ScriptRunner:
    """Re-runs a command when the generation changed or the files it runs did, like
    `uvicorn --reload`: a script (`--run`) or the project's tests (`--test`)."""

    def __init__(self, command: list[str], sources: Callable[[], tuple[Path, ...]]) -> None:
        self.command = command
        self.sources = sources
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self._sources: str | None = None
        self._udfs: dict[str, str] | None = None

    @classmethod
    def for_script(
        cls,
        app: str,
        args: tuple[str, ...],
        config_option: list[str],
        project_root: Path,
        worker_output: bool | None = None,
    ) -> ScriptRunner:
        """`connect submit --attach APP ARGS`; re-run when it or a module it imports changes."""
        script = Path(app).absolute()
        command = [sys.executable, "-m", "sparkpush", *config_option, "submit", "--attach"]
        command += _worker_output_flag(worker_output)
        return cls([*command, app, *args], lambda: local_sources(script, project_root))

    @classmethod
    def for_tests(
        cls,
        pytest_args: tuple[str, ...],
        config_option: list[str],
        project_root: Path,
        worker_output: bool | None = None,
    ) -> ScriptRunner:
        """`connect test PYTEST_ARGS`; re-run when a test file or what it imports changes."""
        command = [sys.executable, "-m", "sparkpush", *config_option, "test"]
        command += [*_worker_output_flag(worker_output), *pytest_args]
        folders = paths_under_test(pytest_args, Path.cwd())
        return cls(command, lambda: sources_under_test(folders, project_root))

    def needs_rerun(self, result: SyncResult) -> bool:
        """After a sync: did anything the script runs on change since its last run?"""
        sources = sources_signature(self.sources())
        udfs = _udf_fingerprints(result)
        changed = (
            self.process is None
            or result.action is not PlanAction.NOTHING
            or udfs != self._udfs
            or sources != self._sources
        )
        self._sources, self._udfs = sources, udfs
        return changed

    def restart(self) -> None:
        with self.lock:
            self._stop()
            self.process = subprocess.Popen(self.command)

    def stop(self) -> None:
        with self.lock:
            self._stop()

    def _stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_RUN_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@click.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--run", "run_app", metavar="APP.py", help="Re-run APP.py after every sync.")
@click.option(
    "--test",
    "run_tests",
    is_flag=True,
    help="Re-run connect test ARGS after every sync.",
)
@click.option(
    "--worker-output/--no-worker-output",
    default=None,
    help="With --run or --test: show what the UDFs print and log on the workers (default: "
    "on, or worker_output in the config).",
)
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def watch(
    app_ctx: AppContext,
    remote: str | None,
    run_app: str | None,
    run_tests: bool,
    worker_output: bool | None,
    app_args: tuple[str, ...],
) -> int:
    """Watch the project's sources and keep its session on the code on disk."""
    config_option = ["--config", str(app_ctx.config_file)] if app_ctx.config_file else []
    root = app_ctx.config.project_root
    if run_app and run_tests:
        raise UsageError("--run and --test exclude each other")
    runner: ScriptRunner | None = None
    if run_app:
        runner = ScriptRunner.for_script(run_app, app_args, config_option, root, worker_output)
    elif run_tests:
        runner = ScriptRunner.for_tests(app_args, config_option, root, worker_output)

    def on_synced(result: SyncResult) -> None:
        print_sync(SyncSummary.of(result))
        if runner is not None and runner.needs_rerun(result):
            runner.restart()

    def on_ready() -> None:
        click.echo(f"watching {app_ctx.config.project_root} (Ctrl-C to stop)", err=True)

    try:
        run_daemon(
            app_ctx.config.project_root,
            app_ctx.config_file,
            remote,
            on_synced=on_synced,
            on_message=app_ctx.notify,
            on_ready=on_ready,
        )
    finally:
        if runner is not None:
            runner.stop()
    return 0


def _worker_output_flag(worker_output: bool | None) -> list[str]:
    """The child command's own flag (it reads the config itself when none was given)."""
    if worker_output is None:
        return []
    return ["--worker-output" if worker_output else "--no-worker-output"]


def _udf_fingerprints(result: SyncResult) -> dict[str, str]:
    """Registered UDF name -> fingerprint: a re-registration or a drop changes it."""
    functions = result.current_generation.udfs.functions if result.current_generation else {}
    return {name: u.fingerprint for name, u in functions.items()}
