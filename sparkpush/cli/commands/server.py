"""`connect server start|stop|status|logs`: the embedded Spark Connect server."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import click

from sparkpush.cli.context import AppContext
from sparkpush.cli.log_tail import show_log
from sparkpush.cli.progress import ProgressLine
from sparkpush.config.settings import ServerSettings
from sparkpush.errors import ServerAlreadyRunningError, UsageError
from sparkpush.packages.server_side import extras_mismatch, server_extras
from sparkpush.remote.target import probe_embedded, require_trusted
from sparkpush.server.last_start import load_last_start
from sparkpush.server.process import server_status, start_server, stop_server
from sparkpush.state.server_state import StateFiles


@click.group()
def server() -> None:
    """The embedded Spark Connect server (one per user, on 127.0.0.1)."""


@server.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port (default: config, else 15002 if free, else a free port).",
)
@click.option("--master", help="Spark master (default local[*]).")
@click.option("--ui/--no-ui", default=None, help="Run the Spark UI (default off).")
@click.option(
    "--workers",
    type=click.IntRange(0, 16),
    help="Start a local standalone cluster with N workers (separate executor JVMs).",
)
@click.pass_context
def start(
    ctx: click.Context,
    port: int | None,
    master: str | None,
    ui: bool | None,
    workers: int | None,
) -> int:
    """Start the server unless it is running; prints its URL.

    If it runs already on another port than --port asks for, exits 2 and says where it runs.
    """
    began = time.monotonic()
    app_ctx = ctx.ensure_object(AppContext)
    if master is None:  # a master off this machine from a project's config needs its trust
        require_trusted(app_ctx.config, master=True)
    flags = ServerSettings(
        port=port, master=master, ui=ui, workers=workers, port_source=_port_source(ctx)
    )
    files = StateFiles()
    # what the flags and the config leave unset is as the server was last started
    settings = flags.over(app_ctx.config.server).over(load_last_start(files))
    if workers and master is not None:
        raise UsageError("--workers starts its own master; do not combine it with --master")
    # resolving the server's packages may start a JVM: not for a server that already runs
    extras = None if server_status(files).running else server_extras(app_ctx.config)
    spinner = ProgressLine("starting Spark Connect server") if app_ctx.stderr_is_tty() else None
    try:
        state, started = start_server(
            settings,
            files,
            probe_embedded,
            spinner.spin if spinner else None,
            notify=app_ctx.notify,
            extras=extras,
        )
    finally:
        if spinner is not None:
            spinner.finish()
    if started:
        # the whole wait, the local cluster's start included
        took = time.monotonic() - began
        click.echo(f"Spark Connect server started at {state.url} in {took:.1f} s")
    elif port is not None and port != state.port:
        raise ServerAlreadyRunningError(
            f"the embedded server already runs at {state.url} (pid {state.pid}), not on port "
            f"{port}; stop it first with 'connect server stop'"
        )
    else:
        click.echo(f"Spark Connect server is already running at {state.url} (pid {state.pid})")
        mismatch = extras_mismatch(app_ctx.config, state.extras)
        if mismatch is not None:
            app_ctx.notify(mismatch)
    return 0


def _port_source(ctx: click.Context) -> str | None:
    """Where --port came from, for the message when that port is busy."""
    source = ctx.get_parameter_source("port")
    if source is click.core.ParameterSource.ENVIRONMENT:
        [option] = [p for p in ctx.command.params if p.name == "port"]
        return str(option.envvar)
    if source is click.core.ParameterSource.COMMANDLINE:
        return "--port"
    return None


@server.command()
def stop() -> int:
    """Stop the server started by `connect server start`; returns once it has exited."""
    if stop_server(StateFiles()):
        click.echo("Spark Connect server stopped")
    else:
        click.echo("Spark Connect server is not running")
    return 0


@server.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> int:
    """Whether the server runs, where, and where its token and log are."""
    files = StateFiles()
    current = server_status(files)
    if as_json:
        fields: dict[str, object] = {
            "running": current.running,
            "pid": None,
            "url": None,
            "token_file": None,
            "master": None,
            "log_file": str(files.log),
        }
        if current.state is not None:
            fields.update(asdict(current.state))
            fields["cluster_pids"] = list(current.state.cluster_pids)
        click.echo(json.dumps(fields, sort_keys=True))
        return 0
    if current.state is None:
        click.echo("Spark Connect server: not running")
    else:
        state = current.state
        click.echo(f"Spark Connect server: running (pid {state.pid})")
        click.echo(f"  url:        {state.url}")
        click.echo(f"  master:     {state.master}")
        if state.cluster_pids:
            click.echo(f"  cluster:    {len(state.cluster_pids)} processes (master and workers)")
        click.echo(f"  token file: {state.token_file}")
        click.echo(f"  log file:   {state.log_file}")
    return 0


@server.command()
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
def logs(lines: int, follow: bool) -> int:
    """Show the server's log."""
    show_log(StateFiles().log, lines, follow)
    return 0
