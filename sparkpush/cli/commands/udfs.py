"""`connect udfs`: the UDFs registered in the project's current session."""

from __future__ import annotations

import json

import click

from sparkpush.cli.commands.sql import format_table
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.remote.server_facts import BUILTIN_FUNCTIONS, FactCache
from sparkpush.sync.generation import load_generation
from sparkpush.udf.builtin_names import builtin_clashes


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON line instead of a table.")
@pass_app
def udfs(app_ctx: AppContext, as_json: bool) -> int:
    """List registered UDFs: name, kind, return type, source, fingerprint, generation."""
    generation = load_generation(app_ctx.config.project_root)
    found = generation.registered_udfs() if generation is not None else []
    # the names the sync that registered them found on that server (no server asked here)
    builtins = FactCache().latest(generation.remote, BUILTIN_FUNCTIONS) if generation else None
    warnings = builtin_clashes((u.name for u in found), builtins)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        udfs = [{"name": u.name, **u.to_json()} for u in found]
        click.echo(json.dumps({"udfs": udfs, "warnings": warnings}))
        return 0
    if not found:
        click.echo("no UDFs registered (configure [tool.sparkpush.udf] and run 'connect sync')")
        return 0
    header = ["name", "kind", "returns", "source", "fingerprint", "generation"]
    rows = [
        [u.name, u.kind, u.return_type, u.source, u.fingerprint[:12], str(u.generation)]
        for u in found
    ]
    click.echo(format_table(header, rows))
    return 0
