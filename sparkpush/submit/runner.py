"""The parent side of `connect submit`: prepare a session, run the child, clean up."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.upload import UploadReport, upload_artifacts
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ExitCode, SparkpushError, UsageError
from sparkpush.remote import Target

log = logging.getLogger(__name__)

CHILD_STOP_GRACE_S = 5.0
PROBE_TIMEOUT_S = 10.0

Notify = Callable[[str], None]


@dataclass(frozen=True)
class SubmitRequest:
    """What to run: a script path or a module, its arguments, and what the session needs."""

    app: str | None
    module: str | None = None
    args: tuple[str, ...] = ()
    artifacts: Sequence[LocalArtifact] = ()
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass
class SubmitOutcome:
    exit_code: int
    session_id: str
    upload: UploadReport
    signal_name: str | None = None


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
    on_progress: Callable[[int, int], None] | None = None,
) -> SubmitOutcome:
    """Run the request on a fresh session, which is released at the end whatever happens."""
    check_app(request)
    client = target.client()
    try:
        client.spark_version(timeout=PROBE_TIMEOUT_S)
        upload = upload_artifacts(client, request.artifacts, on_progress)
        if upload.artifacts:
            notify(
                f"uploaded {len(upload.artifacts)} artifact(s), {upload.bytes} bytes, "
                f"in {upload.seconds:.2f} s"
            )
        client.set_conf(request.conf)
        code, signal_name = _run_child(target, client, request)
        return SubmitOutcome(code, client.session_id, upload, signal_name)
    finally:
        _release_quietly(client)
        client.close()


def child_environment(target: Target, client: SessionClient) -> dict[str, str]:
    """The child's environment: the session URL without the token, the token on its own."""
    env = dict(os.environ)
    spec = target.spec.with_session(client.session_id)
    from dataclasses import replace

    spec = replace(spec, user_id=client.user_id)
    env["SPARK_REMOTE"] = spec.url(include_token=False)
    env["SPARK_CONNECT_MODE_ENABLED"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
    if target.spec.token is not None:
        env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = target.spec.token.reveal()
    if target.ca_file is not None:
        env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(target.ca_file)
    return env


def _child_command(request: SubmitRequest) -> list[str]:
    runner = [sys.executable, "-u", "-m", "sparkpush.submit.child"]
    if request.module is not None:
        return [*runner, "--module", request.module, *request.args]
    assert request.app is not None
    return [*runner, "--path", request.app, *request.args]


def _run_child(
    target: Target, client: SessionClient, request: SubmitRequest
) -> tuple[int, str | None]:
    """Run the child; on SIGINT/SIGTERM interrupt the session's work and stop the child."""
    child = subprocess.Popen(_child_command(request), env=child_environment(target, client))
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if received and signum == signal.SIGINT:
            # a second Ctrl-C: stop at once
            child.kill()
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if received:
                    _interrupt_quietly(client)
                    _stop_child(child)
                    code = child.wait()
                    break
        if received:
            first = received[0]
            exit_code = ExitCode.INTERRUPTED if first == signal.SIGINT else ExitCode.TERMINATED
            _interrupt_quietly(client)
            return exit_code, signal.Signals(first).name
        return (code if code >= 0 else 128 - code), None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + CHILD_STOP_GRACE_S
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    if child.poll() is None:
        child.kill()


def _interrupt_quietly(client: SessionClient) -> None:
    try:
        interrupted = client.interrupt_all(timeout=5.0)
        if interrupted:
            log.info("interrupted %d operation(s) on the server", len(interrupted))
    except SparkpushError as exc:
        log.warning("could not interrupt the session's operations: %s", exc.message)


def _release_quietly(client: SessionClient) -> None:
    try:
        client.release_session(timeout=5.0)
    except SparkpushError as exc:
        log.debug("could not release session: %s", exc.message)
