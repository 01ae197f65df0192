"""The script of `connect submit` imports what `--py-files` and the project's Python artifacts
ship (a module, a package, a pure wheel), as spark-submit puts them on the driver's path, and
its UDFs still find them on the workers: fresh and attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import make_pure_wheel

pytestmark = pytest.mark.integration

DRIVER = """
import helpermod
import wheelmod
from mypkg.helpers import tag
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()


@udf("string")
def on_workers(_):
    import helpermod, wheelmod
    from mypkg.helpers import tag
    return "|".join((helpermod.NAME, wheelmod.g(), tag()))


print("DRIVER", helpermod.NAME, wheelmod.g(), tag())
print("WORKERS", spark.range(1).select(on_workers("id")).first()[0])
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src" / "mypkg").mkdir(parents=True)
    (root / "src" / "mypkg" / "__init__.py").write_text("")
    (root / "src" / "mypkg" / "helpers.py").write_text("def tag():\n    return 'pkg'\n")
    (root / "dist").mkdir()
    make_pure_wheel(
        root / "dist" / "wheelmod-1.0-py3-none-any.whl",
        "wheelmod",
        "def g():\n    return 'wheel'\n",
    )
    (root / "libs").mkdir()
    (root / "libs" / "helpermod.py").write_text("NAME = 'module'\n")
    (root / "drv.py").write_text(DRIVER)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npython = ["src/mypkg"]\nwheels = ["dist/*.whl"]\n'
    )
    return root


@pytest.mark.parametrize("mode", ["--fresh", "--attach"])
def test_the_script_imports_what_py_files_and_the_project_ship(
    embedded_server: EmbeddedServer, project: Path, mode: str
) -> None:
    py_files = [] if mode == "--attach" else ["--py-files", "libs/helpermod.py"]
    if mode == "--attach":  # the module comes from the project's config instead
        text = (project / "pyproject.toml").read_text()
        (project / "pyproject.toml").write_text(text + 'pyfiles = ["libs/helpermod.py"]\n')
    result = run_connect(
        ["submit", mode, *py_files, "drv.py"], env=embedded_server.env, cwd=project, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "DRIVER module wheel pkg" in result.stdout
    assert "WORKERS module|wheel|pkg" in result.stdout
