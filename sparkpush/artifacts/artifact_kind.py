"""The kinds of artifact a Spark Connect session accepts, and the name prefix of each."""

from __future__ import annotations

from enum import Enum


class ArtifactKind(Enum):
    """The server decides what to do with an artifact by its name's first path segment."""

    PYFILE = "pyfiles"
    JAR = "jars"
    CLASS = "classes"
    ARCHIVE = "archives"
    FILE = "files"

    @property
    def prefix(self) -> str:
        return self.value

    @classmethod
    def of_name(cls, name: str) -> ArtifactKind:
        head = name.split("/", 1)[0]
        return cls(head)


PYFILE_SUFFIXES = (".py", ".zip", ".egg")
ARCHIVE_SUFFIXES = (".zip", ".jar", ".tar.gz", ".tgz", ".tar")
