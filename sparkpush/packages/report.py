"""Ivy's resolve report (`<resolution cache>/sparkpush-packages-default.xml`), read as values.

Ivy writes it after every resolve, also a failed one: each module revision with the resolver
that found it, the modules that asked for it (callers), its downloaded artifacts (cache
location and origin URL), and `error` or `evicted` when it is missing or settled away.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from sparkpush.packages.ivy_files import CONF, ROOT_MODULE, ROOT_ORGANISATION

CLASSIFIER_ATTRIBUTE = "extra-1.m.classifier"


@dataclass(frozen=True)
class ReportArtifact:
    name: str
    ext: str
    classifier: str | None
    location: Path | None
    origin: str
    status: str
    details: str


@dataclass(frozen=True)
class ReportRevision:
    group: str
    artifact: str
    version: str
    resolver: str
    error: str
    evicted: str
    callers: tuple[tuple[str, str], ...]
    """(group, artifact) of each module that depends on it; the root is `ROOT`."""
    artifacts: tuple[ReportArtifact, ...]

    @property
    def module(self) -> str:
        return f"{self.group}:{self.artifact}"

    @property
    def requested(self) -> bool:
        return ROOT in self.callers


ROOT = (ROOT_ORGANISATION, ROOT_MODULE)


def report_path(resolution_dir: Path) -> Path:
    return resolution_dir / f"{ROOT_ORGANISATION}-{ROOT_MODULE}-{CONF}.xml"


def read_report(path: Path) -> list[ReportRevision]:
    """The report's revisions; none when Ivy did not get to write it."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    revisions: list[ReportRevision] = []
    for module in root.iter("module"):
        group, artifact = module.get("organisation", ""), module.get("name", "")
        for revision in module.findall("revision"):
            revisions.append(_revision(group, artifact, revision))
    return revisions


def _revision(group: str, artifact: str, element: ElementTree.Element) -> ReportRevision:
    callers = tuple(
        (c.get("organisation", ""), c.get("name", "")) for c in element.findall("caller")
    )
    artifacts = tuple(
        ReportArtifact(
            name=a.get("name", ""),
            ext=a.get("ext", ""),
            classifier=a.get(CLASSIFIER_ATTRIBUTE) or None,
            location=Path(a.get("location", "")) if a.get("location") else None,
            origin=_origin(a),
            status=a.get("status", ""),
            details=a.get("details", ""),
        )
        for a in element.iter("artifact")
    )
    return ReportRevision(
        group=group,
        artifact=artifact,
        version=element.get("name", ""),
        resolver=element.get("artresolver") or element.get("resolver") or "",
        error=element.get("error", ""),
        evicted=element.get("evicted", ""),
        callers=callers,
        artifacts=artifacts,
    )


def _origin(artifact: ElementTree.Element) -> str:
    origin = artifact.find("origin-location")
    return origin.get("location", "") if origin is not None else ""
