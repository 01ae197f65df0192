"""`connect sql`: run one SQL statement on the project's current session."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.config.settings import Config
from sparkpush.daemon.attach import CurrentGeneration, current_generation, project_target
from sparkpush.errors import UdfFailedError
from sparkpush.remote.target import Target
from sparkpush.submit.local_paths import server_is_local
from sparkpush.sync.generation import load_generation
from sparkpush.udf.udf_kind import UdfKind
from sparkpush.workerout.query_output import calls_any, show_query_output
from sparkpush.workerout.settings import worker_output_on

if TYPE_CHECKING:
    import pyarrow as pa


@click.command()
@click.argument("query")
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--json", "as_json", is_flag=True, help="One line: a JSON array of row objects.")
@click.option(
    "--worker-output/--no-worker-output",
    default=None,
    help="Show what the query's UDFs print and log on the workers, on stderr (default: on, "
    "or worker_output in the config).",
)
@pass_app
def sql(
    app_ctx: AppContext, query: str, remote: str | None, as_json: bool, worker_output: bool | None
) -> int:
    """Run QUERY on the project's session (synced first, UDFs registered)."""
    config = app_ctx.config
    target = project_target(config, remote, notify=app_ctx.notify)
    # pyarrow costs half a second to import: only this command needs it
    from sparkpush.connect.sql_query import run_sql

    current = current_generation(config, target, app_ctx.notify)
    started = time.time()
    failed: UdfFailedError | None = None
    with target.client(current.session_id, current.server_side_session_id) as client:
        try:
            table = run_sql(client, query)
        except UdfFailedError as exc:
            failed = exc
    if worker_output_on(worker_output, config.worker_output):
        _show_worker_output(config, target, current, query, started)
    if failed is not None:
        for line in failed.traceback:
            click.echo(line, err=True)
        raise failed
    if as_json:
        rows = table.to_pylist() if table is not None else []
        click.echo(json.dumps(rows, default=str))
    elif table is None or table.num_columns == 0:
        click.echo("OK")
    else:
        click.echo(format_table(table.column_names, _text_rows(table)))
    return 0


def _show_worker_output(
    config: Config, target: Target, current: CurrentGeneration, query: str, started: float
) -> None:
    """What the query's Python UDFs printed, on stderr (only a query that names one reads)."""
    manifest = load_generation(config.project_root)
    python_udfs = (
        [u.name for u in manifest.registered_udfs() if u.kind != UdfKind.JAVA.value]
        if manifest
        else []
    )
    if not calls_any(query, python_udfs):
        return
    show_query_output(
        target,
        current.session_id,
        current.server_side_session_id,
        started_at=started,
        local_server=server_is_local(target),
        show=lambda line: click.echo(line, err=True),
    )


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
