"""`connect shell`: a Python shell with `spark` on the project's live generation."""

from __future__ import annotations

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.live.live_project import LiveOptions, LiveProject
from sparkpush.workerout.settings import worker_output_on


@click.command()
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--fresh", is_flag=True, help="An own session with the project's artifacts.")
@click.option("--plain", is_flag=True, help="The standard Python REPL even if IPython is there.")
@click.option(
    "--worker-output/--no-worker-output",
    default=None,
    help="After each statement, what its UDFs printed and logged on the workers (default: "
    "on, or worker_output in the config).",
)
@pass_app
def shell(
    app_ctx: AppContext, remote: str | None, fresh: bool, plain: bool, worker_output: bool | None
) -> int:
    """IPython (or the standard REPL) with `spark` on the project's generation, synced first."""
    from sparkpush.live.repl import interact
    from sparkpush.live.shell import LiveShell

    options = LiveOptions(remote=remote, fresh=fresh, config_file=app_ctx.config_file)
    project = LiveProject.open(options, notify=app_ctx.notify)
    live = LiveShell(project, {}, say=click.echo)
    try:
        live.start(worker_output=worker_output_on(worker_output, project.config.worker_output))
        interact(live, plain=plain)
    finally:
        live.close()
    return 0
