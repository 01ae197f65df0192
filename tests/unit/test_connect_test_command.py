"""`connect test` without a server (its suites never ask for `spark`): pytest's exit code, the
counts in --json and --report, and what `connect watch --test` watches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sparkpush.live.spare import SpareClone, keep_spare, take_spare
from sparkpush.live.watched_tests import paths_under_test, sources_under_test
from tests.conftest import clean_env, run_connect
from tests.support import wait_until

MIXED = """
import pytest


def test_passes():
    pass


def test_fails():
    assert False


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False


@pytest.fixture
def broken():
    raise RuntimeError("setup")


def test_errors(broken):
    pass
"""


def write_suite(root: Path, body: str) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.sparkpush]\n")
    (root / "tests" / "test_mixed.py").write_text(body)
    return root


def connect_test(root: Path, *args: str) -> tuple[int, str, str]:
    env = clean_env(XDG_STATE_HOME=str(root / "state"))
    # a remote that nothing answers: a suite without `spark` must never need it
    result = run_connect(["test", "--remote", "sc://localhost:1", *args], env=env, cwd=root)
    return result.returncode, result.stdout, result.stderr


def test_counts_exit_code_and_report_of_a_mixed_suite(tmp_path: Path) -> None:
    root = write_suite(tmp_path, MIXED)
    code, stdout, stderr = connect_test(root, "--json", "--report", "out/r.json", "-q", "tests")
    assert code == 1, stdout + stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["counts"] == {
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 0,
    }
    assert summary["status"] == "failed" and summary["exit_code"] == 1
    assert summary["session_id"] is None and summary["generation"] is None
    assert json.loads((root / "out" / "r.json").read_text()) == summary


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ("def test_ok():\n    pass\n", 0, "passed"),
        ("", 5, "no_tests"),
        ("raise ImportError('broken module')\n", 2, "failed"),
    ],
    ids=["passed", "no-tests", "collection-error"],
)
def test_the_exit_code_is_pytest_s(tmp_path: Path, body: str, code: int, status: str) -> None:
    root = write_suite(tmp_path, body)
    got, stdout, stderr = connect_test(root, "--json", "-q", "tests")
    assert got == code, stdout + stderr
    assert json.loads(stdout.strip().splitlines()[-1])["status"] == status


def test_pytest_options_pass_through(tmp_path: Path) -> None:
    root = write_suite(tmp_path, MIXED)
    code, stdout, stderr = connect_test(root, "--json", "-q", "-k", "passes", "tests")
    assert code == 0, stdout + stderr
    assert json.loads(stdout.strip().splitlines()[-1])["counts"]["passed"] == 1


def test_test_sources_are_test_files_conftests_and_what_they_import(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "tests" / "__pycache__").mkdir(parents=True)
    (root / ".venv").mkdir()
    (root / "lib.py").write_text("X = 1\n")
    (root / "unrelated.py").write_text("Y = 1\n")
    (root / "tests" / "conftest.py").write_text("")
    (root / "tests" / "test_a.py").write_text("import lib\n")
    (root / "tests" / "helper.py").write_text("")
    (root / ".venv" / "test_vendored.py").write_text("")
    folders = paths_under_test(("-q", "tests/test_a.py::test_x", "-k", "x", "tests"), root)
    assert folders == ((root / "tests" / "test_a.py").resolve(), (root / "tests").resolve())
    assert paths_under_test(("-q",), root) == (root.resolve(),)
    found = sources_under_test(paths_under_test((), root), root)
    names = sorted(p.relative_to(root.resolve()).as_posix() for p in found)
    assert names == ["lib.py", "tests/conftest.py", "tests/test_a.py"]


def test_a_spare_is_taken_once_and_never_overwritten(tmp_path: Path) -> None:
    first = SpareClone("s1", "ss1", "base", "digest", "sc://localhost:1")
    second = SpareClone("s2", "ss2", "base", "digest", "sc://localhost:1")
    assert keep_spare(tmp_path, first)
    assert not keep_spare(tmp_path, second)  # the caller releases its own
    spare_file = tmp_path / ".sparkpush" / "spare-clone.json"
    assert oct(os.stat(spare_file).st_mode & 0o777) == "0o600"
    assert take_spare(tmp_path) == first
    assert take_spare(tmp_path) is None
    assert sorted(p.name for p in (tmp_path / ".sparkpush").iterdir()) == []
    spare_file.write_text('{"from": "another version"}')
    assert take_spare(tmp_path) is None


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_run_as_interrupted_with_its_exit_code(
    tmp_path: Path, sent: signal.Signals, code: int
) -> None:
    body = (
        "import time\nfrom pathlib import Path\n\n"
        "def test_waits():\n    Path('started').write_text('')\n    time.sleep(300)\n"
    )
    root = write_suite(tmp_path, body)
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "test", "--remote", "sc://localhost:1", "--json"],
        cwd=root,
        env=clean_env(XDG_STATE_HOME=str(root / "state")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def started() -> bool:
            assert run.poll() is None, "connect test ended before its test started"
            return (root / "started").exists()

        wait_until(started, 60, what="the test to start")
        run.send_signal(sent)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == code, stdout + stderr
    assert json.loads(stdout.strip().splitlines()[-1])["status"] == "interrupted"


CLASSIC_SESSION = (
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.master('local[2]').appName('suite').getOrCreate()\n"
)


@pytest.mark.parametrize(
    "where", ["tests/conftest.py", "tests/helper.py"], ids=["conftest", "test-module-import"]
)
def test_a_suite_s_own_session_asks_the_run_not_a_classic_jvm_and_a_failure_is_one_line(
    tmp_path: Path, where: str
) -> None:
    root = write_suite(tmp_path, "from tests import helper\n\ndef test_x():\n    pass\n")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "helper.py").write_text("")
    (root / where).write_text(CLASSIC_SESSION)
    env = clean_env(
        XDG_STATE_HOME=str(root / "state"),
        # a classic launch would fail otherwise: spark-submit refuses these arguments
        PYSPARK_SUBMIT_ARGS="--not-a-spark-submit-option pyspark-shell",
    )
    result = run_connect(
        ["test", "--remote", "sc://localhost:1", "--json", "-q", "tests"], env=env, cwd=root
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    errors = [line for line in output.splitlines() if "error: cannot reach" in line]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "JAVA_GATEWAY" not in output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "error" and "cannot reach" in report["error"]
