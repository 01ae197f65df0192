"""Every option of every command reads SPARKPUSH_<COMMAND PATH>_<FLAG> from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from sparkpush.cli.main import cli

REQUIRED_ARGUMENTS = {"sql": ["SELECT 1"]}


def every_option() -> Iterator[tuple[list[str], click.Option]]:
    def walk(path: list[str], command: click.Command) -> Iterator[tuple[list[str], click.Option]]:
        for param in command.params:
            if isinstance(param, click.Option) and param.expose_value:
                yield path, param
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk([*path, name], sub)

    return walk([], cli)


def expected_variable(path: list[str], option: click.Option) -> str:
    flags = [opt for opt in option.opts if opt.startswith("--")]
    flag = max(flags, key=len)[2:] if flags else str(option.name)
    return "_".join(["SPARKPUSH", *path, flag]).replace("-", "_").upper()


def sample(option: click.Option) -> tuple[str, Any]:
    """A value for the variable and what the command should receive from it."""
    if option.is_flag:
        return "1", True
    if option.count:
        return "2", 2
    if option.multiple:
        return "a.py,b.py\nspark.x=two words\n", ("a.py,b.py", "spark.x=two words")
    if isinstance(option.type, click.types._NumberParamTypeBase):
        return "3", 3
    if isinstance(option.type, click.Path):
        return "some/file", Path("some/file")
    return "v", "v"


def parse(path: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> click.Context:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ctx = cli.make_context("connect", list(path) or ["doctor"])
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        args = list(REQUIRED_ARGUMENTS.get(name, []))
        if isinstance(command, click.Group):
            args = [next(iter(command.commands))]
        ctx = command.make_context(name, args, parent=ctx)
    return ctx


CASES = list(every_option())


def test_the_walk_sees_the_options_the_issue_names() -> None:
    names = {expected_variable(path, option) for path, option in CASES}
    assert {
        "SPARKPUSH_CONFIG",
        "SPARKPUSH_VERBOSE",
        "SPARKPUSH_SUBMIT_TIMEOUT",
        "SPARKPUSH_SUBMIT_CONF",
        "SPARKPUSH_SUBMIT_ATTACH",
        "SPARKPUSH_SERVER_START_PORT",
        "SPARKPUSH_SYNC_REMOTE",
        "SPARKPUSH_DAEMON_LOGS_LINES",
    } <= names
    assert len(CASES) >= 30


@pytest.mark.parametrize(("path", "option"), CASES, ids=[expected_variable(p, o) for p, o in CASES])
def test_every_option_reads_its_variable(
    path: list[str], option: click.Option, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, expected = sample(option)
    variable = expected_variable(path, option)
    assert option.envvar == variable
    ctx = parse(path, {variable: raw}, monkeypatch)
    assert ctx.params[str(option.name)] == expected


def test_python_parameter_names_are_not_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = parse(["submit"], {"SPARKPUSH_SUBMIT_TIMEOUT_RAW": "3"}, monkeypatch)
    assert ctx.params["timeout_raw"] is None


def test_top_level_help_does_not_cut_descriptions() -> None:
    for command in cli.commands.values():
        assert command.short_help is not None
        assert not command.short_help.endswith("...")


@pytest.mark.parametrize(("path", "option"), CASES, ids=[expected_variable(p, o) for p, o in CASES])
def test_help_shows_each_options_variable(path: list[str], option: click.Option) -> None:
    from click.testing import CliRunner

    shown = CliRunner().invoke(cli, [*path, "--help"], terminal_width=10_000)
    assert shown.exit_code == 0, shown.output
    flags = [*option.opts, *option.secondary_opts]
    lines = shown.output.splitlines()
    first = next(
        n
        for n, line in enumerate(lines)
        if line.lstrip().startswith("-") and any(f in line.split("  ")[1] for f in flags)
    )
    # an option string wider than click's column puts its help on the lines below it
    block = [lines[first]]
    for line in lines[first + 1 :]:
        if line.lstrip().startswith("-") or not line.strip():
            break
        block.append(line)
    assert f"env var: {expected_variable(path, option)}" in " ".join(block)


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        (
            ["submit", "app.py"],
            {"SPARKPUSH_SUBMIT_TIMEOUT": "abc"},
            "error: --timeout (from SPARKPUSH_SUBMIT_TIMEOUT) must be a positive number",
        ),
        (
            ["server", "start"],
            {"SPARKPUSH_SERVER_START_PORT": "abc"},
            "Invalid value for '--port' (from SPARKPUSH_SERVER_START_PORT): 'abc'",
        ),
        (["submit", "--timeout", "abc", "app.py"], {}, "error: --timeout must be a positive"),
    ],
)
def test_a_bad_value_from_the_environment_names_its_variable(
    tmp_path: Path, args: list[str], env: dict[str, str], shown: str
) -> None:
    from tests.conftest import clean_env, run_connect_in_process

    (tmp_path / "app.py").write_text("print('never runs')\n")
    result = run_connect_in_process(args, env=clean_env(**env), cwd=tmp_path)
    assert result.returncode == 2
    assert shown in result.stderr
