"""A project's config decides where data and credentials go only once the user trusts it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sparkpush.config.settings import load_config
from sparkpush.config.trust import RECORDS_FILE, record_trust, revoke_trust
from sparkpush.errors import ConfigError, ExitCode, UntrustedConfigError
from sparkpush.remote.target import resolve_target
from sparkpush.state.folders import user_config_dir


def project(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f"[tool.sparkpush]\n{body}")
    return root


def trust(root: Path) -> None:
    config = load_config(cwd=root)
    assert config.source is not None
    record_trust(config.source, config.credentials_digest)


def test_a_project_remote_needs_trust_and_names_the_keys(tmp_path: Path) -> None:
    root = project(
        tmp_path / "p", 'remote = "sc://attacker:443/;use_ssl=true"\nca_file = "ca.pem"\n'
    )
    with pytest.raises(UntrustedConfigError) as caught:
        resolve_target(load_config(cwd=root), None, {})
    assert "remote, ca_file" in caught.value.message
    assert "connect trust" in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    trust(root)
    target = resolve_target(load_config(cwd=root), None, {})
    assert target.spec.host == "attacker"


def test_a_changed_value_asks_again(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'remote = "sc://server:1"\n')
    trust(root)
    resolve_target(load_config(cwd=root), None, {})
    project(root, 'remote = "sc://elsewhere:1"\n')
    with pytest.raises(UntrustedConfigError, match="changed since it was trusted"):
        resolve_target(load_config(cwd=root), None, {})


def test_a_changed_ca_bundle_asks_again(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'remote = "sc://server:1/;use_ssl=true"\nca_file = "ca.pem"\n')
    (root / "ca.pem").write_text("ca one")
    trust(root)
    resolve_target(load_config(cwd=root), None, {})
    (root / "ca.pem").write_text("the attacker's ca")
    with pytest.raises(UntrustedConfigError):
        resolve_target(load_config(cwd=root), None, {})


def test_the_users_own_remote_and_ca_flag_need_no_trust(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'remote = "sc://attacker:1"\nca_file = "ca.pem"\n')
    config = load_config(cwd=root)
    assert resolve_target(config, "sc://mine:1", {}, ca_file=Path("mine.pem")).spec.host == "mine"
    env = {"SPARK_REMOTE": "sc://mine:2"}
    assert resolve_target(config, None, env, ca_file=Path("mine.pem")).spec.port == 2
    with pytest.raises(UntrustedConfigError, match="ca_file"):
        resolve_target(config, "sc://mine:1", {})


def test_a_project_token_file_needs_trust_even_for_the_users_remote(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'token_file = "~/.netrc"\n')
    with pytest.raises(UntrustedConfigError, match="token_file"):
        resolve_target(load_config(cwd=root), "sc://mine:1", {})
    # a token in the user's URL means the file is not read at all
    resolve_target(load_config(cwd=root), "sc://mine:1/;token=t", {})


def test_a_project_without_those_keys_needs_no_trust(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'user_id = "ann"\n[tool.sparkpush.server]\nport = 1\n')
    config = load_config(cwd=root)
    assert config.untrusted_keys == ()
    assert resolve_target(config, "sc://mine:1", {}).spec.user_id == "ann"


def test_the_embedded_servers_token_never_goes_to_another_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    token = tmp_path / "state" / "sparkpush" / "server.token"
    token.parent.mkdir(parents=True)
    token.write_text("embedded-secret")
    link = tmp_path / "innocent-token"
    link.symlink_to(token)
    for token_file in (token, link):
        root = project(
            tmp_path / f"p-{token_file.name}", f'remote = "sc://h:1"\ntoken_file = "{token_file}"\n'
        )
        trust(root)
        with pytest.raises(ConfigError, match="only ever sent to the embedded server") as caught:
            resolve_target(load_config(cwd=root), None, {})
        assert "embedded-secret" not in caught.value.message


def test_the_users_own_config_needs_no_trust(tmp_path: Path) -> None:
    user_config_dir().mkdir(parents=True, exist_ok=True)
    (user_config_dir() / "config.toml").write_text('remote = "sc://mine:7"\nuser_id = "me"\n')
    root = project(tmp_path / "p", 'user_id = "ann"\n')
    target = resolve_target(load_config(cwd=root), None, {})
    assert (target.spec.host, target.spec.port, target.spec.user_id) == ("mine", 7, "ann")


def test_records_are_private_and_revocable(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'remote = "sc://server:1"\n')
    trust(root)
    records = user_config_dir() / RECORDS_FILE
    assert stat.S_IMODE(records.stat().st_mode) == 0o600
    assert stat.S_IMODE(records.parent.stat().st_mode) == 0o700
    assert revoke_trust(root / "pyproject.toml")
    with pytest.raises(UntrustedConfigError):
        resolve_target(load_config(cwd=root), None, {})


def test_records_another_user_could_write_are_ignored(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'remote = "sc://server:1"\n')
    trust(root)
    os.chmod(user_config_dir() / RECORDS_FILE, 0o666)
    with pytest.raises(UntrustedConfigError):
        resolve_target(load_config(cwd=root), None, {})


@pytest.mark.parametrize("configs", ['"x"', '{"CONFIG": {"digest": "d", "trusted_at": "noon"}}'])
def test_malformed_records_are_read_without_a_traceback(tmp_path: Path, configs: str) -> None:
    from sparkpush.config.trust import load_records

    folder = user_config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / RECORDS_FILE
    path.write_text('{"version": 1, "configs": ' + configs.replace("CONFIG", "/p") + "}")
    os.chmod(path, 0o600)
    records = load_records()
    assert all(record.trusted_at == 0.0 for record in records.values())
