"""The `connect` runs that a test runner (in-process, forked) is compared on with a new
interpreter: one of our errors, JSON output, click's error; and the project they run in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import clean_env

BAD_CONFIG = '[tool.sparkpush]\nremot = "sc://x"\n'
GOOD_CONFIG = (
    '[tool.sparkpush]\nremote = "sc://localhost:1"\n'
    '[tool.sparkpush.artifacts]\nfiles = ["data.txt"]\n'
)

RUNNER_CASES = [
    pytest.param(BAD_CONFIG, ["sync"], id="our-error"),
    pytest.param(GOOD_CONFIG, ["artifacts", "--json"], id="json-output"),
    pytest.param("", ["no-such-command"], id="click-error"),
]
"""(pyproject.toml's text, the arguments)."""


def runner_project(root: Path, config: str) -> dict[str, str]:
    """`root` made a project with `config` (and the file GOOD_CONFIG sends); the env to run in."""
    (root / "pyproject.toml").write_text(config)
    (root / "data.txt").write_text("x")
    return clean_env(XDG_STATE_HOME=str(root / "state"))
