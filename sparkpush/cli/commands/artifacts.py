"""`connect artifacts`: what the project's current generation holds."""

from __future__ import annotations

import json
from typing import Any

import click

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.cli.commands.sql import format_table
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.packages.session_parts import coordinate_of_source
from sparkpush.sync.generation import load_generation


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
def artifacts(app_ctx: AppContext, as_json: bool) -> int:
    """List the current generation's artifacts (name, kind, size, hash, source, layer); a
    package jar's source is its Maven coordinate."""
    generation = load_generation(app_ctx.config.project_root)
    base = generation.base if generation else None
    in_base = set(base.names) if base else set()
    rows = [
        {
            "name": entry.name,
            "kind": ArtifactKind.of_name(entry.name).name.lower(),
            "size": entry.size,
            "sha256": entry.sha256,
            "source": entry.source,
            "coordinate": coordinate_of_source(entry.source),
            "generation": entry.generation,
            "layer": ("base" if entry.name in in_base else "code") if base else None,
        }
        for entry in (generation.entries.values() if generation else ())
    ]
    rows.sort(key=lambda row: str(row["name"]))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "session_id": generation.session_id if generation else None,
                    "generation": generation.number if generation else None,
                    "base_session_id": base.session_id if base else None,
                    "artifacts": rows,
                },
                sort_keys=True,
            )
        )
        return 0
    if generation is None:
        click.echo("no generation yet: run 'connect sync'")
        return 0
    held = f", a clone of base session {base.session_id}" if base else ""
    click.echo(f"generation {generation.number} (session {generation.session_id}{held})")
    click.echo(render_table(rows))
    return 0


def render_table(rows: list[dict[str, Any]]) -> str:
    """The artifacts as a table, the layer column included (`-` without layers)."""
    header = ["name", "kind", "size", "sha256", "source", "layer"]
    cells = [
        [
            str(row["name"]),
            str(row["kind"]),
            f"{row['size']:,}",
            str(row["sha256"])[:12],
            str(row["source"]),
            str(row["layer"] or "-"),
        ]
        for row in rows
    ]
    return format_table(header, cells)
