"""Showing the end of a log file, optionally following it (`logs -n N -f`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

FOLLOW_POLL_S = 0.3


def show_log(log: Path, lines: int, follow: bool) -> None:
    if not log.exists():
        click.echo(f"no log yet at {log}", err=True)
        return
    text = log.read_text(errors="replace").splitlines()
    for line in text[-lines:] if lines > 0 else []:
        click.echo(line)
    if not follow:
        return
    with log.open(errors="replace") as stream:
        stream.seek(0, 2)
        while True:
            line = stream.readline()
            if line:
                click.echo(line, nl=False)
            else:
                time.sleep(FOLLOW_POLL_S)
