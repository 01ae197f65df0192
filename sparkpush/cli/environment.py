"""Every option can come from the environment, under the name a user would guess.

`connect server start --port` reads `SPARKPUSH_SERVER_START_PORT`: the prefix, the command
path and the option's long flag. Click's own automatic names come from the Python parameter
names (`--timeout` stored as `timeout_raw` reads `..._TIMEOUT_RAW`), so they are turned off.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence

import click

PREFIX = "SPARKPUSH"


def name_environment_variables(command: click.Command, prefix: str = PREFIX) -> None:
    """Set `envvar` on every option of `command` and its subcommands, recursively."""
    _give_short_help(command)
    for param in command.params:
        if isinstance(param, click.Option):
            _name_option(param, prefix)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            name_environment_variables(sub, f"{prefix}_{_upper(name)}")


def option_variable(option: click.Option, prefix: str) -> str:
    """`PREFIX_FLAG` from the longest `--flag`, else from the parameter's name."""
    long_flags = [opt for opt in option.opts if opt.startswith("--")]
    flag = max(long_flags, key=len)[2:] if long_flags else (option.name or "")
    return f"{prefix}_{_upper(flag)}"


def _name_option(option: click.Option, prefix: str) -> None:
    option.allow_from_autoenv = False
    if not option.expose_value:  # --help, --version: not settings
        return
    option.envvar = option_variable(option, prefix)
    if option.multiple:
        # One value per line: values may hold spaces (`--conf` java options) and commas
        # (each artifact flag already takes a comma-separated list).
        option.type = copy.copy(option.type)
        option.type.split_envvar_value = _lines  # type: ignore[method-assign,assignment]


def _lines(text: str) -> Sequence[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _give_short_help(command: click.Command) -> None:
    """`connect --help` shows each command's first paragraph whole instead of cutting it."""
    if command.short_help is None and command.help:
        first_paragraph = inspect.cleandoc(command.help).split("\n\n", 1)[0]
        command.short_help = " ".join(first_paragraph.split())


def _upper(name: str) -> str:
    return name.replace("-", "_").upper()
