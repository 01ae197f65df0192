"""`connect watch --run APP.py` re-runs the script on every change that can change its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer
from tests.integration.conftest import watching

pytestmark = pytest.mark.integration

UDF_MODULE = """
from pyspark.sql.functions import udf

import helpers


@udf("string")
def answer():
    return helpers.word()
"""

APP = """
from pyspark.sql import SparkSession

import lib

spark = SparkSession.builder.getOrCreate()
print("run", spark.sql("SELECT answer()").first()[0], lib.VALUE, "{mark}", flush=True)
"""


def test_watch_run_reruns_on_udf_script_and_local_import_edits(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "udfs.py").write_text(UDF_MODULE)
    (root / "helpers.py").write_text("def word():\n    return 'w1'\n")
    (root / "lib.py").write_text("VALUE = 'lib1'\n")
    (root / "app.py").write_text(APP.format(mark="app1"))
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    with watching(["--run", "app.py"], embedded_server.env, root) as (watch, lines):
        lines.wait_for("run w1 lib1 app1")
        # a UDF edit is re-registered in place: same generation, new code
        (root / "helpers.py").write_text("def word():\n    return 'w2'\n")
        lines.wait_for("run w2 lib1 app1")
        # a project module the script imports, shipped in no artifact
        (root / "lib.py").write_text("VALUE = 'lib2'\n")
        lines.wait_for("run w2 lib2 app1")
        (root / "app.py").write_text(APP.format(mark="app2"))
        lines.wait_for("run w2 lib2 app2")
    assert watch.returncode == 0
