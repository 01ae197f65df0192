"""Names the server would store somewhere else than asked are refused before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.artifacts.local_artifact import LocalArtifact, artifacts_from_flags
from sparkpush.artifacts.names import check_archive_alias, check_artifact_name
from sparkpush.errors import ExitCode, UsageError

LONG = "x" * 252 + ".py"  # 255 bytes: the longest file name


@pytest.mark.parametrize(
    "name",
    [
        "files/a.txt",
        "classes/com/x/Foo$1.class",
        f"pyfiles/{LONG}",
        "files/100%.txt",
        "files/é.txt",
    ],
)
def test_plain_names_pass(name: str) -> None:
    check_artifact_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("files/back\\slash.txt", "'\\' in an artifact name"),
        (f"files/y{LONG}", "longer than 255 bytes"),
        ("files/" + "é" * 128, "longer than 255 bytes"),
        ("files/../x", "'..' part"),
        ("files//x", "empty"),
        ("/files/x", "empty"),
        ("files/./x", "'.'"),
    ],
)
def test_names_the_server_would_change_are_refused(name: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        LocalArtifact(name=name, data=b"")
    assert message in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    "alias",
    [
        "%2e%2e%2f%2e%2e%2fprobe%2fvictim",  # the executors percent-decode the fragment
        "%2E%2E",
        "a%2fb",
        "a/b",
        "a\\b",
        "..",
        ".",
        "a#b",
        "x" * 256,
    ],
)
def test_aliases_that_decode_to_something_else_are_refused(alias: str) -> None:
    with pytest.raises(UsageError):
        check_archive_alias(alias)


def test_archive_flag_refuses_an_encoded_alias(tmp_path: Path) -> None:
    (tmp_path / "env.tar.gz").write_bytes(b"x")
    with pytest.raises(UsageError) as caught:
        artifacts_from_flags(archives=(f"{tmp_path}/env.tar.gz#%2e%2e%2fvictim",))
    assert caught.value.message.startswith("--archives: alias")


def test_files_flag_refuses_a_backslash_name(tmp_path: Path) -> None:
    (tmp_path / "back\\slash.txt").write_bytes(b"x")
    with pytest.raises(UsageError) as caught:
        artifacts_from_flags(files=(f"{tmp_path}/back\\slash.txt",))
    assert caught.value.message.startswith("--files: files/back\\slash.txt")
