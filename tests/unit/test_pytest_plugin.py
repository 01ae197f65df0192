"""The pytest plugin without a server: inert unless asked, overridable, one-line failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_env

UNREACHABLE = "sc://localhost:1"


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def suite(root: Path, tests: str, conftest: str = "", config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.sparkpush]\n" + config)
    (root / "test_suite.py").write_text(tests)
    if conftest:
        (root / "conftest.py").write_text(conftest)
    return root


USES_SPARK = """
from pathlib import Path

def test_first(spark):
    Path("started").write_text("yes")
"""


def test_loading_the_plugin_imports_neither_pyspark_nor_grpc() -> None:
    check = (
        "import sys, sparkpush.live.pytest_plugin\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyspark', 'grpc', 'pyarrow', 'pandas', 'cloudpickle'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_plugin_is_registered_through_its_entry_point(tmp_path: Path) -> None:
    root = suite(tmp_path, "def test_nothing():\n    pass\n")
    result = run_pytest(root, "--trace-config", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sparkpush.live.pytest_plugin" in result.stdout


def test_a_suite_without_the_spark_fixtures_never_reaches_for_a_server(tmp_path: Path) -> None:
    root = suite(tmp_path, "def test_plain():\n    assert 1 + 1 == 2\n")
    result = run_pytest(root, "-q", "--sparkpush-remote", UNREACHABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sparkpush" not in result.stdout + result.stderr
    assert not (root / ".sparkpush").exists()


def test_a_conftest_spark_fixture_wins_over_the_plugin(tmp_path: Path) -> None:
    conftest = (
        "import pytest\n\n@pytest.fixture(scope='session')\ndef spark():\n    return 'mine'\n"
    )
    tests = "def test_mine(spark):\n    assert spark == 'mine'\n"
    root = suite(tmp_path, tests, conftest)
    result = run_pytest(root, "-q", "--sparkpush-remote", UNREACHABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_conftest_fixture_wrapping_ours_still_uses_ours(tmp_path: Path) -> None:
    conftest = (
        "import pytest\n\n@pytest.fixture(scope='session')\ndef spark(spark):\n    return spark\n"
    )
    root = suite(tmp_path, USES_SPARK, conftest)
    result = run_pytest(root, "-q", "--sparkpush-remote", UNREACHABLE)
    assert result.returncode == 3, result.stdout + result.stderr
    assert not (root / "started").exists()


@pytest.mark.parametrize(
    ("config", "args", "code", "message"),
    [
        ("", ("--sparkpush-remote", UNREACHABLE), 3, "cannot reach Spark Connect server"),
        ("", ("--sparkpush-remote", "http://x"), 2, "must start with 'sc://'"),
        ("colour = 1\n", ("--sparkpush-remote", UNREACHABLE), 2, "colour"),
    ],
    ids=["unreachable", "bad-url", "bad-config"],
)
def test_a_setup_failure_is_one_line_its_exit_code_and_no_test_started(
    tmp_path: Path, config: str, args: tuple[str, ...], code: int, message: str
) -> None:
    root = suite(tmp_path, USES_SPARK, config=config)
    result = run_pytest(root, "-q", *args)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert message in output
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if "error:" in line] == [
        next(line for line in output.splitlines() if message in line)
    ]
    assert not (root / "started").exists()


API_GAP = """
class PySparkAttributeError(AttributeError):
    def getCondition(self):
        return "JVM_ATTRIBUTE_NOT_SUPPORTED"


def test_uses_jdf():
    raise PySparkAttributeError("Attribute `_jdf` is not supported in Spark Connect")


def test_fails_otherwise():
    assert 1 == 2
"""


def test_a_test_failing_on_a_spark_connect_api_gap_gets_the_submit_hint(tmp_path: Path) -> None:
    from sparkpush.submit.script_error import NO_RDD_HINT

    root = suite(tmp_path, API_GAP)
    result = run_pytest(root, "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count(NO_RDD_HINT) == 1
    assert "- sparkpush -" in result.stdout
