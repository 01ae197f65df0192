"""A class folder sent as one deterministic jar: same files, same bytes, same name.

The server writes every `classes/` artifact as a file of its own (5,000 classes: 6.4 s, the
same classes as one jar: 1.4 s), and a jar also carries the folder's resources
(`META-INF/services/...`). The name depends on the folder only, so an unchanged tree is the
server's same-bytes no-op and a changed one is a changed jar (a new generation, where the new
classes are loaded).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.kinds import ArtifactKind
from sparkpush.artifacts.packing import SourceFile, deterministic_zip

CLASS_JAR_PREFIX = f"{ArtifactKind.JAR.prefix}/classes-"
"""Every jar named so holds a class folder of the project (the code layer counts it as code)."""
SLUG_CHARS = 60
FOLDER_HASH_CHARS = 8
_NOT_IN_SLUG = re.compile(r"[^A-Za-z0-9._]+")


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


def pack_class_jar(name: str, files: list[SourceFile]) -> ClassJar:
    """The jar of every file walked in a class folder (classes and resources), in name order."""
    data = deterministic_zip(sorted((f.relative, Path(f.path)) for f in files))
    return ClassJar(name, data, hashlib.sha256(data).hexdigest())


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
