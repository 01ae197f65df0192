"""`connect trust`: shows what it trusts (never a token), records it, lists and revokes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sparkpush.cli.main import cli
from sparkpush.config.settings import load_config


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.sparkpush]\n"
        'remote = "sc://cluster.example:443/;use_ssl=true;token=hunter2"\n'
        'token_file = "~/.config/spark/token"\n'
        'ca_file = "certs/ca.pem"\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_trust_shows_the_keys_and_values_but_never_a_token(project: Path) -> None:
    assert load_config(cwd=project).untrusted_keys == ("remote", "token_file", "ca_file")
    code, output = run(["trust"])
    assert code == 0
    assert "sc://cluster.example:443/;use_ssl=true" in output
    assert "~/.config/spark/token" in output
    assert "certs/ca.pem" in output
    assert "hunter2" not in output
    assert load_config(cwd=project).untrusted_keys == ()


def test_trust_lists_and_revokes(project: Path) -> None:
    run(["trust"])
    code, listed = run(["trust", "--list"])
    assert code == 0 and str(project / "pyproject.toml") in listed
    code, revoked = run(["trust", "--revoke"])
    assert code == 0 and "no longer trusted" in revoked
    assert load_config(cwd=project).untrusted_keys


def test_trust_takes_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ci.toml").write_text('remote = "sc://ci:1"\n')
    code, output = run(["trust", "--config", "ci.toml"])
    assert code == 0 and "sc://ci:1" in output
    assert load_config(tmp_path / "ci.toml").untrusted_keys == ()


def test_nothing_to_trust_without_those_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.sparkpush]\nuser_id = "ann"\n')
    code, output = run(["trust"])
    assert code == 0 and "nothing to trust" in output
