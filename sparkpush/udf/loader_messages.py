"""What the parent and the loader child say to each other: one JSON object per line.

The parent sends one `LoadRequest`; the child answers with `LoaderEvent`s: `started` (its pid),
`importing`/`imported` per module, `problem` (a `LoadProblem`, then it exits) or `done` (a
`LoadOutcome`); whoever reaps the child adds `exit` with its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
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
    return_types: tuple[str, ...] = ()
    """What the Python UDFs returned at the last load: the child has the server parse them
    while it connects, as a guess (the real lookups ask again what it missed)."""

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
            return_types=tuple(str(t) for t in document.get("return_types", ())),
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


@dataclass(frozen=True)
class LoadOutcome:
    """What a load that went through registered (or would have), and what it dropped."""

    udfs: tuple[LoadedUdf, ...]
    worker_python: str | None
    dropped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "udfs": [asdict(u) for u in self.udfs],
            "worker_python": self.worker_python,
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> LoadOutcome:
        return cls(
            udfs=tuple(LoadedUdf.from_json(u) for u in document["udfs"]),
            worker_python=document.get("worker_python"),
            dropped=tuple(document.get("dropped", ())),
        )


class LoaderEventKind(str, Enum):
    STARTED = "started"
    PYTHON = "python"
    IMPORTING = "importing"
    IMPORTED = "imported"
    REGISTERING = "registering"
    PROBLEM = "problem"
    DONE = "done"
    EXIT = "exit"


@dataclass(frozen=True)
class LoaderEvent:
    """One step of a load; the field its `kind` needs is set, the others are None."""

    kind: LoaderEventKind
    pid: int | None = None
    """STARTED: the child's pid (the warm loader kills only it)."""
    file: str | None = None
    """IMPORTING, IMPORTED: the module's path relative to the project."""
    worker: str | None = None
    """PYTHON: the server's Python worker version."""
    problem: LoadProblem | None = None
    outcome: LoadOutcome | None = None
    status: int | None = None
    """EXIT: the child's exit code."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"event": self.kind.value}
        if self.problem is not None:
            document.update(asdict(self.problem))
        if self.outcome is not None:
            document.update(self.outcome.to_json())
        for name in ("pid", "file", "worker", "status"):
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> LoaderEvent:
        """Raises ValueError (or KeyError, TypeError) on a line that is no event."""
        kind = LoaderEventKind(document["event"])
        if kind is LoaderEventKind.PROBLEM:
            return cls(kind, problem=LoadProblem.from_json(document))
        if kind is LoaderEventKind.DONE:
            return cls(kind, outcome=LoadOutcome.from_json(document))
        pid, status = document.get("pid"), document.get("status")
        return cls(
            kind,
            pid=int(pid) if pid is not None else None,
            file=document.get("file"),
            worker=document.get("worker"),
            status=int(status) if status is not None else None,
        )

    @classmethod
    def exited(cls, status: int) -> LoaderEvent:
        return cls(LoaderEventKind.EXIT, status=status)
