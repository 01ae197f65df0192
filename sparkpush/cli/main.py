"""`connect`: the entry point; maps SparkpushError to `error: <message>` and its exit code."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from sparkpush import __version__
from sparkpush.cli.commands.artifacts import artifacts
from sparkpush.cli.commands.daemon import daemon
from sparkpush.cli.commands.doctor import doctor
from sparkpush.cli.commands.env import env
from sparkpush.cli.commands.packages import packages
from sparkpush.cli.commands.server import server
from sparkpush.cli.commands.shell import shell
from sparkpush.cli.commands.sql import sql
from sparkpush.cli.commands.submit import submit
from sparkpush.cli.commands.sync import sync
from sparkpush.cli.commands.test import test
from sparkpush.cli.commands.trust import trust
from sparkpush.cli.commands.udfs import udfs
from sparkpush.cli.commands.watch import watch
from sparkpush.cli.context import AppContext
from sparkpush.cli.environment import (
    FROM_ENVIRONMENT,
    bad_parameter_hint,
    name_environment_variables,
    name_the_variables,
)
from sparkpush.errors import ExitCode, SparkpushError


@click.group(
    context_settings={"auto_envvar_prefix": "SPARKPUSH", "help_option_names": ["-h", "--help"]}
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: [tool.sparkpush] in the nearest pyproject.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="connect")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, verbose: int) -> None:
    """Submit, watch and serve PySpark code over Spark Connect."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="connect: %(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_file=config_file)


cli.add_command(submit)
cli.add_command(server)
cli.add_command(doctor)
cli.add_command(sync)
cli.add_command(watch)
cli.add_command(daemon)
cli.add_command(artifacts)
cli.add_command(sql)
cli.add_command(udfs)
cli.add_command(trust)
cli.add_command(env)
cli.add_command(packages)
cli.add_command(test)
cli.add_command(shell)
name_environment_variables(cli)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented exit code."""
    FROM_ENVIRONMENT.clear()
    try:
        result = cli.main(args=argv, prog_name="connect", standalone_mode=False)
    except SparkpushError as exc:
        click.echo(f"error: {name_the_variables(exc.message)}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        if isinstance(exc, click.BadParameter):
            bad_parameter_hint(exc)
        exc.show()
        sys.exit(ExitCode.USAGE)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(result if isinstance(result, int) else 0)
