"""The process that runs the user's script, seen from `connect submit`: its environment,
starting it (in the pre-forked process of `prefork`, else `python -m`), stopping it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Protocol

from sparkpush.connect.client_environment import session_environment
from sparkpush.remote.target import Target
from sparkpush.submit.lifeline import LIFELINE_ENV
from sparkpush.submit.local_paths import BASE_DIR_ENV, server_is_local
from sparkpush.submit.prefork import ForkedScript
from sparkpush.submit.run_session import SessionLease
from sparkpush.submit.script_main import OWNS_SESSION_ENV, QUERY_PROGRESS_ENV, RUN_TAG_ENV

STOP_GRACE_S = 3.0
"""How long a script has to end after SIGINT before it is killed."""


def script_environment(
    target: Target, lease: SessionLease, *, query_progress: bool = False
) -> dict[str, str]:
    """The script's environment: the session URL without the token, the token on its own."""
    env = session_environment(target.spec, lease.session_id, lease.client.user_id, target.ca_file)
    env["PYTHONUNBUFFERED"] = "1"
    env[RUN_TAG_ENV] = lease.run_tag
    env.pop(OWNS_SESSION_ENV, None)
    if lease.owned:
        env[OWNS_SESSION_ENV] = "1"
    env.pop(QUERY_PROGRESS_ENV, None)
    if query_progress:
        env[QUERY_PROGRESS_ENV] = "1"
    env.pop(BASE_DIR_ENV, None)
    if server_is_local(target):
        env[BASE_DIR_ENV] = os.getcwd()
    return env


def script_argv(app: str | None, module: str | None, args: tuple[str, ...]) -> list[str]:
    """Arguments of `script_main.main`."""
    if module is not None:
        return ["--module", module, *args]
    assert app is not None
    return ["--path", app, *args]


class ScriptProcess(Protocol):
    """What the runner needs of the script's process: a SpawnedScript or a ForkedScript."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, signum: int) -> None: ...

    def kill(self) -> None: ...


def start_script(
    argv: list[str], env: dict[str, str], forked: ForkedScript | None = None
) -> ScriptProcess:
    """Start the script: in the pre-forked process if there is one, else `python -m`."""
    if forked is not None:
        return forked.start(argv, env)
    return SpawnedScript(argv, env)


class SpawnedScript:
    """`python -m sparkpush.submit.script_main ARGV` with its lifeline (see `lifeline`)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        read_end, self._lifeline = os.pipe()
        command = [sys.executable, "-u", "-m", "sparkpush.submit.script_main", *argv]
        try:
            # Same process group: a terminal's Ctrl-C reaches the script as it would without
            # us, and a CI runner that kills the group kills the script too.
            self._process = subprocess.Popen(
                command, env={**env, LIFELINE_ENV: str(read_end)}, pass_fds=(read_end,)
            )
        except BaseException:
            os.close(self._lifeline)
            raise
        finally:
            os.close(read_end)
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def poll(self) -> int | None:
        code = self._process.poll()
        if code is not None:
            self._close_lifeline()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = self._process.wait(timeout)
        self._close_lifeline()
        return code

    def send_signal(self, signum: int) -> None:
        self._process.send_signal(signum)

    def kill(self) -> None:
        self._process.kill()

    def _close_lifeline(self) -> None:
        if self._lifeline >= 0:
            with contextlib.suppress(OSError):
                os.close(self._lifeline)
            self._lifeline = -1


def stop_script(script: ScriptProcess, grace: float = STOP_GRACE_S) -> None:
    """SIGINT (the script sees KeyboardInterrupt), then SIGKILL after `grace` seconds."""
    if script.poll() is not None:
        return
    try:
        script.send_signal(signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and script.poll() is None:
        time.sleep(0.05)
    if script.poll() is None:
        script.kill()
    # a process we cannot reap in time is not worth waiting for
    with contextlib.suppress(subprocess.TimeoutExpired):
        script.wait(timeout=5)


def exit_status(returncode: int) -> int:
    """A process's return code as a shell would report it (killed by signal N: 128 + N)."""
    return returncode if returncode >= 0 else 128 - returncode
