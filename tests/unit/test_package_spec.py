"""What a project (or submit's flags) asks to resolve: repositories checked, a default
repository added, excludes and duplicates settled, all before any JVM starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.config.settings import load_config
from sparkpush.config.trust import record_trust
from sparkpush.errors import PackageConflictError, PackageError, UntrustedConfigError
from sparkpush.packages.maven_settings import MavenSettings, Mirror
from sparkpush.packages.spec import (
    MAVEN_CENTRAL,
    PackageFlags,
    Repository,
    Scope,
    packages_configured,
    parse_repository,
    read_spec,
    require_trusted_repositories,
    with_default_repository,
)

NO_SETTINGS = MavenSettings()


def project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


@pytest.fixture(autouse=True)
def no_default_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFAULT_ARTIFACT_REPOSITORY", raising=False)


def test_spec_reads_coordinates_ivy_uris_and_excludes(tmp_path: Path) -> None:
    (tmp_path / "m2").mkdir()
    root = project(
        tmp_path,
        """
[tool.sparkpush.packages]
coordinates = ["org.postgresql:postgresql:42.5.5"]
repositories = ["m2"]
exclude = ["org.slf4j:slf4j-api"]
[tool.sparkpush.artifacts]
jars = ["lib/*.jar", "ivy://com.example:lib:1.0?transitive=false"]
""",
    )
    config = load_config(cwd=root)
    assert config.artifacts.jars == ("lib/*.jar",)
    spec = read_spec(config, maven=NO_SETTINGS)
    assert spec.requested() == ["org.postgresql:postgresql:42.5.5", "com.example:lib:1.0"]
    assert not spec.coordinates[1].transitive
    assert [str(m) for m in spec.exclude] == ["org.slf4j:slf4j-api"]
    assert [r.url for r in spec.repositories] == [(tmp_path / "m2").as_uri() + "/", MAVEN_CENTRAL]
    names = [r.name for r in spec.repositories]
    # named after their URLs: Ivy's cache tells modules apart by resolver name
    assert len(set(names)) == 2 and all(n.startswith("repo-") for n in names)
    assert read_spec(config, maven=NO_SETTINGS).repositories == spec.repositories
    assert spec.project_repositories


def test_flags_join_the_projects_packages_and_come_first_among_repositories(
    tmp_path: Path,
) -> None:
    (tmp_path / "m2").mkdir()
    (tmp_path / "mine").mkdir()
    root = project(
        tmp_path,
        '[tool.sparkpush.packages]\ncoordinates = ["a:b:1.0"]\nrepositories = ["m2"]\n',
    )
    flags = PackageFlags(
        packages=("c:d:2.0,e:f:3.0", "a:b:1.0"),
        repositories=(str(tmp_path / "mine"),),
        exclude=("x:y",),
    )
    spec = read_spec(load_config(cwd=root), Scope.SESSION, flags, NO_SETTINGS)
    assert spec.requested() == ["a:b:1.0", "c:d:2.0", "e:f:3.0"]
    assert spec.repositories[0].url == (tmp_path / "mine").as_uri() + "/"
    assert spec.repositories[1].url == (tmp_path / "m2").as_uri() + "/"


def test_two_versions_of_one_module_are_a_conflict_the_request_made(tmp_path: Path) -> None:
    root = project(tmp_path, '[tool.sparkpush.packages]\ncoordinates = ["a:b:1.0", "a:b:2.0"]\n')
    with pytest.raises(PackageConflictError, match=r"two versions of a:b asked for: 1\.0 and 2\.0"):
        read_spec(load_config(cwd=root), maven=NO_SETTINGS)


def test_server_scope_reads_server_packages_only(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        '[tool.sparkpush.packages]\ncoordinates = ["a:b:1.0"]\n'
        '[tool.sparkpush.server]\npackages = ["io.delta:delta-spark_2.13:4.0.0"]\n'
        '[tool.sparkpush.server.conf]\n"spark.sql.extensions" = "x"\n',
    )
    config = load_config(cwd=root)
    assert packages_configured(config, Scope.SERVER) and packages_configured(config)
    spec = read_spec(config, Scope.SERVER, maven=NO_SETTINGS)
    assert spec.requested() == ["io.delta:delta-spark_2.13:4.0.0"]
    assert read_spec(config, maven=NO_SETTINGS).key_text() != spec.key_text()
    assert config.server.conf == {"spark.sql.extensions": "x"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("http://repo.example.com/m2", "plain http:// is refused"),
        ("https://user:secret@repo.example.com/m2", "carries credentials"),
        ("ftp://repo.example.com/m2", "not a repository"),
        ("https:///m2", "has no host"),
        ("https://repo.example.com/m2?x=1", "no query"),
        ("file://otherhost/srv/m2", "folder of this machine"),
        ("https://repo.example.com/${user.name}/", "'$' is not allowed"),
    ],
)
def test_bad_repositories(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(PackageError) as raised:
        parse_repository(text, "--repositories", tmp_path)
    assert says in raised.value.message
    assert "secret" not in raised.value.message


def test_repositories_that_are_fine(tmp_path: Path) -> None:
    (tmp_path / "m2").mkdir()
    assert parse_repository("https://repo.example.com/m2", "x", tmp_path).url == (
        "https://repo.example.com/m2/"
    )
    assert parse_repository("http://127.0.0.1:8081/m2/", "x", tmp_path).url == (
        "http://127.0.0.1:8081/m2/"
    )
    assert parse_repository("http://localhost:8081", "x", tmp_path).url == "http://localhost:8081/"
    local = parse_repository((tmp_path / "m2").as_uri(), "x", tmp_path)
    assert local.url == (tmp_path / "m2").as_uri() + "/" and local.is_file


def test_a_project_repository_folder_must_be_inside_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "project"
    root.mkdir()
    project(
        root,
        '[tool.sparkpush.packages]\ncoordinates = ["a:b:1"]\n'
        f'repositories = ["{outside.as_uri()}"]\n',
    )
    with pytest.raises(PackageError, match=r"packages\.repositories: .*leads outside the project"):
        read_spec(load_config(cwd=root), maven=NO_SETTINGS)
    # the same folder given on the command line is the user's own word
    flags = PackageFlags(repositories=(outside.as_uri(),))
    (root / "pyproject.toml").write_text('[tool.sparkpush.packages]\ncoordinates = ["a:b:1"]\n')
    assert read_spec(load_config(cwd=root), flags=flags, maven=NO_SETTINGS).repositories[0].url == (
        outside.as_uri() + "/"
    )


def test_project_repositories_need_trust(tmp_path: Path) -> None:
    (tmp_path / "m2").mkdir()
    root = project(
        tmp_path, '[tool.sparkpush.packages]\ncoordinates = ["a:b:1"]\nrepositories = ["m2"]\n'
    )
    config = load_config(cwd=root)
    spec = read_spec(config, maven=NO_SETTINGS)
    with pytest.raises(UntrustedConfigError, match=r"packages\.repositories .*connect trust"):
        require_trusted_repositories(config, spec)
    assert config.source is not None
    record_trust(config.source, config.credentials_digest)
    trusted = load_config(cwd=root)
    require_trusted_repositories(trusted, read_spec(trusted, maven=NO_SETTINGS))


def test_the_default_repository_is_central_or_sparks_variable_or_a_mirror(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = Repository("https://repo.example.com/m2/", "")
    names = with_default_repository([mine], NO_SETTINGS)
    assert [r.url for r in names] == ["https://repo.example.com/m2/", MAVEN_CENTRAL]
    monkeypatch.setenv("DEFAULT_ARTIFACT_REPOSITORY", "https://nexus.example.com/central")
    assert with_default_repository([], NO_SETTINGS)[0].url == "https://nexus.example.com/central/"
    monkeypatch.delenv("DEFAULT_ARTIFACT_REPOSITORY")
    central_mirror = MavenSettings(mirrors=(Mirror("m", "https://mirror.example/c", ("central",)),))
    assert [r.url for r in with_default_repository([mine], central_mirror)] == [
        "https://repo.example.com/m2/",
        "https://mirror.example/c/",
    ]
    everything = MavenSettings(mirrors=(Mirror("m", "https://mirror.example/all", ("*",)),))
    local = Repository("file:///srv/m2/", "")
    assert [r.url for r in with_default_repository([local, mine], everything)] == [
        "file:///srv/m2/",
        "https://mirror.example/all/",
    ]
