"""The run report (`--report FILE`) and the one-line summary (`--json`): same fields."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sparkpush.connect.connection_string import ConnectionSpec
from sparkpush.state.private_files import write_atomically
from sparkpush.submit.outcome import SubmitOutcome

REPORT_VERSION = 1


def remote_for_report(spec: ConnectionSpec | None) -> str | None:
    """The server's URL with neither token nor extra headers (they may hold credentials)."""
    if spec is None:
        return None
    return replace(spec, token=None, metadata=(), session_id=None).display()


def build_report(
    outcome: SubmitOutcome,
    *,
    app: str | None,
    module: str | None,
    args: tuple[str, ...],
    remote: str | None,
) -> dict[str, Any]:
    """The report as plain JSON values."""
    started = (
        datetime.fromtimestamp(outcome.started_at, tz=timezone.utc) if outcome.started_at else None
    )
    return {
        "version": REPORT_VERSION,
        "status": outcome.status.value,
        "exit_code": outcome.exit_code,
        "error": outcome.error,
        "signal": outcome.signal_name,
        "session_id": outcome.session_id,
        "run_tag": outcome.run_tag,
        "session_released": outcome.session_released,
        "remote": remote,
        "spark_version": outcome.spark_version,
        "app": app,
        "module": module,
        "args": list(args),
        "started_at": started.isoformat(timespec="milliseconds") if started else None,
        "duration_s": round(outcome.duration_s, 3),
        "artifacts": [
            {"name": a.name, "bytes": a.size, "sha256": a.sha256} for a in outcome.upload.artifacts
        ],
        "udfs": list(outcome.udfs),
        "interrupted_operations": sorted(set(outcome.interrupted_operations)),
        "worker_output": outcome.worker_output.to_json() if outcome.worker_output else None,
    }


def summary_line(report: dict[str, Any]) -> str:
    """The report on one line, for stdout after the script's own output."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"))


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): CI never reads a torn report.

    Not `private_files.write_private_json`: that makes the folder 0700, and a report usually
    goes in the CI job's own workspace.
    """
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()
    umask = os.umask(0)
    os.umask(umask)
    write_atomically(path, data, 0o666 & ~umask)
