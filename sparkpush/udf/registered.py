"""What the generation record remembers of the UDFs registered in a session, as typed records.

On disk (the `udfs` key of `manifest.json`) it reads:

    {"session_id": "...", "worker_python": "3.11", "sources": "<digest>",
     "functions": {"name": {"kind", "return_type", "source", "fingerprint", "generation"}}}

and `{}` for a generation with no UDFs registered. `from_json` raises RecordError (a
ValueError) on anything else, which the generation's loader treats as an unusable record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkpush.state.records import record_from_json, record_to_json


@dataclass(frozen=True)
class RegisteredUdf:
    """A function callable by name in the session; `generation` is None outside a project."""

    name: str
    kind: str
    return_type: str
    source: str
    fingerprint: str
    generation: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The generation record's entry for this function (keyed by its name, so without it)."""
        return record_to_json(UdfEntry.of(self))


@dataclass(frozen=True)
class UdfEntry:
    """A `RegisteredUdf` as the generation record keeps it: under its name, so without it."""

    kind: str
    return_type: str
    source: str
    fingerprint: str
    generation: int | None

    @classmethod
    def of(cls, udf: RegisteredUdf) -> UdfEntry:
        return cls(udf.kind, udf.return_type, udf.source, udf.fingerprint, udf.generation)

    def named(self, name: str) -> RegisteredUdf:
        return RegisteredUdf(
            name, self.kind, self.return_type, self.source, self.fingerprint, self.generation
        )


@dataclass(frozen=True)
class SessionUdfs:
    """The UDFs registered in session `session_id`, the workers' Python found there (asked once
    per session) and the digest of the UDF sources they were registered from."""

    session_id: str | None = None
    worker_python: str | None = None
    sources: str | None = None
    functions: Mapping[str, RegisteredUdf] = field(default_factory=dict)

    def in_session(self, session_id: str) -> SessionUdfs:
        """This record if it describes `session_id`, else an empty one (it is stale)."""
        return self if self.session_id == session_id else SessionUdfs()

    def registered_in(self, session_id: str) -> list[RegisteredUdf]:
        """The functions this record says are registered in `session_id`, by name."""
        functions = self.in_session(session_id).functions
        return [functions[name] for name in sorted(functions)]

    def to_json(self) -> dict[str, Any]:
        if self == SessionUdfs():
            return {}
        return record_to_json(SessionUdfsDocument.of(self))

    @classmethod
    def from_json(cls, document: Any) -> SessionUdfs:
        """Raises RecordError (a ValueError) on anything `to_json` did not write."""
        return record_from_json(SessionUdfsDocument, document, what="udfs record").record()


@dataclass(frozen=True)
class SessionUdfsDocument:
    """`SessionUdfs` as the manifest keeps it; `{}` (every key missing) for none."""

    session_id: str | None = None
    worker_python: str | None = None
    sources: str | None = None
    functions: Mapping[str, UdfEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, udfs: SessionUdfs) -> SessionUdfsDocument:
        functions = {name: UdfEntry.of(u) for name, u in sorted(udfs.functions.items())}
        return cls(udfs.session_id, udfs.worker_python, udfs.sources, functions)

    def record(self) -> SessionUdfs:
        functions = {name: entry.named(name) for name, entry in self.functions.items()}
        return SessionUdfs(self.session_id, self.worker_python, self.sources, functions)
