"""Maven coordinates as spark-submit takes them: `group:artifact:version[:classifier]`, module
ids `group:artifact` (exclusions), and the Scala client's `ivy://` URIs.

Every part is checked against a short character set: a coordinate becomes an Ivy module id,
a path in a repository and an artifact name on the server, so nothing in it may read as a
path separator, an option or markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sparkpush.errors import PackageError

IVY_SCHEME = "ivy"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_VERSION = re.compile(r"[A-Za-z0-9_.\-+\[\](),]+")
"""Plain versions, and Ivy's dynamic ones (`1.+`, `[1.0,2.0)`, `latest.release`): the lock pins
what they resolved to."""
_ANY = "*"
_IVY_PARAMETERS = ("transitive", "exclude")


@dataclass(frozen=True, order=True)
class ModuleId:
    """`group:artifact`; `*` in either part matches any (Ivy's own wildcard)."""

    group: str
    artifact: str

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}"

    def matches(self, group: str, artifact: str) -> bool:
        return self.group in (_ANY, group) and self.artifact in (_ANY, artifact)


@dataclass(frozen=True)
class Coordinate:
    """One requested library; `transitive` and `exclusions` come from an `ivy://` URI."""

    group: str
    artifact: str
    version: str
    classifier: str | None = None
    transitive: bool = True
    exclusions: tuple[ModuleId, ...] = ()

    def __str__(self) -> str:
        tail = f":{self.classifier}" if self.classifier else ""
        return f"{self.group}:{self.artifact}:{self.version}{tail}"

    @property
    def module(self) -> ModuleId:
        return ModuleId(self.group, self.artifact)

    def key(self) -> list[object]:
        """What decides its resolution, as JSON-ready values."""
        return [str(self), self.transitive, [str(m) for m in self.exclusions]]


def parse_coordinate(text: str, where: str) -> Coordinate:
    """`group:artifact:version[:classifier]`, or a PackageError naming `where`."""
    parts = text.strip().split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise PackageError(
            f"{where}: {_shown(text)} is not a Maven coordinate (group:artifact:version"
            "[:classifier])"
        )
    group, artifact, version = parts[:3]
    classifier = parts[3] if len(parts) == 4 else None
    for label, value, pattern in (
        ("group", group, _NAME),
        ("artifact", artifact, _NAME),
        ("version", version, _VERSION),
        ("classifier", classifier, _NAME),
    ):
        if value is not None and not pattern.fullmatch(value):
            raise PackageError(f"{where}: {_shown(text)}: {label} {_shown(value)} is not allowed")
    return Coordinate(group, artifact, version, classifier)


def parse_module(text: str, where: str) -> ModuleId:
    """`group:artifact` (as `spark.jars.excludes`), either part may be `*`."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p == _ANY or _NAME.fullmatch(p) for p in parts):
        raise PackageError(f"{where}: {_shown(text)} is not group:artifact")
    return ModuleId(parts[0], parts[1])


def parse_ivy_uri(text: str, where: str) -> Coordinate:
    """`ivy://group:artifact:version[?transitive=false&exclude=g:a,g:a]`, as the Scala client
    takes it (`repos` is refused: repositories go in `packages.repositories`)."""
    split = urlsplit(text.strip())
    if split.scheme != IVY_SCHEME or split.fragment or split.path:
        raise PackageError(f"{where}: {_shown(text)} is not ivy://group:artifact:version[?...]")
    coordinate = parse_coordinate(split.netloc, where)
    try:
        query = parse_qs(split.query, keep_blank_values=True, strict_parsing=bool(split.query))
    except ValueError:
        raise PackageError(f"{where}: {_shown(text)}: cannot read its query") from None
    for name in query:
        if name not in _IVY_PARAMETERS:
            hint = " (repositories go in packages.repositories)"
            raise PackageError(
                f"{where}: {_shown(text)}: unknown parameter {name!r}"
                f"{hint if name == 'repos' else ''}; known: {', '.join(_IVY_PARAMETERS)}"
            )
    transitive = _flag(query.get("transitive"), text, where)
    exclusions = tuple(
        parse_module(item, where)
        for value in query.get("exclude", [])
        for item in value.split(",")
        if item.strip()
    )
    return Coordinate(
        coordinate.group,
        coordinate.artifact,
        coordinate.version,
        coordinate.classifier,
        transitive=transitive,
        exclusions=exclusions,
    )


def parse_requested(text: str, where: str) -> Coordinate:
    """A coordinate, or an `ivy://` URI."""
    if text.strip().startswith(f"{IVY_SCHEME}://"):
        return parse_ivy_uri(text, where)
    return parse_coordinate(text, where)


def jar_file_name(group: str, artifact: str, version: str, classifier: str | None) -> str:
    """How spark-submit names a retrieved jar: `group_artifact-version[-classifier].jar`."""
    tail = f"-{classifier}" if classifier else ""
    return f"{group}_{artifact}-{version}{tail}.jar"


def _flag(values: list[str] | None, text: str, where: str) -> bool:
    if not values:
        return True
    value = values[-1].strip().lower()
    if value not in ("true", "false"):
        raise PackageError(f"{where}: {_shown(text)}: transitive must be true or false")
    return value == "true"


def _shown(text: str | None) -> str:
    shown = repr(text if text is not None else "")
    return shown if len(shown) <= 80 else shown[:77] + "...'"
