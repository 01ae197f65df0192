"""Running PySpark code as a second client of an existing session (like another user would)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sparkpush.connect.session_client import default_user_id
from tests.conftest import EmbeddedServer, clean_env

_PRELUDE = """
import os
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
spark.release_session_on_close = False
"""


def query_session(
    server: EmbeddedServer, session_id: str, body: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `body` (which sees `spark`) in a fresh interpreter attached to `session_id`."""
    code = _PRELUDE + textwrap.dedent(body) + "\nspark.stop()\n"
    env = clean_env(
        SPARK_REMOTE=(
            f"sc://localhost:{server.port}/;session_id={session_id};user_id={default_user_id()}"
        ),
        SPARK_CONNECT_AUTHENTICATE_TOKEN=server.token,
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
