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


def test_a_project_token_file_never_goes_to_the_users_remote(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 'token_file = "~/.netrc"\n')
    assert resolve_target(load_config(cwd=root), "sc://mine:1", {}).spec.token is None
    trust(root)
    assert resolve_target(load_config(cwd=root), "sc://mine:1", {}).spec.token is None


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


def test_a_pyproject_linked_to_a_trusted_config_is_not_trusted_for_its_own_folder(
    tmp_path: Path,
) -> None:
    trusted = project(tmp_path / "trusted", 'remote = "sc://server:1"\ntoken_file = "token"\n')
    trust(trusted)
    assert load_config(cwd=trusted).untrusted_keys == ()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").symlink_to(trusted / "pyproject.toml")
    (elsewhere / "token").write_text("a token of another folder")
    with pytest.raises(UntrustedConfigError, match="not trusted"):
        resolve_target(load_config(cwd=elsewhere), None, {})
    # the same folder reached through a linked path is the same config
    (tmp_path / "via-link").symlink_to(trusted)
    assert load_config(cwd=tmp_path / "via-link").untrusted_keys == ()


@pytest.mark.parametrize(
    ("master", "needs_trust"),
    [
        ("local[*]", False),
        ("local", False),
        ("local[2,3]", False),
        ("local-cluster[2,1,1024]", False),
        ("spark://127.0.0.1:7077", False),
        ("spark://localhost:7077", False),
        ("spark://cluster.example.com:7077", True),
        ("spark://127.0.0.1:7077,evil:7077", True),
        ("yarn", True),
        ("k8s://https://evil.example:443", True),
    ],
)
def test_a_master_off_this_machine_from_a_project_needs_trust(
    tmp_path: Path, master: str, needs_trust: bool
) -> None:
    from sparkpush.remote.target import embedded_target
    from tests.conftest import clean_env, run_connect_in_process

    root = project(tmp_path / "p", f'[tool.sparkpush.server]\nmaster = "{master}"\n')
    config = load_config(cwd=root)
    assert (config.untrusted_keys == ("master",)) is needs_trust
    if needs_trust:
        with pytest.raises(UntrustedConfigError, match="sets master"):
            embedded_target(config)
        env = clean_env(XDG_CONFIG_HOME=os.environ["XDG_CONFIG_HOME"])
        started = run_connect_in_process(["server", "start"], env=env, cwd=root)
        assert started.returncode == 2 and "sets master (not trusted)" in started.stderr
        trust(root)
        assert load_config(cwd=root).untrusted_keys == ()
