"""Maven repositories that tests write themselves: POMs, jars and their `.sha1` files, in the
layout a `file://` repository (and Ivy's ibiblio resolver) reads."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from tests.jvm import compile_sources


@dataclass(frozen=True)
class Dependency:
    group: str
    artifact: str
    version: str | None = None
    scope: str | None = None
    optional: bool = False
    exclusions: tuple[tuple[str, str], ...] = ()

    def xml(self) -> str:
        parts = [f"<groupId>{self.group}</groupId><artifactId>{self.artifact}</artifactId>"]
        if self.version:
            parts.append(f"<version>{escape(self.version)}</version>")
        if self.scope:
            parts.append(f"<scope>{self.scope}</scope>")
        if self.optional:
            parts.append("<optional>true</optional>")
        if self.exclusions:
            parts.append("<exclusions>")
            for group, artifact in self.exclusions:
                parts.append(
                    f"<exclusion><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
                    "</exclusion>"
                )
            parts.append("</exclusions>")
        return "<dependency>" + "".join(parts) + "</dependency>"


@dataclass
class MavenRepo:
    root: Path
    written: list[Path] = field(default_factory=list)

    def folder(self, group: str, artifact: str, version: str) -> Path:
        return self.root / group.replace(".", "/") / artifact / version

    def add(
        self,
        group: str,
        artifact: str,
        version: str,
        *,
        dependencies: tuple[Dependency, ...] = (),
        parent: tuple[str, str, str] | None = None,
        managed: tuple[Dependency, ...] = (),
        packaging: str = "jar",
        jar: bytes | None = None,
        classifiers: dict[str, bytes] | None = None,
    ) -> None:
        """One module; a jar module without `jar` gets a small one naming itself."""
        head = ""
        if parent is not None:
            head = (
                f"<parent><groupId>{parent[0]}</groupId><artifactId>{parent[1]}</artifactId>"
                f"<version>{parent[2]}</version></parent>"
            )
        body = f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        body += f"<version>{version}</version><packaging>{packaging}</packaging>"
        if managed:
            body += (
                "<dependencyManagement><dependencies>"
                + "".join(d.xml() for d in managed)
                + "</dependencies></dependencyManagement>"
            )
        if dependencies:
            body += "<dependencies>" + "".join(d.xml() for d in dependencies) + "</dependencies>"
        pom = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<project xmlns="http://maven.apache.org/POM/4.0.0">'
            f"<modelVersion>4.0.0</modelVersion>{head}{body}</project>\n"
        )
        stem = f"{artifact}-{version}"
        self.put(group, artifact, version, f"{stem}.pom", pom.encode())
        if packaging != "pom":
            self.put(group, artifact, version, f"{stem}.jar", jar or text_jar(f"{stem}.txt"))
        for classifier, data in (classifiers or {}).items():
            self.put(group, artifact, version, f"{stem}-{classifier}.jar", data)

    def put(self, group: str, artifact: str, version: str, name: str, data: bytes) -> Path:
        """A file and its `.sha1`, as a repository publishes them."""
        folder = self.folder(group, artifact, version)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        (folder / f"{name}.sha1").write_text(hashlib.sha1(data).hexdigest())
        self.written.append(path)
        return path

    @property
    def url(self) -> str:
        return self.root.resolve().as_uri() + "/"


def text_jar(name: str, text: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text or name)
    return buffer.getvalue()


def classes_jar(classes_dir: Path, package: str) -> bytes:
    """A jar of the classes of one package (its folder) under `classes_dir`."""
    buffer = io.BytesIO()
    folder = classes_dir / package.replace(".", "/")
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for path in sorted(folder.glob("*.class")):
            archive.write(path, path.relative_to(classes_dir).as_posix())
    return buffer.getvalue()


EXCLAIM = """
package com.example.helper;
public class Exclaim {
    public static String of(String s) { return s == null ? null : s.toUpperCase() + "!"; }
}
"""

SHOUT = """
package com.example.udfs;
import org.apache.spark.sql.api.java.UDF1;
public class Shout implements UDF1<String, String> {
    public String call(String s) { return com.example.helper.Exclaim.of(s) + "%s"; }
}
"""


def _compiled(classes: Path, suffix: str) -> tuple[bytes, bytes]:
    """(helper jar, udfs jar) with Shout answering `suffix` after the exclaimed text."""
    compile_sources(
        {"com.example.helper.Exclaim": EXCLAIM, "com.example.udfs.Shout": SHOUT % suffix},
        classes,
    )
    return classes_jar(classes, "com.example.helper"), classes_jar(classes, "com.example.udfs")


def write_test_repository(root: Path, work: Path) -> MavenRepo:
    """The tree the package tests resolve (see the module's table in test_packages.py).

    `com.example:udfs:1.0` holds a Java UDF (`com.example.udfs.Shout`) that needs its
    transitive dependency `com.example:helper` (version 1.1 from its parent POM's
    dependencyManagement, which also overrides the 1.0 that `other` asks for; `data` asks for
    1.0 too, which Ivy's conflict manager evicts). Its test-scoped, optional,
    excluded and server-provided dependencies are NOT in the repository: fetching any of them
    fails the resolution. `udfs:2.0` answers with a " v2" suffix.
    """
    repo = MavenRepo(root)
    helper_jar, shout_v1 = _compiled(work / "classes", "")
    _, shout_v2 = _compiled(work / "classes-v2", " v2")
    group = "com.example"
    repo.add(
        group,
        "parent",
        "1",
        packaging="pom",
        managed=(Dependency(group, "helper", "1.1"),),
    )
    repo.add(group, "helper", "1.0", jar=text_jar("old-helper.txt"))
    repo.add(
        group,
        "helper",
        "1.1",
        jar=helper_jar,
        dependencies=(Dependency(group, "unwanted", "1.0"),),
    )
    repo.add(
        group,
        "other",
        "1.0",
        dependencies=(Dependency(group, "helper", "1.0"), Dependency(group, "noise", "1.0")),
    )
    for version, jar in (("1.0", shout_v1), ("2.0", shout_v2)):
        repo.add(
            group,
            "udfs",
            version,
            parent=(group, "parent", "1"),
            jar=jar,
            dependencies=(
                Dependency(group, "helper", exclusions=((group, "unwanted"),)),
                Dependency(group, "other", "1.0"),
                Dependency(group, "testlib", "1.0", scope="test"),
                Dependency(group, "optlib", "1.0", optional=True),
                Dependency("com.fasterxml.jackson.core", "jackson-databind", "2.15.2"),
                Dependency("org.apache.spark", "spark-sql_2.13", "4.0.0", scope="provided"),
            ),
        )
    repo.add(
        group,
        "data",
        "1.0",
        classifiers={"fixtures": text_jar("fixtures.csv", "a,b\n")},
        dependencies=(Dependency(group, "helper", "1.0"),),
    )
    return repo
