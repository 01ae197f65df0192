"""`connect submit`: run a PySpark script over a session that already has its artifacts."""

from __future__ import annotations

import click

from sparkpush.artifacts.local_artifact import artifacts_from_flags
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.progress import ProgressLine
from sparkpush.errors import UsageError
from sparkpush.remote import resolve_target
from sparkpush.submit.runner import SubmitRequest, check_app, run_submit


def parse_conf(values: tuple[str, ...]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for value in values:
        key, eq, setting = value.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--conf {value!r} is not key=value")
        conf[key.strip()] = setting
    return conf


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--remote", help="Spark Connect URL, sc://host:port/;key=value (default: embedded).")
@click.option("--py-files", multiple=True, help="Comma-separated .py/.zip/.egg files.")
@click.option("--jars", multiple=True, help="Comma-separated jars for the session class path.")
@click.option("--archives", multiple=True, help="Comma-separated archives, each FILE[#ALIAS].")
@click.option("--files", multiple=True, help="Comma-separated plain files (see SparkFiles).")
@click.option("--conf", "confs", multiple=True, help="Spark SQL conf KEY=VALUE for the session.")
@click.option("-m", "module", help="Run a module like `python -m` instead of a script.")
@click.argument("app", required=False)
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def submit(
    app_ctx: AppContext,
    remote: str | None,
    py_files: tuple[str, ...],
    jars: tuple[str, ...],
    archives: tuple[str, ...],
    files: tuple[str, ...],
    confs: tuple[str, ...],
    module: str | None,
    app: str | None,
    app_args: tuple[str, ...],
) -> int:
    """Run APP.py [APP_ARGS...] on a fresh Spark Connect session."""
    if module is not None and app is not None:
        app_args = (app, *app_args)
        app = None
    request = SubmitRequest(
        app=app,
        module=module,
        args=app_args,
        artifacts=artifacts_from_flags(py_files, jars, archives, files),
        conf={**app_ctx.config.conf, **parse_conf(confs)},
    )
    check_app(request)
    target = resolve_target(app_ctx.config, remote, notify=app_ctx.notify)
    progress = ProgressLine("uploading") if app_ctx.stderr_is_tty() else None
    try:
        outcome = run_submit(target, request, app_ctx.notify, progress.update if progress else None)
    finally:
        if progress is not None:
            progress.finish()
    if outcome.signal_name is not None:
        app_ctx.notify(f"{outcome.signal_name}: interrupted the session's work and released it")
    return outcome.exit_code
