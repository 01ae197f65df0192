"""Running `connect` from a test: as its own process, or inside the test process.

`run_connect` runs `connect` as its own process, as a user would: forked from a warm process
that imported the CLI once (`forked_runs`), or `python -m sparkpush` (`run_connect_spawned`)
where the run's environment must be read by a new interpreter. Use it where a process boundary
is what the test is about: signals, a child's exit, daemons and servers it starts (they would
be children of the test process), ttys, `-v` logging (configured once per process), `submit`
(it forks its script process) and `test`/`watch`/`shell`.

`run_connect_in_process` runs the same CLI in the test process, about a second cheaper per
run on a loaded machine (no interpreter start, no imports). Output at the file-descriptor
level (a child that inherited stdout/stderr) is captured too, after the CLI's own (their order
between the two is lost), and each run checks that it left no process-wide state behind
(`tests.support.process_state`): a leak fails the test.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import grpc
from click.testing import CliRunner

# imported once here, not by the first run: the import sets GRPC_VERBOSITY in os.environ
from sparkpush.cli.main import main as connect_main
from tests.support.forked_runs import can_fork, run_connect_forked
from tests.support.process_state import ProcessState, leaks_since

LOG_FORMAT = "connect: %(levelname)s %(name)s: %(message)s"
"""The CLI's own logging format (`sparkpush/cli/main.py`)."""


def _initialize_grpc() -> None:
    """gRPC registers an exit handler the first time a channel carries call credentials (a
    token): once per process, so done here, before any run could be blamed for it."""
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(), grpc.access_token_call_credentials("not-a-token")
    )
    grpc.secure_channel("localhost:1", credentials).close()


_initialize_grpc()


class _Finalizable:
    pass


def _initialize_weakref_finalize() -> None:
    """The first `weakref.finalize` of a process (e.g. a `TemporaryDirectory`) registers
    weakref's exit function with `atexit`: once per process, so done here too."""
    weakref.finalize(_Finalizable(), lambda: None)


_initialize_weakref_finalize()


def run_connect(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run `connect ARGS` as a user would, as its own process, capturing its output: forked
    from the warm process (`tests.support.forked_runs`) unless `env` or `stdin` need a new
    interpreter."""
    if stdin == subprocess.DEVNULL and can_fork(env):
        return run_connect_forked(args, env=env, cwd=cwd, timeout=timeout)
    return run_connect_spawned(args, env=env, cwd=cwd, timeout=timeout, stdin=stdin)


def run_connect_spawned(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """`python -m sparkpush ARGS` in a new interpreter, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "sparkpush", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=stdin,
    )


def run_connect_in_process(
    args: list[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`run_connect` without a new interpreter: the CLI's `main` with exactly `env` as the
    environment and `cwd` (default: the current folder) as the working folder, its output
    captured. An exception that escapes shows as a traceback on stderr, as it would in a real
    process. Fails the test if the run left process-wide state behind."""
    before = ProcessState.now()
    with _atexit_registrations() as registered:
        code, stdout, stderr = _run_main(args, env, Path.cwd() if cwd is None else cwd)
    leaks = leaks_since(before)
    assert not leaks, f"`connect {' '.join(args)}` run in-process leaked: {'; '.join(leaks)}" + (
        f" (atexit: {', '.join(registered)})" if registered else ""
    )
    return subprocess.CompletedProcess(["connect", *args], code, stdout, stderr)


def _run_main(args: list[str], env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    unset: dict[str, str | None] = {key: None for key in os.environ if key not in env}
    code: int | str | None = 0
    trace = ""
    previous = os.getcwd()
    with (
        _file_descriptors_captured() as fd_output,
        CliRunner().isolation(env={**unset, **env}) as (stdout, stderr, _),
    ):
        # the log lines a real process would print (pytest's own handlers keep the CLI's
        # logging.basicConfig from adding this one)
        log_lines = logging.StreamHandler(sys.stderr)
        log_lines.setFormatter(logging.Formatter(LOG_FORMAT))
        log_lines.setLevel(logging.WARNING)
        logging.getLogger().addHandler(log_lines)
        os.chdir(cwd)
        try:
            connect_main(args)
        except SystemExit as exc:
            code = exc.code
        except Exception:
            code, trace = 1, traceback.format_exc()
        finally:
            sys.stdout.flush()  # what `print` wrote; click.echo flushes itself
            sys.stderr.flush()
            os.chdir(previous)
            logging.getLogger().removeHandler(log_lines)
    return (
        code if isinstance(code, int) else 1,
        stdout.getvalue().decode() + fd_output.stdout,
        stderr.getvalue().decode() + trace + fd_output.stderr,
    )


@contextlib.contextmanager
def _atexit_registrations() -> Iterator[list[str]]:
    """The names of the functions registered with `atexit` meanwhile (for the leak report)."""
    registered: list[str] = []
    real_register = atexit.register

    def recording_register(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        registered.append(
            f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"
        )
        return real_register(func, *args, **kwargs)

    atexit.register = recording_register  # type: ignore[assignment]
    try:
        yield registered
    finally:
        atexit.register = real_register


class _FdOutput:
    """What was written to fds 1 and 2 while `_file_descriptors_captured` held them."""

    stdout = ""
    stderr = ""


@contextlib.contextmanager
def _file_descriptors_captured() -> Iterator[_FdOutput]:
    """fds 1 and 2 into files for a while: what children that inherit them print."""
    output = _FdOutput()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            yield output
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            output.stdout, output.stderr = _read(out), _read(err)


def _read(captured: BinaryIO) -> str:
    captured.seek(0)
    return captured.read().decode(errors="backslashreplace")
