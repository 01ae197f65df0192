"""`connect test [PYTEST ARGS...]`: pytest with `spark` on the project's live generation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.daemon.attach import project_target
from sparkpush.errors import UsageError
from sparkpush.live.live_project import LiveOptions
from sparkpush.submit.report import summary_line, write_report


@click.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
@click.option("--remote", help="Spark Connect URL (default: config, then the embedded server).")
@click.option("--fresh", is_flag=True, help="An own session with the project's artifacts.")
@click.option(
    "--keep-warm",
    is_flag=True,
    help="Leave a warm clone of the generation for the next run (faster first test).",
)
@click.option(
    "--classic",
    is_flag=True,
    help="Leave the SparkSessions the suite builds itself classic (by default they run on the "
    "project's generation).",
)
@click.option("--json", "as_json", is_flag=True, help="End stdout with a one-line JSON summary.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a JSON report (counts, duration, session, generation) to FILE.",
)
@click.option(
    "--worker-output/--no-worker-output",
    default=None,
    help="Show what the UDFs print and log on the workers: in a failing test's report, live "
    "with -s (default: on, or worker_output in the config).",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def test(
    app_ctx: AppContext,
    remote: str | None,
    fresh: bool,
    keep_warm: bool,
    classic: bool,
    as_json: bool,
    report_path: Path | None,
    worker_output: bool | None,
    pytest_args: tuple[str, ...],
) -> int:
    """Run pytest; its `spark` fixture and the suite's own SparkSessions are on the project's
    generation, synced first."""
    if importlib.util.find_spec("pytest") is None:
        raise UsageError("connect test needs pytest in this environment: pip install pytest")
    # the embedded server is started here, as every command does, not inside a test run
    project_target(app_ctx.config, remote, notify=app_ctx.notify)
    from sparkpush.live.pytest_run import run_tests

    options = LiveOptions(
        remote=remote,
        fresh=fresh,
        config_file=app_ctx.config_file,
        keep_warm=keep_warm,
        worker_output=worker_output,
        classic=classic,
    )
    outcome = run_tests(pytest_args, options)
    report = outcome.to_json()
    if report_path is not None:
        write_report(report_path, report)
    if as_json:
        click.echo(summary_line(report))
    return outcome.exit_code
