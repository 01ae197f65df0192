"""`connect submit`: run a PySpark script on a fresh session; CI-safe (timeout, report)."""

from __future__ import annotations

from pathlib import Path

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.progress import LOG_FORMATS, ProgressLine, status_notifier, timestamp_logs
from sparkpush.errors import UsageError
from sparkpush.packages.coordinates import IVY_SCHEME
from sparkpush.packages.spec import PackageFlags
from sparkpush.submit.command import SubmitOptions, submit_and_report, tell_how_it_ended
from sparkpush.submit.report import summary_line


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--remote", help="Spark Connect URL, sc://host:port/;key=value (default: embedded).")
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA bundle for use_ssl=true (overrides ca_file in the config).",
)
@click.option("--py-files", multiple=True, help="Comma-separated .py/.zip/.egg files.")
@click.option(
    "--jars",
    multiple=True,
    help="Comma-separated jars for the session class path (ivy://group:artifact:version too).",
)
@click.option("--archives", multiple=True, help="Comma-separated archives, each FILE[#ALIAS].")
@click.option("--files", multiple=True, help="Comma-separated plain files (see SparkFiles).")
@click.option(
    "--packages",
    multiple=True,
    help="Comma-separated Maven coordinates group:artifact:version (resolved, transitive).",
)
@click.option(
    "--repositories",
    multiple=True,
    help="Comma-separated Maven repositories searched before Maven Central.",
)
@click.option(
    "--exclude-packages",
    multiple=True,
    help="Comma-separated group:artifact modules left out of --packages' resolution.",
)
@click.option("--conf", "confs", multiple=True, help="Spark SQL conf KEY=VALUE for the session.")
@click.option("-m", "module", help="Run a module like `python -m` instead of a script.")
@click.option(
    "--timeout",
    "timeout_raw",
    metavar="SECONDS",
    help="Stop the run after SECONDS: interrupt its queries, release the session, exit 124.",
)
@click.option(
    "--liveness-timeout",
    "liveness_timeout_raw",
    metavar="SECONDS",
    help="Count the server as hung once it leaves a liveness question unanswered this long: "
    "stop the run, exit 3 (default: liveness_timeout in the config, else 60; 0: off).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a JSON report of the run to FILE (also on failure and timeout).",
)
@click.option("--json", "as_json", is_flag=True, help="End stdout with a one-line JSON summary.")
@click.option(
    "--log-format",
    default="plain",
    metavar="|".join(LOG_FORMATS),
    help="Status and log lines on stderr: plain (default) or timestamped (UTC).",
)
@click.option(
    "--attach",
    is_flag=True,
    help="Run on the project's current generation (synced first) instead of a fresh session.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="An isolated session even when the project's daemon is running.",
)
@click.option(
    "--worker-output/--no-worker-output",
    default=None,
    help="Show what the UDFs print and log on the workers, on stderr (default: on, or "
    "worker_output in the config).",
)
@click.argument("app", required=False)
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def submit(
    app_ctx: AppContext,
    remote: str | None,
    ca_file: Path | None,
    py_files: tuple[str, ...],
    jars: tuple[str, ...],
    archives: tuple[str, ...],
    files: tuple[str, ...],
    packages: tuple[str, ...],
    repositories: tuple[str, ...],
    exclude_packages: tuple[str, ...],
    confs: tuple[str, ...],
    module: str | None,
    timeout_raw: str | None,
    liveness_timeout_raw: str | None,
    report_path: Path | None,
    as_json: bool,
    log_format: str,
    attach: bool,
    fresh: bool,
    worker_output: bool | None,
    app: str | None,
    app_args: tuple[str, ...],
) -> int:
    """Run APP.py [APP_ARGS...] on a fresh Spark Connect session (or --attach)."""
    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
        )
    if log_format == "timestamped":
        timestamp_logs()
    notify = status_notifier(log_format)
    tty = app_ctx.stderr_is_tty()
    options = SubmitOptions(
        app=app,
        app_args=app_args,
        module=module,
        remote=remote,
        ca_file=ca_file,
        py_files=py_files,
        jars=tuple(j for j in jars if not _is_ivy(j)),
        archives=archives,
        files=files,
        packages=PackageFlags(
            (*packages, *(j for j in jars if _is_ivy(j))), repositories, exclude_packages
        ),
        confs=confs,
        timeout_raw=timeout_raw,
        liveness_timeout_raw=liveness_timeout_raw,
        report_path=report_path,
        as_json=as_json,
        attach=attach,
        fresh=fresh,
        query_progress=tty,
        worker_output=worker_output,
    )
    progress = ProgressLine("uploading") if tty else None
    try:
        result = submit_and_report(
            options, lambda: app_ctx.config, notify, progress.update if progress else None
        )
    finally:
        if progress is not None:
            progress.finish()
    if as_json:
        click.echo(summary_line(result.report))
    if result.failure is not None:
        raise result.failure
    tell_how_it_ended(notify, result.outcome)
    return result.exit_code


def _is_ivy(value: str) -> bool:
    """`--jars ivy://g:a:v`: coordinates, as the Scala client takes them (one per value)."""
    return value.strip().startswith(f"{IVY_SCHEME}://")
