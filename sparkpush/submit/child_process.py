"""Starting and stopping the child that runs the user's script over the leased session."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Protocol

from sparkpush.connect.client_environment import session_environment
from sparkpush.remote import Target
from sparkpush.server.local_listener import is_local_spark_server
from sparkpush.submit.forked_child import ForkedChild
from sparkpush.submit.local_paths import BASE_DIR_ENV
from sparkpush.submit.session import SessionLease

RUN_TAG_ENV = "SPARKPUSH_RUN_TAG"
QUERY_PROGRESS_ENV = "SPARKPUSH_QUERY_PROGRESS"
CHILD_STOP_GRACE_S = 3.0


def child_environment(
    target: Target, lease: SessionLease, *, query_progress: bool = False
) -> dict[str, str]:
    """The child's environment: the session URL without the token, the token on its own."""
    env = session_environment(target.spec, lease.session_id, lease.client.user_id, target.ca_file)
    env["PYTHONUNBUFFERED"] = "1"
    env[RUN_TAG_ENV] = lease.run_tag
    env.pop(QUERY_PROGRESS_ENV, None)
    if query_progress:
        env[QUERY_PROGRESS_ENV] = "1"
    env.pop(BASE_DIR_ENV, None)
    if server_is_local(target):
        env[BASE_DIR_ENV] = os.getcwd()
    return env


def server_is_local(target: Target) -> bool:
    """The embedded server, or a Spark server of this machine on loopback: it sees our files."""
    return target.source == "embedded" or is_local_spark_server(target.spec.host, target.spec.port)


class ChildProcess(Protocol):
    """What the runner needs of a child: `subprocess.Popen` or a ForkedChild."""

    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, signum: int) -> None: ...

    def kill(self) -> None: ...


def child_args(app: str | None, module: str | None, args: tuple[str, ...]) -> list[str]:
    """Arguments of `sparkpush.submit.child`."""
    if module is not None:
        return ["--module", module, *args]
    assert app is not None
    return ["--path", app, *args]


def start_child(
    argv: list[str], env: dict[str, str], forked: ForkedChild | None = None
) -> ChildProcess:
    """Start the script: in the pre-forked child if there is one, else `python -m`."""
    if forked is not None:
        return forked.start(argv, env)
    # Same process group: a terminal's Ctrl-C reaches the script as it would without us,
    # and a CI runner that kills the group kills the child too.
    command = [sys.executable, "-u", "-m", "sparkpush.submit.child", *argv]
    return subprocess.Popen(command, env=env)


def stop_child(child: ChildProcess, grace: float = CHILD_STOP_GRACE_S) -> None:
    """SIGINT (the script sees KeyboardInterrupt), then SIGKILL after `grace` seconds."""
    if child.poll() is not None:
        return
    try:
        child.send_signal(signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    if child.poll() is None:
        child.kill()
    # a child we cannot reap in time is not worth waiting for
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=5)


def exit_status(returncode: int) -> int:
    """A child's return code as a shell would report it (killed by signal N: 128 + N)."""
    return returncode if returncode >= 0 else 128 - returncode
