from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sparkpush.artifacts.wheels import wheel_artifact
from sparkpush.errors import UsageError

PURE_WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
PLATFORM_WHEEL = (
    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n"
)


def build_wheel(
    folder: Path,
    filename: str,
    wheel_metadata: str | None = PURE_WHEEL,
    dist_info: str = "tiny-1.0.dist-info",
    extra: dict[str, str] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tiny/__init__.py", "GREETING = 'hello from a wheel'\n")
        archive.writestr(f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: tiny\n")
        if wheel_metadata is not None:
            archive.writestr(f"{dist_info}/WHEEL", wheel_metadata)
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return path


def test_pure_wheel_is_sent_under_a_zip_name(tmp_path: Path) -> None:
    path = build_wheel(tmp_path / "dist", "tiny-1.0-py3-none-any.whl")
    artifact = wheel_artifact(path)
    assert artifact.name == "pyfiles/tiny-1.0-py3-none-any.zip"
    assert artifact.path == path
    assert artifact.data is None


def test_pure_wheel_is_importable_as_a_zip(tmp_path: Path) -> None:
    path = build_wheel(tmp_path, "tiny-1.0-py3-none-any.whl")
    as_zip = tmp_path / wheel_artifact(path).name.split("/")[1]
    as_zip.write_bytes(path.read_bytes())
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import tiny; print(tiny.GREETING)",
            str(as_zip),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "hello from a wheel"


@pytest.mark.parametrize(
    "filename",
    [
        "tiny-1.0-py2.py3-none-any.whl",
        "tiny-1.0-1-py3-none-any.whl",
    ],
)
def test_tag_sets_and_build_numbers_are_accepted(tmp_path: Path, filename: str) -> None:
    artifact = wheel_artifact(build_wheel(tmp_path, filename))
    assert artifact.name == f"pyfiles/{filename[: -len('.whl')]}.zip"


def test_platform_wheel_by_file_name_is_refused_with_advice(tmp_path: Path) -> None:
    path = build_wheel(tmp_path / "dist", "x-1.0-cp311-cp311-linux_x86_64.whl", PLATFORM_WHEEL)
    with pytest.raises(UsageError) as caught:
        wheel_artifact(path)
    assert caught.value.message == (
        f"{path} is a platform wheel: Spark Connect can only import pure-Python wheels from a zip;"
        " install it on the server's Python workers instead"
    )


@pytest.mark.parametrize(
    ("filename", "metadata", "extra", "message"),
    [
        ("tiny-1.0-cp311-abi3-any.whl", PURE_WHEEL, None, "is a platform wheel"),
        ("tiny-1.0-py3-none-manylinux1_x86_64.whl", PURE_WHEEL, None, "is a platform wheel"),
        ("tiny-1.0-py3-none-any.whl", PLATFORM_WHEEL, None, "lacks 'Root-Is-Purelib: true'"),
        (
            "tiny-1.0-py3-none-any.whl",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: cp311-cp311-win_amd64\n",
            None,
            "platform wheel (tag cp311-cp311-win_amd64)",
        ),
        ("tiny-1.0-py3-none-any.whl", None, None, "no single *.dist-info/WHEEL"),
        (
            "tiny-1.0-py3-none-any.whl",
            PURE_WHEEL,
            {"tiny-1.0.data/purelib/other.py": ""},
            "keeps modules under .data/purelib/",
        ),
        ("tiny-py3-none-any.whl", PURE_WHEEL, None, "not a valid wheel file name"),
        ("tiny-1.0-py3-none-any.zip", PURE_WHEEL, None, "is not a wheel (.whl) file"),
    ],
)
def test_unusable_wheels_are_refused(
    tmp_path: Path,
    filename: str,
    metadata: str | None,
    extra: dict[str, str] | None,
    message: str,
) -> None:
    path = build_wheel(tmp_path, filename, metadata, extra=extra)
    with pytest.raises(UsageError) as caught:
        wheel_artifact(path)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_dist_info_under_another_spelling_is_found(tmp_path: Path) -> None:
    path = build_wheel(
        tmp_path, "Tiny_Pkg-1.0-py3-none-any.whl", dist_info="tiny_pkg-1.0.dist-info"
    )
    assert wheel_artifact(path).name == "pyfiles/Tiny_Pkg-1.0-py3-none-any.zip"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a zip", "is not a valid wheel (corrupt zip"),
        (b"", "is not a valid wheel (corrupt zip"),
    ],
)
def test_corrupt_wheel_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "tiny-1.0-py3-none-any.whl"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        wheel_artifact(path)


def test_truncated_wheel_is_refused(tmp_path: Path) -> None:
    path = build_wheel(tmp_path, "tiny-1.0-py3-none-any.whl")
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(UsageError, match="corrupt zip"):
        wheel_artifact(path)


def test_missing_wheel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        wheel_artifact(tmp_path / "tiny-1.0-py3-none-any.whl")


def test_folder_named_like_a_wheel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny-1.0-py3-none-any.whl"
    path.mkdir()
    with pytest.raises(UsageError, match="is not a file"):
        wheel_artifact(path)
