"""Every option can come from the environment, under the name a user would guess.

`connect server start --port` reads `SPARKPUSH_SERVER_START_PORT`: the prefix, the command
path and the option's long flag. Click's own automatic names come from the Python parameter
names (`--timeout` stored as `timeout_raw` reads `..._TIMEOUT_RAW`), so they are turned off.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

import click
from click.core import ParameterSource

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


FROM_ENVIRONMENT: dict[str, str] = {}
"""This invocation's options whose value came from the environment: long flag -> variable."""


def _name_option(option: click.Option, prefix: str) -> None:
    option.allow_from_autoenv = False
    if not option.expose_value:  # --help, --version: not settings
        return
    option.envvar = option_variable(option, prefix)
    option.show_envvar = True
    option.callback = _noting_source(option.callback)
    if option.multiple:
        # One value per line: values may hold spaces (`--conf` java options) and commas
        # (each artifact flag already takes a comma-separated list).
        option.type = copy.copy(option.type)
        option.type.split_envvar_value = _lines  # type: ignore[method-assign,assignment]


def _noting_source(callback: Callable[..., Any] | None) -> Callable[..., Any]:
    def note(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if param.name and ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
            FROM_ENVIRONMENT[_long_flag(param)] = str(getattr(param, "envvar", ""))
        return callback(ctx, param, value) if callback is not None else value

    return note


def name_the_variables(message: str) -> str:
    """`message` with each option that came from the environment named by its variable too:
    `--timeout must be ...` -> `--timeout (from SPARKPUSH_SUBMIT_TIMEOUT) must be ...`."""
    for flag, variable in FROM_ENVIRONMENT.items():
        message = re.sub(
            rf"(?<![\w-]){re.escape(flag)}(?![\w-])", f"{flag} (from {variable})", message, count=1
        )
    return message


def bad_parameter_hint(error: click.BadParameter) -> None:
    """Click's own conversion error names the variable when the value came from it."""
    param, ctx = error.param, error.ctx
    if not isinstance(param, click.Option) or ctx is None or not param.name:
        return
    if ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT and param.envvar:
        error.param_hint = f"'{_long_flag(param)}' (from {param.envvar})"


def _long_flag(param: click.Parameter) -> str:
    long_flags = [opt for opt in param.opts if opt.startswith("--")]
    return max(long_flags, key=len) if long_flags else (param.name or "")


def _lines(text: str) -> Sequence[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _give_short_help(command: click.Command) -> None:
    """`connect --help` shows each command's first paragraph whole instead of cutting it."""
    if command.short_help is None and command.help:
        first_paragraph = inspect.cleandoc(command.help).split("\n\n", 1)[0]
        command.short_help = " ".join(first_paragraph.split())


def _upper(name: str) -> str:
    return name.replace("-", "_").upper()
