"""What a sync costs a remote server in connections: each new one is a round trip (TCP) or
three (TLS) before its first call. Counted by a loopback proxy in front of the real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.artifacts.layers import Layer
from sparkpush.config.settings import load_config
from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.sql_query import run_sql
from sparkpush.remote.target import Target
from sparkpush.sync.ready_session import ready_session
from tests.conftest import EmbeddedServer
from tests.fault_proxy import running_proxy
from tests.jvm import add_constant_udf, build_jar, compile_java
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration


def test_a_class_edit_sync_makes_one_connection(
    embedded_server: EmbeddedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "project"
    compile_java(add_constant_udf("com.ex", "Dep", 1), "com.ex.Dep", tmp_path / "dep-classes")
    build_jar(tmp_path / "dep-classes", root / "lib" / "dep.jar")
    compile_java(add_constant_udf("com.ex", "AddN", 0), "com.ex.AddN", root / "classes")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.java_udfs]\nadd_n = { class = "com.ex.AddN", returns = "bigint" }\n'
    )
    config = load_config(cwd=root)
    with running_proxy(embedded_server.port) as proxy:
        spec = parse_connection_string(
            f"sc://localhost:{proxy.port}/;token={embedded_server.token}"
        )
        target = Target(spec=spec, source="test")
        ready_session(config, target)
        compile_java(add_constant_udf("com.ex", "AddN", 5), "com.ex.AddN", root / "classes")
        before = proxy.connections
        result = ready_session(config, target)
        assert result.layer is Layer.CODE and result.udfs == ("add_n",)
        # the base's liveness, CloneSession, AddArtifacts, the Java UDF's registration and
        # the old generation's release share one connection (were one per session touched
        # and one for the UDF loader: 6)
        assert proxy.connections - before == 1
        assert result.current_generation is not None
        with target.client(
            result.session_id, result.current_generation.server_side_session_id
        ) as client:
            table = run_sql(client, "SELECT add_n(CAST(1 AS BIGINT))")
        assert table is not None and table.column(0)[0].as_py() == 6


def test_a_java_udf_the_server_cannot_load_is_one_line_and_exit_2(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    compile_java(add_constant_udf("com.ex", "AddN", 0), "com.ex.AddN", tmp_path / "classes")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\n'
        '[tool.sparkpush.java_udfs]\nnope = { class = "com.ex.Missing", returns = "bigint" }\n'
    )
    result = run_connect_in_process(["sync"], env=embedded_server.env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: java_udfs.nope: cannot register it: ")
    assert "com.ex.Missing" in line
