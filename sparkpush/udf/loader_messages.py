"""What the parent and the loader child say to each other: one JSON object per line.

The parent sends one `LoadRequest`; the child answers with `LoaderEvent`s: `started` (its pid),
`importing`/`imported` per module, `problem` (a `LoadProblem`, then it exits) or `done` (a
`LoadOutcome`); whoever reaps the child adds `exit` with its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sparkpush.state.records import record_from_json, record_to_json


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
        return record_to_json(self)

    @classmethod
    def from_json(cls, document: Any) -> LoadRequest:
        """Raises RecordError (a ValueError) on anything `to_json` did not write."""
        return record_from_json(cls, document, what="load request")


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


@dataclass(frozen=True)
class LoadOutcome:
    """What a load that went through registered (or would have), and what it dropped."""

    udfs: tuple[LoadedUdf, ...]
    worker_python: str | None = None
    dropped: tuple[str, ...] = ()


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
        """One flat object: `event`, the fields of its problem or outcome, and its own."""
        document: dict[str, Any] = {"event": self.kind.value}
        for part in (self.problem, self.outcome):
            if part is not None:
                document.update(record_to_json(part))
        for name in ("pid", "file", "worker", "status"):
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document

    @classmethod
    def from_json(cls, document: Any) -> LoaderEvent:
        """Raises RecordError (a ValueError) on a line that is no event."""
        step = record_from_json(_EventLine, document, what="loader event")
        if step.event is LoaderEventKind.PROBLEM:
            return cls(step.event, problem=record_from_json(LoadProblem, document))
        if step.event is LoaderEventKind.DONE:
            return cls(step.event, outcome=record_from_json(LoadOutcome, document))
        return cls(step.event, step.pid, step.file, step.worker, status=step.status)

    @classmethod
    def exited(cls, status: int) -> LoaderEvent:
        return cls(LoaderEventKind.EXIT, status=status)


@dataclass(frozen=True)
class _EventLine:
    """The fields of an event line besides those of its problem or outcome."""

    event: LoaderEventKind
    pid: int | None = None
    file: str | None = None
    worker: str | None = None
    status: int | None = None
