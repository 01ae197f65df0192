"""`connect sync` and the generation engine against the real server."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import EVERY_KIND, USE_PACKAGE, sync_json
from tests.jvm import add_constant_udf, compile_java
from tests.session_query import query_session
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration


@pytest.mark.compat
def test_every_kind_works_end_to_end(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    summary = sync_json(embedded_server, every_kind_project)
    assert summary["action"] == "new_generation"
    assert summary["uploaded"] == 6
    result = query_session(embedded_server, str(summary["session_id"]), EVERY_KIND)
    assert result.returncode == 0, result.stderr
    assert "python: helpers-v1|wheel|from-archive|from-file" in result.stdout
    assert "java: 13" in result.stdout

    listed = run_connect_in_process(
        ["artifacts", "--json"], env=embedded_server.env, cwd=every_kind_project
    )
    names = sorted(a["name"] for a in json.loads(listed.stdout)["artifacts"])
    assert names[0] == "archives/env.zip#env"
    assert any(n.startswith("jars/classes-classes-") and n.endswith(".jar") for n in names)
    assert not any(n.startswith("classes/") for n in names)
    assert "jars/udfs.jar" in names
    assert "pyfiles/wheelmod-1.0-py3-none-any.zip" in names
    assert any(n.startswith("pyfiles/mypkg-") and n.endswith(".zip") for n in names)


@pytest.mark.compat
def test_noop_sync_uploads_nothing_and_keeps_the_session(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    again = sync_json(embedded_server, every_kind_project)
    assert again["action"] == "nothing"
    assert again["uploaded"] == 0
    assert again["bytes"] == 0
    assert again["session_id"] == first["session_id"]
    assert again["generation"] == first["generation"]


def test_changed_module_builds_a_new_generation_with_the_new_code(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "src" / "mypkg" / "helpers.py").write_text(
        "def tag():\n    return 'helpers-v2'\n"
    )
    second = sync_json(embedded_server, every_kind_project)
    assert second["action"] == "new_generation"
    assert second["generation"] == int(str(first["generation"])) + 1
    assert second["session_id"] != first["session_id"]
    assert first["session_id"] in second["released"]
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert result.returncode == 0, result.stderr
    assert "python: helpers-v2|" in result.stdout


@pytest.mark.compat
def test_recompiled_class_builds_a_new_generation_that_answers_anew(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    sync_json(embedded_server, every_kind_project)
    compile_java(
        add_constant_udf("com.ex", "AddTen", 100), "com.ex.AddTen", every_kind_project / "classes"
    )
    second = sync_json(embedded_server, every_kind_project)
    assert second["action"] == "new_generation"
    [reason] = second["reasons"]
    assert reason.startswith("changed: jars/classes-classes-")
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert "java: 103" in result.stdout, result.stderr


def test_removed_file_builds_a_new_generation(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "lookup.txt").unlink()
    pyproject = every_kind_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('files = ["lookup.txt"]', "files = []"))
    second = sync_json(embedded_server, every_kind_project)
    assert second["action"] == "new_generation"
    assert second["session_id"] != first["session_id"]
    assert "removed: files/lookup.txt" in second["reasons"]


def test_new_file_is_added_in_place(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "more.txt").write_text("more")
    pyproject = every_kind_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('files = ["lookup.txt"]', 'files = ["*.txt"]')
    )
    second = sync_json(embedded_server, every_kind_project)
    assert second["action"] == "add_in_place"
    assert second["uploaded"] == 1
    assert second["session_id"] == first["session_id"]


def test_released_session_is_replaced_by_a_new_generation(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    from sparkpush.connect.connection_string import parse_connection_string
    from sparkpush.connect.session_client import SessionClient

    first = sync_json(embedded_server, every_kind_project)
    spec = parse_connection_string(embedded_server.remote_with_token)
    with SessionClient(spec, str(first["session_id"])) as client:
        client.release_session()
    second = sync_json(embedded_server, every_kind_project)
    assert second["action"] == "new_generation"
    assert second["session_id"] != first["session_id"]


def test_state_files_are_user_only(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    sync_json(embedded_server, every_kind_project)
    state = every_kind_project / ".sparkpush"
    assert state.stat().st_mode & 0o777 == 0o700
    for path in state.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == expected, path


def test_crc_failure_is_detected_and_resent(
    embedded_server: EmbeddedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flip one byte in one chunk after its CRC was computed: the server drops it, we resend."""
    from sparkpush.artifacts.local_artifact import LocalArtifact
    from sparkpush.artifacts.upload import upload_artifacts
    from sparkpush.connect.connection_string import parse_connection_string
    from sparkpush.connect.session_client import SessionClient

    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 12_000)  # ~3 MB: several chunks
    small = tmp_path / "small.txt"
    small.write_text("small and intact")
    spec = parse_connection_string(embedded_server.remote_with_token)
    client = SessionClient(spec)
    real_add = client.add_artifacts
    corrupted: list[str] = []

    def corrupt_once(requests, timeout=None):
        def tamper():
            for index, request in enumerate(requests):
                if not corrupted and index == 1 and request.HasField("chunk"):
                    data = bytearray(request.chunk.data)
                    data[100] ^= 0xFF
                    request.chunk.data = bytes(data)
                    corrupted.append("chunk")
                yield request

        return real_add(tamper(), timeout)

    monkeypatch.setattr(client, "add_artifacts", corrupt_once)
    artifacts = [
        LocalArtifact(name="files/big.bin", path=big),
        LocalArtifact(name="files/small.txt", path=small),
    ]
    report = upload_artifacts(client, artifacts)
    assert corrupted == ["chunk"]
    assert report.crc_resends == 1
    assert {a.name for a in report.artifacts} == {"files/big.bin", "files/small.txt"}
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    result = query_session(
        embedded_server,
        client.session_id,
        """
import hashlib
from pyspark.sql.functions import udf
@udf("string")
def digest(_):
    from pyspark import SparkFiles
    with open(SparkFiles.get("big.bin"), "rb") as stored:
        return hashlib.sha256(stored.read()).hexdigest()
print("digest", spark.range(1).select(digest("id")).first()[0])
""",
    )
    client.release_session()
    client.close()
    assert f"digest {expected}" in result.stdout, result.stderr


@pytest.mark.parametrize(
    ("artifacts_toml", "setup", "code", "message"),
    [
        ('jars = ["lib/missing.jar"]', None, 2, "missing.jar"),
        ('python = ["empty"]', "empty_dir", 2, "empty"),
        # a platform wheel goes into the environment: pip refuses this broken one
        ('wheels = ["dist/*.whl"]', "platform_wheel", 2, "pip could not build the environment"),
        ('archives = ["env.zip#../up"]', "archive", 2, "alias"),
        ('jars = ["lib/*.jar"]', None, 0, "matches no file"),
    ],
)
def test_bad_artifact_config_gives_one_line(
    embedded_server: EmbeddedServer,
    tmp_path: Path,
    artifacts_toml: str,
    setup: str | None,
    code: int,
    message: str,
) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "pyproject.toml").write_text(f"[tool.sparkpush.artifacts]\n{artifacts_toml}\n")
    if setup == "empty_dir":
        (root / "empty").mkdir()
    elif setup == "platform_wheel":
        (root / "dist").mkdir()
        with zipfile.ZipFile(root / "dist" / "fast-1.0-cp311-cp311-linux_x86_64.whl", "w") as w:
            w.writestr(
                "fast-1.0.dist-info/WHEEL",
                "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
            )
    elif setup == "archive":
        with zipfile.ZipFile(root / "env.zip", "w") as archive:
            archive.writestr("a.txt", "a")
    result = run_connect_in_process(["sync"], env=embedded_server.env, cwd=root)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if code != 0:
        assert len(result.stderr.strip().splitlines()) == 1


def test_submit_attach_runs_on_the_current_generation_and_keeps_it(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    (every_kind_project / "app.py").write_text(USE_PACKAGE)
    result = run_connect(
        ["submit", "--attach", "app.py"], env=embedded_server.env, cwd=every_kind_project
    )
    assert result.returncode == 0, result.stderr
    assert "attached to generation" in result.stderr
    after = sync_json(embedded_server, every_kind_project)
    assert after["action"] == "nothing"
    # the script ran on a clone of the generation (see test_attached_clone.py)
    assert f"(session {after['session_id']})" in result.stderr
    assert "running on a clone of it" in result.stderr
    assert f"session {after['session_id']}" not in result.stdout
    assert "tag helpers-v1" in result.stdout


def test_submit_attach_sees_a_save_made_just_before(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    (every_kind_project / "app.py").write_text(USE_PACKAGE)
    sync_json(embedded_server, every_kind_project)
    (every_kind_project / "src" / "mypkg" / "helpers.py").write_text(
        "def tag():\n    return 'saved'\n"
    )
    result = run_connect(
        ["submit", "--attach", "app.py"], env=embedded_server.env, cwd=every_kind_project
    )
    assert result.returncode == 0, result.stderr
    assert "tag saved" in result.stdout


def test_fresh_submit_uploads_the_configured_artifacts_to_its_own_session(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    generation = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "app.py").write_text(USE_PACKAGE)
    result = run_connect(["submit", "app.py"], env=embedded_server.env, cwd=every_kind_project)
    assert result.returncode == 0, result.stderr
    assert "tag helpers-v1" in result.stdout
    assert f"session {generation['session_id']}" not in result.stdout


def test_submit_attach_adds_flag_artifacts_to_the_generation(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "extra_mod.py").write_text("VALUE = 'extra'\n")
    (every_kind_project / "app.py").write_text(
        "from pyspark.sql import SparkSession\n"
        "from pyspark.sql.functions import udf\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "@udf('string')\n"
        "def v(_):\n"
        "    import extra_mod\n"
        "    return extra_mod.VALUE\n"
        "print('value', spark.range(1).select(v('id')).first()[0])\n"
    )
    result = run_connect(
        ["submit", "--attach", "--py-files", "extra_mod.py", "app.py"],
        env=embedded_server.env,
        cwd=every_kind_project,
    )
    assert result.returncode == 0, result.stderr
    assert "value extra" in result.stdout
    assert f"session {first['session_id']})" in result.stderr
