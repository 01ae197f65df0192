"""`connect env`: the project's Python environment; `connect env build` fills the cache."""

from __future__ import annotations

import json

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.environment.session_parts import prepare_environment
from sparkpush.environment.status import environment_report, platform_wheels
from sparkpush.remote.target import resolve_target
from sparkpush.sync.generation import load_generation


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def env(ctx: click.Context, as_json: bool) -> int:
    """Show the environment: target, packages, size, hash, cache path, in the generation."""
    if ctx.invoked_subcommand is not None:
        return 0
    app_ctx = ctx.find_object(AppContext) or AppContext()
    current = load_generation(app_ctx.config.project_root)
    if current is None:
        report = environment_report(app_ctx.config, None, {})
    else:
        report = environment_report(app_ctx.config, current.number, current.hashes)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        click.echo(render_report(report))
    return 0


@env.command()
@click.option("--remote", help="sc:// URL of the server whose workers to build for.")
@pass_app
def build(app_ctx: AppContext, remote: str | None) -> int:
    """Build the environment into the user cache (e.g. a CI cache step); sends nothing."""
    config = app_ctx.config
    target = resolve_target(config, remote, notify=app_ctx.notify)
    prepared = prepare_environment(config, target, platform_wheels(config))
    if prepared is None:
        click.echo("no environment configured ([tool.sparkpush.environment])")
        return 0
    for warning in prepared.warnings:
        app_ctx.notify(f"warning: {warning}")
    state = "built" if prepared.built_now else "already built"
    click.echo(
        f"{state}: {len(prepared.cached.packages)} packages for "
        f"{prepared.worker_target.describe()}, {prepared.cached.size:,} bytes, "
        f"{prepared.cached.folder}"
    )
    return 0


def render_report(report: dict[str, object]) -> str:
    if not report["configured"]:
        return "no environment configured ([tool.sparkpush.environment])"
    if not report["built"]:
        return "not built for the current requirements: run 'connect sync' or 'connect env build'"
    packages = report["packages"]
    assert isinstance(packages, dict)
    lines = [
        f"target      {report['target']}",
        f"size        {report['size']:,} bytes",
        f"sha256      {report['sha256']}",
        f"cache       {report['cache_path']}",
        f"lock        {report['lock_file']}",
        f"generation  {'has it' if report['in_current_generation'] else 'does not have it yet'}",
        "packages    " + (", ".join(f"{n}=={v}" for n, v in packages.items()) or "none"),
    ]
    left_out = report["left_out"]
    if isinstance(left_out, dict) and left_out:
        shown = ", ".join(f"{n} {v}" for n, v in left_out.items())
        lines.append(f"left out    {shown} (the workers' own copies are used)")
    return "\n".join(lines)
