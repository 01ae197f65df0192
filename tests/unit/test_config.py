from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.config.settings import LayerSettings, load_config
from sparkpush.errors import ConfigError, ExitCode


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_pyproject_gives_defaults(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config.remote is None
    # no port set: the server tries DEFAULT_SERVER_PORT, else takes a free one
    assert config.server.port is None
    assert config.server.port_source is None
    assert config.project_root == tmp_path.resolve()


def test_nearest_pyproject_is_found_upward(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[tool.sparkpush]
remote = "sc://example:1"
token_file = "secrets/token"
[tool.sparkpush.server]
port = 16000
[tool.sparkpush.conf]
"spark.sql.shuffle.partitions" = "3"
[tool.sparkpush.artifacts]
python = ["src/pkg"]
jars = ["lib/*.jar"]
[tool.sparkpush.java_udfs]
add_one = { class = "com.example.AddOne", returns = "bigint" }
""",
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config = load_config(cwd=nested)
    assert config.project_root == tmp_path.resolve()
    assert config.remote == "sc://example:1"
    assert config.token_file == tmp_path.resolve() / "secrets" / "token"
    assert config.server.port == 16000
    assert config.server.port_source == f"server.port in {tmp_path / 'pyproject.toml'}"
    assert config.conf == {"spark.sql.shuffle.partitions": "3"}
    assert config.artifacts.python == ("src/pkg",)
    assert config.java_udfs["add_one"].class_name == "com.example.AddOne"


def test_pyproject_without_our_table_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert load_config(cwd=tmp_path).remote is None


def test_explicit_config_file_may_hold_keys_at_top_level(tmp_path: Path) -> None:
    config_file = write(tmp_path / "sparkpush.toml", 'remote = "sc://other:2"\n')
    assert load_config(config_file, cwd=tmp_path).remote == "sc://other:2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.sparkpush]\nremot = 'x'\n", "unknown key 'remot'"),
        ("[tool.sparkpush.server]\nprot = 1\n", "unknown key 'server.prot'"),
        ("[tool.sparkpush.artifacts]\nwheel = []\n", "unknown key 'artifacts.wheel'"),
        ("[tool.sparkpush]\nremote = 5\n", "'remote' must be a string"),
        ("[tool.sparkpush.server]\nport = '15002'\n", "'server.port' must be an integer"),
        ("[tool.sparkpush.server]\nport = true\n", "'server.port' must be an integer"),
        ("[tool.sparkpush.server]\nui = 'yes'\n", "'server.ui' must be true or false"),
        ("[tool.sparkpush.artifacts]\njars = 'a.jar'\n", "'artifacts.jars' must be a list"),
        ("[tool.sparkpush.conf]\nx = 1\n", "'conf' must be a table of strings"),
        ("[tool.sparkpush]\nserver = 1\n", "'server' must be a table"),
        ("[tool.sparkpush\n", "invalid TOML"),
        ("[tool]\nsparkpush = 3\n", "tool.sparkpush must be a table"),
        ("[tool.sparkpush.java_udfs]\nf = 'x'\n", "'java_udfs.f' must be a table"),
        ("[tool.sparkpush.layers]\nenabled = 'no'\n", "'layers.enabled' must be true or false"),
        ("[tool.sparkpush.layers]\ncode = 'jars/a.jar'\n", "'layers.code' must be a list"),
        ("[tool.sparkpush.layers]\nbase = []\n", "unknown key 'layers.base'"),
        ("[tool.sparkpush.java_udfs.f]\nclass = 'A'\n", "needs string keys"),
        ("[tool.sparkpush]\nworker_output = 'off'\n", "'worker_output' must be true or false"),
        (
            "[tool.sparkpush.java_udfs.f]\nclass = 'A'\nreturns = 'int'\nx = 1\n",
            "unknown key 'java_udfs.f.x'",
        ),
    ],
)
def test_bad_config_names_the_key_and_file(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path / "pyproject.toml", body)
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    assert message in caught.value.message
    assert str(path) in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in caught.value.message


def test_layers_are_on_by_default_and_configurable(tmp_path: Path) -> None:
    assert load_config(cwd=tmp_path).layers == LayerSettings(enabled=True, code=())
    write(
        tmp_path / "pyproject.toml",
        "[tool.sparkpush.layers]\nenabled = false\ncode = ['jars/myapp-*.jar']\n",
    )
    assert load_config(cwd=tmp_path).layers == LayerSettings(False, ("jars/myapp-*.jar",))


def test_worker_output_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert load_config(cwd=tmp_path).worker_output is True
    write(tmp_path / "pyproject.toml", "[tool.sparkpush]\nworker_output = false\n")
    assert load_config(cwd=tmp_path).worker_output is False


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", cwd=tmp_path)


def test_the_users_own_config_gives_defaults_and_artifact_roots(tmp_path: Path) -> None:
    from sparkpush.state.folders import user_config_dir

    write(
        user_config_dir() / "config.toml",
        'remote = "sc://mine:1"\ntoken_file = "token"\nartifact_roots = ["~/jars", "/opt/libs"]\n',
    )
    write(tmp_path / "pyproject.toml", '[tool.sparkpush.artifacts]\njars = ["/opt/libs/*.jar"]\n')
    config = load_config(cwd=tmp_path)
    assert config.remote == "sc://mine:1"
    assert config.token_file == user_config_dir() / "token"
    assert config.untrusted_keys == ()
    assert config.artifacts.allowed_roots == (Path("~/jars").expanduser(), Path("/opt/libs"))


def test_a_project_remote_overrides_the_users_and_needs_trust(tmp_path: Path) -> None:
    from sparkpush.state.folders import user_config_dir

    write(user_config_dir() / "config.toml", 'remote = "sc://mine:1"\n')
    write(tmp_path / "pyproject.toml", '[tool.sparkpush]\nremote = "sc://theirs:1"\n')
    config = load_config(cwd=tmp_path)
    assert config.remote == "sc://theirs:1"
    assert config.untrusted_keys == ("remote",)


def test_unknown_keys_in_the_users_config_are_errors(tmp_path: Path) -> None:
    from sparkpush.state.folders import user_config_dir

    write(user_config_dir() / "config.toml", "[artifacts]\nfiles = []\n")
    with pytest.raises(ConfigError, match="unknown key 'artifacts'"):
        load_config(cwd=tmp_path)


def test_a_user_config_folder_we_may_not_read_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads anything, so the refusal another user would get is played by is_file().
    from sparkpush.state.folders import user_config_dir

    unreadable = user_config_dir() / "config.toml"
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:
        if path == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    with pytest.raises(ConfigError, match="cannot read: permission denied"):
        load_config(cwd=tmp_path)


def test_environment_settings_are_read_with_the_project_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["msgpack>=1"]\n'
        "[tool.sparkpush.environment]\n"
        'requirements = ["pyyaml==6.0.2"]\nrequirements_files = ["req.txt"]\n'
        'project_dependencies = true\npip_args = ["--no-deps"]\n'
    )
    environment = load_config(cwd=tmp_path).environment
    assert environment.requirements == ("pyyaml==6.0.2",)
    assert environment.requirements_files == ("req.txt",)
    assert environment.project_requirements == ("msgpack>=1",)
    assert environment.pip_args == ("--no-deps",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.sparkpush.environment]\nrequirements = 'x'", "'environment.requirements' must be"),
        ("[tool.sparkpush.environment]\nindex = 'x'", "unknown key 'environment.index'"),
        (
            "[tool.sparkpush.environment]\nproject_dependencies = true",
            "needs [project] dependencies",
        ),
    ],
)
def test_bad_environment_settings_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(body + "\n")
    with pytest.raises(ConfigError, match=message.replace("[", "\\[")):
        load_config(cwd=tmp_path)
