"""Layered generations on the real server: a base session with the dependencies and confs,
and per generation a CloneSession of it plus the code layer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sparkpush.connect.connection_string import new_session_id, parse_connection_string
from sparkpush.connect.rpc_errors import SESSION_GONE
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ServerError
from sparkpush.sync.generation import Generation, load_generation
from sparkpush.sync.unfinished import unfinished_sessions
from tests.conftest import EmbeddedServer
from tests.integration.conftest import (
    EVERY_KIND,
    daemon_status,
    generation_after,
    session_alive,
    sync_json,
)
from tests.jvm import add_constant_udf, build_jar, compile_java
from tests.session_query import query_session
from tests.support import run_connect_in_process, wait_until

pytestmark = pytest.mark.integration

CODE_NAMES = ("jars/classes-", "pyfiles/mypkg-")


def generation_of(root: Path) -> Generation:
    generation = load_generation(root)
    assert generation is not None
    return generation


def code_bytes(generation: Generation) -> int:
    return sum(e.size for n, e in generation.entries.items() if n.startswith(CODE_NAMES))


def test_a_class_edit_sends_only_the_code_layer_and_keeps_the_base(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    assert (first["layers"], first["layer"]) == (True, "base")
    before = generation_of(every_kind_project)
    assert before.base is not None
    assert set(before.base.names) == {
        "jars/udfs.jar",
        "archives/env.zip#env",
        "files/lookup.txt",
        "pyfiles/wheelmod-1.0-py3-none-any.zip",
    }
    listed = run_connect_in_process(
        ["artifacts", "--json"], env=embedded_server.env, cwd=every_kind_project
    )
    document = json.loads(listed.stdout)
    assert document["base_session_id"] == before.base.session_id
    layers = {a["name"]: a["layer"] for a in document["artifacts"]}
    assert {n for n, layer in layers.items() if layer == "base"} == set(before.base.names)
    [class_jar] = [n for n in layers if n.startswith("jars/classes-")]
    assert layers[class_jar] == "code"
    compile_java(
        add_constant_udf("com.ex", "AddTen", 100), "com.ex.AddTen", every_kind_project / "classes"
    )
    second = sync_json(embedded_server, every_kind_project)
    assert (second["action"], second["layer"], second["layers"]) == (
        "new_generation",
        "code",
        True,
    )
    after = generation_of(every_kind_project)
    assert after.base is not None and after.base.session_id == before.base.session_id
    assert second["bytes"] == code_bytes(after)
    assert second["uploaded"] == 2  # the class jar and the package zip; no jar, archive or file
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert result.returncode == 0, result.stderr
    assert "java: 103" in result.stdout  # the new class, the base's jar
    assert "python: helpers-v1|wheel|from-archive|from-file" in result.stdout
    assert not session_alive(embedded_server, str(first["session_id"]))
    assert session_alive(embedded_server, before.base.session_id)


def test_a_jar_change_builds_a_new_base_and_releases_the_old_one(
    embedded_server: EmbeddedServer, every_kind_project: Path, tmp_path: Path
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    old_base = generation_of(every_kind_project).base
    assert old_base is not None
    jar_classes = tmp_path / "jar-classes-v2"
    compile_java(add_constant_udf("com.jar", "AddOne", 2), "com.jar.AddOne", jar_classes)
    build_jar(jar_classes, every_kind_project / "lib" / "udfs.jar")
    second = sync_json(embedded_server, every_kind_project)
    assert (second["action"], second["layer"]) == ("new_generation", "base")
    assert second["reasons"] == ["changed: jars/udfs.jar"]
    new_base = generation_of(every_kind_project).base
    assert new_base is not None and new_base.session_id != old_base.session_id
    assert second["released"] == [first["session_id"], old_base.session_id]
    assert not session_alive(embedded_server, old_base.session_id)
    assert session_alive(embedded_server, new_base.session_id)
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert "java: 14" in result.stdout, result.stderr  # add_ten(1) + the new add_one(1)


def test_layers_off_builds_one_session_per_generation_as_before(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    pyproject = every_kind_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.sparkpush.layers]\nenabled = false\n")
    first = sync_json(embedded_server, every_kind_project)
    assert (first["layers"], first["layer"]) == (False, None)
    assert generation_of(every_kind_project).base is None
    compile_java(
        add_constant_udf("com.ex", "AddTen", 100), "com.ex.AddTen", every_kind_project / "classes"
    )
    second = sync_json(embedded_server, every_kind_project)
    assert (second["action"], second["layers"]) == ("new_generation", False)
    total = sum(e.size for e in generation_of(every_kind_project).entries.values())
    assert second["bytes"] == total  # everything again: the dependencies too
    assert second["released"] == [first["session_id"]]
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert "java: 103" in result.stdout, result.stderr
    doctor = run_connect_in_process(["doctor"], env=embedded_server.env, cwd=every_kind_project)
    assert "OK   layers: off ([tool.sparkpush.layers] enabled = false)" in doctor.stdout


HOLDS = (
    "import os, time\n"
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.getOrCreate()\n"
    "print('started', flush=True)\n"
    "deadline = time.time() + 120\n"
    "while not os.path.exists('done') and time.time() < deadline:\n"
    "    time.sleep(0.2)\n"
    "print('count', spark.range(3).count())\n"
)


def test_a_replaced_base_lives_while_a_leased_generation_cloned_from_it_does(
    embedded_server: EmbeddedServer, daemon: Path
) -> None:
    env = embedded_server.env
    first = daemon_status(daemon, env)
    old = generation_of(daemon)
    assert old.base is not None
    (daemon / "app.py").write_text(HOLDS)
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", "app.py"],
        env=env,
        cwd=daemon,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        assert "started" in run.stdout.readline()
        (daemon / "data" / "a.txt").write_text("a base change")
        generation_after(daemon, env, int(first["generation"]))
        sync_json(embedded_server, daemon)  # a flush: the generation built for the change
        new = generation_of(daemon)
        assert new.base is not None and new.base.session_id != old.base.session_id
        # the old generation is leased by the run, so its base stays too
        assert session_alive(embedded_server, old.session_id)
        assert session_alive(embedded_server, old.base.session_id)
        leases = daemon_status(daemon, env)["leases"]
        assert leases == {old.session_id: 1, old.base.session_id: 1}
        (daemon / "done").write_text("")
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert "count 3" in out
    finally:
        if run.poll() is None:
            run.kill()
    wait_until(lambda: not session_alive(embedded_server, old.session_id), what="its release")
    old_base = old.base
    assert old_base is not None
    wait_until(lambda: not session_alive(embedded_server, old_base.session_id), what="its release")
    assert session_alive(embedded_server, new.base.session_id)


def test_a_class_edit_after_the_base_was_released_elsewhere_builds_a_new_base(
    embedded_server: EmbeddedServer, every_kind_project: Path
) -> None:
    # the plan no longer asks whether the base is alive before a code change: its clone does
    sync_json(embedded_server, every_kind_project)
    old_base = generation_of(every_kind_project).base
    assert old_base is not None
    remote = parse_connection_string(embedded_server.remote_with_token)
    observed = old_base.server_side_session_id
    with SessionClient(remote, old_base.session_id, server_side_session_id=observed) as client:
        assert client.release_session() is not None  # e.g. expired, or someone else's release
    compile_java(
        add_constant_udf("com.ex", "AddTen", 100), "com.ex.AddTen", every_kind_project / "classes"
    )
    second = sync_json(embedded_server, every_kind_project)
    assert (second["action"], second["layer"]) == ("new_generation", "base")
    new_base = generation_of(every_kind_project).base
    assert new_base is not None and new_base.session_id != old_base.session_id
    result = query_session(embedded_server, str(second["session_id"]), EVERY_KIND)
    assert result.returncode == 0, result.stderr
    assert "java: 103" in result.stdout
    assert unfinished_sessions(every_kind_project) == []


def test_the_server_never_clones_a_session_it_does_not_hold(
    embedded_server: EmbeddedServer,
) -> None:
    """What `plan.clone_proves_base` relies on, on the real server."""
    remote = parse_connection_string(embedded_server.remote_with_token)
    with SessionClient(remote, new_session_id()) as held:
        held.spark_version()
        server_side = held.server_side_session_id
        assert server_side is not None
        held.release_session()
    never_made = new_session_id()
    cases = [
        (held.session_id, server_side, "INVALID_HANDLE.SESSION_CLOSED"),
        (never_made, str(uuid.uuid4()), "INVALID_HANDLE.SESSION_NOT_FOUND"),
    ]
    for session_id, observed, error_class in cases:
        with (
            SessionClient(remote, session_id, server_side_session_id=observed) as source,
            pytest.raises(ServerError) as caught,
        ):
            source.clone_session()
        assert caught.value.error_class == error_class
        assert caught.value.error_class in SESSION_GONE
    # the failed clone did not make the source: it is still not there to clone
    with (
        SessionClient(remote, never_made, server_side_session_id=str(uuid.uuid4())) as source,
        pytest.raises(ServerError) as caught,
    ):
        source.clone_session()
    assert caught.value.error_class == "INVALID_HANDLE.SESSION_NOT_FOUND"
