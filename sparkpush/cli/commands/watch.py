"""`connect watch [--run APP.py ARGS...]`: the daemon in the foreground, one line per sync."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import click

from sparkpush.artifacts.planner import PlanAction
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.daemon.runner import run_daemon
from sparkpush.sync.engine import SyncResult

STOP_RUN_GRACE_S = 10.0


class ScriptRunner:
    """Re-runs the script after each sync that changed something, like `uvicorn --reload`."""

    def __init__(self, app: str, args: tuple[str, ...], config_option: list[str]) -> None:
        self.command = [
            sys.executable,
            "-m",
            "sparkpush",
            *config_option,
            "submit",
            "--attach",
            app,
            *args,
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

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


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--run", "run_app", metavar="APP.py", help="Re-run APP.py after every sync.")
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def watch(
    app_ctx: AppContext, remote: str | None, run_app: str | None, app_args: tuple[str, ...]
) -> int:
    """Watch the project's sources and keep its session on the code on disk."""
    config_option = ["--config", str(app_ctx.config_file)] if app_ctx.config_file else []
    runner = ScriptRunner(run_app, app_args, config_option) if run_app else None

    def on_synced(result: SyncResult) -> None:
        changed = result.action is not PlanAction.NOTHING
        if changed:
            what = result.action.value.replace("_", " ")
            reasons = f" ({'; '.join(result.reasons)})" if result.reasons else ""
            click.echo(
                f"sync: {what}, generation {result.generation}, {len(result.uploaded)} "
                f"artifact(s), {result.bytes:,} bytes, {result.seconds * 1000:.0f} ms{reasons}",
                err=True,
            )
        if runner is not None and (changed or runner.process is None):
            runner.restart()

    click.echo(f"watching {app_ctx.config.project_root} (Ctrl-C to stop)", err=True)
    try:
        run_daemon(
            app_ctx.config.project_root,
            app_ctx.config_file,
            remote,
            on_synced=on_synced,
            on_message=app_ctx.notify,
        )
    finally:
        if runner is not None:
            runner.stop()
    return 0
