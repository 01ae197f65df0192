"""A `connect` imported once and forked for each run: the program behind `forked_runs`.

`python tests/support/warm_connect.py` (a script: nothing of `tests` in its modules) imports
the CLI (and so gRPC and PySpark's protocol
classes), says `ready` and then reads one JSON request a line on stdin: `args`, `env`, `cwd`
and the paths for the run's stdin, stdout and stderr. For each it forks a child, answers
`started PID`, and later `exit PID CODE` (CODE as `Popen.returncode`: negative for a signal).
The child becomes what `python -m sparkpush ARGS` would be in `cwd` with exactly `env`: its
own process (and process group), the CLI's entry run at the top level, so that SystemExit,
an uncaught exception, atexit and the interpreter's shutdown behave as in a fresh process. It
skips only the interpreter's start and the imports (about a second a run, more under load).

Forking is safe here for the reason `sparkpush/submit/prefork.py` gives: no gRPC channel (nor
any thread) exists in this process. EOF on stdin (the test process is gone) kills the runs
still going and ends this one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import sys
from typing import Any

ENVIRONMENT_BEFORE_IMPORTS = dict(os.environ)

# the entry `python -m sparkpush` runs, and the CLI it imports (and sets GRPC_VERBOSITY)
import sparkpush.cli.main  # noqa: E402, F401
from sparkpush.cli.entry import main as connect_main  # noqa: E402

MAIN_PATH = str(importlib.util.find_spec("sparkpush.__main__").origin)  # type: ignore[union-attr]

POLL_S = 0.02


def serve() -> dict[str, Any] | None:
    """The zygote's loop; returns a request only in a forked child, None when told to end."""
    running: set[int] = set()
    pending = b""
    os.write(1, b"ready\n")
    while True:
        _reap(running)
        readable, _, _ = select.select([0], [], [], POLL_S)
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            for pid in running:
                os.kill(pid, signal.SIGKILL)
            return None
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                return dict(request)
            running.add(pid)
            # here too (as shells do): the group exists before `started` is read
            with contextlib.suppress(OSError):  # the child got there first, or has ended
                os.setpgid(pid, pid)
            os.write(1, f"started {pid}\n".encode())


def _reap(running: set[int]) -> None:
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        running.discard(pid)
        os.write(1, f"exit {pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def become_the_run(request: dict[str, Any], set_by_imports: dict[str, str]) -> list[str]:
    """In the child: the process `python -m sparkpush ARGS` would be; the ARGS."""
    os.setpgid(0, 0)
    for fd, key, flags in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY | os.O_TRUNC),
        (2, "stderr", os.O_WRONLY | os.O_TRUNC),
    ):
        opened = os.open(request[key], flags)
        os.dup2(opened, fd)
        os.close(opened)
    if request.get("umask") is not None:
        os.umask(int(request["umask"]))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in set_by_imports.items():
        os.environ.setdefault(key, value)
    args = [str(each) for each in request["args"]]
    sys.argv = [MAIN_PATH, *args]
    sys.path[0] = os.getcwd()  # as `-m` puts the folder it started in first (not ours)
    return args


if __name__ == "__main__":
    set_by_imports = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_BEFORE_IMPORTS}
    request = serve()
    if request is None:
        sys.exit(0)
    connect_main(become_the_run(request, set_by_imports))
