"""`connect submit`: run a PySpark script on a fresh session; CI-safe (timeout, report)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from sparkpush.artifacts.local_artifact import artifacts_from_flags
from sparkpush.cli.context import AppContext, pass_app
from sparkpush.cli.progress import LOG_FORMATS, ProgressLine, status_notifier, timestamp_logs
from sparkpush.daemon.attach import daemon_running
from sparkpush.errors import SparkpushError, UsageError
from sparkpush.remote import resolve_target
from sparkpush.submit.forked_child import prefork
from sparkpush.submit.outcome import RunStatus, SubmitOutcome, interrupted_before_the_run
from sparkpush.submit.project import attach_to_project, with_project_artifacts
from sparkpush.submit.report import build_report, remote_for_report, summary_line, write_report
from sparkpush.submit.runner import SubmitRequest, check_app, run_submit


def parse_conf(values: tuple[str, ...]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for value in values:
        key, eq, setting = value.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--conf {value!r} is not key=value")
        conf[key.strip()] = setting
    return conf


def parse_timeout(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"--timeout must be a positive number of seconds, not {raw!r}")
    return seconds


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--remote", help="Spark Connect URL, sc://host:port/;key=value (default: embedded).")
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA bundle for use_ssl=true (overrides ca_file in the config).",
)
@click.option("--py-files", multiple=True, help="Comma-separated .py/.zip/.egg files.")
@click.option("--jars", multiple=True, help="Comma-separated jars for the session class path.")
@click.option("--archives", multiple=True, help="Comma-separated archives, each FILE[#ALIAS].")
@click.option("--files", multiple=True, help="Comma-separated plain files (see SparkFiles).")
@click.option("--conf", "confs", multiple=True, help="Spark SQL conf KEY=VALUE for the session.")
@click.option("-m", "module", help="Run a module like `python -m` instead of a script.")
@click.option(
    "--timeout",
    "timeout_raw",
    metavar="SECONDS",
    help="Stop the run after SECONDS: interrupt its queries, release the session, exit 124.",
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
    confs: tuple[str, ...],
    module: str | None,
    timeout_raw: str | None,
    report_path: Path | None,
    as_json: bool,
    log_format: str,
    attach: bool,
    fresh: bool,
    app: str | None,
    app_args: tuple[str, ...],
) -> int:
    """Run APP.py [APP_ARGS...] on a fresh Spark Connect session (or --attach)."""
    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
        )
    timeout_s = parse_timeout(timeout_raw)
    if log_format == "timestamped":
        timestamp_logs()
    notify = status_notifier(log_format)
    if module is not None and app is not None:
        app_args = (app, *app_args)
        app = None
    # Before anything opens a gRPC channel: forking is only safe until then.
    forked = prefork()
    started_at = time.time()
    remote_shown: str | None = None
    tty = app_ctx.stderr_is_tty()
    progress = ProgressLine("uploading") if tty else None
    try:
        config = app_ctx.config
        end_lease: Callable[[], None] = _no_lease
        flagged = artifacts_from_flags(py_files, jars, archives, files)
        request = SubmitRequest(
            app=app,
            module=module,
            args=app_args,
            artifacts=flagged,
            conf={**config.conf, **parse_conf(confs)},
            timeout_s=timeout_s,
            query_progress=tty,
        )
        check_app(request)
        target = resolve_target(config, remote, notify=notify, ca_file=ca_file)
        remote_shown = remote_for_report(target.spec)
        on_progress = progress.update if progress else None
        lease = None
        if attach and fresh:
            raise UsageError("--attach and --fresh exclude each other")
        if not attach and not fresh and not flagged and daemon_running(config.project_root):
            notify("the project's daemon is running: attaching to its generation (--fresh: own)")
            attach = True
        if attach:
            lease, request, end_lease = attach_to_project(
                config, target, request, notify, on_progress
            )
        else:
            request = with_project_artifacts(config, target, request, notify)
        try:
            outcome = run_submit(target, request, notify, on_progress, forked=forked, lease=lease)
        finally:
            end_lease()
    except SparkpushError as exc:
        if report_path is None and not as_json:
            raise
        outcome = SubmitOutcome(exit_code=exc.exit_code, session_id=None, started_at=started_at)
        outcome.fail(exc)
        outcome.duration_s = time.time() - started_at
    except KeyboardInterrupt:
        # before the run had a session (and its own signal handling): nothing to clean up
        outcome = interrupted_before_the_run(started_at)
    finally:
        if forked is not None:
            forked.abandon()
        if progress is not None:
            progress.finish()
    report = build_report(outcome, app=app, module=module, args=app_args, remote=remote_shown)
    exit_code = outcome.exit_code
    if report_path is not None:
        try:
            write_report(report_path, report)
        except OSError as exc:
            notify(f"cannot write the report {report_path}: {exc.strerror or exc}")
            exit_code = exit_code or UsageError.exit_code
    if as_json:
        click.echo(summary_line(report))
    if outcome.failure is not None:
        raise outcome.failure
    _tell_how_it_ended(notify, outcome)
    return exit_code


def _no_lease() -> None:
    """Nothing to hand back: the run owns its session, or none was leased."""


def _tell_how_it_ended(notify: Callable[[str], None], outcome: SubmitOutcome) -> None:
    if outcome.status not in (RunStatus.TIMEOUT, RunStatus.INTERRUPTED):
        return
    if outcome.session_id is None:
        notify(f"{outcome.error} before a session was created")
        return
    stopped = len(set(outcome.interrupted_operations))
    released = "released" if outcome.session_released else "could not release"
    notify(
        f"{outcome.error}: interrupted {stopped} operation(s) on the server, {released} the session"
    )
