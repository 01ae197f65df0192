"""`connect packages`: the project's JVM packages; `connect packages resolve` fills the cache."""

from __future__ import annotations

import json
from typing import Any

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.packages.resolve import ensure_packages
from sparkpush.packages.spec import Scope, packages_configured, read_spec
from sparkpush.packages.status import packages_report
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.generation import load_generation


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def packages(ctx: click.Context, as_json: bool) -> int:
    """Show the packages: coordinates, resolved tree, sizes, hashes, cache, in the generation."""
    if ctx.invoked_subcommand is not None:
        return 0
    app_ctx = ctx.find_object(AppContext) or AppContext()
    config = app_ctx.config
    current = load_generation(config.project_root)
    report = packages_report(
        config, current.number if current else None, current.hashes if current else {}
    )
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        click.echo(render_report(report))
    return 0


@packages.command()
@pass_app
def resolve(app_ctx: AppContext) -> int:
    """Resolve the packages into the user cache and the lock (e.g. a CI cache step); sends
    nothing to any Spark server."""
    config = app_ctx.config
    done = False
    for scope in Scope:
        if not packages_configured(config, scope):
            continue
        with project_lock(config.project_root):  # one resolution at a time per project
            resolved = ensure_packages(config, read_spec(config, scope))
        for warning in resolved.warnings:
            app_ctx.notify(f"warning: {warning}")
        state = "resolved" if resolved.resolved_now else "already resolved"
        entry = resolved.entry
        click.echo(
            f"{scope.value} packages {state}: {len(entry.jars)} jar(s), {entry.size:,} bytes"
        )
        done = True
    if not done:
        click.echo("no packages configured ([tool.sparkpush.packages], server.packages)")
    return 0


def _walk(nodes: list[dict[str, Any]], depth: int = 1) -> list[tuple[int, dict[str, Any]]]:
    found: list[tuple[int, dict[str, Any]]] = []
    for node in nodes:
        found.append((depth, node))
        found.extend(_walk(node["dependencies"], depth + 1))
    return found


def render_report(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for scope in Scope:
        part = report[scope.value]
        if not part["configured"]:
            continue
        title = "packages" if scope is Scope.SESSION else "server packages"
        lines.append(f"{title}: {', '.join(part['coordinates'])}")
        if not part["jars"] and not part["resolved"]:
            lines.append(
                "  not resolved for these coordinates: run 'connect sync' or "
                "'connect packages resolve'"
            )
            continue
        cached = {j["coordinate"]: bool(j["cache_file"]) for j in part["jars"]}
        for depth, node in _walk(part["tree"]):
            missing = "" if cached.get(node["coordinate"]) else "  NOT IN CACHE"
            lines.append(
                f"{'  ' * depth}{node['coordinate']}  {node['size']:,} bytes  "
                f"{node['sha256'][:12]}{missing}"
            )
        for line in part["left_out_line"]:
            lines.append(f"  {line}")
        if scope is Scope.SESSION:
            held = "has them" if part["in_current_generation"] else "does not have them yet"
            lines.append(f"  generation {report['generation']}: {held}")
    if not lines:
        return "no packages configured ([tool.sparkpush.packages], server.packages)"
    lines.append(f"cache  {report['cache_path']}")
    lines.append(f"lock   {report['lock_file']}")
    return "\n".join(lines)
