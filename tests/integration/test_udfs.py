"""UDF modules and Java UDFs registered on the project's session, against the real server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sparkpush.connect.connection_string import new_session_id, parse_connection_string
from sparkpush.remote.target import Target
from tests.conftest import EmbeddedServer
from tests.integration.conftest import UDF_MODULE_WITH_HELPER, write_udf_project
from tests.jvm import add_constant_udf, compile_java
from tests.session_query import query_session
from tests.support import run_connect, run_connect_in_process

pytestmark = pytest.mark.integration


GOOD = """
from pyspark.sql.functions import udf


@udf("string")
def answer():
    return "VERSION"
"""

BROKEN = {
    "syntax error": ("x = (\n", "udfs.py:9: SyntaxError: '(' was never closed"),
    "exception at import": (
        "raise ValueError('boom')\n",
        "udfs.py:9: ValueError: boom (while importing)",
    ),
    "unpicklable global": (
        "import threading\nlock = threading.Lock()\n\n@udf('int')\n"
        "def locked(x):\n    with lock:\n        return x\n",
        "udfs.py:12: cannot pickle UDF 'locked': cannot pickle '_thread.lock' object",
    ),
    "infinite loop": (
        "while True:\n    pass\n",
        "udfs.py: still loading after 3 s (an infinite loop at import?)",
    ),
    "sys.exit": ("import sys\nsys.exit(3)\n", "udfs.py called sys.exit(3) while being imported"),
    "crash": (
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        "udfs.py crashed the interpreter (signal SIGSEGV)",
    ),
}


def connect(server: EmbeddedServer, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "SPARKPUSH_UDF_IMPORT_TIMEOUT": "3"}
    if args[0] == "submit":  # a real process boundary: the script runs in a child of its own
        return run_connect(list(args), env=env, cwd=root)
    return run_connect_in_process(list(args), env=env, cwd=root)


def sync(server: EmbeddedServer, root: Path) -> dict[str, object]:
    result = connect(server, root, "sync", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def sql_rows(server: EmbeddedServer, root: Path, query: str) -> list[dict[str, object]]:
    result = connect(server, root, "sql", "--json", query)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def listed_udfs(server: EmbeddedServer, root: Path) -> dict[str, dict[str, object]]:
    result = connect(server, root, "udfs", "--json")
    assert result.returncode == 0, result.stderr
    return {u["name"]: u for u in json.loads(result.stdout)["udfs"]}


@pytest.mark.compat
def test_udfs_from_a_module_are_callable_by_a_second_client_and_follow_helper_edits(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = write_udf_project(tmp_path / "project")
    first = sync(embedded_server, root)
    assert first["action"] == "new_generation"
    query = """
    print("rows:", [tuple(r) for r in spark.sql(
        "SELECT tagged('a'), plus_one(41), (SELECT sum(square) FROM Squares(4))").collect()])
    """
    seen = query_session(embedded_server, str(first["session_id"]), query)
    assert seen.returncode == 0, seen.stderr
    assert "rows: [('a-v1', 42, 14)]" in seen.stdout

    before = listed_udfs(embedded_server, root)
    assert {n: u["kind"] for n, u in before.items()} == {
        "tagged": "scalar",
        "plus_one": "pandas",
        "Squares": "udtf",
    }
    assert before["tagged"]["source"] == "udfs.py:8"
    assert before["plus_one"]["return_type"] == "bigint"

    (root / "helpers.py").write_text("def tag():\n    return 'v2'\n")
    again = sync(embedded_server, root)
    assert again["action"] == "nothing"
    assert again["session_id"] == first["session_id"]  # re-registered in place
    seen = query_session(embedded_server, str(first["session_id"]), query)
    assert "rows: [('a-v2', 42, 14)]" in seen.stdout, seen.stderr

    after = listed_udfs(embedded_server, root)
    assert after["tagged"]["fingerprint"] != before["tagged"]["fingerprint"]
    assert after["plus_one"]["fingerprint"] == before["plus_one"]["fingerprint"]
    assert after["Squares"]["fingerprint"] == before["Squares"]["fingerprint"]


@pytest.fixture(scope="module")
def good_project(embedded_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synced project whose one UDF answers the version of the module last loaded."""
    root = tmp_path_factory.mktemp("broken") / "project"
    root.mkdir()
    (root / "udfs.py").write_text(GOOD.replace("VERSION", "good"))
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    sync(embedded_server, root)
    return root


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_module_gives_one_clear_line_and_the_next_sync_recovers(
    embedded_server: EmbeddedServer, good_project: Path, case: str
) -> None:
    addition, message = BROKEN[case]
    udfs = good_project / "udfs.py"
    udfs.write_text(GOOD.replace("VERSION", "broken") + "\n" + addition)
    failed = connect(embedded_server, good_project, "sync")
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1] == f"error: {message}"

    udfs.write_text(GOOD.replace("VERSION", f"fixed {case}"))
    assert sql_rows(embedded_server, good_project, "SELECT answer() AS v") == [
        {"v": f"fixed {case}"}
    ]


def test_failed_new_generation_is_abandoned_and_the_old_one_keeps_serving(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "data.txt").write_text("one")
    (root / "udfs.py").write_text(GOOD.replace("VERSION", "last good"))
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        '[tool.sparkpush.artifacts]\nfiles = ["data.txt"]\n'
    )
    session_id = sync(embedded_server, root)["session_id"]
    # a changed artifact needs a new generation; its UDFs fail to load, so it is abandoned
    (root / "data.txt").write_text("two")
    (root / "udfs.py").write_text(GOOD.replace("VERSION", "never") + "\nraise RuntimeError('no')\n")
    failed = connect(embedded_server, root, "sync")
    assert failed.returncode == 2
    assert "RuntimeError: no (while importing)" in failed.stderr
    seen = query_session(
        embedded_server, str(session_id), 'print("v:", spark.sql("SELECT answer()").first()[0])'
    )
    assert "v: last good" in seen.stdout, seen.stderr
    listed = listed_udfs(embedded_server, root)["answer"]
    assert listed["generation"] == 1


@pytest.mark.compat
def test_java_udf_compiled_from_a_class_dir_is_registered(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    compile_java(add_constant_udf("com.ex", "AddTen", 10), "com.ex.AddTen", root / "classes")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\n'
        '[tool.sparkpush.java_udfs]\nadd_ten = { class = "com.ex.AddTen", returns = "bigint" }\n'
    )
    assert sql_rows(embedded_server, root, "SELECT add_ten(CAST(1 AS BIGINT)) AS x") == [{"x": 11}]
    assert listed_udfs(embedded_server, root)["add_ten"]["kind"] == "java"


def test_sql_shows_the_servers_one_line_error(
    embedded_server: EmbeddedServer, good_project: Path
) -> None:
    failed = connect(embedded_server, good_project, "sql", "SELECT no_such_function(1)")
    assert failed.returncode == 1
    line = failed.stderr.strip().splitlines()[-1]
    assert line.startswith("error: [UNRESOLVED_ROUTINE]")
    table = connect(embedded_server, good_project, "sql", "SELECT 1 AS one, 'x' AS letter")
    assert table.stdout.splitlines()[:3] == ["one  letter", "---  ------", "1    x"]


def test_udfs_registered_on_a_fresh_submit_session(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    from sparkpush.config.settings import load_config
    from sparkpush.udf.registration import UdfContext, register_udfs_knowing_python

    root = write_udf_project(tmp_path / "project")
    target = Target(spec=parse_connection_string(embedded_server.remote_with_token), source="test")
    session_id = new_session_id()
    context = UdfContext(load_config(cwd=root), target, session_id)
    registered, _ = register_udfs_knowing_python(context, None)
    assert sorted(u.name for u in registered) == ["Squares", "plus_one", "tagged"]
    seen = query_session(
        embedded_server, session_id, 'print("v:", spark.sql("SELECT tagged(\'s\')").first()[0])'
    )
    assert "v: s-v1" in seen.stdout, seen.stderr


def test_warm_loader_survives_a_crashing_module_and_serves_the_next_load(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    from sparkpush.config.settings import load_config
    from sparkpush.errors import UdfLoadError
    from sparkpush.sync.ready_session import ready_session
    from sparkpush.udf.warm_loader import WarmLoader

    root = tmp_path / "project"
    root.mkdir()
    udfs = root / "udfs.py"
    udfs.write_text(GOOD.replace("VERSION", "warm 1"))
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    config = load_config(cwd=root)
    target = Target(spec=parse_connection_string(embedded_server.remote_with_token), source="test")
    with WarmLoader() as warm:
        first = ready_session(config, target, loader=warm).current_generation
        assert first is not None
        udfs.write_text(BROKEN["crash"][0])
        with pytest.raises(UdfLoadError, match="crashed the interpreter"):
            ready_session(config, target, loader=warm)
        udfs.write_text(GOOD.replace("VERSION", "warm 2"))
        second = ready_session(config, target, loader=warm).current_generation
    assert second is not None and second.session_id == first.session_id
    seen = query_session(
        embedded_server, first.session_id, 'print("v:", spark.sql("SELECT answer()").first()[0])'
    )
    assert "v: warm 2" in seen.stdout, seen.stderr


@pytest.mark.parametrize("mode", [[], ["--attach"]])
@pytest.mark.compat
def test_submitted_script_calls_the_configured_udfs_by_name(
    embedded_server: EmbeddedServer, tmp_path: Path, mode: list[str]
) -> None:
    root = write_udf_project(tmp_path / "submit-udfs")
    (root / "app.py").write_text(
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print('row', spark.sql(\"SELECT tagged('x') AS t, plus_one(CAST(1 AS BIGINT)) AS p\")"
        ".first())\n"
    )
    result = connect(embedded_server, root, "submit", "--report", "report.json", *mode, "app.py")
    assert result.returncode == 0, result.stderr
    assert "row Row(t='x-v1', p=2)" in result.stdout
    if not mode:
        report = json.loads((root / "report.json").read_text())
        assert {"tagged", "plus_one", "Squares"} <= set(report["udfs"])


def test_unchanged_sources_skip_the_load_and_an_edit_loads_again(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = write_udf_project(tmp_path / "counted")
    counter = root / "loads.txt"
    # every import of the UDF module (that is, every load) leaves a mark
    (root / "udfs.py").write_text(
        f"with open({str(counter)!r}, 'a') as marks:\n    marks.write('x')\n"
        + UDF_MODULE_WITH_HELPER
    )
    old = 1_600_000_000
    for path in root.glob("*.py"):
        os.utime(path, (old, old))
    first = sync(embedded_server, root)
    loads = counter.read_text()
    again = sync(embedded_server, root)
    assert again["session_id"] == first["session_id"]
    assert counter.read_text() == loads  # nothing changed: not loaded again
    (root / "helpers.py").write_text("def tag():\n    return 'v3'\n")
    sync(embedded_server, root)
    assert len(counter.read_text()) > len(loads)
    assert sql_rows(embedded_server, root, "SELECT tagged('a') AS t") == [{"t": "a-v3"}]


@pytest.mark.parametrize("case", ["syntax error", "infinite loop", "crash"])
def test_fresh_submit_with_a_broken_udf_module_gives_one_clear_line(
    embedded_server: EmbeddedServer, tmp_path: Path, case: str
) -> None:
    # the UDFs load in a fork of the waiting script child: its failures read as a cold load's
    addition, message = BROKEN[case]
    root = tmp_path / "project"
    root.mkdir()
    (root / "udfs.py").write_text(GOOD.replace("VERSION", "broken") + "\n" + addition)
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    (root / "app.py").write_text("print('script ran')\n")
    result = connect(embedded_server, root, "submit", "--report", "report.json", "app.py")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
    assert "script ran" not in result.stdout
    report = json.loads((root / "report.json").read_text())
    assert report["status"] == "error"
    assert report["error"] == message
