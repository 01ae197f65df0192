"""What UDFs print, log and write to stderr on the workers, in the terminal of every command
that runs queries, on the real server: once, whole, in order, marked, bounded, per run."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import watching
from tests.integration.test_live_shell import Terminal

pytestmark = pytest.mark.integration

CHATTY_SCRIPT = """
import logging, sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()

@udf("long")
def chatty(x):
    print("row", x, "of", 3, "-", "whole")
    print("to stderr", x, file=sys.stderr)
    logging.getLogger("chatty.log").warning("careful with %s", x)
    return x

rows = spark.range(3).repartition(1).select(chatty("id").alias("n")).collect()
print("ROWS", sorted(r.n for r in rows))
"""

CHATTY_LINES = [
    line
    for x in range(3)
    for line in (
        f"[worker chatty] row {x} of 3 - whole",
        f"[worker chatty] stderr: to stderr {x}",
        f"[worker] WARNING chatty.log: careful with {x}",
    )
]

UDF_MODULE = """
import logging, sys
from pyspark.sql.functions import udf

log = logging.getLogger("proj.udfs")

@udf("string")
def shout(s):
    print("shouting", s, "now")
    print("careful", s, file=sys.stderr)
    log.warning("warned about %s", s)
    if s == "boom":
        raise ValueError("no boom please")
    return s.upper() + "!"
"""

SHOUT_LINES = [
    "[worker shout] shouting {s} now",
    "[worker shout] stderr: careful {s}",
    "[worker shout] WARNING proj.udfs: warned about {s}",
]


def worker_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[worker")]


def shout_lines(s: str) -> list[str]:
    return [line.format(s=s) for line in SHOUT_LINES]


def udf_project(root: Path, config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "udfs.py").write_text(UDF_MODULE)
    (root / "pyproject.toml").write_text(
        "[tool.sparkpush]\n" + config + '\n[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
    )
    return root


# --- connect submit ------------------------------------------------------------------------


def test_submit_shows_each_worker_line_once_whole_and_in_order(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "job.py").write_text(CHATTY_SCRIPT)
    report = tmp_path / "ci" / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "job.py"], env=embedded_server.env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "ROWS [0, 1, 2]" in result.stdout
    assert worker_lines(result.stderr) == CHATTY_LINES
    counts = json.loads(report.read_text())["worker_output"]
    assert (counts["lines"], counts["shown"], counts["left_out"]) == (9, 9, 0)
    kept = tmp_path / "ci" / "report.worker-output.log"
    assert counts["file"] == str(kept)
    assert kept.read_text().splitlines() == CHATTY_LINES


def test_no_worker_output_shows_none(embedded_server: EmbeddedServer, tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(CHATTY_SCRIPT)
    by_flag = run_connect(
        ["submit", "--no-worker-output", "job.py"], env=embedded_server.env, cwd=tmp_path
    )
    by_variable = run_connect(
        ["submit", "job.py"],
        env={**embedded_server.env, "SPARKPUSH_SUBMIT_WORKER_OUTPUT": "0"},
        cwd=tmp_path,
    )
    for result in (by_flag, by_variable):
        assert result.returncode == 0, result.stderr
        assert "ROWS [0, 1, 2]" in result.stdout
        assert "[worker" not in result.stderr


LONG_QUERY = """
import os, time
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()
MARKER = {marker!r}

@udf("long")
def waits(x):
    if x == 0:
        print("early line from the first task")
        return x
    deadline = time.time() + 240
    while not os.path.exists(MARKER) and time.time() < deadline:
        time.sleep(0.2)
    print("late line from the last task")
    return x

spark.range(0, 2, 1, 2).select(waits("id")).collect()
print("QUERY DONE", flush=True)
"""


def test_submit_shows_a_line_while_the_long_query_that_printed_it_still_runs(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    marker = tmp_path / "go-on"
    (tmp_path / "job.py").write_text(LONG_QUERY.format(marker=str(marker)))
    process = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", "job.py"],
        env=embedded_server.env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = StreamLines(process.stderr)
    try:
        stderr.wait_for("[worker waits] early line from the first task")
        # the query still runs: its other task waits for the marker
        assert process.poll() is None
        marker.write_text("go")
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.wait(timeout=300)
    finally:
        marker.touch()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.text()
    assert "QUERY DONE" in stdout
    assert worker_lines(stderr.text()) == [
        "[worker waits] early line from the first task",
        "[worker waits] late line from the last task",
    ]


FLOOD = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()

@udf("long")
def flood(x):
    for i in range(100_000):
        print("flood line", i)
    return x

spark.range(1).select(flood("id")).collect()
"""


def test_a_flood_of_100000_lines_is_cut_with_a_count(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "job.py").write_text(FLOOD)
    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--report", str(report), "job.py"], env=embedded_server.env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = worker_lines(result.stderr)
    assert lines[:2] == ["[worker flood] flood line 0", "[worker flood] flood line 1"]
    assert lines[999] == "[worker flood] flood line 999"
    assert lines[1000:] == [
        "[worker] 99,000 more worker line(s) not shown (the first 1,000 were; "
        f"{tmp_path / 'report.worker-output.log'} keeps 10,000)"
    ]
    counts = json.loads(report.read_text())["worker_output"]
    assert (counts["lines"], counts["shown"], counts["kept"]) == (100_000, 1000, 10_000)
    kept = (tmp_path / "report.worker-output.log").read_text().splitlines()
    assert kept[-1] == "[worker flood] flood line 9999"


TAGGED = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()

@udf("long")
def tagged(x):
    print("from run", {tag!r}, "row", x)
    return x

spark.range(4).repartition(2).select(tagged("id")).collect()
"""


def test_two_concurrent_runs_see_only_their_own_lines(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    runs = {}
    for tag in ("A", "B"):
        folder = tmp_path / tag
        folder.mkdir()
        (folder / "job.py").write_text(TAGGED.format(tag=tag))
        runs[tag] = subprocess.Popen(
            [sys.executable, "-m", "sparkpush", "submit", "job.py"],
            env=embedded_server.env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    for tag, process in runs.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        lines = worker_lines(stderr)
        assert sorted(lines) == [f"[worker tagged] from run {tag} row {x}" for x in range(4)]


LOUD = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()

@udf("long")
def loud(x):
    for i in range(5000):
        print("loud line", i)
    return x

print("ROWS", len(spark.range(1).select(loud("id")).collect()))
"""


def test_a_run_on_the_generation_with_no_worker_output_neither_shows_nor_hangs(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    """The generation keeps worker output (the config's default); `--no-worker-output` turns it
    off on the run's own clone. 5,000 lines in a row once hung a capturing session (a Spark
    bug that every UDF sparkpush sends now guards against)."""
    root = udf_project(tmp_path / "proj")
    (root / "job.py").write_text(LOUD)
    result = run_connect(
        ["submit", "--attach", "--no-worker-output", "job.py"], env=embedded_server.env, cwd=root
    )
    assert result.returncode == 0, result.stderr
    assert "ROWS 1" in result.stdout
    assert "[worker" not in result.stderr


ATTACHED = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("CAPTURE", spark.conf.get("spark.sql.pyspark.worker.logging.enabled"))
print("ANSWER", spark.sql("SELECT shout('att') AS s").first()[0])
"""


@pytest.mark.parametrize("how", ["on", "flag", "env", "config"])
def test_an_attached_run_shows_worker_output_unless_turned_off(
    embedded_server: EmbeddedServer, tmp_path: Path, how: str
) -> None:
    """`--no-worker-output`, its environment variable and `worker_output = false` each silence
    an attached run, whose own clone then does not keep the output either; the report says
    none was followed."""
    root = udf_project(tmp_path / "proj", "worker_output = false" if how == "config" else "")
    (root / "job.py").write_text(ATTACHED)
    env = dict(embedded_server.env)
    args = ["submit", "--attach", "--report", "report.json"]
    if how == "flag":
        args.append("--no-worker-output")
    if how == "env":
        env["SPARKPUSH_SUBMIT_WORKER_OUTPUT"] = "false"
    result = run_connect([*args, "job.py"], env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "ANSWER ATT!" in result.stdout
    counts = json.loads((root / "report.json").read_text())["worker_output"]
    if how == "on":
        assert "CAPTURE true" in result.stdout
        assert worker_lines(result.stderr) == shout_lines("att")
        assert (counts["lines"], counts["shown"], counts["left_out"]) == (3, 3, 0)
    else:
        assert "CAPTURE false" in result.stdout
        assert "[worker" not in result.stderr
        assert counts is None


# --- connect watch --run -------------------------------------------------------------------

WATCHED_APP = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("RUN", spark.sql("SELECT shout('{mark}') AS s").first()[0], flush=True)
"""


def test_watch_run_shows_each_runs_worker_output(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj")
    (root / "app.py").write_text(WATCHED_APP.format(mark="one"))
    with watching(["--run", "app.py"], embedded_server.env, root, with_stderr=True) as (
        watch,
        lines,
    ):
        lines.wait_for(shout_lines("one")[-1], seconds=300)
        first_run = len(lines.seen)
        (root / "app.py").write_text(WATCHED_APP.format(mark="two"))
        lines.wait_for(shout_lines("two")[-1], seconds=300)
        if not any("RUN TWO!" in line for line in lines.seen):
            lines.wait_for("RUN TWO!", seconds=120)
    assert watch.returncode == 0
    assert worker_lines("".join(lines.seen[:first_run])) == shout_lines("one")
    assert worker_lines("".join(lines.seen[first_run:])) == shout_lines("two")


WATCHED_TESTS = """
from pyspark.sql.functions import lit, udf


@udf("string")
def whisper(s):
    print("whispering", s, "{mark}")
    return s.lower()


def test_whisper(spark):
    assert spark.range(1).select(whisper(lit("HI"))).first()[0] == "hi"
    assert spark.sql("SELECT shout('{mark}') AS s").first()[0] == "{mark}".upper() + "!"
    print("TEST DONE {mark}", flush=True)
"""


def watched_test_lines(mark: str) -> list[str]:
    """What a run of WATCHED_TESTS shows: its own UDF's line, then the project UDF's."""
    return [f"[worker whisper] whispering HI {mark}", *shout_lines(mark)]


def test_watch_test_shows_each_runs_worker_output_once(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj")
    (root / "tests").mkdir()
    (root / "tests" / "test_whisper.py").write_text(WATCHED_TESTS.format(mark="one"))
    with watching(["--test", "-s", "-q", "tests"], embedded_server.env, root, with_stderr=True) as (
        watch,
        lines,
    ):
        lines.wait_for("TEST DONE one", seconds=300)
        lines.wait_for("1 passed", seconds=120)  # the run is over: all its lines are out
        first_run = len(lines.seen)
        (root / "tests" / "test_whisper.py").write_text(WATCHED_TESTS.format(mark="two"))
        lines.wait_for("TEST DONE two", seconds=300)
        lines.wait_for("1 passed", seconds=120)
    assert watch.returncode == 0
    assert worker_lines("".join(lines.seen[:first_run])) == watched_test_lines("one")
    assert worker_lines("".join(lines.seen[first_run:])) == watched_test_lines("two")


# --- connect sql ---------------------------------------------------------------------------


def test_sql_shows_what_the_querys_udfs_wrote_and_a_failed_udfs_own_frames(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj")
    answered = run_connect(["sql", "SELECT shout('hi') AS s"], env=embedded_server.env, cwd=root)
    assert answered.returncode == 0, answered.stderr
    assert "HI!" in answered.stdout
    assert worker_lines(answered.stderr) == shout_lines("hi")
    # the next query shows its own lines only
    failed = run_connect(["sql", "SELECT shout('boom') AS s"], env=embedded_server.env, cwd=root)
    assert failed.returncode == 1
    assert worker_lines(failed.stderr) == shout_lines("boom")
    after = failed.stderr.split(shout_lines("boom")[-1], 1)[1].strip().splitlines()
    assert after == [
        "Traceback (most recent call last):",
        f'  File "{root / "udfs.py"}", line 13, in shout',
        '    raise ValueError("no boom please")',
        "ValueError: no boom please",
        "error: a UDF raised on a Python worker: ValueError: no boom please "
        "(udfs.py, line 13, in shout)",
    ]
    quiet = run_connect(["sql", "SELECT 1 AS one"], env=embedded_server.env, cwd=root)
    assert quiet.returncode == 0 and "[worker" not in quiet.stderr


def test_the_config_turns_worker_output_off(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj", "worker_output = false")
    result = run_connect(["sql", "SELECT shout('hi') AS s"], env=embedded_server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "HI!" in result.stdout
    assert "[worker" not in result.stderr


# --- connect test --------------------------------------------------------------------------

USER_TESTS = """
def test_passes(spark):
    assert spark.sql("SELECT shout('passing') AS s").first()[0] == "PASSING!"


def test_fails(spark):
    assert spark.sql("SELECT shout('failing') AS s").first()[0] == "something else"
"""


def test_a_failing_tests_report_has_its_own_worker_output_section(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj")
    (root / "tests").mkdir()
    (root / "tests" / "test_shout.py").write_text(USER_TESTS)
    result = run_connect(["test", "-p", "no:cacheprovider"], env=embedded_server.env, cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    section = result.stdout.split("Captured worker output call", 1)[1].splitlines()[1:4]
    assert section == shout_lines("failing")
    assert "shouting passing" not in result.stdout + result.stderr  # a passing test: quiet
    live = run_connect(
        ["test", "-s", "-p", "no:cacheprovider", "tests/test_shout.py::test_passes"],
        env=embedded_server.env,
        cwd=root,
    )
    assert live.returncode == 0, live.stdout + live.stderr
    assert worker_lines(live.stderr) == shout_lines("passing")
    quiet = run_connect(
        ["test", "--no-worker-output", "-s", "-p", "no:cacheprovider", "tests/test_shout.py"],
        env=embedded_server.env,
        cwd=root,
    )
    assert quiet.returncode == 1, quiet.stdout + quiet.stderr  # test_fails, not a usage error
    assert "1 failed, 1 passed" in quiet.stdout
    assert "[worker" not in quiet.stdout + quiet.stderr


# --- connect shell -------------------------------------------------------------------------


def test_the_shell_shows_a_cells_worker_output_after_it(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = udf_project(tmp_path / "proj")
    argv = [sys.executable, "-m", "sparkpush", "shell", "--plain"]
    shell = Terminal(argv, {**embedded_server.env, "TERM": "dumb"}, root)
    try:
        shell.wait_for(">>> ")
        shell.send(b"spark.sql(\"SELECT shout('pty') AS s\").first()[0]\n")
        shell.wait_for("'PTY!'")
        for line in shout_lines("pty"):
            shell.wait_for(line)
        shell.wait_for(">>> ")
        shell.send(b"spark.sql(\"SELECT shout('boom') AS s\").collect()\n")
        shell.wait_for("The UDF raised on a Python worker:")
        shell.wait_for('raise ValueError("no boom please")')
        shell.wait_for("PythonException: ValueError: no boom please")
        shell.wait_for(shout_lines("boom")[0])
        shell.send(b"exit()\n")
        assert shell.exit_code() == 0
    finally:
        shell.kill()
    output = shell.output.decode()
    assert output.count(shout_lines("pty")[0]) == 1
    assert "pyspark/sql/connect/client" not in output  # PySpark's frames are left out


NOTEBOOK = """
import sys
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "sparkpush")
ip.run_cell("print('ANSWER', spark.sql(\\"SELECT shout('cell') AS s\\").first()[0])")
print("AFTER THE CELL", file=sys.stderr, flush=True)
ip.run_cell("spark.sql(\\"SELECT shout('boom') AS s\\").collect()")
"""


def test_the_ipython_extension_shows_a_cells_worker_output_after_it(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    pytest.importorskip("IPython")
    root = udf_project(tmp_path / "proj")
    result = subprocess.run(
        [sys.executable, "-c", NOTEBOOK],
        env=embedded_server.env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ANSWER CELL!" in result.stdout
    first, second = result.stderr.split("AFTER THE CELL")
    assert worker_lines(first) == shout_lines("cell")
    assert worker_lines(second) == shout_lines("boom")
    assert "PythonException: ValueError: no boom please" in result.stdout + result.stderr
    assert "GRPC Error received" not in result.stderr  # PySpark's client log stays off


class StreamLines:
    """A pipe read in a thread: wait for a text with a deadline, keep all of it."""

    def __init__(self, stream: object) -> None:
        self._lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in stream:  # type: ignore[attr-defined]
                self._queue.put(line)

        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()

    def wait_for(self, text: str, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self._lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in: {''.join(self._lines)}")

    def text(self) -> str:
        """All of it, once the stream is closed (the process ended)."""
        self._thread.join(timeout=60)
        while not self._queue.empty():
            self._lines.append(self._queue.get())
        return "".join(self._lines)


# --- Spark 4.0 servers (scripts/compat.sh runs these with each tested version) --------------


@pytest.mark.compat
def test_an_old_server_gets_one_line_and_nothing_breaks(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    import pyspark

    (tmp_path / "job.py").write_text(CHATTY_SCRIPT)
    submitted = run_connect(["submit", "job.py"], env=embedded_server.env, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    assert "ROWS [0, 1, 2]" in submitted.stdout
    root = udf_project(tmp_path / "proj")
    queried = run_connect(["sql", "SELECT shout('hi') AS s"], env=embedded_server.env, cwd=root)
    assert queried.returncode == 0, queried.stderr
    assert "HI!" in queried.stdout
    major, minor = (int(n) for n in pyspark.__version__.split(".")[:2])
    if (major, minor) >= (4, 1):
        # Spark 4.1 names the UDF of a script's logging record too (4.3 does not)
        shown = [
            line.replace("[worker chatty] WARNING", "[worker] WARNING")
            for line in worker_lines(submitted.stderr)
        ]
        assert shown == CHATTY_LINES
        assert worker_lines(queried.stderr) == shout_lines("hi")
        return
    note = "worker output needs Spark >= 4.1 on the server"
    assert worker_lines(submitted.stderr) == [
        f"[worker] {note} (it runs {pyspark.__version__}); on the embedded server it is in "
        "`connect server logs`"
    ]
    assert worker_lines(queried.stderr) == [
        f"[worker] {note}; on the embedded server it is in `connect server logs`"
    ]
