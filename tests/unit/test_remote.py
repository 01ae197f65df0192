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
    config = Config(
        project_root=tmp_path, remote="sc://h:1", token_file=token_file, token_remote="sc://h:1"
    )
    assert resolve_target(config, None, {}).spec.token == Secret("file-token")
    with_own = resolve_target(config, "sc://h:1/;token=url-token", {})
    assert with_own.spec.token == Secret("url-token")


@pytest.mark.parametrize("content", [None, ""])
def test_missing_or_empty_token_file_is_a_config_error(tmp_path: Path, content: str | None) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    config = Config(
        project_root=tmp_path, remote="sc://h:1", token_file=token_file, token_remote="sc://h:1"
    )
    with pytest.raises(ConfigError, match="token file"):
        resolve_target(config, None, {})


USER_TOKEN = "user-token-for-home"
PROJECT_TOKEN = "project-token-for-its-remote"


@pytest.mark.parametrize(
    ("user_config", "project_config", "flag", "spark_remote", "sent"),
    [
        # the user's own token, configured beside the user's own remote
        ('remote = "sc://home:1"\n', "", None, None, USER_TOKEN),
        ('remote = "sc://home:1"\n', "", "sc://HOME:1/;user_id=ann", None, USER_TOKEN),
        ('remote = "sc://home:1"\n', "", None, "sc://home:1/;use_ssl=true", USER_TOKEN),
        # ... never to another remote, whoever names it
        ('remote = "sc://home:1"\n', 'remote = "sc://evil:1"\n', None, None, None),
        ('remote = "sc://home:1"\n', "", None, "sc://evil:1", None),
        ('remote = "sc://home:1"\n', "", "sc://evil:1", None, None),
        ('remote = "sc://home:1"\n', "", "sc://home:2", None, None),
        ("", "", "sc://home:1", None, None),  # a token file with no remote beside it
        # a project's token file goes with the project's remote only
        ("", 'remote = "sc://proj:1"\ntoken_file = "ptoken"\n', None, None, PROJECT_TOKEN),
        ("", 'remote = "sc://proj:1"\ntoken_file = "ptoken"\n', "sc://evil:1", None, None),
        (
            'remote = "sc://home:1"\n',
            'remote = "sc://proj:1"\ntoken_file = "ptoken"\n',
            "sc://home:1",
            None,
            None,
        ),
    ],
)
def test_a_token_file_goes_only_to_the_remote_it_was_configured_with(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    user_config: str,
    project_config: str,
    flag: str | None,
    spark_remote: str | None,
    sent: str | None,
) -> None:
    from sparkpush.config.settings import load_config
    from sparkpush.config.trust import record_trust

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "sparkpush").mkdir(parents=True)
    (tmp_path / "xdg" / "sparkpush" / "user-token").write_text(USER_TOKEN)
    (tmp_path / "xdg" / "sparkpush" / "config.toml").write_text(
        user_config + 'token_file = "user-token"\n'
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "ptoken").write_text(PROJECT_TOKEN)
    (project / "pyproject.toml").write_text("[tool.sparkpush]\n" + project_config)
    config = load_config(cwd=project)
    if config.source is not None and config.project_credentials:
        record_trust(config.source, config.credentials_digest)
        config = load_config(cwd=project)
    env = {"SPARK_REMOTE": spark_remote} if spark_remote else {}
    target = resolve_target(config, flag, env, start_embedded=False)
    assert target.spec.token == (Secret(sent) if sent else None)


def test_trust_shows_which_token_goes_to_which_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import clean_env, run_connect_in_process

    xdg = tmp_path / "xdg"
    (xdg / "sparkpush").mkdir(parents=True)
    (xdg / "sparkpush" / "config.toml").write_text(
        'remote = "sc://home:1"\ntoken_file = "user-token"\n'
    )
    (tmp_path / "pyproject.toml").write_text('[tool.sparkpush]\nremote = "sc://elsewhere:2"\n')
    env = clean_env(XDG_CONFIG_HOME=str(xdg))
    shown = run_connect_in_process(["trust"], env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    token_line = next(line for line in shown.stdout.splitlines() if "token " in line)
    assert f"none: {xdg}/sparkpush/user-token is only sent to sc://home:1" in token_line
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sparkpush]\nremote = "sc://elsewhere:2"\ntoken_file = "t"\n'
    )
    shown = run_connect_in_process(["trust"], env=env, cwd=tmp_path)
    assert f"{tmp_path}/t, to sc://elsewhere:2" in shown.stdout
