"""The files Ivy reads (settings, the root module) and its failures read back as one line."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sparkpush.errors import (
    PackageChecksumError,
    PackageNotFoundError,
    PackageRepositoryError,
)
from sparkpush.packages.coordinates import Coordinate, ModuleId
from sparkpush.packages.ivy_files import module_xml, settings_xml, usable_credentials
from sparkpush.packages.ivy_run import IvyRun, excluded_modules, ivy_failure
from sparkpush.packages.maven_settings import Credential
from sparkpush.packages.report import ReportArtifact, ReportRevision
from sparkpush.packages.spec import Repository

REPOSITORIES = (
    Repository("file:///srv/m2/", "repo-1"),
    Repository("https://repo1.maven.org/maven2/", "central"),
)
M = "{http://ant.apache.org/ivy/maven}classifier"


def test_settings_list_the_repositories_in_order_with_checks_on(tmp_path: Path) -> None:
    credential = Credential("repo.example.com", "ann", "pw")
    text = settings_xml(REPOSITORIES, tmp_path / "ivy", tmp_path / "res", [(credential, "Nexus")])
    root = ElementTree.fromstring(text)
    chain = root.find("resolvers/chain")
    assert chain is not None and chain.get("returnFirst") == "true"
    assert [(r.get("name"), r.get("root"), r.get("m2compatible")) for r in chain] == [
        ("repo-1", "file:///srv/m2/", "true"),
        ("central", "https://repo1.maven.org/maven2/", "true"),
    ]
    # each repository has an Ivy cache of its own: no jar of one is taken for another's
    assert [r.get("cache") for r in chain] == ["repo-1", "central"]
    assert {(c.get("name"), c.get("basedir")) for c in root.findall("caches/cache")} == {
        ("repo-1", str(tmp_path / "ivy" / "repo-1")),
        ("central", str(tmp_path / "ivy" / "central")),
    }
    properties = {p.get("name"): p.get("value") for p in root.findall("property")}
    assert properties["ivy.checksums"] == "sha1,md5"
    assert properties["ivy.maven.lookup.sources"] == "false"
    caches = root.find("caches")
    assert caches is not None and caches.get("defaultCacheDir") == str(tmp_path / "ivy")
    assert caches.get("resolutionCacheDir") == str(tmp_path / "res")
    credentials = root.find("credentials")
    assert credentials is not None and credentials.attrib == {
        "host": "repo.example.com",
        "realm": "Nexus",
        "username": "ann",
        "passwd": "pw",
    }


def test_a_password_ivy_would_read_as_a_variable_is_not_used() -> None:
    kept = usable_credentials(
        [Credential("a.example", "ann", "pw"), Credential("b.example", "bob", "x${user.home}")]
    )
    assert [c.host for c in kept] == ["a.example"]


def test_module_asks_for_runtime_scope_with_classifiers_and_excludes() -> None:
    coordinates = [
        Coordinate("com.example", "lib", "1.0"),
        Coordinate("com.example", "lib", "1.0", "tests"),
        Coordinate(
            "com.example", "solo", "2.0", transitive=False, exclusions=(ModuleId("x", "y"),)
        ),
    ]
    root = ElementTree.fromstring(
        module_xml(
            coordinates, [ModuleId("org.slf4j", "slf4j-api"), ModuleId("*", "scala-library")]
        )
    )
    dependencies = root.findall("dependencies/dependency")
    assert [(d.get("org"), d.get("name"), d.get("rev")) for d in dependencies] == [
        ("com.example", "lib", "1.0"),
        ("com.example", "solo", "2.0"),
    ]
    assert all(d.get("conf") == "default->default(runtime)" for d in dependencies)
    # one request per module naming both jars: Ivy keeps only the last of two requests
    assert [a.get(M) for a in dependencies[0].findall("artifact")] == [None, "tests"]
    assert dependencies[1].get("transitive") == "false"
    assert [(e.get("org"), e.get("module")) for e in dependencies[1].findall("exclude")] == [
        ("x", "y")
    ]
    assert [(e.get("org"), e.get("module")) for e in root.findall("dependencies/exclude")] == [
        ("*", "scala-library"),
        ("org.slf4j", "slf4j-api"),
    ]


def revision(error: str = "", failed: str = "") -> ReportRevision:
    artifacts: tuple[ReportArtifact, ...] = ()
    if failed:
        artifacts = (
            ReportArtifact(
                "lib",
                "jar",
                None,
                None,
                "file:/srv/m2/com/example/lib/1.0/lib-1.0.jar",
                "failed",
                failed,
            ),
        )
    return ReportRevision(
        "com.example", "lib", "1.0", "repo-1", error, "", (("com.example", "app"),), artifacts
    )


def test_a_missing_module_names_the_repositories_searched_and_who_needed_it() -> None:
    error = ivy_failure(
        IvyRun(1, ":: com.example#lib;1.0: not found"), [revision("not found")], REPOSITORIES
    )
    assert isinstance(error, PackageNotFoundError) and error.exit_code == 2
    assert error.message == (
        "com.example:lib:1.0 (needed by com.example:app) not found in file:///srv/m2/, "
        "https://repo1.maven.org/maven2/"
    )


def test_a_repository_that_does_not_answer_is_exit_3() -> None:
    output = (
        "Server access error at url https://repo1.maven.org/maven2/com/example/lib/1.0/lib-1.0.pom "
        "(java.net.ConnectException: Connection refused)\n"
    )
    error = ivy_failure(IvyRun(1, output), [revision("not found")], REPOSITORIES)
    assert isinstance(error, PackageRepositoryError) and error.exit_code == 3
    assert "https://repo1.maven.org/maven2/ (Connection refused)" in error.message
    unknown = "Host repo1.maven.org not found. url=https://repo1.maven.org/maven2/x.pom\n"
    error = ivy_failure(IvyRun(1, unknown), [revision("not found")], REPOSITORIES)
    assert isinstance(error, PackageRepositoryError)
    assert "unknown host repo1.maven.org" in error.message


def test_a_checksum_mismatch_is_one_line() -> None:
    details = "invalid sha1: expected=00 computed=8e"
    error = ivy_failure(IvyRun(1, ""), [revision(failed=details)], REPOSITORIES)
    assert isinstance(error, PackageChecksumError)
    assert error.message == (
        "checksum mismatch for com.example:lib:1.0 (lib.jar from file:///srv/m2/): " + details
    )


def test_refused_access_points_at_the_users_credentials() -> None:
    output = "CLIENT ERROR: Unauthorized url=https://repo1.maven.org/maven2/com/example/lib/1.0/lib-1.0.pom\n"
    error = ivy_failure(IvyRun(1, output), [revision("not found")], REPOSITORIES)
    assert isinstance(error, PackageNotFoundError)
    assert "refused by https://repo1.maven.org/maven2/ (Unauthorized)" in error.message
    assert "~/.m2/settings.xml" in error.message


def test_excluded_dependencies_are_read_from_ivys_verbose_lines() -> None:
    output = (
        "excluding dependency: com.fasterxml.jackson.core#jackson-databind;2.15.2 "
        "{compile=[compile(*), master(*)]} in compile\n"
        "excluding dependency: org.scala-lang#scala-library;2.13.8 {} in runtime\n"
    )
    assert excluded_modules(output) == {
        ("com.fasterxml.jackson.core", "jackson-databind"): "2.15.2",
        ("org.scala-lang", "scala-library"): "2.13.8",
    }
