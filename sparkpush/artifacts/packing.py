"""Python source folders packed into one deterministic zip: same sources, same bytes, same name."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.errors import UsageError

# Every entry gets the same timestamp and mode so the bytes depend on content alone.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESS_LEVEL = 6
FILE_MODE = 0o100644
DIR_MODE = 0o040755
_MSDOS_DIR_FLAG = 0x10
_UNIX = 3
NAME_HASH_CHARS = 12


@dataclass(frozen=True)
class PackedZip:
    """`name` is content-addressed; `files` are the sources packed, in zip order."""

    name: str
    data: bytes
    sha256: str
    files: tuple[Path, ...]


class SourceFile(NamedTuple):
    """A kept regular file found under a walked folder (a tuple: a walk makes one per file,
    three times faster than a frozen dataclass)."""

    relative: str
    """POSIX path below the walked folder."""
    path: str
    info: os.stat_result
    """The stat taken while walking: caches compare it instead of stat-ing again."""

    @property
    def stat_key(self) -> tuple[int, int, int]:
        """(size, mtime_ns, inode): what the pack and stat caches compare."""
        return (self.info.st_size, self.info.st_mtime_ns, self.info.st_ino)


@dataclass(frozen=True)
class Confinement:
    """The folders artifacts may come from: the project root and those the user allows.

    A project's config is written by whoever wrote the repository: its globs and the links
    under them must not reach the user's other files (`~/.ssh`, `/proc/self/environ`).
    """

    roots: tuple[str, ...]
    """Real paths (symlinks resolved)."""

    @classmethod
    def of(cls, root: Path, allowed: Iterable[Path] = ()) -> Confinement:
        return cls(tuple(os.path.realpath(folder) for folder in (root, *allowed)))

    def holds(self, path: str | Path) -> bool:
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in self.roots)

    def require(self, path: str | Path, shown: str | None = None) -> None:
        """A UsageError naming `path` unless it (its link target) lies inside the roots."""
        if self.holds(path):
            return
        real = printable_path(Path(os.path.realpath(path)))
        if os.path.islink(path):
            how = f" (a symlink to {real})"
        elif real != printable_path(Path(os.path.abspath(path))):
            how = f" (it resolves to {real})"
        else:
            how = ""
        raise UsageError(
            f"{shown or printable_path(Path(path))} leads outside the project{how}; "
            "artifacts come from inside the project root "
            "(other folders: artifact_roots in your own config.toml)"
        )


def stat_signature(files: list[SourceFile]) -> str:
    """A digest of the files' names and (size, mtime, inode): equal means an unchanged tree."""
    lines = [
        f"{f.relative}\0{f.info.st_size}\0{f.info.st_mtime_ns}\0{f.info.st_ino}\n" for f in files
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def pack_python_source(
    source: Path,
    keep: DefaultFilter,
    *,
    root: Path | None = None,
    files: list[SourceFile] | None = None,
    confine: Confinement | None = None,
) -> PackedZip:
    """Zip a package folder (as `<name>/...`) or a source root without `__init__.py` (flat).

    `keep` sees paths relative to `root` (the project root) when `source` is under it,
    else relative to `source`.
    """
    if files is None:
        files = walk_python_source(source, keep, root=root, confine=confine)
    if not files:
        raise UsageError(f"{source}: nothing to pack (no files left after ignore rules)")
    dirname = _folder_name(source)
    is_package = any(f.relative == "__init__.py" for f in files)
    prefix = f"{dirname}/" if is_package else ""
    members = sorted((f"{prefix}{f.relative}", Path(f.path)) for f in files)
    data = _deterministic_zip(members)
    digest = hashlib.sha256(data).hexdigest()
    return PackedZip(
        name=f"{ArtifactKind.PYFILE.prefix}/{dirname}-{digest[:NAME_HASH_CHARS]}.zip",
        data=data,
        sha256=digest,
        files=tuple(path for _, path in members),
    )


def walk_python_source(
    source: Path,
    keep: DefaultFilter,
    *,
    root: Path | None = None,
    confine: Confinement | None = None,
) -> list[SourceFile]:
    """The files `pack_python_source` would pack, after checking the folder itself."""
    require_directory(source)
    require_utf8_name(source)
    return walk_kept_files(source, keep, root=root, confine=confine)


def walk_kept_files(
    directory: Path,
    keep: DefaultFilter,
    *,
    root: Path | None = None,
    confine: Confinement | None = None,
) -> list[SourceFile]:
    """Every kept regular file under `directory`, sorted; symlinks followed, loops refused.

    With `confine`, a symlink leading outside its folders is refused (like rsync's
    `--safe-links`, but loudly): links inside the project are fine.
    Plain strings, not Path objects, on this path: a no-op sync walks it for every file.
    """
    base = _filter_base(directory, root).as_posix()
    base_prefix = "" if base == "." else f"{base}/"
    found: list[SourceFile] = []
    top = stat_or_refuse(directory)
    visited: set[tuple[int, int]] = {(top.st_dev, top.st_ino)}
    # Each stack item carries the folder identities above it, to tell a loop from a duplicate.
    stack: list[tuple[str, str, tuple[tuple[int, int], ...]]] = [
        (os.fspath(directory), "", ((top.st_dev, top.st_ino),))
    ]
    while stack:
        folder, relative, ancestors = stack.pop()
        names, links = _list_folder(Path(folder))
        for name in names:
            path = f"{folder}/{name}"
            child = f"{relative}{name}"
            try:
                info = os.stat(path)
            except OSError as exc:
                if not keep.keeps_posix(base_prefix + child, is_dir=False):
                    continue
                raise UsageError(describe_os_error(Path(path), exc)) from None
            is_dir = stat.S_ISDIR(info.st_mode)
            if not keep.keeps_posix(base_prefix + child, is_dir):
                continue
            _require_utf8(name, path)
            if links and name in links and confine is not None:
                confine.require(path)
            if is_dir:
                identity = (info.st_dev, info.st_ino)
                if identity in ancestors:
                    raise UsageError(f"{path}: symlink loop (it leads back to a folder above it)")
                if identity in visited:
                    raise UsageError(f"{path}: folder reached twice through symlinks")
                visited.add(identity)
                stack.append((path, f"{child}/", (*ancestors, identity)))
            elif stat.S_ISREG(info.st_mode):
                found.append(SourceFile(child, path, info))
            else:
                raise UsageError(f"{path} is not a regular file or folder")
    found.sort(key=lambda f: f.relative)
    return found


def _require_utf8(name: str, path: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        require_utf8_name(Path(path))


def require_directory(path: Path) -> None:
    """A one-line UsageError unless `path` is an existing folder (symlinks followed)."""
    info = stat_or_refuse(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is not a folder")


def stat_or_refuse(path: Path, shown: str | None = None) -> os.stat_result:
    """`os.stat(path)`, or a one-line UsageError saying why it cannot be used."""
    try:
        return os.stat(path)
    except OSError as exc:
        raise UsageError(describe_os_error(path, exc, shown)) from None


def require_utf8_name(path: Path) -> None:
    """Artifact names travel as UTF-8: refuse a path the file system gave us as other bytes."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{printable_path(path)}: file name is not valid UTF-8; rename it"
        ) from None


def printable_path(path: Path) -> str:
    """`path` with undecodable bytes shown as `\\xNN` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def describe_os_error(path: Path, exc: OSError, shown: str | None = None) -> str:
    """A one-line reason why `path` (shown as `shown`) could not be stat'ed or read."""
    shown = shown or printable_path(path)
    if exc.errno == errno.ELOOP:
        return f"{shown}: symlink loop"
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"{shown}: broken symlink"
        return f"{shown} does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot read {shown}: permission denied"
    if exc.errno == errno.ENOTDIR:
        return f"{shown} does not exist (a parent is not a folder)"
    return f"cannot read {shown}: {exc.strerror or exc}"


def read_source(path: str | Path) -> bytes:
    """The file's bytes, or a one-line UsageError."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise UsageError(describe_os_error(Path(path), exc)) from None


def _list_folder(folder: Path) -> tuple[list[str], set[str]]:
    """The sorted names in `folder`, and those that are symlinks (known from the listing)."""
    names: list[str] = []
    links: set[str] = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                names.append(entry.name)
                if entry.is_symlink():
                    links.add(entry.name)
    except OSError as exc:
        raise UsageError(describe_os_error(folder, exc)) from None
    names.sort()
    return names, links


def _folder_name(folder: Path) -> str:
    """The name a user sees (a symlinked package keeps its link name); `..` is resolved."""
    name = folder.absolute().name
    if name in ("", ".", ".."):
        name = folder.resolve().name
    return name or "root"


def _filter_base(directory: Path, root: Path | None) -> PurePosixPath:
    """Where `directory` sits for the filter: relative to `root` when inside it, else itself."""
    if root is None:
        return PurePosixPath()
    try:
        relative = directory.absolute().relative_to(root.absolute())
    except ValueError:
        return PurePosixPath()
    return PurePosixPath(relative.as_posix())


def _deterministic_zip(members: list[tuple[str, Path]]) -> bytes:
    """A zip of `members` (arcname, path) with folder entries, fixed times, modes and level."""
    folders = sorted(
        {parent.as_posix() + "/" for arcname, _ in members for parent in _parents(arcname)}
    )
    entries: list[tuple[str, Path | None]] = [(folder, None) for folder in folders]
    entries += members
    entries.sort(key=lambda entry: entry[0])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.create_system = _UNIX
            if path is None:
                info.external_attr = (DIR_MODE << 16) | _MSDOS_DIR_FLAG
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, read_source(path), compresslevel=ZIP_COMPRESS_LEVEL)
    return buffer.getvalue()


def _parents(arcname: str) -> list[PurePosixPath]:
    # Folder entries let zipimport find namespace packages on older Pythons.
    return [p for p in PurePosixPath(arcname).parents if p != PurePosixPath(".")]
