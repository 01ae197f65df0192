"""`connect watch --run APP.py` re-runs the script on every change that can change its output."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer

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


class Lines:
    """The watch's stdout, read in a thread so that waiting for a line has a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(
            target=lambda: [self._queue.put(line) for line in stdout], daemon=True
        ).start()

    def wait_for(self, text: str, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in the watch's output: {self.seen}")


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
    watch = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "watch", "--run", "app.py"],
        env=embedded_server.env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = Lines(watch)
        lines.wait_for("run w1 lib1 app1")
        # a UDF edit is re-registered in place: same generation, new code
        (root / "helpers.py").write_text("def word():\n    return 'w2'\n")
        lines.wait_for("run w2 lib1 app1")
        # a project module the script imports, shipped in no artifact
        (root / "lib.py").write_text("VALUE = 'lib2'\n")
        lines.wait_for("run w2 lib2 app1")
        (root / "app.py").write_text(APP.format(mark="app2"))
        lines.wait_for("run w2 lib2 app2")
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            code = watch.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watch.kill()
            raise
    assert code == 0
