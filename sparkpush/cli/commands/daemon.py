"""`connect daemon start|stop|status|logs`: the project's watch daemon in the background."""

from __future__ import annotations

import json
import time

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.log_tail import show_log
from sparkpush.daemon.launcher import daemon_status, start_project_daemon, stop_project_daemon
from sparkpush.state.daemon_paths import daemon_paths


@click.group()
def daemon() -> None:
    """The project's watch daemon (one per project)."""


@daemon.command()
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@pass_app
def start(app_ctx: AppContext, remote: str | None) -> int:
    """Start the daemon unless it is running."""
    root = app_ctx.config.project_root
    status, started = start_project_daemon(root, app_ctx.config_file, remote)
    verb = "started" if started else "is already running"
    click.echo(f"daemon {verb} for {root} (pid {status.pid})")
    return 0


@daemon.command()
@pass_app
def stop(app_ctx: AppContext) -> int:
    """Stop the project's daemon."""
    if stop_project_daemon(app_ctx.config.project_root):
        click.echo("daemon stopped")
    else:
        click.echo("daemon is not running")
    return 0


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
def status(app_ctx: AppContext, as_json: bool) -> int:
    """Generation, last sync, last error."""
    root = app_ctx.config.project_root
    current = daemon_status(root)
    if as_json:
        document = (
            {"running": True, **current.to_json()}
            if current is not None
            else {"running": False, "project": str(root)}
        )
        click.echo(json.dumps(document, sort_keys=True))
        return 0
    if current is None:
        click.echo("daemon: not running")
        return 0
    click.echo(f"daemon: running (pid {current.pid})")
    click.echo(f"  remote:     {current.remote}")
    if current.waiting_for_server:
        click.echo("  server:     not running: waiting for it ('connect server start')")
    click.echo(f"  generation: {current.generation} (session {current.session_id})")
    if current.base_session_id is not None:
        click.echo(f"  base:       session {current.base_session_id}")
    click.echo(f"  artifacts:  {current.artifacts}, udfs: {current.udfs}")
    last = current.last_sync
    if last:
        when = time.strftime("%H:%M:%S", time.localtime(last.at))
        click.echo(f"  last sync:  {when} {last.action.value} in {last.ms} ms")
    if current.last_error:
        click.echo(f"  last error: {current.last_error}")
    return 0


@daemon.command()
@click.option("-n", "--lines", default=50, show_default=True)
@click.option("-f", "--follow", is_flag=True)
@pass_app
def logs(app_ctx: AppContext, lines: int, follow: bool) -> int:
    """Show the daemon's log."""
    show_log(daemon_paths(app_ctx.config.project_root).log, lines, follow)
    return 0
