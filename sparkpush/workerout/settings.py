"""Whether a command shows worker output, and what a session needs for it."""

from __future__ import annotations

import re
from pathlib import Path

LOGGING_CONF = "spark.sql.pyspark.worker.logging.enabled"
"""The runtime session conf (Spark >= 4.1) that makes a session keep its workers' output."""
FIRST_VERSION = (4, 1)
ENABLED_ENV = "SPARKPUSH_WORKER_OUTPUT"
"""Set to `1` in the script child of `connect submit` when worker output is on."""


def worker_output_conf(enabled: bool) -> dict[str, str]:
    """The session conf every session sparkpush creates gets (project confs come after it and
    win). Said either way: a run's own clone of a generation that keeps worker output does not
    keep it (nor pay for it) under `--no-worker-output`."""
    return {LOGGING_CONF: "true" if enabled else "false"}


def worker_output_on(flag: bool | None, configured: bool) -> bool:
    """`--worker-output/--no-worker-output` (or its environment variable) over the config."""
    return configured if flag is None else flag


def has_log_view(spark_version: str | None) -> bool:
    """Whether a server of this version keeps worker output (unknown: assume it does)."""
    if not spark_version:
        return True
    found = re.match(r"(\d+)\.(\d+)", spark_version)
    if found is None:
        return True
    return (int(found.group(1)), int(found.group(2))) >= FIRST_VERSION


def needs_newer_server(spark_version: str | None = None) -> str:
    """The one line shown instead of worker output on an older server."""
    runs = f" (it runs {spark_version})" if spark_version else ""
    return (
        f"worker output needs Spark >= 4.1 on the server{runs}; "
        "on the embedded server it is in `connect server logs`"
    )


def kept_file_for(report_path: Path) -> Path:
    """Where `--report FILE` keeps the run's worker lines: next to the report."""
    return report_path.with_name(report_path.stem + ".worker-output.log")
