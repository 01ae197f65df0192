"""`connect submit` as a CI job runner: timeouts, signals, reports, isolation, doctor."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from sparkpush.server.process_group import command_line
from tests.conftest import EmbeddedServer, free_port, run_connect, run_connect_in_process
from tests.integration.conftest import Lines
from tests.support import wait_until

pytestmark = pytest.mark.integration

# Runs until interrupted: a max over 10^12 rows in as many partitions as the server has
# cores (local[2]), so while it lives no other job's task can be scheduled. It ignores
# SIGINT, so the child is killed and PySpark's own clean-up (ReleaseExecute) never runs:
# only sparkpush's interrupt can stop the query. It prints "query running" once the server
# reports the query's tasks running.
LONG_QUERY_APP = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
running = []
def report_running(stages, inflight_tasks, operation_id, done):
    if inflight_tasks and not running:
        running.append(operation_id)
        print("query running", flush=True)
spark.registerProgressHandler(report_running)
print("query started", flush=True)
spark.range(0, 10**12, 1, 2).selectExpr("max(id)").collect()
print("query finished")
"""

# The same query, with the script's usual Ctrl-C handling (PySpark's own interrupt included).
PLAIN_LONG_QUERY_APP = LONG_QUERY_APP.replace("signal.signal(signal.SIGINT, signal.SIG_IGN)", "")

# Needs both cores of the server: it cannot finish while the long query still holds them.
PROBE_APP = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("probe", spark.range(0, 1000, 1, 2).selectExpr("max(id)").collect()[0][0])
"""

OK_APP = """
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("rows", spark.range(3).count(), "args", sys.argv[1:])
"""

CLEANUP_BOUND_S = 30.0
"""Generous: the run must end within seconds of its deadline, not minutes."""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def assert_query_gone(server: EmbeddedServer, folder: Path) -> None:
    """A job needing every core of the server completes: no interrupted task still holds one."""
    probe = write(folder, "probe.py", PROBE_APP)
    result = run_connect(["submit", "--timeout", "60", str(probe)], env=server.env, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "probe 999" in result.stdout


def start_submit(
    app: Path, report: Path, env: Mapping[str, str], cwd: Path, *, new_session: bool = False
) -> subprocess.Popen[str]:
    """`connect submit --report REPORT APP` in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", "--report", str(report), str(app)],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def test_timeout_interrupts_the_query_and_exits_124(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = write(tmp_path, "long.py", LONG_QUERY_APP)
    report = tmp_path / "out" / "report.json"
    started = time.monotonic()
    result = run_connect(
        ["submit", "--timeout", "8", "--report", str(report), "--json", str(app)],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    assert result.returncode == 124, result.stderr
    assert took < 8 + CLEANUP_BOUND_S
    assert "query finished" not in result.stdout
    data = read_report(report)
    assert data["status"] == "timeout"
    assert data["exit_code"] == 124
    assert "timed out after 8 s" in str(data["error"])
    # The server confirmed that it interrupted the run's operation...
    assert data["interrupted_operations"], data
    assert data["session_released"] is True
    # ...and the --json summary says the same, as the last line of stdout.
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "timeout"
    assert summary["session_id"] == data["session_id"]
    # ...and its tasks no longer hold the server's cores.
    assert_query_gone(embedded_server, tmp_path)


def test_sigterm_interrupts_releases_and_exits_143_with_a_report(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = write(tmp_path, "long.py", LONG_QUERY_APP)
    report = tmp_path / "report.json"
    process = start_submit(app, report, embedded_server.env, tmp_path)
    try:
        Lines(process).wait_for("query running", seconds=120)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=CLEANUP_BOUND_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 143, stderr
    data = read_report(report)
    assert data["status"] == "interrupted"
    assert data["signal"] == "SIGTERM"
    assert data["exit_code"] == 143
    assert data["interrupted_operations"]
    assert_query_gone(embedded_server, tmp_path)


def test_report_of_a_successful_run(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP)
    helper = write(tmp_path, "helper.py", "VALUE = 1\n")
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "--py-files", str(helper), str(app), "a", "b"],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "rows 3 args ['a', 'b']" in result.stdout
    data = read_report(report)
    assert data["status"] == "succeeded"
    assert data["exit_code"] == 0
    assert data["error"] is None
    assert data["app"] == str(app)
    assert data["args"] == ["a", "b"]
    assert data["remote"] == f"sc://localhost:{embedded_server.port}"
    assert isinstance(data["duration_s"], float)
    assert str(data["started_at"]).endswith("+00:00")
    assert data["udfs"] == []
    assert data["session_released"] is True
    [artifact] = data["artifacts"]
    assert artifact["name"] == "pyfiles/helper.py"
    assert artifact["bytes"] == len("VALUE = 1\n")
    assert len(artifact["sha256"]) == 64
    assert embedded_server.token not in report.read_text()


def test_report_of_a_failing_script_keeps_its_exit_code(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = write(tmp_path, "fail.py", "import sys\nprint('before')\nsys.exit(7)\n")
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "--json", str(app)],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 7
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "before"
    summary = json.loads(lines[-1])
    data = read_report(report)
    assert summary == data
    assert data["status"] == "failed"
    assert data["exit_code"] == 7
    assert "code 7" in str(data["error"])


def test_unreachable_server_exits_3_with_an_error_report(tmp_path: Path) -> None:
    from tests.conftest import clean_env

    app = write(tmp_path, "app.py", OK_APP)
    report = tmp_path / "report.json"
    remote = f"sc://localhost:{free_port()}/;token=not-shown-anywhere"
    result = run_connect(
        ["submit", "--remote", remote, "--report", str(report), str(app)],
        env=clean_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot reach")
    data = read_report(report)
    assert data["status"] == "error"
    assert data["exit_code"] == 3
    assert "cannot reach" in str(data["error"])
    assert "not-shown-anywhere" not in report.read_text() + result.stderr


def test_parallel_submits_do_not_see_each_others_views_confs_or_artifacts(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = """
import os, sys, time
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
me, other = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.getOrCreate()
spark.range(int(me)).createOrReplaceTempView("mine")
spark.conf.set("spark.sql.shuffle.partitions", str(10 + int(me)))

@udf("int")
def helper_on_worker(_):
    import helper  # from this run's --py-files, on the server's Python worker
    return helper.WHO

# both runs hold their view, confs and artifacts at the same time
open(os.path.join("..", "ready-" + me), "w").close()
deadline = time.monotonic() + 120
while not os.path.exists(os.path.join("..", "ready-" + other)):
    assert time.monotonic() < deadline, "the other run never got this far"
    time.sleep(0.05)
rows = spark.table("mine").count()
parts = spark.conf.get("spark.sql.shuffle.partitions")
conf = spark.conf.get("spark.sparkpush.test")
helper = spark.range(1).select(helper_on_worker("id")).first()[0]
print(f"me={me} rows={rows} parts={parts} helper={helper} conf={conf}")
"""
    processes = []
    for who, other in (("1", "2"), ("2", "1")):
        folder = tmp_path / who
        script = write(folder, "app.py", app)
        helper = write(folder, "helper.py", f"WHO = {who}\n")
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sparkpush",
                    "submit",
                    "--py-files",
                    str(helper),
                    "--conf",
                    f"spark.sparkpush.test=c{who}",
                    str(script),
                    who,
                    other,
                ],
                env=embedded_server.env,
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=180) for p in processes]
    for who, process, (stdout, stderr) in zip(("1", "2"), processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert f"me={who} rows={who} parts={10 + int(who)} helper={who} conf=c{who}" in stdout


def test_module_runs_like_python_dash_m(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    write(tmp_path, "jobs/__init__.py", "")
    write(tmp_path, "jobs/count.py", OK_APP)
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "-m", "jobs.count", "x"],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "rows 3 args ['x']" in result.stdout
    data = read_report(report)
    assert data["module"] == "jobs.count"
    assert data["args"] == ["x"]


def test_static_conf_is_a_clear_error(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP)
    result = run_connect(
        ["submit", "--conf", "spark.sql.warehouse.dir=/tmp/elsewhere", str(app)],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip().splitlines()[-1]
    ]  # one line
    assert "spark.sql.warehouse.dir cannot be changed by a session" in result.stderr
    assert "rows" not in result.stdout


@pytest.mark.parametrize("value", ["-1", "0", "soon", "inf"])
def test_bad_timeout_is_a_usage_error(tmp_path: Path, value: str) -> None:
    from tests.conftest import clean_env

    app = write(tmp_path, "app.py", OK_APP)
    result = run_connect(["submit", "--timeout", value, str(app)], env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--timeout" in result.stderr


def test_doctor_on_a_healthy_setup(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    result = run_connect_in_process(["doctor"], env=embedded_server.env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("OK") for line in lines), lines
    names = [line.split(":")[0].split(maxsplit=1)[1] for line in lines]
    assert names[:13] == [
        "python",
        "pyspark",
        "config",
        "trust",
        "artifacts",
        "java",
        "remote",
        "authentication",
        "server spark",
        "worker python",
        "layers",
        "udf names",
        "server settings",
    ]
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"server workers run Python {py}, here {py}" in result.stdout
    assert "layers: on: a code change clones the base session" in result.stdout


def test_doctor_on_a_broken_setup(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\nbogus = 1\n")
    wrong_token = f"sc://localhost:{embedded_server.port}/;token=wrong-token-value"
    result = run_connect_in_process(
        ["doctor", "--remote", wrong_token], env=embedded_server.env, cwd=tmp_path
    )
    assert result.returncode == 1
    verdicts = {
        line.split(":")[0].split(maxsplit=1)[1]: line.split()[0]
        for line in result.stdout.strip().splitlines()
    }
    assert verdicts["config"] == "FAIL"
    assert verdicts["remote"] == "OK"
    assert verdicts["authentication"] == "FAIL"
    assert "fix:" in result.stdout
    assert "wrong-token-value" not in result.stdout + result.stderr


def test_doctor_with_an_unreachable_server(tmp_path: Path) -> None:
    from tests.conftest import clean_env

    result = run_connect(
        ["doctor", "--remote", f"sc://localhost:{free_port()}"], env=clean_env(), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "FAIL remote: cannot reach" in result.stdout


SLEEPING_APP = """
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("rows", spark.range(3).count(), flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signal_to_the_whole_process_group_is_an_interruption(
    embedded_server: EmbeddedServer, tmp_path: Path, signum: int, code: int, name: str
) -> None:
    app = write(tmp_path, "slow.py", SLEEPING_APP)
    report = tmp_path / "report.json"
    # as `setsid connect submit ...` then `kill -INT -- -PGID`, what CI runners and `timeout` do
    process = start_submit(app, report, embedded_server.env, tmp_path, new_session=True)
    try:
        assert process.stdout is not None
        assert "rows 3" in process.stdout.readline()
        os.killpg(process.pid, signum)
        _, stderr = process.communicate(timeout=CLEANUP_BOUND_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == code, stderr
    data = read_report(report)
    assert data["status"] == "interrupted"
    assert data["signal"] == name
    assert data["exit_code"] == code
    assert data["session_released"] is True
    assert f"stopped by {name}" in stderr
    assert "Traceback" not in stderr


def test_a_group_sigint_during_a_query_counts_the_operation_it_interrupted(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    """As `timeout --preserve-status -s INT 5 connect submit slow.py`: the script and
    `connect submit` get SIGINT at once; the query is interrupted by us, and counted."""
    app = write(tmp_path, "slow.py", PLAIN_LONG_QUERY_APP)
    report = tmp_path / "report.json"
    process = start_submit(app, report, embedded_server.env, tmp_path, new_session=True)
    try:
        Lines(process).wait_for("query running", seconds=120)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=CLEANUP_BOUND_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    data = read_report(report)
    assert data["status"] == "interrupted" and data["signal"] == "SIGINT"
    assert len(data["interrupted_operations"]) == 1, data
    assert "interrupted 1 operation(s)" in stderr
    assert "Traceback" not in stderr
    assert_query_gone(embedded_server, tmp_path)


def test_report_of_a_script_that_raised_names_the_exception_without_the_token(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = write(
        tmp_path,
        "raises.py",
        "import os\n"
        "def check(rows):\n"
        "    token = os.environ['SPARK_CONNECT_AUTHENTICATE_TOKEN']\n"
        "    raise ValueError(f'bad rows {rows} {token}')\n"
        "check(3)\n",
    )
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "--json", str(app)],
        env=embedded_server.env,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    data = read_report(report)
    assert data["status"] == "failed"
    assert data["error"] == "the script raised ValueError: bad rows 3 ***"
    assert json.loads(result.stdout.strip().splitlines()[-1])["error"] == data["error"]
    assert embedded_server.token not in report.read_text() + result.stdout
    # the traceback still reaches the script's stderr, as python would show it
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raises.py", line 5, in <module>' in result.stderr


def test_script_using_rdds_gets_one_line_saying_spark_connect_has_none(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = write(
        tmp_path,
        "rdd.py",
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print(spark.sparkContext.parallelize([1, 2]).count())\n",
    )
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), str(app)], env=embedded_server.env, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "JVM_ATTRIBUTE_NOT_SUPPORTED" in result.stderr  # the script's own traceback
    hint = "Spark Connect has no RDD or SparkContext API"
    assert result.stderr.strip().splitlines()[-1].startswith(f"connect: {hint}")
    data = read_report(report)
    assert "PySparkAttributeError: [JVM_ATTRIBUTE_NOT_SUPPORTED]" in data["error"]
    assert hint in data["error"]


def test_busy_port_of_the_embedded_server_names_what_submit_can_change(tmp_path: Path) -> None:
    from tests.conftest import clean_env

    app = write(tmp_path, "app.py", OK_APP)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        write(tmp_path, "pyproject.toml", f"[tool.sparkpush.server]\nport = {port}\n")
        result = run_connect(
            ["submit", str(app)],
            env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")),
            cwd=tmp_path,
        )
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()[-1:]
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert "[tool.sparkpush.server]" in line
    assert "connect server start --port" in line
    assert "with --port" not in line  # submit has no --port


UDF_MODULE = """
from pyspark.sql.functions import udf

@udf("long")
def plus_one(x):
    return x + 1
"""

UDF_APP = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("udf", spark.sql("SELECT plus_one(41)").first()[0])
"""


def test_workers_python_is_asked_once_per_server_not_per_session(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    write(tmp_path, "pyproject.toml", '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    write(tmp_path, "udfs.py", UDF_MODULE)
    app = write(tmp_path, "app.py", UDF_APP)
    state = tmp_path / "state"
    env = {**embedded_server.env, "XDG_STATE_HOME": str(state)}
    # the embedded server of this state dir is the test session's
    (state / "sparkpush").mkdir(parents=True)
    for name in ("server.json", "server.token"):
        source = embedded_server.state_home / "sparkpush" / name
        (state / "sparkpush" / name).write_bytes(source.read_bytes())
    first = run_connect(["submit", str(app)], env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "udf 42" in first.stdout
    cache = state / "sparkpush" / "server-facts.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    [[identity, facts]] = json.loads(cache.read_text())["servers"]
    # learnt: the workers' Python (and the digest of the server's URL each entry carries)
    assert set(facts) <= {"worker_python", "server"}
    assert facts["worker_python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    # A second fresh session trusts what the server answered: a (forged) other version there
    # is refused without running the probe UDF again.
    forged = {**facts, "worker_python": "2.7"}
    cache.write_text(json.dumps({"servers": [[identity, forged]]}))
    second = run_connect(["submit", str(app)], env=env, cwd=tmp_path)
    assert second.returncode != 0
    assert "the server's Python workers run Python 2.7" in second.stderr


LOOPING_APP = """
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("looping", flush=True)
while True:
    spark.range(10).count()
    time.sleep(0.2)
"""


def test_server_killed_under_a_run_is_noticed_within_seconds(tmp_path: Path) -> None:
    from sparkpush.config.settings import ServerSettings
    from sparkpush.remote.target import probe_embedded
    from sparkpush.server.process import start_server, stop_server
    from sparkpush.state.server_state import StateFiles
    from tests.conftest import clean_env

    # a server of this test's own: it gets killed
    files = StateFiles(tmp_path / "state" / "sparkpush")
    app = write(tmp_path, "loop.py", LOOPING_APP)
    report = tmp_path / "report.json"
    state, _ = start_server(
        ServerSettings(port=free_port(), master="local[1]"), files, probe_embedded
    )
    process: subprocess.Popen[str] | None = None
    try:
        env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
        process = start_submit(app, report, env, tmp_path)
        assert process.stdout is not None
        assert "looping" in process.stdout.readline()
        os.killpg(state.pid, signal.SIGKILL)
        # PySpark's own client would retry for about ten minutes
        _, stderr = process.communicate(timeout=60)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        stop_server(files)
    assert process.returncode == 3, stderr
    assert stderr.strip().splitlines() == [
        f"error: lost the Spark Connect server at localhost:{state.port} during the run: "
        "it no longer accepts connections"
    ]
    data = read_report(report)
    assert data["status"] == "error"
    assert data["exit_code"] == 3
    assert "lost the Spark Connect server" in data["error"]


def test_sigint_while_udfs_load_ends_the_loader_too(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    write(tmp_path, "pyproject.toml", '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    started, finished = tmp_path / "import-started", tmp_path / "import-finished"
    write(
        tmp_path,
        "udfs.py",
        "import os, time\n"
        f"open({str(started)!r}, 'w').write(str(os.getpid()))\n"
        "deadline = time.monotonic() + 120\n"
        "while time.monotonic() < deadline:  # until the test's SIGINT ends the loader\n"
        "    time.sleep(0.05)\n"
        f"open({str(finished)!r}, 'w').close()\n" + UDF_MODULE,
    )
    app = write(tmp_path, "app.py", UDF_APP)
    report = tmp_path / "report.json"
    process = start_submit(app, report, embedded_server.env, tmp_path, new_session=True)
    try:
        wait_until(lambda: started.exists() and started.read_text(), 120, what="the UDF import")
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=CLEANUP_BOUND_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert read_report(report)["status"] == "interrupted"
    # the process importing the module is gone, before it could finish the import
    loader = int(started.read_text())
    wait_until(lambda: command_line(loader) is None, 30, what="the UDF loader to end")
    assert not (tmp_path / "import-finished").exists()
