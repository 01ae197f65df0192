"""A package index on disk for pip (`--find-links`): a pure wheel in two versions and a
package published only as a source distribution, so environment errors need no network."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

WHEEL_NAME = "sparkpush-goodpkg"
SDIST_NAME = "sparkpush-sdistonly"


def write_local_index(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for version in ("1.0", "1.1"):
        _wheel(folder, WHEEL_NAME, version)
    _sdist(folder, SDIST_NAME, "0.6.2")
    return folder


def _wheel(folder: Path, name: str, version: str) -> None:
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{module}.py", f"VERSION = '{version}'\n")
        wheel.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(
            f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        wheel.writestr(f"{dist}/RECORD", "")


def _sdist(folder: Path, name: str, version: str) -> None:
    module = name.replace("-", "_")
    setup = f"raise SystemExit('never built: {name}')\n".encode()
    with tarfile.open(folder / f"{module}-{version}.tar.gz", "w:gz") as sdist:
        entry = tarfile.TarInfo(f"{module}-{version}/setup.py")
        entry.size = len(setup)
        sdist.addfile(entry, io.BytesIO(setup))
