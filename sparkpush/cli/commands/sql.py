"""`connect sql`: run one SQL statement on the project's current session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.daemon.attach import current_generation, project_target

if TYPE_CHECKING:
    import pyarrow as pa


@click.command()
@click.argument("query")
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--json", "as_json", is_flag=True, help="One line: a JSON array of row objects.")
@pass_app
def sql(app_ctx: AppContext, query: str, remote: str | None, as_json: bool) -> int:
    """Run QUERY on the project's session (synced first, UDFs registered)."""
    config = app_ctx.config
    target = project_target(config, remote, notify=app_ctx.notify)
    # pyarrow costs half a second to import: only this command needs it
    from sparkpush.connect.sql_query import run_sql

    current = current_generation(config, target, app_ctx.notify)
    with target.client(current.session_id, current.server_side_session_id) as client:
        table = run_sql(client, query)
    if as_json:
        rows = table.to_pylist() if table is not None else []
        click.echo(json.dumps(rows, default=str))
    elif table is None or table.num_columns == 0:
        click.echo("OK")
    else:
        click.echo(format_table(table.column_names, _text_rows(table)))
    return 0


def _text_rows(table: pa.Table) -> list[list[str]]:
    return [[_cell(row[name]) for name in table.column_names] for row in table.to_pylist()]


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header, a row count."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
