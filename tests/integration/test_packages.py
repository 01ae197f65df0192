"""JVM packages by Maven coordinates against the real server, from a `file://` Maven
repository the tests write (tests/maven_repo.py):

| module | in the repository | what the resolution must do |
|---|---|---|
| com.example:udfs:1.0 / 2.0 | yes: a Java UDF (Shout) calling helper | requested |
| com.example:parent:1 | yes (POM only) | its dependencyManagement pins helper 1.1 |
| com.example:helper:1.1 | yes: the class Shout needs | transitive |
| com.example:helper:1.0 | yes | asked by data: evicted by Ivy (1.1 wins) |
| com.example:other:1.0 | yes | transitive |
| com.example:data:1.0:fixtures | yes: a classifier jar | requested by classifier |
| testlib (test scope), optlib (optional) | no | never fetched |
| unwanted (excluded in the POM), noise (`packages.exclude`) | no | never fetched |
| jackson-databind 2.15.2 | no | the server has it: left out, named in one line |

Anything fetched that the table says must not be fails the resolution ("not found").
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    EmbeddedServer,
    free_port,
    run_connect,
    run_connect_in_process,
    trust_project,
)
from tests.maven_repo import MavenRepo, text_jar, write_test_repository

pytestmark = pytest.mark.integration

CONFIG = """
[tool.sparkpush.packages]
coordinates = ["com.example:udfs:{version}", "com.example:data:1.0:fixtures"]
repositories = ["m2"]
exclude = ["com.example:noise"]

[tool.sparkpush.java_udfs]
shout = {{ class = "com.example.udfs.Shout", returns = "string" }}
"""

SHOUT_APP = """
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType
spark = SparkSession.builder.getOrCreate()
spark.udf.registerJavaFunction("shout", "com.example.udfs.Shout", StringType())
print("answer:", spark.sql("SELECT shout('hi')").first()[0])
"""

FAILING_JAVA = """#!/bin/sh
echo "$@" >> "{log}"
exit 1
"""


@dataclass(frozen=True)
class Repo:
    folder: Path
    """The test repository, copied into each project as `m2/`."""
    empty: Path
    """The default repository in these tests (instead of Maven Central): empty."""
    cache: Path
    """The user cache this module's runs share."""
    home: Path
    """HOME for the runs: no ~/.m2/settings.xml, no ~/.netrc."""

    def env(self, server: EmbeddedServer, **extra: str) -> dict[str, str]:
        return {
            **server.env,
            "XDG_CACHE_HOME": str(self.cache),
            "HOME": str(self.home),
            "NETRC": str(self.home / ".netrc"),
            "DEFAULT_ARTIFACT_REPOSITORY": self.empty.as_uri(),
            **extra,
        }


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    base = tmp_path_factory.mktemp("maven")
    write_test_repository(base / "m2", base / "work")
    (base / "empty").mkdir()
    (base / "home").mkdir()
    return Repo(base / "m2", base / "empty", base / "cache", base / "home")


def make_project(parent: Path, repo: Repo, config: str) -> Path:
    root = parent / "project"
    shutil.copytree(repo.folder, root / "m2")
    (root / "pyproject.toml").write_text(config)
    return root


def connect(args: list[str], env: Mapping[str, str], cwd: Path) -> Any:
    return run_connect_in_process(args, env=env, cwd=cwd)


def last_json(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


@dataclass(frozen=True)
class Synced:
    root: Path
    env: dict[str, str]
    sync: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def synced(
    repo: Repo, embedded_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> Synced:
    """A project with udfs:1.0 and the fixtures jar, trusted and synced once."""
    root = make_project(tmp_path_factory.mktemp("packages"), repo, CONFIG.format(version="1.0"))
    env = repo.env(embedded_server)
    trust_project(root, env)
    result = connect(["sync", "--json"], env, root)
    assert result.returncode == 0, result.stderr
    return Synced(root, env, last_json(result.stdout), result.stderr)


def test_a_java_udf_from_a_package_answers_through_connect_sql(synced: Synced) -> None:
    # Shout calls com.example.helper.Exclaim: only the transitive jar has it
    answer = connect(["sql", "--json", "SELECT shout('hi') AS s"], synced.env, synced.root)
    assert answer.returncode == 0, answer.stderr
    assert "HI!" in answer.stdout
    assert synced.sync["layer"] == "base"
    assert {p["coordinate"]: p["name"] for p in synced.sync["packages"]} == {
        "com.example:udfs:1.0": "jars/com.example_udfs-1.0.jar",
        "com.example:helper:1.1": "jars/com.example_helper-1.1.jar",
        "com.example:other:1.0": "jars/com.example_other-1.0.jar",
        "com.example:data:1.0:fixtures": "jars/com.example_data-1.0-fixtures.jar",
    }
    shown = connect(["artifacts", "--json"], synced.env, synced.root)
    rows = {r["name"]: r for r in json.loads(shown.stdout)["artifacts"]}
    assert rows["jars/com.example_helper-1.1.jar"]["coordinate"] == "com.example:helper:1.1"
    assert rows["jars/com.example_helper-1.1.jar"]["layer"] == "base"


def test_the_resolution_follows_scopes_exclusions_parents_and_conflicts(synced: Synced) -> None:
    lock = json.loads((synced.root / ".sparkpush" / "packages.lock.json").read_text())
    [entry] = lock["resolutions"]
    jars = {j["coordinate"]: j for j in entry["jars"]}
    assert set(jars) == {
        "com.example:udfs:1.0",
        "com.example:helper:1.1",
        "com.example:other:1.0",
        "com.example:data:1.0:fixtures",
    }
    assert jars["com.example:helper:1.1"]["requested_by"] == [
        "com.example:data",
        "com.example:other",
        "com.example:udfs",
    ]
    assert jars["com.example:udfs:1.0"]["repository"] == (synced.root / "m2").as_uri() + "/"
    assert entry["evicted"] == ["com.example:helper:1.0"]
    assert entry["left_out"] == [
        {
            "module": "com.fasterxml.jackson.core:jackson-databind",
            "server_has": entry["left_out"][0]["server_has"],
            "version": "2.15.2",
        }
    ]
    assert "left out com.fasterxml.jackson.core:jackson-databind 2.15.2" in synced.stderr
    report = connect(["packages", "--json"], synced.env, synced.root)
    session = json.loads(report.stdout)["session"]
    assert session["resolved"] and session["in_current_generation"]
    assert all(j["cache_file"] for j in session["jars"])


def test_an_unchanged_lock_starts_no_jvm(synced: Synced, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "java-calls.log"
    (fake / "java").write_text(FAILING_JAVA.format(log=log))
    (fake / "java").chmod(0o755)
    env = {k: v for k, v in synced.env.items() if k != "JAVA_HOME"}
    env["PATH"] = f"{fake}:{env['PATH']}"
    result = run_connect_in_process(["sync", "--json"], env=env, cwd=synced.root)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["action"] == "nothing"
    assert not log.exists()
    resolved = run_connect_in_process(["packages", "resolve"], env=env, cwd=synced.root)
    assert resolved.returncode == 0, resolved.stderr
    assert "already resolved" in resolved.stdout
    assert not log.exists()


def test_offline_from_the_cache(synced: Synced, tmp_path: Path) -> None:
    """The repository gone and no usable java: a fresh submit still gets the locked jars, from
    the cache (a changed list of repositories, the default one included, is another input:
    it resolves again)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "java-calls.log"
    (fake / "java").write_text(FAILING_JAVA.format(log=log))
    (fake / "java").chmod(0o755)
    env = {k: v for k, v in synced.env.items() if k != "JAVA_HOME"}
    env["PATH"] = f"{fake}:{env['PATH']}"
    (synced.root / "app.py").write_text(SHOUT_APP)
    moved = tmp_path / "m2-away"
    shutil.move(synced.root / "m2", moved)
    try:
        result = run_connect(["submit", "--fresh", "app.py"], env=env, cwd=synced.root)
    finally:
        shutil.move(moved, synced.root / "m2")
    assert result.returncode == 0, result.stderr
    assert "answer: HI!" in result.stdout
    assert not log.exists()


def test_a_changed_coordinate_makes_a_new_base_without_the_old_jar(
    repo: Repo, embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = make_project(tmp_path, repo, CONFIG.format(version="1.0"))
    env = repo.env(embedded_server)
    trust_project(root, env)
    first = connect(["sync", "--json"], env, root)
    assert first.returncode == 0, first.stderr
    (root / "pyproject.toml").write_text(CONFIG.format(version="2.0"))
    preview = connect(["sync", "--dry-run", "--json"], env, root)
    assert preview.returncode == 0, preview.stderr
    planned = last_json(preview.stdout)
    assert planned["packages"] == {
        "resolve": True,
        "added": ["com.example:udfs:2.0"],
        "removed": ["com.example:udfs:1.0"],
    }
    assert "packages would be resolved first" in preview.stderr
    second = connect(["sync", "--json"], env, root)
    assert second.returncode == 0, second.stderr
    synced = last_json(second.stdout)
    assert synced["action"] == "new_generation" and synced["layer"] == "base"
    names = {p["name"] for p in synced["packages"]}
    assert "jars/com.example_udfs-2.0.jar" in names
    assert "jars/com.example_udfs-1.0.jar" not in names
    shown = connect(["artifacts", "--json"], env, root)
    held = {r["name"] for r in json.loads(shown.stdout)["artifacts"]}
    assert "jars/com.example_udfs-1.0.jar" not in held
    answer = connect(["sql", "--json", "SELECT shout('hi') AS s"], env, root)
    assert answer.returncode == 0, answer.stderr
    assert "HI! v2" in answer.stdout


@pytest.mark.parametrize(
    "flags",
    [
        ["--packages", "com.example:udfs:1.0", "--exclude-packages", "com.example:noise"],
        ["--jars", "ivy://com.example:udfs:1.0?exclude=com.example:noise"],
    ],
    ids=["packages", "ivy-uri"],
)
def test_submit_packages_gives_the_same(
    repo: Repo, embedded_server: EmbeddedServer, tmp_path: Path, flags: list[str]
) -> None:
    (tmp_path / "app.py").write_text(SHOUT_APP)
    # a child process: the script's output is the process's own
    result = run_connect(
        ["submit", *flags, "--repositories", repo.folder.as_uri(), "app.py"],
        env=repo.env(embedded_server),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "answer: HI!" in result.stdout


def test_submit_packages_on_the_generation_is_refused(
    repo: Repo, embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(SHOUT_APP)
    result = connect(
        ["submit", "--attach", "--packages", "com.example:udfs:1.0", "app.py"],
        repo.env(embedded_server),
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "[tool.sparkpush.packages]" in result.stderr.strip().splitlines()[-1]


ERRORS = [
    (["com.example:udfs"], "", 2, "packages.coordinates: 'com.example:udfs' is not a Maven"),
    (["com.example:nothere:1.0"], "", 2, "com.example:nothere:1.0 not found in file://"),
    (
        ["com.example:udfs:1.0"],
        "no-exclude",
        2,
        # without `exclude`, other's `noise` is looked for: a transitive one, named
        "com.example:noise:1.0 (needed by com.example:other) not found",
    ),
    (["com.example:udfs:1.0", "com.example:udfs:2.0"], "", 2, "two versions of com.example:udfs"),
    (["com.example:udfs:1.0"], "sha1", 2, "checksum mismatch for com.example:udfs:1.0"),
    (["com.example:udfs:1.0"], "sha256", 2, "the repository's .sha256 says"),
    (["com.example:nothere:1.0"], "unreachable", 3, "a repository did not answer"),
    (["com.example:udfs:1.0"], "untrusted", 2, "sets packages.repositories (not trusted)"),
]


@pytest.mark.parametrize(("coordinates", "fault", "code", "says"), ERRORS)
def test_each_error_is_one_line_with_its_exit_code(
    repo: Repo,
    embedded_server: EmbeddedServer,
    tmp_path: Path,
    coordinates: list[str],
    fault: str,
    code: int,
    says: str,
) -> None:
    config = f"[tool.sparkpush.packages]\ncoordinates = {json.dumps(coordinates)}\n"
    config += 'repositories = ["m2"]\n'
    if fault != "no-exclude":
        config += 'exclude = ["com.example:noise"]\n'
    root = make_project(tmp_path, repo, config)
    folder = root / "m2" / "com" / "example" / "udfs" / "1.0"
    env = repo.env(embedded_server)
    if fault == "sha1":
        (folder / "udfs-1.0.jar.sha1").write_text("0" * 40)
    elif fault == "sha256":
        (folder / "udfs-1.0.jar.sha256").write_text("0" * 64 + "  udfs-1.0.jar\n")
    elif fault == "unreachable":
        env["DEFAULT_ARTIFACT_REPOSITORY"] = f"http://127.0.0.1:{free_port()}/maven2"
    if fault != "untrusted":
        trust_project(root, env)
    result = connect(["packages", "resolve"], env, root)
    assert result.returncode == code, result.stderr
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and says in line, result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / ".sparkpush" / "packages.lock.json").exists()


# --- a repository over HTTP with credentials ---------------------------------------------


@dataclass
class Served:
    port: int
    seen: list[tuple[str, str | None]]
    """(path, Authorization header) of every request."""


@contextlib.contextmanager
def http_repository(folder: Path, password: str | None) -> Iterator[Served]:
    """`folder` served on 127.0.0.1 until the block ends; with `password`, only to requests
    that carry `ann:password` (basic auth, realm "sparkpush tests")."""
    seen: list[tuple[str, str | None]] = []
    wanted = "Basic " + base64.b64encode(f"ann:{password}".encode()).decode()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            header = self.headers.get("Authorization")
            seen.append((self.path, header))
            if password is not None and header != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sparkpush tests"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def do_HEAD(self) -> None:
            header = self.headers.get("Authorization")
            seen.append((self.path, header))
            if password is not None and header != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sparkpush tests"')
                self.end_headers()
                return
            super().do_HEAD()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(int(server.server_address[1]), seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_credentials_from_netrc_go_only_to_their_host(
    repo: Repo, embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    """A repository asking for a password gets the netrc one; another host (`localhost` is
    not `127.0.0.1`) serving the default repository never sees it."""
    solo = MavenRepo(tmp_path / "solo")
    solo.add("com.example", "solo", "1.0", jar=text_jar("solo.txt"))
    netrc = repo.home / ".netrc"
    with (
        http_repository(repo.folder, "s3cret") as private,
        http_repository(solo.root, None) as public,
    ):
        root = tmp_path / "project"
        root.mkdir()
        (root / "pyproject.toml").write_text(
            "[tool.sparkpush.packages]\n"
            'coordinates = ["com.example:udfs:1.0", "com.example:solo:1.0"]\n'
            f'repositories = ["http://127.0.0.1:{private.port}/"]\n'
            'exclude = ["com.example:noise"]\n'
        )
        env = repo.env(
            embedded_server, DEFAULT_ARTIFACT_REPOSITORY=f"http://localhost:{public.port}/"
        )
        trust_project(root, env)
        refused = connect(["packages", "resolve"], env, root)
        assert refused.returncode == 2, refused.stderr
        assert "Unauthorized" in refused.stderr and "~/.netrc" in refused.stderr
        netrc.write_text("machine 127.0.0.1 login ann password s3cret\n")
        netrc.chmod(0o600)
        try:
            resolved = connect(["packages", "resolve"], env, root)
        finally:
            netrc.unlink()
        assert resolved.returncode == 0, resolved.stderr
        assert "4 jar(s)" in resolved.stdout or "5 jar(s)" in resolved.stdout
        secret = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        assert any(header == secret for _, header in private.seen)
        assert any(path.endswith("solo-1.0.jar") for path, _ in public.seen)
        assert all(header is None for _, header in public.seen)
    lock = json.loads((root / ".sparkpush" / "packages.lock.json").read_text())
    assert "s3cret" not in json.dumps(lock)
