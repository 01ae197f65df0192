from __future__ import annotations

import pytest

from sparkpush.cli.entry import _command_of


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["submit", "app.py"], "submit"),
        (["--config", "x.toml", "submit", "app.py"], "submit"),
        (["-v", "submit"], "submit"),
        (["--config", "submit", "sync"], "sync"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_subcommand_is_found_before_the_cli_loads(args: list[str], command: str | None) -> None:
    assert _command_of(args) == command
