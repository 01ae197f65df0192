"""`connect shell`: a Python shell with `spark` on the project's live generation."""

from __future__ import annotations

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.live.live_project import LiveOptions, LiveProject


@click.command()
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--fresh", is_flag=True, help="An own session with the project's artifacts.")
@click.option("--plain", is_flag=True, help="The standard Python REPL even if IPython is there.")
@pass_app
def shell(app_ctx: AppContext, remote: str | None, fresh: bool, plain: bool) -> int:
    """IPython (or the standard REPL) with `spark` on the project's generation, synced first."""
    from sparkpush.live.repl import interact
    from sparkpush.live.shell import LiveShell

    options = LiveOptions(remote=remote, fresh=fresh, config_file=app_ctx.config_file)
    project = LiveProject.open(options, notify=app_ctx.notify)
    live = LiveShell(project, {}, say=click.echo)
    try:
        live.start()
        interact(live, plain=plain)
    finally:
        live.close()
    return 0
