"""A SIGINT before the run has a session still ends with exit 130 and an `interrupted` report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sparkpush.cli.commands import submit as submit_command
from sparkpush.cli.context import AppContext
from sparkpush.submit import command as submit_policy


def test_sigint_while_resolving_the_server_is_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("SPARKPUSH_CHILD", "spawn")  # no pre-forked child in the test process
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(submit_policy, "project_target", interrupted)
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\n")
    (tmp_path / "app.py").write_text("print('never runs')\n")
    result = CliRunner().invoke(
        submit_command.submit,
        ["--report", "report.json", "app.py"],
        obj=AppContext(),
        standalone_mode=False,
    )
    assert result.return_value == 130, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["signal"] == "SIGINT"
    assert report["exit_code"] == 130
    assert "stopped by SIGINT before a session was created" in result.output
