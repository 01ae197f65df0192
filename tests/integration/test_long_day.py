"""A team's long day on one embedded server: three projects each with a daemon under scripted
edits, a CI matrix of four parallel `connect submit`s and a `connect test`, all at once.

Every answer names its project and its code's version, so a stale generation (an older
version than the one written before the call) or a session crossing into another project (the
wrong name) is caught; what a submit sets in its clone must never reach the generation. Disk,
Python processes and sessions are read from the server while it runs.

Runs for `SPARKPUSH_SOAK_SECONDS` (default 60, what the whole suite and CI run: about two
minutes with the daemons' starts on 2 idle cores), and each worker does at least its minimum
(two edits per project, one round of the matrix, one `connect test`) however loaded the machine
is. The soak proper is five minutes: `SPARKPUSH_SOAK_SECONDS=300 pytest -m soak` (about a
hundred generations and a few dozen submits on 2 cores, enough to cycle the executor's view of
sessions and the reaper's many times over). Marked `soak` (and `integration`): `pytest -m "not
soak"` leaves it out.
"""

from __future__ import annotations

import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sparkpush.state.server_state import StateFiles
from tests.conftest import EmbeddedServer, run_connect
from tests.server_resources import ServerReading, read_server

pytestmark = [pytest.mark.integration, pytest.mark.soak]

SECONDS = float(os.environ.get("SPARKPUSH_SOAK_SECONDS", "60"))
PROJECTS = 3
MATRIX = 4
BASE_MB = 10
MB = 1 << 20
MARKER = "spark.sparkpush.soak.marker"
PYTHON_PROCESSES_PER_SESSION = 3
"""A session's Python worker daemon and its workers, one per task slot (local[2]). Spark keeps
them 60-70 s after the session's last task and the reaper then stops the daemon: within this
test none is due, so the count follows the sessions used, not a leak; more than this per
session used is one (a daemon per query, workers never reused)."""
MIN_EDITS = 2
"""Edits per project however short the run: with the matrix and a test, runs enough to judge."""

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def app_version(_):
    import app.version

    return f"{app.version.PROJECT}:{app.version.VERSION}"
"""

SUBMIT_SCRIPT = f"""
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.conf.set("{MARKER}", sys.argv[1])  # stays in this run's clone
spark.range(1).createOrReplaceTempView("soak_marker_view")
print("answer", spark.sql("SELECT app_version(1) AS v").first()[0])
"""

TEST_FILE = """
import os


def test_the_generation_answers_this_projects_code(spark):
    project, version = spark.sql("SELECT app_version(1) AS v").first()[0].split(":")
    assert project == os.environ["SOAK_PROJECT"]
    assert int(version) >= int(os.environ["SOAK_AT_LEAST"])
"""


@dataclass
class Project:
    name: str
    root: Path
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write_version(self, version: int) -> None:
        target = self.root / "src" / "app" / "version.py"
        staged = target.with_suffix(".tmp")
        staged.write_text(f"PROJECT = {self.name!r}\nVERSION = {version}\n")
        os.replace(staged, target)
        self.version = version


def make_project(root: Path, name: str) -> Project:
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "__init__.py").write_text("")
    (root / "lib").mkdir()
    with zipfile.ZipFile(root / "lib" / "deps.jar", "w", zipfile.ZIP_STORED) as jar:
        jar.writestr("data/blob.bin", os.urandom(BASE_MB * MB))
    (root / "udfs.py").write_text(UDFS)
    (root / "app.py").write_text(SUBMIT_SCRIPT)
    (root / "tests").mkdir()
    (root / "tests" / "test_version.py").write_text(TEST_FILE)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npython = ["src/app"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
    )
    project = Project(name, root)
    project.write_version(0)
    return project


@dataclass
class Findings:
    runs: int = 0
    wrong: list[str] = field(default_factory=list)
    readings: list[ServerReading] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, problem: str | None) -> None:
        with self.lock:
            self.runs += 1
            if problem is not None:
                self.wrong.append(f"{what}: {problem}")


@pytest.fixture
def projects(embedded_server: EmbeddedServer, tmp_path: Path) -> Iterator[list[Project]]:
    made = [make_project(tmp_path / f"p{i}", f"p{i}") for i in range(PROJECTS)]
    try:
        with ThreadPoolExecutor(PROJECTS) as pool:  # side by side, as a team's would
            starts = pool.map(
                lambda p: run_connect(["daemon", "start"], env=embedded_server.env, cwd=p.root),
                made,
            )
            for started in starts:
                assert started.returncode == 0, started.stderr
        yield made
    finally:
        for project in made:
            run_connect(["daemon", "stop"], env=embedded_server.env, cwd=project.root)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def what_failed(stderr: str) -> str:
    """The line of a failed run's output that says why: sparkpush's `error:` or the
    exception's, not the last line of a Java stack trace."""
    for line in stderr.splitlines():
        if line.startswith("error:") or "Exception:" in line or "Error:" in line:
            return line.strip()[:500]
    return last_line(stderr)


def check_answer(project: Project, answer: str, at_least: int, at_most: int) -> str | None:
    """None when `answer` is this project's code, no older than `at_least`."""
    name, _, version = answer.partition(":")
    if name != project.name:
        return f"answered {answer!r}: another project's session"
    if not version.isdigit() or not at_least <= int(version) <= at_most:
        return f"answered {answer!r}, wanted a version in {at_least}..{at_most}: stale"
    return None


def editor(server: EmbeddedServer, project: Project, until: float, found: Findings) -> None:
    """Edit the project's code, then ask for the answer: the new version, never an old one."""
    edits = 0
    while time.monotonic() < until or edits < MIN_EDITS:
        edits += 1
        with project.lock:
            version = project.version + 1
            project.write_version(version)
        done = run_connect(
            ["sql", "--json", f"SELECT app_version(1) AS v, '${{{MARKER}}}' AS marker"],
            env=server.env,
            cwd=project.root,
        )
        if done.returncode != 0:
            failed = what_failed(done.stderr)
            found.record("sql", f"{project.name}: exit {done.returncode}: {failed}")
            continue
        row = json.loads(last_line(done.stdout))[0]
        problem = check_answer(project, str(row["v"]), version, version)
        if problem is None and row["marker"]:  # an unset conf substitutes as ''
            problem = f"the generation has a submit's conf: {row['marker']!r}"
        found.record("sql", problem and f"{project.name}: {problem}")


def submit(server: EmbeddedServer, project: Project, run: int, found: Findings) -> None:
    at_least = project.version
    done = run_connect(["submit", "app.py", f"run-{run}"], env=server.env, cwd=project.root)
    answers = [
        line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("answer ")
    ]
    if done.returncode != 0 or not answers:
        found.record("submit", f"exit {done.returncode}: {what_failed(done.stderr)}")
        return
    found.record("submit", check_answer(project, answers[0], at_least, project.version))


def ci_matrix(server: EmbeddedServer, project: Project, until: float, found: Findings) -> None:
    """Four submits side by side, again and again: each on its own clone of the generation."""
    run = 0
    with ThreadPoolExecutor(MATRIX) as pool:
        while time.monotonic() < until or run == 0:
            jobs = [pool.submit(submit, server, project, run + i, found) for i in range(MATRIX)]
            run += MATRIX
            for job in jobs:
                job.result()


def run_tests(server: EmbeddedServer, project: Project, until: float, found: Findings) -> None:
    runs = 0
    while time.monotonic() < until or runs == 0:
        runs += 1
        env = {**server.env, "SOAK_PROJECT": project.name, "SOAK_AT_LEAST": str(project.version)}
        done = run_connect(["test", "-q", "tests"], env=env, cwd=project.root, timeout=600)
        found.record("test", None if done.returncode == 0 else last_line(done.stdout))


def watch_server(server: EmbeddedServer, done: threading.Event, found: Findings) -> None:
    """Read the server's disk, processes and sessions every 10 s until the load is `done`, and
    once after it: what the sessions released meanwhile left behind."""
    files = StateFiles(server.state_home / "sparkpush")
    state = files.load()
    assert state is not None
    found.readings.append(read_server(state.pid, files.scratch, files.log))
    while not done.wait(10):
        found.readings.append(read_server(state.pid, files.scratch, files.log))
    found.readings.append(read_server(state.pid, files.scratch, files.log))


@pytest.mark.timeout(SECONDS + 1500)  # the daemons' starts and each worker's minimum, loaded
def test_three_projects_a_ci_matrix_and_tests_share_one_server_without_a_wrong_answer(
    embedded_server: EmbeddedServer, projects: list[Project]
) -> None:
    found = Findings()
    until = time.monotonic() + SECONDS
    p0, p1, _ = projects
    workers: list[tuple[Callable[..., None], tuple[object, ...]]] = [
        *((editor, (embedded_server, p, until, found)) for p in projects),
        (ci_matrix, (embedded_server, p0, until, found)),
        (run_tests, (embedded_server, p1, until, found)),
    ]
    done = threading.Event()
    with ThreadPoolExecutor(len(workers) + 1) as pool:
        watcher = pool.submit(watch_server, embedded_server, done, found)
        try:
            for job in [pool.submit(work, *args) for work, args in workers]:
                job.result()
        finally:
            done.set()
        watcher.result()
    most = {
        key: max(getattr(r, key) for r in found.readings)
        for key in ("disk_bytes", "python_processes", "live_sessions", "jvm_rss")
    }
    print(f"{found.runs} runs in {SECONDS:.0f} s; at most {most}")
    assert found.wrong == [], f"{len(found.wrong)} wrong of {found.runs} runs: {found.wrong}"
    assert found.runs >= MIN_EDITS * PROJECTS + MATRIX + 1, "a worker skipped its minimum"
    # the server is the test session's: what earlier tests left on it is not this test's
    before = found.readings[0]
    for reading in found.readings:
        # a session that ran a task holds its artifacts and the executor's copy of them
        bound = before.disk_bytes + (2 * reading.live_sessions + 2) * BASE_MB * MB
        assert reading.disk_bytes <= bound, (before, reading)
        # the sessions live at the start (the projects' first generations) may start theirs now
        used = reading.accessed_sessions - before.accessed_sessions + before.live_sessions
        added = reading.python_processes - before.python_processes
        assert added <= PYTHON_PROCESSES_PER_SESSION * used, (before, reading)
