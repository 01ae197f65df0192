"""`connect sync`: bring the project's current session up to date."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.progress import ProgressLine
from sparkpush.config.settings import Config
from sparkpush.daemon.attach import DaemonGeneration, daemon_generation, project_target
from sparkpush.errors import DaemonVersionMismatchError, ServerUnreachableError
from sparkpush.progress.notify import Notify
from sparkpush.remote.target import Target, resolve_target
from sparkpush.sync.preview import SyncPreview, preview_sync
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.summary import SyncSummary


@click.command()
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA bundle for use_ssl=true (overrides ca_file in the config).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line instead of a table.")
@click.option("--keep-old", is_flag=True, help="Do not release the previous generation.")
@click.option("--dry-run", is_flag=True, help="Say what a sync would do; change nothing.")
@pass_app
def sync(
    app_ctx: AppContext,
    remote: str | None,
    ca_file: Path | None,
    as_json: bool,
    keep_old: bool,
    dry_run: bool,
) -> int:
    """Upload what changed; a changed or removed artifact builds a new session generation."""
    config = app_ctx.config
    if dry_run:
        # Never asks a running daemon: plans against the generation record on disk, as a sync would.
        preview = preview_sync(config, _dry_run_target(config, remote, ca_file, app_ctx.notify))
        _show(app_ctx, preview.warnings)
        _print_preview(preview, as_json)
        return 0
    if remote is None and not keep_old:
        held = daemon_generation(config.project_root, lease=False)
        if held is not None:
            app_ctx.notify("synced by the project's daemon")
            held.raise_error()
            summary = _daemon_summary(held)
            applied = [sync.change_json() for sync in held.reply.applied]
            _show(app_ctx, summary.warnings)
            _print_summary(summary, applied, as_json)
            return 0
    target = project_target(config, remote, notify=app_ctx.notify, ca_file=ca_file)
    progress = ProgressLine("uploading") if app_ctx.stderr_is_tty() and not as_json else None
    try:
        result = ready_session(
            config, target, keep_old=keep_old, on_progress=progress.update if progress else None
        )
    finally:
        if progress is not None:
            progress.finish()
    summary = SyncSummary.of(result)
    applied = [summary.change_json(time.time())] if summary.changed else []
    _show(app_ctx, summary.warnings)
    _print_summary(summary, applied, as_json)
    return 0


def _dry_run_target(
    config: Config, remote: str | None, ca_file: Path | None, notify: Notify
) -> Target | None:
    """The server a sync would use, without starting the embedded one."""
    try:
        return resolve_target(config, remote, start_embedded=False, ca_file=ca_file)
    except ServerUnreachableError:
        notify("the embedded server is not running: a sync would start it")
        return None


def _daemon_summary(held: DaemonGeneration) -> SyncSummary:
    if held.reply.last_sync is None:
        raise DaemonVersionMismatchError()
    return held.reply.last_sync.as_run_here()


def _show(app_ctx: AppContext, warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        app_ctx.notify(f"warning: {warning}")


def _print_summary(summary: SyncSummary, applied: list[dict[str, Any]], as_json: bool) -> None:
    """`applied`: what was done for the changes this call waited for (see README)."""
    if as_json:
        click.echo(json.dumps({**summary.to_json(), "applied": applied}, sort_keys=True))
        return
    rows = [
        ("action", summary.action.value.replace("_", " ")),
        ("generation", f"{summary.generation} (session {summary.session_id})"),
        ("uploaded", str(summary.uploaded)),
        ("skipped", str(summary.skipped)),
        ("bytes", f"{summary.bytes:,}"),
        ("time", f"{summary.seconds * 1000:.0f} ms"),
    ]
    if summary.reasons:
        rows.append(("why", "; ".join(summary.reasons)))
    if summary.udfs:
        rows.append(("udfs", ", ".join(summary.udfs)))
    if summary.released:
        rows.append(("released", ", ".join(summary.released)))
    if summary.by_daemon:
        rows.append(("by", "the project's daemon"))
        for change in applied:
            why = f" ({'; '.join(change['reasons'])})" if change["reasons"] else ""
            what = str(change["action"]).replace("_", " ")
            if change["udfs"]:
                what += f", registered {', '.join(change['udfs'])}"
            rows.append(("applied", f"generation {change['generation']}: {what}{why}"))
    _print_rows(rows)


def _print_preview(preview: SyncPreview, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(preview.to_json(), sort_keys=True))
        return
    rows = [
        ("action", f"{preview.action.value.replace('_', ' ')} (dry run: nothing was changed)"),
        ("why", "; ".join(preview.reasons) or "-"),
        ("upload", f"{len(preview.upload)} artifact(s), {preview.bytes:,} bytes"),
        *(("", name) for name in preview.upload),
        ("udfs", ", ".join(preview.udfs) or "-"),
    ]
    _print_rows(rows)


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
