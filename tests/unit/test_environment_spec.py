"""What a project's config may put into pip's command line: requirements and a short list of
options, requirement files inside the project only."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.config.settings import Config, EnvironmentSettings
from sparkpush.environment.spec import read_spec
from sparkpush.errors import EnvironmentBuildError, ExitCode


def spec_of(root: Path, **settings: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    config = Config(project_root=root, environment=EnvironmentSettings(**settings))  # type: ignore[arg-type]
    spec = read_spec(config)
    return spec.requirements, spec.pip_args


def test_requirements_and_files_are_read_in_order_with_pips_line_rules(tmp_path: Path) -> None:
    (tmp_path / "req.txt").write_text(
        "# pinned\nmsgpack==1.0.8  # a comment\n\npyyaml\\\n>=6\nattrs ; python_version>'3'\n"
    )
    requirements, _ = spec_of(
        tmp_path,
        project_requirements=("six",),
        requirements=("numpy-financial",),
        requirements_files=("req.txt",),
    )
    assert requirements == (
        "six",
        "numpy-financial",
        "msgpack==1.0.8",
        "pyyaml>=6",
        'attrs; python_version > "3"',
    )


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("--target=/home/you", "is not a requirement"),
        ("-r /etc/passwd", "is not a requirement"),
        ("x\n--index-url http://evil", "is not a requirement"),
        ("evil @ file:///home/you/.ssh/id_rsa", "is a direct reference"),
        ("evil @ https://evil.example/evil-1.0-py3-none-any.whl", "is a direct reference"),
    ],
)
def test_a_requirement_that_is_not_a_plain_pep_508_name_is_refused(
    tmp_path: Path, requirement: str, message: str
) -> None:
    with pytest.raises(EnvironmentBuildError, match=message) as caught:
        spec_of(tmp_path, requirements=(requirement,))
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in caught.value.message.replace("\\n", "")


@pytest.mark.parametrize(
    "line",
    ["-r other.txt", "--index-url http://evil/simple", "-e .", "--trusted-host evil", "-c c.txt"],
)
def test_options_inside_a_requirements_file_are_refused_naming_file_and_line(
    tmp_path: Path, line: str
) -> None:
    (tmp_path / "req.txt").write_text(f"msgpack\n{line}\n")
    with pytest.raises(EnvironmentBuildError, match=r"req.txt:2: pip options are not read"):
        spec_of(tmp_path, requirements_files=("req.txt",))


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.txt", "~/.netrc"])
def test_a_requirements_file_outside_the_project_is_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("msgpack\n")
    with pytest.raises(EnvironmentBuildError, match=r"environment\.requirements_files"):
        spec_of(root, requirements_files=(path,))


def test_a_requirements_file_linking_outside_the_project_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("msgpack\n")
    (root / "req.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(EnvironmentBuildError, match="outside"):
        spec_of(root, requirements_files=("req.txt",))


@pytest.mark.parametrize(
    "args",
    [
        ("--target", "/home/you/.local"),
        ("--prefix=/usr",),
        ("--root", "/"),
        ("-r", "/etc/passwd"),
        ("--requirement=/etc/passwd",),
        ("--cert", "/etc/ssl/private/key.pem"),
        ("--client-cert=/home/you/.ssh/id_rsa",),
        ("--no-binary=:all:",),
        ("--config-settings", "x=y"),
        ("--user",),
        ("-e", "."),
        ("--src", "/tmp/x"),
        ("--log", "/home/you/.bashrc"),
    ],
)
def test_pip_options_off_the_allowed_list_are_refused(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    with pytest.raises(EnvironmentBuildError, match=r"environment\.pip_args: .* is not allowed"):
        spec_of(tmp_path, requirements=("msgpack",), pip_args=args)


def test_allowed_pip_options_are_passed_in_their_long_form(tmp_path: Path) -> None:
    (tmp_path / "wheelhouse").mkdir()
    _, pip_args = spec_of(
        tmp_path,
        requirements=("msgpack",),
        pip_args=(
            "-i",
            "https://pypi.example/simple",
            "--extra-index-url=https://mirror.example/simple",
            "-f",
            "wheelhouse",
            "--pre",
        ),
    )
    assert pip_args == (
        "--index-url=https://pypi.example/simple",
        "--extra-index-url=https://mirror.example/simple",
        f"--find-links={(tmp_path / 'wheelhouse').resolve()}",
        "--pre",
    )


def test_find_links_to_a_folder_outside_the_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError, match="--find-links"):
        spec_of(tmp_path, requirements=("msgpack",), pip_args=("--find-links", "/home"))
