"""The environment's pure parts and its build around pip: launcher, archive, keys, pip's
command line and failures, protected packages, the cache, trust."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sparkpush.config.settings import Config, EnvironmentSettings, load_config
from sparkpush.config.trust import record_trust
from sparkpush.environment.archive import write_deterministic_tar_gz
from sparkpush.environment.build import build_environment, ensure_environment, input_key
from sparkpush.environment.cache import cache_root
from sparkpush.environment.install import leave_out_protected, pip_failure
from sparkpush.environment.pip_command import BASE_OPTIONS, install_command
from sparkpush.environment.python_launcher import launcher_text
from sparkpush.environment.session_parts import ARCHIVE_NAME, environment_conf
from sparkpush.environment.spec import EnvironmentSpec, read_spec
from sparkpush.errors import (
    EnvironmentBuildError,
    EnvironmentOfflineError,
    ExitCode,
    UntrustedConfigError,
)
from sparkpush.remote.worker_target import local_target, same_platform
from tests.support.worker_targets import LINUX_WORKERS

SPEC = EnvironmentSpec(requirements=("msgpack==1.0.8",), pip_args=(), wheels=(), wheel_hashes=())


def test_the_launcher_runs_the_real_interpreter_with_its_packages_first(tmp_path: Path) -> None:
    env_dir = tmp_path / "alias"
    (env_dir / "site-packages").mkdir(parents=True)
    (env_dir / "site-packages" / "from_env.py").write_text("VALUE = 'env'\n")
    (env_dir / "bin").mkdir()
    launcher = env_dir / "bin" / "python"
    launcher.write_text(launcher_text(sys.executable))
    launcher.chmod(0o755)
    code = "import from_env, sys; print(from_env.VALUE, sys.executable)"
    result = subprocess.run(
        ["alias/bin/python", "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": "/elsewhere"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["env", sys.executable]


def test_the_launcher_falls_back_to_python3_when_the_probed_path_is_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "e" / "bin").mkdir(parents=True)
    (tmp_path / "e" / "site-packages").mkdir()
    launcher = tmp_path / "e" / "bin" / "python"
    launcher.write_text(launcher_text("/no/such/python; rm -rf ~"))
    launcher.chmod(0o755)
    result = subprocess.run(
        [str(launcher), "-c", "print('ok')"], capture_output=True, text=True, check=True
    )
    assert result.stdout == "ok\n"


def tree(root: Path) -> Path:
    (root / "site-packages" / "pkg").mkdir(parents=True)
    (root / "site-packages" / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "site-packages" / "pkg" / "_ext.so").write_bytes(b"\x7fELF" + bytes(100))
    (root / "bin").mkdir()
    (root / "bin" / "python").write_text("#!/bin/sh\n")
    (root / "bin" / "python").chmod(0o755)
    return root


def test_the_same_files_give_the_same_archive_bytes_whatever_their_times_and_modes(
    tmp_path: Path,
) -> None:
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    os.utime(second / "site-packages" / "pkg" / "__init__.py", (1, 1))
    (second / "site-packages" / "pkg" / "_ext.so").chmod(0o600)
    write_deterministic_tar_gz(first, tmp_path / "a.tar.gz")
    write_deterministic_tar_gz(second, tmp_path / "b.tar.gz")
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "a.tar.gz") as archive:
        members = archive.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    modes = {m.name: m.mode for m in members}
    assert modes["bin/python"] == 0o755 and modes["site-packages/pkg/_ext.so"] == 0o644


def test_a_changed_file_changes_the_archive(tmp_path: Path) -> None:
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    (second / "site-packages" / "pkg" / "__init__.py").write_text("x = 2\n")
    write_deterministic_tar_gz(first, tmp_path / "a.tar.gz")
    write_deterministic_tar_gz(second, tmp_path / "b.tar.gz")
    assert (tmp_path / "a.tar.gz").read_bytes() != (tmp_path / "b.tar.gz").read_bytes()


def distribution(site: Path, name: str, version: str, files: list[str]) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for relative in files:
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text("")
    rows = [f"{r},," for r in files] + [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")


def test_pyspark_and_the_packages_it_needs_are_left_out_and_named(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    distribution(site, "msgpack", "1.0.8", ["msgpack/__init__.py"])
    distribution(site, "numpy", "2.1.0", ["numpy/__init__.py", "numpy/core/x.so"])
    distribution(site, "PyArrow", "17.0.0", ["pyarrow/__init__.py"])
    (site / "bin").mkdir()
    distribution(site, "python_dateutil", "9.0", ["dateutil/__init__.py"])
    installed = leave_out_protected(site, frozenset(("numpy", "pyarrow", "python-dateutil")))
    assert installed.packages == {"msgpack": "1.0.8"}
    assert installed.left_out == {"numpy": "2.1.0", "pyarrow": "17.0.0", "python-dateutil": "9.0"}
    assert sorted(p.name for p in site.iterdir()) == ["msgpack", "msgpack-1.0.8.dist-info"]


def test_what_pysparks_packages_need_is_provided_too() -> None:
    from importlib import metadata

    provided = local_target().provided
    assert provided["pandas"] == metadata.version("pandas")
    # pandas needs python-dateutil: shadowing it would change the workers' pandas
    assert provided["python-dateutil"] == metadata.version("python-dateutil")
    assert "pytest" not in provided


def test_same_platform_installs_plainly_and_wheels_only(tmp_path: Path) -> None:
    command = install_command(
        SPEC, LINUX_WORKERS, tmp_path, cross_platform=False, constraints=None, program=["pip"]
    )
    assert command == ["pip", "install", *BASE_OPTIONS, "--target", str(tmp_path), "msgpack==1.0.8"]
    assert "--only-binary=:all:" in command


def test_another_platform_names_its_tags_python_and_abi(tmp_path: Path) -> None:
    arm = dataclasses.replace(LINUX_WORKERS, machine="aarch64", platform="linux_aarch64")
    command = install_command(
        SPEC, arm, tmp_path, cross_platform=True, constraints=tmp_path / "c.txt", program=["pip"]
    )
    platforms = [a.split("=", 1)[1] for a in command if a.startswith("--platform=")]
    assert platforms[0] == "manylinux_2_28_aarch64"
    assert platforms[-2:] == ["manylinux2014_aarch64", "linux_aarch64"]
    assert "manylinux_2_17_aarch64" in platforms
    assert {"--python-version=3.11", "--implementation=cp", "--abi=cp311"} <= set(command)
    assert command[command.index("--constraint") + 1] == str(tmp_path / "c.txt")
    assert command[-1] == "msgpack==1.0.8"  # requirements only after every option


def test_only_another_abi_machine_or_libc_is_another_platform() -> None:
    other_interpreter = dataclasses.replace(LINUX_WORKERS, executable="/usr/bin/python3")
    assert same_platform(LINUX_WORKERS, other_interpreter)
    assert not same_platform(LINUX_WORKERS, dataclasses.replace(LINUX_WORKERS, machine="aarch64"))
    assert not same_platform(LINUX_WORKERS, dataclasses.replace(LINUX_WORKERS, abi="cp312"))
    assert not same_platform(LINUX_WORKERS, dataclasses.replace(LINUX_WORKERS, glibc="2.17"))


@pytest.mark.parametrize(
    ("output", "error", "message"),
    [
        (
            "ERROR: Could not find a version that satisfies the requirement nosuch==1 "
            "(from versions: none)\nERROR: No matching distribution found for nosuch==1\n",
            EnvironmentBuildError,
            "no wheel of nosuch==1 for the workers (Python 3.11 (cp311) on linux_x86_64, "
            "glibc 2.28); pin a version that has one, or add an index with "
            "environment.pip_args",
        ),
        (
            "WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')\n"
            "ERROR: Could not find a version that satisfies the requirement msgpack\n"
            "ERROR: No matching distribution found for msgpack\n",
            EnvironmentOfflineError,
            "the package index could not be reached",
        ),
        (
            "ERROR: Cannot install a and b because these package versions have conflicting "
            "dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n",
            EnvironmentBuildError,
            "pip could not build the environment: ERROR: ResolutionImpossible",
        ),
    ],
)
def test_pip_failures_become_one_line_with_their_exit_code(
    output: str, error: type[Exception], message: str
) -> None:
    found = pip_failure(output, LINUX_WORKERS)
    assert isinstance(found, error)
    assert message in str(found) and "\n" not in str(found)
    assert found.exit_code in (ExitCode.USAGE, ExitCode.UNREACHABLE)  # type: ignore[attr-defined]


def test_the_input_key_follows_the_requirements_and_the_target() -> None:
    assert input_key(SPEC, LINUX_WORKERS) == input_key(SPEC, dataclasses.replace(LINUX_WORKERS))
    python_3_12 = dataclasses.replace(LINUX_WORKERS, python="3.12")
    assert input_key(SPEC, LINUX_WORKERS) != input_key(SPEC, python_3_12)
    other = dataclasses.replace(SPEC, requirements=("msgpack==1.1.0",))
    assert input_key(SPEC, LINUX_WORKERS) != input_key(other, LINUX_WORKERS)
    args = dataclasses.replace(SPEC, pip_args=("--pre",))
    assert input_key(SPEC, LINUX_WORKERS) != input_key(args, LINUX_WORKERS)


def test_the_session_conf_comes_with_the_archive_only() -> None:
    assert environment_conf(["jars/a.jar"]) == {}
    assert environment_conf(["jars/a.jar", ARCHIVE_NAME]) == {
        "spark.sql.execution.pyspark.python": "sparkpush_env/bin/python"
    }


def failing_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    log = tmp_path / "calls"
    script = tmp_path / "pip"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n{body}\n')
    script.chmod(0o755)
    monkeypatch.setenv("SPARKPUSH_PIP", str(script))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return log


def test_a_failed_build_leaves_nothing_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip writes part of a package, then fails
    failing_pip(
        tmp_path,
        monkeypatch,
        'while [ "$1" != "--target" ]; do shift; done; mkdir -p "$2/half"; '
        "echo 'ERROR: No matching distribution found for msgpack==1.0.8' >&2; exit 1",
    )
    with pytest.raises(EnvironmentBuildError, match=r"no wheel of msgpack==1\.0\.8"):
        build_environment(SPEC, local_target())
    assert list(cache_root().iterdir()) == []


def test_an_unchanged_environment_runs_no_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = failing_pip(
        tmp_path,
        monkeypatch,
        'while [ "$1" != "--target" ]; do shift; done; mkdir -p "$2/m"; '
        'echo "x = 1" > "$2/m/__init__.py"; exit 0',
    )
    config = Config(project_root=tmp_path, environment=EnvironmentSettings(requirements=("m==1",)))
    spec = read_spec(config)
    first = ensure_environment(config, spec, local_target())
    assert first.built_now and log.read_text().count("install") == 1
    again = ensure_environment(config, spec, local_target())
    assert not again.built_now and again.cached == first.cached
    assert log.read_text().count("install") == 1


def test_pip_args_from_a_project_need_trust_before_pip_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = failing_pip(tmp_path, monkeypatch, "exit 1")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.sparkpush.environment]\nrequirements = ['m']\n"
        "pip_args = ['--index-url', 'https://evil.example/simple']\n"
    )
    config = load_config(cwd=tmp_path)
    with pytest.raises(UntrustedConfigError, match="pip_args"):
        ensure_environment(config, read_spec(config), local_target())
    assert not log.exists()
    assert config.source is not None
    record_trust(config.source, config.credentials_digest)
    trusted = load_config(cwd=tmp_path)
    with pytest.raises(EnvironmentBuildError):
        ensure_environment(trusted, read_spec(trusted), local_target())
    assert "--index-url=https://evil.example/simple" in log.read_text()


def test_trust_given_before_pip_args_existed_stays_valid_for_configs_without_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\nremote = 'sc://h:1'\n")
    config = load_config(cwd=tmp_path)
    from sparkpush.config.trust import credentials_digest

    assert config.credentials_digest == credentials_digest({"remote": "sc://h:1"}, None)


def test_connect_env_says_when_there_is_no_environment_or_it_is_not_built(tmp_path: Path) -> None:
    from tests.conftest import clean_env, run_connect_in_process

    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\n")
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    shown = run_connect_in_process(["env"], env=env, cwd=tmp_path)
    assert shown.returncode == 0 and "no environment configured" in shown.stdout
    (tmp_path / "pyproject.toml").write_text(
        "[tool.sparkpush.environment]\nrequirements = ['msgpack']\n"
    )
    shown = run_connect_in_process(["env", "--json"], env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert '"built": false' in shown.stdout and '"configured": true' in shown.stdout
    assert not (tmp_path / "cache" / "sparkpush").exists()  # nothing built, nothing probed


@pytest.mark.parametrize("key", ["../../../home/you", "/etc", "a" * 31, "A" * 32, ""])
def test_a_lock_naming_a_key_outside_the_cache_finds_nothing(tmp_path: Path, key: str) -> None:
    from sparkpush.environment.cache import load_cached

    victim = tmp_path / "cache" / "a" / "b" / "c"
    victim.mkdir(parents=True)
    (victim / "env.tar.gz").write_bytes(b"secret")
    (victim / "environment.json").write_text(
        '{"sha256": "x", "size": 6, "packages": {}, "target": {}}'
    )
    assert load_cached(key, tmp_path / "cache" / "a" / "b" / "c" / "d") is None
    assert load_cached("../c", tmp_path / "cache" / "a" / "b" / "c" / "d") is None


def test_connect_env_shows_a_built_environment_in_lines() -> None:
    from sparkpush.cli.commands.env import render_report

    shown = render_report(
        {
            "configured": True,
            "built": True,
            "target": LINUX_WORKERS.describe(),
            "packages": {"msgpack": "1.0.8"},
            "left_out": {"numpy": "2.1.0"},
            "size": 395541,
            "sha256": "ab" * 32,
            "cache_path": "/c/envs/k",
            "lock_file": "/p/.sparkpush/environment.lock.json",
            "in_current_generation": False,
        }
    )
    assert shown.splitlines() == [
        "target      Python 3.11 (cp311) on linux_x86_64, glibc 2.28",
        "size        395,541 bytes",
        f"sha256      {'ab' * 32}",
        "cache       /c/envs/k",
        "lock        /p/.sparkpush/environment.lock.json",
        "generation  does not have it yet",
        "packages    msgpack==1.0.8",
        "left out    numpy 2.1.0 (the workers' own copies are used)",
    ]


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        (
            "sparkpush-nosuchpkg",
            "sparkpush-nosuchpkg is not on the package index ({links}); check the name",
        ),
        (
            "sparkpush-goodpkg==9.9",
            "no version of sparkpush-goodpkg matches ==9.9 on the package index ({links}, "
            "which has 1.1, 1.0)",
        ),
        (
            "sparkpush-sdistonly==0.6.2",
            "sparkpush-sdistonly==0.6.2 has no wheel for the workers (",
        ),
    ],
)
def test_an_environment_error_says_what_is_wrong_with_the_requirement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, requirement: str, message: str
) -> None:
    from tests.local_index import write_local_index

    links = write_local_index(tmp_path / "links")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # only the index this test writes
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.delenv("SPARKPUSH_PIP", raising=False)
    spec = EnvironmentSpec(
        requirements=(requirement,),
        pip_args=("--no-index", f"--find-links={links}"),
        wheels=(),
        wheel_hashes=(),
    )
    with pytest.raises(EnvironmentBuildError) as raised:
        build_environment(spec, local_target())
    assert message.format(links=links) in raised.value.message
    assert "\n" not in raised.value.message
    if "sdistonly" in requirement:
        assert "build the wheel" in raised.value.message
        assert "list it in artifacts.wheels" in raised.value.message
    assert list(cache_root().iterdir()) == []
