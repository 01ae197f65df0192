"""A class folder travels as one jar: its classes and resources load, a rebuild is the same jar."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sparkpush.artifacts.collect import collect_artifacts
from sparkpush.artifacts.stat_cache import StatCache
from sparkpush.artifacts.upload import upload_artifacts
from sparkpush.config.settings import ArtifactSettings
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.remote.target import Target
from tests.conftest import EmbeddedServer
from tests.jvm import compile_java
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration

READS_A_RESOURCE = """
package com.res;
import org.apache.spark.sql.api.java.UDF1;
public class Greeting implements UDF1<Long, String> {
    public String call(Long x) throws Exception {
        try (java.io.InputStream in = Greeting.class.getResourceAsStream("/com/res/greeting.txt")) {
            return in == null ? "no resource" : new String(in.readAllBytes(), "UTF-8").trim();
        }
    }
}
"""


@pytest.mark.compat
def test_a_java_udf_reads_a_resource_from_its_class_folder(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    compile_java(READS_A_RESOURCE, "com.res.Greeting", root / "out" / "classes")
    (root / "out" / "classes" / "com" / "res" / "greeting.txt").write_text("hello from a jar\n")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["out/classes"]\n'
        '[tool.sparkpush.java_udfs]\ngreet = { class = "com.res.Greeting", returns = "string" }\n'
    )
    result = run_connect_in_process(
        ["sql", "--json", "SELECT greet(CAST(1 AS BIGINT)) AS g"],
        env=embedded_server.env,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [{"g": "hello from a jar"}]
    listed = run_connect_in_process(["artifacts", "--json"], env=embedded_server.env, cwd=root)
    names = [a["name"] for a in json.loads(listed.stdout)["artifacts"]]
    assert [n for n in names if n.startswith("jars/classes-out-classes-")] == names


@pytest.mark.compat
def test_a_rebuilt_unchanged_tree_is_the_servers_same_bytes_no_op(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    classes = tmp_path / "classes"
    compile_java(READS_A_RESOURCE, "com.res.Greeting", classes)
    settings = ArtifactSettings(classes=("classes",))
    [first] = collect_artifacts(settings, tmp_path, StatCache()).artifacts
    for path in classes.rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000))  # what a clean rebuild looks like
    [rebuilt] = collect_artifacts(settings, tmp_path, StatCache()).artifacts
    target = Target(spec=parse_connection_string(embedded_server.remote_with_token), source="test")
    with target.client() as client:
        try:
            upload_artifacts(client, [first.artifact])
            # different bytes under one jar name would be ARTIFACT_ALREADY_EXISTS
            upload_artifacts(client, [rebuilt.artifact])
        finally:
            client.release_session()
    assert rebuilt.name == first.name and rebuilt.sha256 == first.sha256
