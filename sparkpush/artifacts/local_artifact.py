"""An artifact on this machine: the server-side name it gets and where its bytes are."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.artifact_kind import ARCHIVE_SUFFIXES, PYFILE_SUFFIXES, ArtifactKind
from sparkpush.artifacts.names import (
    check_archive_alias,
    check_archive_file_name,
    check_artifact_name,
)
from sparkpush.errors import UsageError


@dataclass(frozen=True)
class LocalArtifact:
    """`name` is the server-side artifact name (`jars/x.jar`); bytes come from `path` or `data`.

    `sha256`, when set, is what the bytes must hash to: the upload refuses other bytes before
    their last chunk leaves (the environment's archive: what the lock names is what runs).
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        # Every artifact we send passes here: a name the server would store elsewhere never leaves.
        check_artifact_name(self.name)

    @property
    def kind(self) -> ArtifactKind:
        return ArtifactKind.of_name(self.name)

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


def readable_file(raw: str, flag: str) -> Path:
    """`raw` as a readable regular file, or a one-line UsageError naming the flag."""
    path = Path(raw).expanduser()
    try:
        if not path.exists():
            raise UsageError(f"{flag}: {raw} does not exist")
        if not path.is_file():
            raise UsageError(f"{flag}: {raw} is not a file")
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {raw}: {exc.strerror or exc}") from None
    if not os.access(path, os.R_OK):
        raise UsageError(f"{flag}: cannot read {raw}: permission denied")
    return path


def split_flag_values(values: tuple[str, ...]) -> list[str]:
    """spark-submit style: each flag may repeat and hold a comma-separated list."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def flag_artifact(flag: str, name: str, path: Path) -> LocalArtifact:
    """The artifact `name` from `path`, or a UsageError naming the flag."""
    try:
        return LocalArtifact(name=name, path=path)
    except UsageError as exc:
        raise UsageError(f"{flag}: {exc.message}") from None


def pyfile_artifact(raw: str) -> LocalArtifact:
    path = readable_file(raw, "--py-files")
    if not path.name.endswith(PYFILE_SUFFIXES):
        hint = (
            " (a wheel goes in [tool.sparkpush.artifacts] wheels)" if raw.endswith(".whl") else ""
        )
        raise UsageError(f"--py-files: {raw} is not a .py, .zip or .egg file{hint}")
    return flag_artifact("--py-files", f"{ArtifactKind.PYFILE.prefix}/{path.name}", path)


def jar_artifact(raw: str) -> LocalArtifact:
    path = readable_file(raw, "--jars")
    if not path.name.endswith(".jar"):
        raise UsageError(f"--jars: {raw} is not a .jar file")
    return flag_artifact("--jars", f"{ArtifactKind.JAR.prefix}/{path.name}", path)


def file_artifact(raw: str) -> LocalArtifact:
    path = readable_file(raw, "--files")
    return flag_artifact("--files", f"{ArtifactKind.FILE.prefix}/{path.name}", path)


def archive_artifact(raw: str) -> LocalArtifact:
    """`file#alias` (alias defaults to the file name); the alias is a plain folder name."""
    location, _, alias = raw.partition("#")
    path = readable_file(location, "--archives")
    if not path.name.endswith(ARCHIVE_SUFFIXES):
        raise UsageError(f"--archives: {location} is not a .zip, .jar, .tar.gz, .tgz or .tar file")
    try:
        check_archive_file_name(path.name)
        if "#" in raw:
            check_archive_alias(alias)
    except UsageError as exc:
        raise UsageError(f"--archives: {exc.message}") from None
    suffix = f"#{alias}" if alias else ""
    return flag_artifact("--archives", f"{ArtifactKind.ARCHIVE.prefix}/{path.name}{suffix}", path)


def artifacts_from_flags(
    py_files: tuple[str, ...] = (),
    jars: tuple[str, ...] = (),
    archives: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
) -> list[LocalArtifact]:
    """The artifacts named by spark-submit style flags, validated; duplicates are an error."""
    found = [
        *(pyfile_artifact(v) for v in split_flag_values(py_files)),
        *(jar_artifact(v) for v in split_flag_values(jars)),
        *(archive_artifact(v) for v in split_flag_values(archives)),
        *(file_artifact(v) for v in split_flag_values(files)),
    ]
    seen: dict[str, LocalArtifact] = {}
    for artifact in found:
        earlier = seen.get(artifact.name)
        if earlier is not None and earlier.path != artifact.path:
            raise UsageError(
                f"two different files would both be sent as {artifact.name}: "
                f"{earlier.path} and {artifact.path}"
            )
        seen[artifact.name] = artifact
    return list(seen.values())


@dataclass(frozen=True)
class DesiredArtifact:
    """An artifact the session should hold, with the hash and size of its bytes."""

    artifact: LocalArtifact
    sha256: str
    size: int
    source: Path
    origin: str | None = None
    """What the generation record shows as its source when not `source` (a package's coordinate)."""

    @property
    def name(self) -> str:
        return self.artifact.name

    @property
    def shown_source(self) -> str:
        return self.origin if self.origin is not None else str(self.source)
