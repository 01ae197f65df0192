"""Pure-Python wheels, sent under a `.zip` name so the Python workers can zipimport them."""

from __future__ import annotations

import stat
import zipfile
import zlib
from email.parser import HeaderParser
from pathlib import Path

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.packing import printable_path, require_utf8_name, stat_or_refuse
from sparkpush.errors import UsageError

_INSTALL_INSTEAD = (
    "Spark Connect can only import pure-Python wheels from a zip; "
    "install it on the server's Python workers instead"
)


def wheel_artifact(path: Path) -> LocalArtifact:
    """`pyfiles/<stem>.zip` with the wheel's bytes, after checking the wheel is pure Python."""
    shown = printable_path(path)
    require_utf8_name(path)
    if not stat.S_ISREG(stat_or_refuse(path).st_mode):
        raise UsageError(f"{shown} is not a file")
    if not path.name.endswith(".whl"):
        raise UsageError(f"{shown} is not a wheel (.whl) file")
    stem = path.name[: -len(".whl")]
    parts = stem.split("-")
    if len(parts) not in (5, 6) or not all(parts):
        raise UsageError(
            f"{shown} is not a valid wheel file name "
            "(expected NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)"
        )
    if not _pure_tag(f"{parts[-3]}-{parts[-2]}-{parts[-1]}"):
        raise UsageError(f"{shown} is a platform wheel: {_INSTALL_INSTEAD}")
    _check_wheel_metadata(path, shown, dist_info=f"{parts[0]}-{parts[1]}.dist-info")
    return LocalArtifact(name=f"{ArtifactKind.PYFILE.prefix}/{stem}.zip", path=path)


def is_platform_wheel(path: Path) -> bool:
    """A `.whl` whose file name carries an ABI or platform tag: it goes into the environment."""
    parts = path.name[: -len(".whl")].split("-") if path.name.endswith(".whl") else []
    if len(parts) not in (5, 6) or not all(parts):
        return False  # not a wheel name: `wheel_artifact` says what is wrong
    return not _pure_tag(f"{parts[-3]}-{parts[-2]}-{parts[-1]}")


def _pure_tag(tag: str) -> bool:
    """`py3-none-any` style: no ABI and any platform (dotted tag sets must all agree)."""
    _python, abi, platform = tag.split("-")
    return all(a == "none" for a in abi.split(".")) and all(p == "any" for p in platform.split("."))


def _check_wheel_metadata(path: Path, shown: str, dist_info: str) -> None:
    """Refuse a wheel whose `.dist-info/WHEEL` is missing or says it is not pure Python."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            wheel_file = _find_wheel_file(names, dist_info, shown)
            text = archive.read(wheel_file).decode("utf-8")
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown} is not a valid wheel (corrupt zip: {exc})") from None
    except (NotImplementedError, RuntimeError) as exc:
        raise UsageError(f"{shown} cannot be read as a zip: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or exc}") from None
    headers = HeaderParser().parsestr(text)
    if (headers.get("Root-Is-Purelib") or "").strip().lower() != "true":
        raise UsageError(
            f"{shown} is a platform wheel (its WHEEL file lacks 'Root-Is-Purelib: true'): "
            f"{_INSTALL_INSTEAD}"
        )
    for tag in headers.get_all("Tag") or []:
        tag = tag.strip()
        if tag.count("-") != 2 or not _pure_tag(tag):
            raise UsageError(f"{shown} is a platform wheel (tag {tag}): {_INSTALL_INSTEAD}")
    hidden = sorted(
        {name.split("/", 2)[1] for name in names if _in_data_lib(name)},
    )
    if hidden:
        raise UsageError(
            f"{shown} keeps modules under .data/{hidden[0]}/, which zipimport cannot see: "
            "install it on the server's Python workers instead"
        )


def _find_wheel_file(names: list[str], dist_info: str, shown: str) -> str:
    expected = f"{dist_info}/WHEEL"
    if expected in names:
        return expected
    found = sorted(
        name
        for name in names
        if name.count("/") == 1
        and name.endswith("/WHEEL")
        and name.split("/")[0].endswith(".dist-info")
    )
    if len(found) != 1:
        raise UsageError(f"{shown} is not a valid wheel (no single *.dist-info/WHEEL file)")
    return found[0]


def _in_data_lib(name: str) -> bool:
    parts = name.split("/")
    return (
        len(parts) >= 3
        and parts[0].endswith(".data")
        and parts[1] in ("purelib", "platlib")
        and bool(parts[2])
    )
