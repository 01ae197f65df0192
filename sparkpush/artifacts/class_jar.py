"""A class folder sent as one deterministic jar: same files, same bytes, same name.

The server writes every `classes/` artifact as a file of its own (5,000 classes: 6.4 s, the
same classes as one jar: 1.4 s), and a jar also carries the folder's resources
(`META-INF/services/...`). The name depends on the folder only, so an unchanged tree is the
server's same-bytes no-op and a changed one is a changed jar (a new generation, where the new
classes are loaded).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import time
import zipfile
import zlib
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.packing import (
    DIR_MODE,
    FILE_MODE,
    ZIP_EPOCH,
    SourceFile,
    read_source,
)
from sparkpush.artifacts.stat_cache import RACY_WINDOW_NS

CLASS_JAR_PREFIX = f"{ArtifactKind.JAR.prefix}/classes-"
"""Every jar named so holds a class folder of the project (the code layer counts it as code)."""
SLUG_CHARS = 60
FOLDER_HASH_CHARS = 8
_NOT_IN_SLUG = re.compile(r"[^A-Za-z0-9._]+")
JAR_COMPRESS_LEVEL = 1
"""Deflate level 1: 5,000 real classes pack 35% faster than at level 6, 7% larger."""
MAX_PACK_THREADS = 4
THREAD_MIN_FILES = 128
"""Fewer files to deflate than this per thread are deflated by the caller alone."""
_UNIX = 3
_MSDOS_DIR_FLAG = 0x10
_STORED, _DEFLATED = 0, 8
_DOS_TIME, _DOS_DATE = 0, (1 << 5) | 1  # 1980-01-01 00:00:00, as ZIP_EPOCH
_UTF8_NAME = 0x800
_ZIP_VERSION = 20
_MAX_ENTRIES = 0xFFFF
_MAX_OFFSET = 0xFFFFFFFF
"""Past these a plain zip cannot say it: such a tree is written by zipfile, with zip64."""


@dataclass(frozen=True)
class JarEntry:
    """One file or folder as the jar holds it, ready to be joined: a rebuilt jar only adds the
    offsets (5,000 classes: 10 ms less per edit)."""

    record: bytes
    """Local header, name, then the bytes: deflated, or stored when deflating gains nothing."""
    directory: bytes
    """Its central directory header up to the last field, the offset of `record`."""
    raw_name: bytes
    size: int
    """The file's own size."""


EntryCache = MutableMapping[tuple[str, int, int, int], JarEntry]
"""(path, size, mtime_ns, inode) -> the file's entry: a rebuild deflates changed files only."""


@dataclass(frozen=True)
class ClassJar:
    name: str
    data: bytes
    sha256: str


def class_jar_name(folder: Path, root: Path) -> str:
    """`jars/classes-<folder path as a slug>-<hash of the path>.jar`, e.g. for `target/classes`.

    The slug is for people; the hash of the full path keeps `a-b/c` and `a/b-c` apart.
    """
    where = os.path.normpath(os.path.abspath(folder))
    top = os.path.normpath(os.path.abspath(root))
    shown = os.path.relpath(where, top) if _inside(where, top) else where
    shown = shown.replace(os.sep, "/")
    # the end of a long path says most (`.../module/target/classes`)
    slug = _NOT_IN_SLUG.sub("-", shown).strip("-.")[-SLUG_CHARS:].strip("-.") or "root"
    digest = hashlib.sha256(shown.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{CLASS_JAR_PREFIX}{slug}-{digest[:FOLDER_HASH_CHARS]}.jar"


def is_class_jar(name: str) -> bool:
    return name.startswith(CLASS_JAR_PREFIX) and name.endswith(".jar")


def pack_class_jar(
    name: str, files: list[SourceFile], entries: EntryCache | None = None
) -> ClassJar:
    """The jar of every file walked in a class folder (classes and resources), in name order.

    With `entries` (kept by a long-lived process), a file whose stat is unchanged and settled
    is not read and deflated again.
    """
    ordered = sorted(files, key=lambda f: f.relative)
    settled_before = time.time_ns() - RACY_WINDOW_NS
    known: EntryCache = entries if entries is not None else {}
    keys = [(f.path, f.info.st_size, f.info.st_mtime_ns, f.info.st_ino) for f in ordered]
    found = [known.get(key) for key in keys]
    unknown = [f for f, entry in zip(ordered, found, strict=True) if entry is None]
    built = iter(_file_entries(unknown))
    jar_entries = [entry if entry is not None else next(built) for entry in found]
    data = _plain_zip([(f.relative, e) for f, e in zip(ordered, jar_entries, strict=True)])
    if entries is not None:  # what this tree no longer has is dropped, the unsettled not kept
        entries.clear()
        entries.update(
            (key, entry)
            for key, entry in zip(keys, jar_entries, strict=True)
            if key[2] < settled_before
        )
    if data is None:
        data = _jar_bytes([(f.relative, f.path) for f in ordered])
    return ClassJar(name, data, hashlib.sha256(data).hexdigest())


def _file_entries(files: list[SourceFile]) -> list[JarEntry]:
    """The entries of `files`, in order; many are read and deflated by a few threads at once
    (zlib and file reads release the GIL: 5,000 classes, 2 cores: 620 -> 300 ms)."""
    workers = min(MAX_PACK_THREADS, os.cpu_count() or 1, len(files) // THREAD_MIN_FILES)
    if workers <= 1:
        return [_file_entry(f) for f in files]
    share = -(-len(files) // workers)  # a list per thread: a task per file would cost more
    parts = [files[start : start + share] for start in range(0, len(files), share)]
    with ThreadPoolExecutor(workers, thread_name_prefix="sparkpush-jar") as pool:
        done = pool.map(lambda part: [_file_entry(f) for f in part], parts)
        return [entry for part in done for entry in part]


def _file_entry(found: SourceFile) -> JarEntry:
    raw = read_source(found.path)
    packer = zlib.compressobj(JAR_COMPRESS_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = packer.compress(raw) + packer.flush()
    crc = zlib.crc32(raw)
    if len(deflated) < len(raw):
        return _jar_entry(found.relative, FILE_MODE, _DEFLATED, crc, deflated, len(raw))
    # random bytes, tiny files: deflate would only add work for the reader
    return _jar_entry(found.relative, FILE_MODE, _STORED, crc, raw, len(raw))


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER_START = struct.Struct("<4s4B4HL2L5HL")
_OFFSET = struct.Struct("<L")


def _jar_entry(name: str, mode: int, method: int, crc: int, data: bytes, size: int) -> JarEntry:
    raw_name = name.encode("utf-8")
    flags = 0 if raw_name.isascii() else _UTF8_NAME
    common = (flags, method, _DOS_TIME, _DOS_DATE, crc, len(data), size, len(raw_name), 0)
    local = _LOCAL_HEADER.pack(b"PK\x03\x04", _ZIP_VERSION, 0, *common)
    attributes = (mode << 16) | (_MSDOS_DIR_FLAG if mode == DIR_MODE else 0)
    directory = _CENTRAL_HEADER_START.pack(
        b"PK\x01\x02", _ZIP_VERSION, _UNIX, _ZIP_VERSION, 0, *common, 0, 0, 0, attributes
    )
    return JarEntry(local + raw_name + data, directory, raw_name, size)


def _plain_zip(members: list[tuple[str, JarEntry]]) -> bytes | None:
    """A zip of `members` and their folders, in name order, fixed times and modes; None when
    it would need zip64 (more than 65,535 entries or 4 GiB)."""
    folders = folders_of([name for name, _ in members])
    ordered = [(folder, _jar_entry(folder, DIR_MODE, _STORED, 0, b"", 0)) for folder in folders]
    ordered += members
    if len(ordered) > _MAX_ENTRIES or sum(e.size for _, e in members) >= _MAX_OFFSET // 2:
        return None
    ordered.sort(key=lambda member: member[0])
    offset_bytes = _OFFSET.pack
    body: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for _, entry in ordered:
        body.append(entry.record)
        central += (entry.directory, offset_bytes(offset), entry.raw_name)
        offset += len(entry.record)
    central_size = sum(map(len, central))
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(ordered), len(ordered), central_size, offset, 0
    )
    return b"".join((*body, *central, end))


def folders_of(names: list[str]) -> set[str]:
    """Every folder above the POSIX `names`, each ending in `/` (`a/b/C.class`: `a/`, `a/b/`)."""
    parents = {name[: name.rfind("/") + 1] for name in names}
    parents.discard("")
    folders: set[str] = set()
    for parent in parents:
        cut = len(parent) - 1
        while cut > 0 and parent[: cut + 1] not in folders:
            folders.add(parent[: cut + 1])
            cut = parent.rfind("/", 0, cut)
    return folders


def _jar_bytes(members: list[tuple[str, str]]) -> bytes:
    """Like `_plain_zip`, through zipfile, for trees too big for a zip without zip64."""
    entries = sorted([(folder, "") for folder in folders_of([n for n, _ in members])] + members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.create_system = _UNIX
            if not path:
                info.external_attr = (DIR_MODE << 16) | _MSDOS_DIR_FLAG
                archive.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = read_source(path)
                archive.writestr(info, data, compresslevel=JAR_COMPRESS_LEVEL)
    return buffer.getvalue()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
