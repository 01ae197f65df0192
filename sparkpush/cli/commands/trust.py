"""`connect trust`: let a project's config choose the server, token file and CA bundle."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.config.settings import Config
from sparkpush.config.trust import CREDENTIAL_KEYS, load_records, record_trust, revoke_trust
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.errors import UsageError
from sparkpush.remote.target import token_plan


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The config to trust (default: the global --config, else the nearest pyproject.toml).",
)
@click.option("--list", "list_all", is_flag=True, help="List the configs you trust.")
@click.option("--revoke", is_flag=True, help="Stop trusting this project's config.")
@pass_app
def trust(app_ctx: AppContext, config_file: Path | None, list_all: bool, revoke: bool) -> int:
    """Trust this project's remote, token_file and ca_file (asked again when they change)."""
    if config_file is not None:
        app_ctx = AppContext(config_file=config_file)
    if list_all:
        for record in sorted(load_records().values(), key=lambda r: r.config):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.trusted_at))
            click.echo(f"{record.config}  (since {when})")
        return 0
    config = app_ctx.config
    if config.source is None:
        raise UsageError("no config found here (pyproject.toml with [tool.sparkpush], or --config)")
    if revoke:
        done = revoke_trust(config.source)
        click.echo(f"{'no longer trusted' if done else 'was not trusted'}: {config.source}")
        return 0
    if not config.project_credentials:
        click.echo(f"nothing to trust: {config.source} sets none of {', '.join(CREDENTIAL_KEYS)}")
        return 0
    click.echo(f"{config.source} sends this project's files and your credentials to:")
    for key, value in shown_credentials(config).items():
        click.echo(f"  {key.ljust(10)}  {value}")
    click.echo(f"  {'token'.ljust(10)}  {token_plan(config)}")
    record_trust(config.source, config.credentials_digest)
    click.echo("trusted; a change to these values (or to the CA bundle) asks again")
    return 0


def shown_credentials(config: Config) -> dict[str, str]:
    """The keys and values, with any token in the URL left out."""
    shown = dict(config.project_credentials)
    if "remote" in shown:
        shown["remote"] = parse_connection_string(shown["remote"]).display()
    if "token_file" in shown:
        shown["token_file"] = f"{shown['token_file']} ({config.token_file})"
    if "ca_file" in shown:
        shown["ca_file"] = f"{shown['ca_file']} ({config.ca_file})"
    return shown
