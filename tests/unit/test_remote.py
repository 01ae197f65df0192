from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.config.settings import Config
from sparkpush.connect.secret import Secret
from sparkpush.errors import ConfigError
from sparkpush.remote.target import resolve_target


def test_flag_beats_environment_beats_config(tmp_path: Path) -> None:
    config = Config(project_root=tmp_path, remote="sc://from-config:1")
    env = {"SPARK_REMOTE": "sc://from-env:2"}
    assert resolve_target(config, "sc://from-flag:3", env).spec.host == "from-flag"
    assert resolve_target(config, None, env).spec.host == "from-env"
    assert resolve_target(config, None, {}).source == "config"


def test_token_comes_from_the_token_file_when_the_url_has_none(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    config = Config(project_root=tmp_path, remote="sc://h:1", token_file=token_file)
    assert resolve_target(config, None, {}).spec.token == Secret("file-token")
    with_own = resolve_target(config, "sc://h:1/;token=url-token", {})
    assert with_own.spec.token == Secret("url-token")


@pytest.mark.parametrize("content", [None, ""])
def test_missing_or_empty_token_file_is_a_config_error(tmp_path: Path, content: str | None) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    config = Config(project_root=tmp_path, remote="sc://h:1", token_file=token_file)
    with pytest.raises(ConfigError, match="token file"):
        resolve_target(config, None, {})
