"""What a submit run ended with: its status, exit code and what it did on the server."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum

from sparkpush.artifacts.upload import UploadReport
from sparkpush.errors import ExitCode, SparkpushError
from sparkpush.workerout.bounded import WorkerOutputCounts


class RunStatus(str, Enum):
    """The `status` field of a report; one per way a run can end."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass
class SubmitOutcome:
    """Filled in as the run goes, so that a report can be written however it ends."""

    exit_code: int
    session_id: str | None
    upload: UploadReport = field(default_factory=UploadReport)
    signal_name: str | None = None
    status: RunStatus = RunStatus.SUCCEEDED
    udfs: list[str] = field(default_factory=list)
    """Names of the UDFs registered on the session (registration is not wired in yet)."""
    interrupted_operations: list[str] = field(default_factory=list)
    error: str | None = None
    run_tag: str | None = None
    session_released: bool = False
    spark_version: str | None = None
    started_at: float = 0.0
    """Seconds since the epoch."""
    duration_s: float = 0.0
    worker_output: WorkerOutputCounts | None = None
    """What the session's Python workers printed and logged (None: not followed)."""
    failure: SparkpushError | None = field(default=None, repr=False)
    """The error behind status ERROR, for the CLI to show once the report is written."""

    def fail(self, exc: SparkpushError) -> None:
        self.status = RunStatus.ERROR
        self.exit_code = exc.exit_code
        self.error = exc.message
        self.failure = exc


def interrupted_before_the_run(started_at: float) -> SubmitOutcome:
    """The outcome of a Ctrl-C (or a SIGINT to the process group) before any session existed."""
    outcome = SubmitOutcome(
        exit_code=ExitCode.INTERRUPTED,
        session_id=None,
        status=RunStatus.INTERRUPTED,
        signal_name="SIGINT",
        error="stopped by SIGINT",
        started_at=started_at,
    )
    outcome.duration_s = time.time() - started_at
    return outcome
