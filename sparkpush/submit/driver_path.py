"""The script's own `sys.path` gets the Python artifacts its workers get, as spark-submit puts
`--py-files` on the driver's path: each zip, egg and pure wheel as it is, the loose `.py`
files in one folder, and a packed package (held in memory) written out first.

The parent writes what it must into the run's private folder and hands the entries over in
SPARKPUSH_DRIVER_PATH; the script's process puts them right after the script's own folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.local_artifact import LocalArtifact

DRIVER_PATH_ENV = "SPARKPUSH_DRIVER_PATH"


def driver_path_entries(artifacts: Sequence[LocalArtifact], folder: Path) -> list[str]:
    """The `sys.path` entries for the Python artifacts among `artifacts`, written under
    `folder` (private, the run's) where they are not files already."""
    entries: list[str] = []
    loose = folder / "py-files"
    for artifact in artifacts:
        if artifact.kind is not ArtifactKind.PYFILE:
            continue
        file_name = artifact.name.split("/", 1)[1]
        if file_name.endswith(".py"):
            loose.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write(artifact, loose / file_name)
        elif artifact.path is not None:
            entries.append(str(artifact.path.absolute()))
        else:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            entries.append(str(_write(artifact, folder / file_name)))
    return [str(loose), *entries] if loose.is_dir() else entries


def _write(artifact: LocalArtifact, destination: Path) -> Path:
    if artifact.data is not None:
        destination.write_bytes(artifact.data)
    else:
        assert artifact.path is not None
        shutil.copyfile(artifact.path, destination)
    return destination


def extend_sys_path(path: list[str], environ: dict[str, str] | os._Environ[str]) -> None:
    """In the script's process: the entries go right after the script's own folder."""
    entries = [e for e in environ.pop(DRIVER_PATH_ENV, "").split(os.pathsep) if e]
    path[1:1] = entries
