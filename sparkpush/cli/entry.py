"""The `connect` entry point: forks `submit`'s script process before anything heavy loads.

The script's child then imports PySpark while this process imports the CLI and prepares
the session, instead of after it (see sparkpush/submit/prefork.py).
"""

from __future__ import annotations

import sys

_OPTIONS_WITH_VALUES = ("--config",)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if _command_of(args) == "submit":
        from sparkpush.submit.prefork import prefork_early

        prefork_early()
    from sparkpush.cli.main import main as run_cli

    run_cli(argv)


def _command_of(args: list[str]) -> str | None:
    """The subcommand name: the first argument that is neither an option nor its value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _OPTIONS_WITH_VALUES:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None
