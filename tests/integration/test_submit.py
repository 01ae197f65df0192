"""`connect submit` end to end against the real embedded Spark Connect server."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, EmbeddedServer, clean_env, free_port, run_connect
from tests.integration.conftest import SIMPLE_APP
from tests.jvm import add_constant_udf, build_jar, compile_java

pytestmark = pytest.mark.integration


def script(tmp_path: Path, body: str, name: str = "app.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


@pytest.mark.compat
def test_simple_app_runs_with_its_py_files_helper(embedded_server: EmbeddedServer) -> None:
    result = run_connect(SIMPLE_APP, env=embedded_server.env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "Lines with a: 9, lines with b: 2" in result.stdout


def test_without_the_helper_the_udf_cannot_import_it(embedded_server: EmbeddedServer) -> None:
    result = run_connect(
        ["submit", "examples/simple_app.py", "examples/data/README.md"],
        env=embedded_server.env,
        cwd=REPO,
    )
    assert result.returncode == 1
    assert "No module named 'text_predicates'" in result.stderr


@pytest.mark.compat
def test_java_udf_from_a_jar_is_registered_by_the_script(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    compile_java(
        add_constant_udf("com.example", "AddOne", 1), "com.example.AddOne", tmp_path / "classes"
    )
    jar = build_jar(tmp_path / "classes", tmp_path / "udfs.jar")
    app = script(
        tmp_path,
        """
from pyspark.sql import SparkSession
from pyspark.sql.types import LongType
spark = SparkSession.builder.remote("sc://localhost").getOrCreate()
spark.udf.registerJavaFunction("add_one", "com.example.AddOne", LongType())
print("answer", spark.sql("SELECT add_one(CAST(41 AS BIGINT)) AS v").first().v)
""",
    )
    result = run_connect(
        ["submit", "--jars", str(jar), str(app)], env=embedded_server.env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "answer 42" in result.stdout


@pytest.mark.compat
def test_archives_files_and_conf_reach_the_session(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    archive = tmp_path / "env.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("greeting.txt", "hello from the archive")
    data = tmp_path / "lookup.txt"
    data.write_text("hello from a file")
    app = script(
        tmp_path,
        """
import os
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.remote("sc://localhost").getOrCreate()

@udf("string")
def read_shipped(_):
    from pyspark import SparkFiles
    with open(os.path.join("env", "greeting.txt")) as archive_file:
        first = archive_file.read()
    with open(SparkFiles.get("lookup.txt")) as plain_file:
        second = plain_file.read()
    return first + " | " + second

print("shipped:", spark.range(1).select(read_shipped("id")).first()[0])
print("conf:", spark.conf.get("spark.sql.shuffle.partitions"))
""",
    )
    result = run_connect(
        [
            "submit",
            "--archives",
            f"{archive}#env",
            "--files",
            str(data),
            "--conf",
            "spark.sql.shuffle.partitions=7",
            str(app),
        ],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "shipped: hello from the archive | hello from a file" in result.stdout
    assert "conf: 7" in result.stdout


def test_script_sees_its_arguments_and_the_callers_directory(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = script(
        tmp_path,
        """
import os, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote("sc://localhost").getOrCreate()
print("argv", sys.argv)
print("cwd", os.getcwd())
print("count", spark.range(5).count())
""",
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = run_connect(
        ["submit", str(app), "one", "--two", "-3"], env=embedded_server.env, cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    assert f"argv ['{app}', 'one', '--two', '-3']" in result.stdout
    assert f"cwd {workdir}" in result.stdout
    assert "count 5" in result.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("print('fine')", 0),
        ("import sys; sys.exit(3)", 3),
        ("import sys; sys.exit(0)", 0),
        ("raise RuntimeError('script broke')", 1),
        ("import sys; sys.exit('a message')", 1),
    ],
)
@pytest.mark.compat
def test_exit_code_of_the_script_is_the_exit_code(
    embedded_server: EmbeddedServer, tmp_path: Path, body: str, expected: int
) -> None:
    app = script(
        tmp_path,
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.remote('sc://localhost').getOrCreate()\n"
        "spark.range(1).count()\n" + body + "\n",
    )
    result = run_connect(["submit", str(app)], env=embedded_server.env, cwd=tmp_path)
    assert result.returncode == expected, result.stderr
    if "RuntimeError" in body:
        assert "Traceback (most recent call last)" in result.stderr
        assert f'File "{app}", line 4' in result.stderr
        assert "RuntimeError: script broke" in result.stderr
        assert "sparkpush" not in result.stderr


def test_a_spawned_script_process_runs_like_the_pre_forked_one(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    # SPARKPUSH_CHILD=spawn: `python -m sparkpush.submit.script_main`, not the early fork
    app = script(
        tmp_path,
        "import sys\n"
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print('rows', spark.range(3).count(), 'args', sys.argv[1:], flush=True)\n"
        "raise RuntimeError('script broke')\n",
    )
    env = {**embedded_server.env, "SPARKPUSH_CHILD": "spawn"}
    result = run_connect(["submit", str(app), "a", "b"], env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "rows 3 args ['a', 'b']" in result.stdout
    assert f'File "{app}", line 5' in result.stderr
    assert "RuntimeError: script broke" in result.stderr
    assert "sparkpush" not in result.stderr


def test_each_submit_gets_a_fresh_session_that_is_released(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = script(
        tmp_path,
        """
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote("sc://localhost").getOrCreate()
print("session", spark.client._session_id)
spark.stop()
""",
    )
    first = run_connect(["submit", str(app)], env=embedded_server.env, cwd=tmp_path)
    second = run_connect(["submit", str(app)], env=embedded_server.env, cwd=tmp_path)
    ids = [r.stdout.split("session ")[1].strip() for r in (first, second)]
    assert ids[0] != ids[1]

    from sparkpush.connect.connection_string import parse_connection_string
    from sparkpush.connect.session_client import SessionClient

    spec = parse_connection_string(embedded_server.remote_with_token)
    with SessionClient(spec, ids[0]) as client:
        from sparkpush.errors import ServerError

        with pytest.raises(ServerError, match="SESSION_CLOSED"):
            client.spark_version()


def test_unreachable_server_is_reported_fast_with_exit_3(tmp_path: Path) -> None:
    app = script(tmp_path, "print('never runs')\n")
    started = time.monotonic()
    result = run_connect(
        ["submit", "--remote", f"sc://localhost:{free_port()}", str(app)],
        env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")),
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot reach Spark Connect server at localhost:")
    assert "never runs" not in result.stdout
    assert time.monotonic() - started < 20


def test_wrong_token_is_an_authentication_error_without_the_token(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = script(tmp_path, "print('never runs')\n")
    result = run_connect(
        ["submit", "--remote", f"sc://localhost:{embedded_server.port}/;token=not-it", str(app)],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert "authentication failed" in result.stderr
    assert "not-it" not in result.stderr + result.stdout


def test_token_from_spark_remote_in_the_environment_works(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = script(
        tmp_path,
        "from pyspark.sql import SparkSession\n"
        "print('n', SparkSession.builder.getOrCreate().range(3).count())\n",
    )
    env = clean_env(SPARK_REMOTE=embedded_server.remote_with_token)
    result = run_connect(["submit", str(app)], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "n 3" in result.stdout
    assert embedded_server.token not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "error: script missing.py does not exist"),
        (["--py-files", "nope.py", "app.py"], "error: --py-files: nope.py does not exist"),
        (["--py-files", "data.txt", "app.py"], "is not a .py, .zip or .egg file"),
        (["--jars", "missing.jar", "app.py"], "error: --jars: missing.jar does not exist"),
        (["--archives", "env.zip#../x", "app.py"], "must be a plain folder name"),
        (["--archives", "env.zip#a/b", "app.py"], "must be a plain folder name"),
        (["--remote", "sc:/bad", "app.py"], "invalid connection string"),
        (["--remote", "sc://h:99999", "app.py"], "is not a number"),
        (["--conf", "novalue", "app.py"], "--conf 'novalue' is not key=value"),
        ([], "no script given"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    script(tmp_path, "print('never runs')\n")
    (tmp_path / "data.txt").write_text("x")
    with zipfile.ZipFile(tmp_path / "env.zip", "w") as zipped:
        zipped.writestr("a.txt", "a")
    result = run_connect(
        ["submit", *args],
        env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")),
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "never runs" not in result.stdout
