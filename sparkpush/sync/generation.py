"""The generation record: which session serves the project's current code and what it holds.

Kept in `<project>/.sparkpush/manifest.json`; the sync writes it, everything else reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from sparkpush.artifacts.parsed_files import ParsedFiles
from sparkpush.state.folders import STATE_DIR_NAME, state_dir
from sparkpush.state.private_files import write_private_file
from sparkpush.state.records import record_from_json, record_to_json
from sparkpush.udf.registered import RegisteredUdf, SessionUdfs, SessionUdfsDocument

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class StoredArtifact:
    """One artifact stored in the session; `generation` is the one that uploaded it."""

    name: str
    sha256: str
    size: int
    source: str
    generation: int


@dataclass(frozen=True)
class BaseSession:
    """The session a layered generation was cloned from; it never runs user queries.

    `names` are the base layer's artifacts (their entries are in `Generation.entries`, since the
    clone holds them too), `conf` the hash of the session confs set on it, `digest` a hash of
    both, to tell bases apart at a glance.
    """

    session_id: str
    server_side_session_id: str | None
    names: tuple[str, ...]
    conf: str

    def digest(self, entries: Mapping[str, StoredArtifact]) -> str:
        parts = [f"{n}={entries[n].sha256}" for n in sorted(self.names) if n in entries]
        text = "\n".join([*parts, f"conf={self.conf}"])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Generation:
    """The session generation in use (`number` counts them per project) and what it holds.

    `pending_release` lists older generations' (and bases') session ids not yet released on
    the server, so a run that crashed can release them later. `base` is None for a generation
    that is a session of its own (layers off, or a server without CloneSession).
    """

    session_id: str
    number: int
    remote: str
    server_side_session_id: str | None
    entries: Mapping[str, StoredArtifact]
    udfs: SessionUdfs = field(default_factory=SessionUdfs)
    updated_at: float = field(default_factory=time.time)
    pending_release: tuple[str, ...] = ()
    base: BaseSession | None = None

    @property
    def hashes(self) -> dict[str, str]:
        """Artifact name -> sha256, the `current` side of `plan_sync`."""
        return {name: entry.sha256 for name, entry in self.entries.items()}

    @property
    def sizes(self) -> dict[str, int]:
        """Artifact name -> bytes: what the server copies to clone this generation."""
        return {name: entry.size for name, entry in self.entries.items()}

    def registered_udfs(self) -> list[RegisteredUdf]:
        """The UDFs registered in this generation's session, by name."""
        return self.udfs.registered_in(self.session_id)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, document: Any) -> Generation:
        """Raises ValueError (a RecordError for a bad record) on anything `to_json` did not
        write."""
        return _from_json(document)


def manifest_path(project_root: Path) -> Path:
    return project_root / STATE_DIR_NAME / MANIFEST_FILE


class KeepsGenerations(Protocol):
    """What a long-lived process keeps (a `ProcessCache`): the records it parsed, by file."""

    generations: ParsedFiles[Generation]


def load_generation(project_root: Path, reuse: KeepsGenerations | None = None) -> Generation | None:
    """The saved generation, or None when it is missing or unusable (never raises).

    With `reuse`, a record parsed before is reused while the file was not replaced (writes
    always replace it, and Generation is immutable).
    """
    path = manifest_path(project_root)
    try:
        info = path.stat()
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        known = reuse.generations.get(path, identity) if reuse is not None else None
        if known is not None:
            return known
        record = _from_json(json.loads(path.read_bytes()))
        if reuse is not None:
            reuse.generations.put(path, identity, record)
        return record
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring unusable generation record %s: %s", path, exc)
        return None


def save_generation(project_root: Path, record: Generation) -> None:
    """Write the generation record atomically as a 0600 file in the 0700 state folder."""
    folder = state_dir(project_root)
    # compact: a class-file tree gives records of tens of thousands of entries
    text = json.dumps(_to_json(record), sort_keys=True, separators=(",", ":")) + "\n"
    write_private_file(folder / MANIFEST_FILE, text.encode())


@dataclass(frozen=True)
class ManifestDocument:
    """A `Generation` as `manifest.json` keeps it: `generation` is its number, `entries` a
    list sorted by name, `base` missing in manifests written before layers."""

    version: int
    session_id: str
    generation: int
    remote: str
    server_side_session_id: str | None
    updated_at: float
    pending_release: tuple[str, ...]
    udfs: SessionUdfsDocument
    entries: tuple[StoredArtifact, ...]
    base: BaseSession | None = None

    @classmethod
    def of(cls, record: Generation) -> ManifestDocument:
        base = record.base
        return cls(
            version=MANIFEST_VERSION,
            session_id=record.session_id,
            generation=record.number,
            remote=record.remote,
            server_side_session_id=record.server_side_session_id,
            updated_at=record.updated_at,
            pending_release=record.pending_release,
            udfs=SessionUdfsDocument.of(record.udfs),
            entries=tuple(entry for _, entry in sorted(record.entries.items())),
            base=replace(base, names=tuple(sorted(base.names))) if base is not None else None,
        )

    def record(self) -> Generation:
        return Generation(
            session_id=self.session_id,
            number=self.generation,
            remote=self.remote,
            server_side_session_id=self.server_side_session_id,
            entries={entry.name: entry for entry in self.entries},
            udfs=self.udfs.record(),
            updated_at=self.updated_at,
            pending_release=self.pending_release,
            base=self.base,
        )


def _to_json(record: Generation) -> dict[str, Any]:
    document = record_to_json(ManifestDocument.of(record))
    document["udfs"] = record.udfs.to_json()  # `{}` for none, as manifests always had it
    return document


def _from_json(document: Any) -> Generation:
    if not isinstance(document, dict) or document.get("version") != MANIFEST_VERSION:
        raise ValueError("unknown generation record version")
    return record_from_json(ManifestDocument, document, what="manifest").record()
