"""What the parent and the loader child say to each other: one JSON object per line.

The parent sends one `LoadRequest`; the child answers with events: `started` (its pid),
`importing`/`imported` per module, `problem` (a `LoadProblem`, then it exits) or `done`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadRequest:
    """Paths are relative to `project_root`; `known` maps names to fingerprints on the server."""

    project_root: str
    modules: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    java_udfs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    known: Mapping[str, str] = field(default_factory=dict)
    check_python: bool = True
    register: bool = True
    """False: load and fingerprint only, to say what would be registered (a dry run)."""

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["java_udfs"] = {k: list(v) for k, v in self.java_udfs.items()}
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> LoadRequest:
        return cls(
            project_root=str(document["project_root"]),
            modules=tuple(document["modules"]),
            names=dict(document["names"]),
            java_udfs={k: (str(v[0]), str(v[1])) for k, v in document["java_udfs"].items()},
            known=dict(document["known"]),
            check_python=bool(document["check_python"]),
            register=bool(document.get("register", True)),
        )


@dataclass(frozen=True)
class LoadedUdf:
    """One UDF as the child found it; `registered` is False when it was already up to date
    (with `LoadRequest.register` False: whether it would have been registered)."""

    name: str
    kind: str
    return_type: str
    source: str
    fingerprint: str
    registered: bool

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> LoadedUdf:
        return cls(**{k: document[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LoadProblem:
    """Why a load failed, in parts; `describe_problem` turns it into the user's one line.

    `kind`: syntax, import, exit, pickle, register, duplicate, python_version, java, session.
    """

    kind: str
    file: str | None = None
    line: int | None = None
    name: str | None = None
    error_type: str | None = None
    message: str = ""

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> LoadProblem:
        line = document.get("line")
        return cls(
            kind=str(document.get("kind", "loader")),
            file=document.get("file"),
            line=int(line) if line is not None else None,
            name=document.get("name"),
            error_type=document.get("error_type"),
            message=str(document.get("message") or ""),
        )
