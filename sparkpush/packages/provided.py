"""What a Spark Connect server already holds on its class path, so it is never sent again.

Computed from the pyspark wheel's own `jars/` (the embedded server's exact class path, and
the jars of that Spark version on a cluster), not kept by hand: each jar's module comes
from its `META-INF/maven/<group>/<artifact>/pom.properties` when that file describes the
jar itself (shaded jars carry others' too, relocated: those do not count), else from its
file name (any group, as spark-submit excludes `*:scala-library`). Spark's default excludes
are added for a client without the jars (pyspark-client). The scan takes a second or two,
so it is kept in the user's cache under a digest of the folder's listing.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sparkpush.packages.cache import maven_cache_root
from sparkpush.packages.coordinates import ModuleId
from sparkpush.state.private_files import ensure_private_dir, read_json, write_private_json

SPARK_DEFAULT_EXCLUDES = (
    ModuleId("*", "scala-library"),
    *(
        ModuleId("org.apache.spark", f"spark-{component}_2.13")
        for component in (
            "catalyst",
            "core",
            "graphx",
            "kvstore",
            "launcher",
            "mllib",
            "mllib-local",
            "network-common",
            "network-shuffle",
            "repl",
            "sketch",
            "sql",
            "streaming",
            "tags",
            "unsafe",
        )
    ),
)
"""spark-submit's own `--packages` excludes (its IVY_DEFAULT_EXCLUDES and scala-library)."""
PROVIDED_VERSION = 1
_FILE_NAME = re.compile(r"(?P<artifact>.+?)-(?P<version>\d[^/]*)\.jar")


@dataclass(frozen=True)
class ProvidedModules:
    """Module -> the version the server has; `source` says where the list came from."""

    versions: dict[ModuleId, str]
    source: str
    digest: str

    def version_of(self, group: str, artifact: str) -> str | None:
        for module, version in self.versions.items():
            if module.matches(group, artifact):
                return version
        return None

    @property
    def modules(self) -> tuple[ModuleId, ...]:
        return tuple(sorted(self.versions))


def jars_digest(jars_folder: Path | None) -> str:
    """A digest of the folder's jar names (one listing, no stat: every sync computes it; the
    names carry the versions)."""
    try:
        names = (
            sorted(n for n in os.listdir(jars_folder) if n.endswith(".jar")) if jars_folder else []
        )
    except OSError:
        names = []
    if not names:
        return "spark-defaults"
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def provided_modules(jars_folder: Path | None) -> ProvidedModules:
    """The modules the server has: from `jars_folder` (cached), else Spark's own excludes."""
    if jars_folder is None or not jars_folder.is_dir():
        versions = {module: "" for module in SPARK_DEFAULT_EXCLUDES}
        return ProvidedModules(versions, "spark-submit's default excludes", "spark-defaults")
    digest = jars_digest(jars_folder)
    source = f"the jars of {jars_folder.parent.name} {_wheel_version(jars_folder)}".strip()
    cached = _load(digest)
    if cached is None:
        cached = scan_jars(jars_folder)
        _save(digest, cached)
    versions = {module: "" for module in SPARK_DEFAULT_EXCLUDES}
    versions.update(cached)
    return ProvidedModules(versions, source, digest)


def scan_jars(jars_folder: Path) -> dict[ModuleId, str]:
    found: dict[ModuleId, str] = {}
    for jar in sorted(jars_folder.glob("*.jar")):
        module, version = module_of_jar(jar)
        if module is not None:
            found[module] = version
    return found


def module_of_jar(jar: Path) -> tuple[ModuleId | None, str]:
    """The jar's own module and version (see the module docstring)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            names = [
                n
                for n in archive.namelist()
                if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")
            ]
            for name in names:
                fields = _properties(archive.read(name).decode("latin-1"))
                group, artifact = fields.get("groupId"), fields.get("artifactId")
                version = fields.get("version", "")
                if group and artifact and jar.name.startswith(f"{artifact}-{version}"):
                    return ModuleId(group, artifact), version
    except (OSError, zipfile.BadZipFile):
        pass
    match = _FILE_NAME.fullmatch(jar.name)
    if match is None:
        return None, ""
    return ModuleId("*", match.group("artifact")), match.group("version")


def _properties(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip()
    return fields


def _wheel_version(jars_folder: Path) -> str:
    try:
        return metadata.version(jars_folder.parent.name)
    except metadata.PackageNotFoundError:
        return ""


def _cache_file(digest: str) -> Path:
    return maven_cache_root() / "provided" / f"{digest}.json"


def _load(digest: str) -> dict[ModuleId, str] | None:
    document = read_json(_cache_file(digest))
    if not isinstance(document, dict) or document.get("version") != PROVIDED_VERSION:
        return None
    modules = document.get("modules")
    if not isinstance(modules, dict):
        return None
    found: dict[ModuleId, str] = {}
    for text, version in modules.items():
        group, _, artifact = str(text).partition(":")
        if group and artifact:
            found[ModuleId(group, artifact)] = str(version)
    return found


def _save(digest: str, modules: dict[ModuleId, str]) -> None:
    path = _cache_file(digest)
    ensure_private_dir(path.parent)
    document = {"version": PROVIDED_VERSION, "modules": {str(m): v for m, v in modules.items()}}
    write_private_json(path, document)
