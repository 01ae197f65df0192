"""The two files Ivy reads: its settings (repositories, cache, credentials) and the module
that depends on the requested coordinates, written as spark-submit's resolution builds them
in memory (`default -> default(runtime)`, compile and runtime scopes, excludes).

Ivy substitutes `${...}` in both files, so nothing we put there may hold one: coordinates and
repository URLs cannot (they are checked), and a password that does is not used.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from pathlib import Path

from sparkpush.packages.coordinates import Coordinate, ModuleId
from sparkpush.packages.maven_settings import Credential
from sparkpush.packages.spec import Repository

CHAIN = "sparkpush-chain"
ROOT_ORGANISATION = "sparkpush"
ROOT_MODULE = "packages"
CONF = "default"
MAVEN_NAMESPACE = "http://ant.apache.org/ivy/maven"
IVY_PROPERTIES = {
    # Ivy verifies what the repository publishes; it knows no `.sha256` (checked by us)
    "ivy.checksums": "sha1,md5",
    # jars only: no lookups of -sources and -javadoc jars, one request per module fewer
    "ivy.maven.lookup.sources": "false",
    "ivy.maven.lookup.javadoc": "false",
}


def usable_credentials(credentials: Iterable[Credential]) -> list[Credential]:
    """Ivy would read `${` in a value as a variable: such a credential cannot be passed."""
    return [c for c in credentials if not any("${" in v for v in (c.host, c.username, c.password))]


def settings_xml(
    repositories: Sequence[Repository],
    cache_dir: Path,
    resolution_dir: Path,
    credentials: Sequence[tuple[Credential, str]] = (),
) -> str:
    """`credentials`: each with the realm its host asks for ("" when it names none)."""
    root = ElementTree.Element("ivysettings")
    ElementTree.SubElement(root, "settings", defaultResolver=CHAIN)
    for name, value in IVY_PROPERTIES.items():
        ElementTree.SubElement(root, "property", name=name, value=value)
    caches = ElementTree.SubElement(
        root,
        "caches",
        defaultCacheDir=str(cache_dir),
        resolutionCacheDir=str(resolution_dir),
        lockStrategy="artifact-lock-nio",
        useOrigin="false",
    )
    # One Ivy cache per repository: Ivy keeps one copy of a module's jar whichever
    # repository it came from, so a jar fetched from one would be taken for another's.
    for repository in repositories:
        ElementTree.SubElement(
            caches, "cache", name=repository.name, basedir=str(cache_dir / repository.name)
        )
    resolvers = ElementTree.SubElement(root, "resolvers")
    chain = ElementTree.SubElement(resolvers, "chain", name=CHAIN, returnFirst="true")
    for repository in repositories:
        ElementTree.SubElement(
            chain,
            "ibiblio",
            name=repository.name,
            m2compatible="true",
            root=repository.url,
            cache=repository.name,
        )
    for credential, realm in credentials:
        attributes = {
            "host": credential.host,
            "username": credential.username,
            "passwd": credential.password,
        }
        if realm:
            attributes["realm"] = realm
        ElementTree.SubElement(root, "credentials", attributes)
    return _text(root)


def module_xml(coordinates: Sequence[Coordinate], exclude: Iterable[ModuleId]) -> str:
    """The root module: one dependency per coordinate; `exclude` applies to the whole tree."""
    ElementTree.register_namespace("m", MAVEN_NAMESPACE)
    root = ElementTree.Element("ivy-module", version="2.0")
    ElementTree.SubElement(
        root, "info", organisation=ROOT_ORGANISATION, module=ROOT_MODULE, revision="1.0"
    )
    configurations = ElementTree.SubElement(root, "configurations")
    ElementTree.SubElement(configurations, "conf", name=CONF)
    dependencies = ElementTree.SubElement(root, "dependencies")
    for same in _by_module(coordinates):
        first = same[0]
        attributes = {
            "org": first.group,
            "name": first.artifact,
            "rev": first.version,
            "conf": f"{CONF}->default(runtime)",
        }
        if not any(c.transitive for c in same):
            attributes["transitive"] = "false"
        dependency = ElementTree.SubElement(dependencies, "dependency", attributes)
        # Ivy keeps one request per module: `g:a:v` and `g:a:v:c` (two jars in Maven) are
        # one dependency naming both jars.
        if len(same) > 1 or first.classifier:
            for coordinate in same:
                artifact = {"name": coordinate.artifact, "type": "jar", "ext": "jar"}
                if coordinate.classifier:
                    artifact[f"{{{MAVEN_NAMESPACE}}}classifier"] = coordinate.classifier
                ElementTree.SubElement(dependency, "artifact", artifact)
        for module in sorted({m for c in same for m in c.exclusions}):
            ElementTree.SubElement(dependency, "exclude", org=module.group, module=module.artifact)
    for module in sorted(set(exclude)):
        ElementTree.SubElement(dependencies, "exclude", org=module.group, module=module.artifact)
    return _text(root)


def _by_module(coordinates: Sequence[Coordinate]) -> list[list[Coordinate]]:
    grouped: dict[tuple[str, str, str], list[Coordinate]] = {}
    for coordinate in coordinates:
        key = (coordinate.group, coordinate.artifact, coordinate.version)
        grouped.setdefault(key, []).append(coordinate)
    return list(grouped.values())


def _text(root: ElementTree.Element) -> str:
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
