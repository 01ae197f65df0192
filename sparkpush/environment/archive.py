"""A deterministic `.tar.gz` of a folder: same files, same bytes (so a resend is a no-op)."""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from pathlib import Path

FIXED_MTIME = 315532800
"""1980-01-01, as wheels and zips use: no entry carries the time it was built."""


def write_deterministic_tar_gz(folder: Path, destination: Path) -> None:
    """Entries sorted by path, owner 0/0 and no names, fixed times, modes 0755 or 0644."""
    with (
        destination.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for relative in sorted_entries(folder):
            _add(tar, folder / relative, relative)


def sorted_entries(folder: Path) -> list[str]:
    """Every path under `folder`, relative, POSIX, sorted (a folder before its contents)."""
    found: list[str] = []
    for current, dirs, files in os.walk(folder):
        base = Path(current).relative_to(folder)
        for name in (*dirs, *files):
            found.append((base / name).as_posix())
    return sorted(found)


def _add(tar: tarfile.TarFile, path: Path, relative: str) -> None:
    info = path.lstat()
    entry = tarfile.TarInfo(relative)
    entry.mtime = FIXED_MTIME
    entry.uid = entry.gid = 0
    entry.uname = entry.gname = ""
    if stat.S_ISLNK(info.st_mode):
        entry.type = tarfile.SYMTYPE
        entry.linkname = os.readlink(path)
        entry.mode = 0o777
        tar.addfile(entry)
    elif stat.S_ISDIR(info.st_mode):
        entry.type = tarfile.DIRTYPE
        entry.mode = 0o755
        tar.addfile(entry)
    else:
        entry.size = info.st_size
        entry.mode = 0o755 if info.st_mode & 0o111 else 0o644
        with path.open("rb") as stream:
            tar.addfile(entry, stream)
