"""`connect doctor`: one line per check, OK or FAIL with the fix; exit 0 only if all pass."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from sparkpush.cli.context import AppContext, pass_app
from sparkpush.doctor.checks import Check, run_checks
from sparkpush.errors import ExitCode


@click.command()
@click.option("--remote", help="Check this Spark Connect URL instead of the configured one.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
@pass_app
def doctor(app_ctx: AppContext, remote: str | None, as_json: bool) -> int:
    """Check Python, pyspark, Java, the config, the server and its workers' Python."""
    checks = run_checks(app_ctx.config_file, remote)
    healthy = all(check.ok for check in checks)
    if as_json:
        click.echo(json.dumps({"ok": healthy, "checks": [asdict(c) for c in checks]}))
    else:
        for check in checks:
            click.echo(render_check(check))
    return ExitCode.OK if healthy else ExitCode.SCRIPT_FAILED


def render_check(check: Check) -> str:
    verdict = "OK  " if check.ok else "FAIL"
    line = f"{verdict} {check.name}: {check.detail}"
    return line if check.ok or not check.fix else f"{line} -- fix: {check.fix}"
