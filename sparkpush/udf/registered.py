"""What the generation record remembers of the UDFs registered in a session, as typed records.

On disk (the `udfs` key of `manifest.json`) it reads:

    {"session_id": "...", "worker_python": "3.11", "sources": "<digest>",
     "functions": {"name": {"kind", "return_type", "source", "fingerprint", "generation"}}}

and `{}` for a generation with no UDFs registered. `from_json` raises ValueError, TypeError or
KeyError on anything else, which the generation's loader treats as an unusable record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkpush.state.json_values import optional_str, typed


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
        return {
            "kind": self.kind,
            "return_type": self.return_type,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, name: str, document: Any) -> RegisteredUdf:
        entry = typed(document, dict)
        generation = entry["generation"]
        return cls(
            name=name,
            kind=typed(entry["kind"], str),
            return_type=typed(entry["return_type"], str),
            source=typed(entry["source"], str),
            fingerprint=typed(entry["fingerprint"], str),
            generation=None if generation is None else typed(generation, int),
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
        return {
            "session_id": self.session_id,
            "worker_python": self.worker_python,
            "sources": self.sources,
            "functions": {name: u.to_json() for name, u in sorted(self.functions.items())},
        }

    @classmethod
    def from_json(cls, document: Any) -> SessionUdfs:
        area = typed(document, dict)
        functions = typed(area.get("functions", {}), dict)
        return cls(
            session_id=optional_str(area.get("session_id")),
            worker_python=optional_str(area.get("worker_python")),
            sources=optional_str(area.get("sources")),
            functions={
                typed(name, str): RegisteredUdf.from_json(name, entry)
                for name, entry in functions.items()
            },
        )
