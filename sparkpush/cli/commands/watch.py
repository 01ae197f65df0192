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

STOP_RUN_GRACE_S = 10.0


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
        cls, app: str, args: tuple[str, ...], config_option: list[str], project_root: Path
    ) -> ScriptRunner:
        """`connect submit --attach APP ARGS`; re-run when it or a module it imports changes."""
        script = Path(app).absolute()
        command = [sys.executable, "-m", "sparkpush", *config_option, "submit", "--attach"]
        return cls([*command, app, *args], lambda: local_sources(script, project_root))

    @classmethod
    def for_tests(
        cls, pytest_args: tuple[str, ...], config_option: list[str], project_root: Path
    ) -> ScriptRunner:
        """`connect test PYTEST_ARGS`; re-run when a test file or what it imports changes."""
        command = [sys.executable, "-m", "sparkpush", *config_option, "test", *pytest_args]
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
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def watch(
    app_ctx: AppContext,
    remote: str | None,
    run_app: str | None,
    run_tests: bool,
    app_args: tuple[str, ...],
) -> int:
    """Watch the project's sources and keep its session on the code on disk."""
    config_option = ["--config", str(app_ctx.config_file)] if app_ctx.config_file else []
    root = app_ctx.config.project_root
    if run_app and run_tests:
        raise UsageError("--run and --test exclude each other")
    runner: ScriptRunner | None = None
    if run_app:
        runner = ScriptRunner.for_script(run_app, app_args, config_option, root)
    elif run_tests:
        runner = ScriptRunner.for_tests(app_args, config_option, root)

    def on_synced(result: SyncResult) -> None:
        if result.action is not PlanAction.NOTHING:
            what = result.action.value.replace("_", " ")
            reasons = f" ({'; '.join(result.reasons)})" if result.reasons else ""
            click.echo(
                f"sync: {what}, generation {result.generation}, {len(result.uploaded)} "
                f"artifact(s), {result.bytes:,} bytes, {result.seconds * 1000:.0f} ms{reasons}",
                err=True,
            )
        elif result.udfs:
            click.echo(f"sync: registered {', '.join(result.udfs)} in place", err=True)
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


def _udf_fingerprints(result: SyncResult) -> dict[str, str]:
    """Registered UDF name -> fingerprint: a re-registration or a drop changes it."""
    functions = result.current_generation.udfs.functions if result.current_generation else {}
    return {name: u.fingerprint for name, u in functions.items()}
