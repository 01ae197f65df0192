"""The parent side of `connect submit`: lease a session, run the child, stop it, clean up.

Whatever happens (script success or failure, --timeout, SIGINT, SIGTERM, server errors) the
run ends with a SubmitOutcome, the run's operations interrupted and an owned session released.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.connect.liveness import DEFAULT_TIMEOUT_S, LivenessProbe
from sparkpush.connect.session import Session
from sparkpush.errors import ServerHungError, ServerUnreachableError, SparkpushError, UsageError
from sparkpush.progress.notify import Notify, ProgressCallback
from sparkpush.remote.target import Target
from sparkpush.submit.bounded import BoundedCall, CallTimedOut
from sparkpush.submit.control import RunControl, StopReason
from sparkpush.submit.driver_path import DRIVER_PATH_ENV, driver_path_entries
from sparkpush.submit.forked_loader import ForkedLoader
from sparkpush.submit.group_interrupt import STOP_FILE_ENV
from sparkpush.submit.outcome import RunStatus, SubmitOutcome
from sparkpush.submit.prefork import ForkedScript
from sparkpush.submit.run_session import (
    UNRESPONSIVE_CALL_S,
    SessionLease,
    end_session,
    fresh_session,
    interrupt_run,
    prepare_session,
)
from sparkpush.submit.script_error import (
    SCRIPT_ERROR_ENV,
    ScriptError,
    read_script_error,
    script_error_file,
)
from sparkpush.submit.script_process import (
    STOP_GRACE_S,
    ScriptProcess,
    exit_status,
    script_argv,
    script_environment,
    server_is_local,
    start_script,
    stop_script,
)
from sparkpush.submit.worker_output import followed_worker_output
from sparkpush.udf.loading import Loader

__all__ = [
    "RunStatus",
    "SubmitOutcome",
    "SubmitRequest",
    "check_app",
    "run_on_lease",
    "run_submit",
]

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often the parent looks at the child, the deadline and signals."""


@dataclass(frozen=True)
class SubmitRequest:
    """What to run: a script path or a module, its arguments, and what the session needs."""

    app: str | None
    module: str | None = None
    args: tuple[str, ...] = ()
    artifacts: Sequence[LocalArtifact] = ()
    conf: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    """Deadline of the whole run, session preparation included."""
    query_progress: bool = False
    """Draw query progress (stages, tasks) from the child on stderr."""
    driver_path: Sequence[LocalArtifact] = ()
    """The Python artifacts (pyfiles, packages, pure wheels) the script's own `sys.path` gets,
    as spark-submit does for `--py-files` (also when the session holds them already)."""
    register_udfs: Callable[[Session, Loader | None], list[str]] | None = None
    """Registers the project's UDFs on a fresh session before the script runs (with the
    given UDF loader; None: a new Python process)."""
    worker_output: bool = False
    """Show what the session's Python workers print and log (see `worker_output`)."""
    worker_output_relevant: bool = False
    """The session has the project's Python UDFs (not only the script's own)."""
    worker_output_file: Path | None = None
    """Where to keep the run's worker lines (next to the `--report`)."""
    liveness_timeout_s: float | None = DEFAULT_TIMEOUT_S
    """The server counts as hung once a liveness question waits this long (None: never)."""


def check_app(request: SubmitRequest) -> None:
    """Fail early, before any server work, when the script cannot be run."""
    if request.module is not None:
        return
    if request.app is None:
        raise UsageError("no script given: connect submit APP.py [ARGS...]")
    path = Path(request.app)
    if not path.exists():
        raise UsageError(f"script {request.app} does not exist")
    if not path.is_file():
        raise UsageError(f"script {request.app} is not a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"script {request.app} is not readable")


def run_submit(
    target: Target,
    request: SubmitRequest,
    notify: Notify,
    on_progress: ProgressCallback | None = None,
    *,
    forked: ForkedScript | None = None,
    lease: SessionLease | None = None,
) -> SubmitOutcome:
    """Run the request on a fresh session, released at the end whatever happens, or on `lease`.

    `forked` is a child from `prefork.prefork()` (made before any gRPC channel) to run
    the script in; without it a new Python process is spawned.
    """
    try:
        check_app(request)
        control = RunControl(request.timeout_s)
        lease = lease if lease is not None else fresh_session(target)
        return run_on_lease(target, lease, request, notify, on_progress, control, forked=forked)
    finally:
        if forked is not None:
            forked.abandon()


def run_on_lease(
    target: Target,
    lease: SessionLease,
    request: SubmitRequest,
    notify: Notify,
    on_progress: ProgressCallback | None = None,
    control: RunControl | None = None,
    *,
    forked: ForkedScript | None = None,
) -> SubmitOutcome:
    """Prepare `lease`, run the child on it, and end it (released only if owned)."""
    control = control or RunControl(request.timeout_s)
    started = time.monotonic()
    outcome = SubmitOutcome(
        exit_code=0, session_id=lease.session_id, run_tag=lease.run_tag, started_at=time.time()
    )
    with control.handling_signals():
        try:
            if _prepare(lease, request, control, on_progress, outcome, forked):
                if lease.upload.artifacts:
                    notify(
                        f"uploaded {len(lease.upload.artifacts)} artifact(s), "
                        f"{lease.upload.bytes} bytes, in {lease.upload.seconds:.2f} s"
                    )
                _supervise(target, lease, request, control, outcome, forked, notify)
        except SparkpushError as exc:
            outcome.fail(exc)
        finally:
            if control.urgent.is_set():
                lease.client.close()
            else:
                outcome.session_released = end_session(lease)
    outcome.duration_s = time.monotonic() - started
    return outcome


def _prepare(
    lease: SessionLease,
    request: SubmitRequest,
    control: RunControl,
    on_progress: ProgressCallback | None,
    outcome: SubmitOutcome,
    forked: ForkedScript | None,
) -> bool:
    """Prepare the session in the background so that a deadline or signal can cut it short."""

    # the waiting script child has PySpark imported already: it loads UDFs faster
    loader = ForkedLoader(forked) if forked is not None else None

    def prepare() -> None:
        prepare_session(lease, request.artifacts, request.conf, on_progress)
        if request.register_udfs is not None and lease.owned:
            outcome.udfs = request.register_udfs(lease.client, loader)

    call = BoundedCall(prepare, name="sparkpush-prepare")
    while True:
        try:
            call.wait(POLL_S)
        except CallTimedOut:
            reason = control.stop_reason
            if reason is not None:
                if loader is not None:
                    loader.stop()
                _record_stop(outcome, reason, request)
                return False
            continue
        outcome.upload = lease.upload
        outcome.spark_version = lease.spark_version
        return True


def _supervise(
    target: Target,
    lease: SessionLease,
    request: SubmitRequest,
    control: RunControl,
    outcome: SubmitOutcome,
    forked: ForkedScript | None,
    notify: Notify,
) -> None:
    """Run the child while the session's worker output is followed (shown on stderr)."""
    with followed_worker_output(
        target,
        lease,
        outcome,
        enabled=request.worker_output,
        relevant=request.worker_output_relevant,
        local_server=server_is_local(target),
        keep_path=request.worker_output_file,
        control=control,
    ) as child_env:
        _run_child(target, lease, request, control, outcome, forked, notify, child_env)


def _run_child(
    target: Target,
    lease: SessionLease,
    request: SubmitRequest,
    control: RunControl,
    outcome: SubmitOutcome,
    forked: ForkedScript | None,
    notify: Notify,
    extra_env: dict[str, str],
) -> None:
    argv = script_argv(request.app, request.module, request.args)
    env = script_environment(target, lease, query_progress=request.query_progress)
    env.update(extra_env)
    with script_error_file() as error_file:
        env[SCRIPT_ERROR_ENV] = str(error_file)
        entries = driver_path_entries(request.driver_path, error_file.parent / "driver")
        env[DRIVER_PATH_ENV] = os.pathsep.join(entries)
        stop_file = error_file.parent / "stop"
        env[STOP_FILE_ENV] = str(stop_file)
        if forked is not None and lease.track_process is not None:
            lease.track_process(forked.pid)  # known before it runs: never unrecorded
        child = start_script(argv, env, forked)
        if forked is None and lease.track_process is not None:
            lease.track_process(child.pid)
        control.on_urgent(child.kill)
        returncode, reason = _wait_for_child(
            child, control, lease, request.liveness_timeout_s, stop_file
        )
        if reason is None:
            outcome.exit_code = exit_status(returncode)
            if outcome.exit_code != 0:
                _record_failure(outcome, read_script_error(error_file, _secrets(target)), notify)
            return
        _record_stop(outcome, reason, request)
        if control.urgent.is_set():
            child.kill()
            return
        # Interrupt first: the script's pending query then fails at once and the child can
        # exit; only then does the child take SIGINT as a stop (see group_interrupt).
        outcome.interrupted_operations += interrupt_run(lease)
        stop_file.touch()
        stop_script(child, STOP_GRACE_S)
    if not control.urgent.is_set():
        # whatever the script started between the interrupt and its end
        outcome.interrupted_operations += interrupt_run(lease)


def _wait_for_child(
    child: ScriptProcess,
    control: RunControl,
    lease: SessionLease,
    liveness_timeout_s: float | None,
    stop_file: Path,
) -> tuple[int, StopReason | None]:
    """The child's return code once it ends, or the reason to stop it first (`stop_file`
    makes the script take SIGINT as a stop: see group_interrupt)."""
    watch = lease.client.watch_connection()
    liveness = None
    if liveness_timeout_s:
        # the server's version: the cheapest question with an answer (see `liveness`)
        liveness = LivenessProbe(
            lambda deadline: lease.client.spark_version(timeout=deadline), liveness_timeout_s
        )
    try:
        while True:
            try:
                returncode = child.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                reason = control.stop_reason
                if reason is not None:
                    return 0, reason
                watch.poke()
                if watch.lost():
                    stop_file.touch()
                    _give_up_on_server(child, lease)
                if liveness is not None and liveness.hung():
                    stop_file.touch()
                    _give_up_on_hung_server(child, lease, liveness.timeout)
    finally:
        watch.close()
        if liveness is not None:
            liveness.close()
    # A signal sent to the whole process group (CI runners, `timeout`) reaches the script
    # too, which may end of it before we look: the run was still stopped, not failed.
    return returncode, control.signal_received


def _give_up_on_server(child: ScriptProcess, lease: SessionLease) -> NoReturn:
    """The server went away under the run: end the script (its client would retry for
    minutes) and say so; nothing is left to interrupt, and clean-up calls are cut short."""
    lease.server_unresponsive = True
    stop_script(child, STOP_GRACE_S)
    raise ServerUnreachableError(
        f"lost the Spark Connect server at {lease.client.endpoint} during the run: "
        "it no longer accepts connections"
    )


def _give_up_on_hung_server(child: ScriptProcess, lease: SessionLease, timeout: float) -> NoReturn:
    """The server keeps its connections but answers nothing (a stopped or hung JVM): try to
    interrupt the run's operations (a stopped JVM may take the call when it resumes), end the
    script and say so; clean-up calls are cut short from here on."""
    interrupt_run(lease, UNRESPONSIVE_CALL_S)
    lease.server_unresponsive = True
    stop_script(child, STOP_GRACE_S)
    raise ServerHungError(
        f"the Spark Connect server at {lease.client.endpoint} stopped answering during the run "
        f"(no answer for {timeout:g} s: a stopped or hung server; see --liveness-timeout)"
    )


def _record_failure(outcome: SubmitOutcome, error: ScriptError | None, notify: Notify) -> None:
    outcome.status = RunStatus.FAILED
    if error is None:
        outcome.error = f"the script exited with code {outcome.exit_code}"
        return
    outcome.error = f"the script raised {error.message}"
    if error.hint is not None:
        outcome.error += f"; {error.hint}"
        notify(error.hint)


def _secrets(target: Target) -> list[str]:
    """What must never reach a report: the token and the values of extra headers."""
    secrets = [value for _, value in target.spec.metadata]
    if target.spec.token is not None:
        secrets.append(target.spec.token.reveal())
    return secrets


def _record_stop(outcome: SubmitOutcome, reason: StopReason, request: SubmitRequest) -> None:
    outcome.exit_code = reason.exit_code
    if reason is StopReason.TIMEOUT:
        outcome.status = RunStatus.TIMEOUT
        outcome.error = f"timed out after {request.timeout_s:g} s"
    else:
        outcome.status = RunStatus.INTERRUPTED
        outcome.signal_name = reason.value
        outcome.error = f"stopped by {reason.value}"
    log.info("%s: interrupting the run's operations", outcome.error)
