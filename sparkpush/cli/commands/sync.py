"""`connect sync`: bring the project's current session up to date."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.progress import ProgressLine
from sparkpush.daemon.attach import daemon_generation
from sparkpush.project_session import ready_session
from sparkpush.remote import resolve_target
from sparkpush.sync.engine import SyncResult


@click.command()
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA bundle for use_ssl=true (overrides ca_file in the config).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line instead of a table.")
@click.option("--keep-old", is_flag=True, help="Do not release the previous generation.")
@pass_app
def sync(
    app_ctx: AppContext, remote: str | None, ca_file: Path | None, as_json: bool, keep_old: bool
) -> int:
    """Upload what changed; a changed or removed artifact builds a new session generation."""
    config = app_ctx.config
    if remote is None and not keep_old:
        held = daemon_generation(config.project_root, lease=False)
        if held is not None:
            app_ctx.notify("synced by the project's daemon")
            held.raise_error()
            _print_daemon_sync(held.reply, as_json)
            return 0
    target = resolve_target(config, remote, notify=app_ctx.notify, ca_file=ca_file)
    progress = ProgressLine("uploading") if app_ctx.stderr_is_tty() and not as_json else None
    try:
        result = ready_session(
            config, target, keep_old=keep_old, on_progress=progress.update if progress else None
        )
    finally:
        if progress is not None:
            progress.finish()
    for warning in result.warnings:
        app_ctx.notify(f"warning: {warning}")
    if as_json:
        click.echo(json.dumps(sync_summary(result), sort_keys=True))
    else:
        _print_table(result)
    return 0


def sync_summary(result: SyncResult) -> dict[str, object]:
    return {
        "session_id": result.session_id,
        "generation": result.generation,
        "action": result.action.value,
        "uploaded": len(result.uploaded),
        "skipped": result.skipped,
        "bytes": result.bytes,
        "seconds": round(result.seconds, 4),
        "reasons": list(result.reasons),
        "released": list(result.released),
        "warnings": list(result.warnings),
    }


def _print_daemon_sync(reply: dict[str, object], as_json: bool) -> None:
    last = reply.get("last_sync") or {}
    assert isinstance(last, dict)
    summary = {
        "session_id": reply.get("session_id"),
        "generation": reply.get("generation"),
        "action": last.get("action"),
        "uploaded": last.get("uploaded", 0),
        "bytes": last.get("bytes", 0),
        "seconds": round(float(last.get("ms", 0.0)) / 1000, 4),
        "reasons": last.get("reasons", []),
        "by_daemon": True,
    }
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
        return
    for key in ("action", "generation", "session_id", "uploaded", "bytes"):
        click.echo(f"{key.ljust(10)}  {summary[key]}")


def _print_table(result: SyncResult) -> None:
    rows = [
        ("action", result.action.value.replace("_", " ")),
        ("generation", f"{result.generation} (session {result.session_id})"),
        ("uploaded", str(len(result.uploaded))),
        ("skipped", str(result.skipped)),
        ("bytes", f"{result.bytes:,}"),
        ("time", f"{result.seconds * 1000:.0f} ms"),
    ]
    if result.reasons:
        rows.append(("why", "; ".join(result.reasons)))
    if result.released:
        rows.append(("released", ", ".join(result.released)))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
