"""The in-process `connect` runner: what a real process gives, and no state left behind."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.support import cli_runs, process_state, run_connect_in_process, wait_until
from tests.support.process_state import ProcessState, leaks_since
from tests.support.runner_cases import RUNNER_CASES, runner_project


@pytest.mark.parametrize(("config", "args"), RUNNER_CASES)
def test_a_run_in_process_gives_what_a_real_process_gives(
    tmp_path: Path, config: str, args: list[str]
) -> None:
    env = runner_project(tmp_path, config)
    real = cli_runs.run_connect_spawned(args, env=env, cwd=tmp_path, timeout=120)
    inside = run_connect_in_process(args, env=env, cwd=tmp_path)
    assert (inside.returncode, inside.stdout, inside.stderr) == (
        real.returncode,
        real.stdout,
        real.stderr,
    )


def test_a_run_in_process_sees_exactly_its_environment_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def main(args: list[str]) -> None:
        seen.update(environ=dict(os.environ), cwd=os.getcwd(), args=args)
        os.chdir("/")  # a command may change folder: the runner changes back

    monkeypatch.setattr(cli_runs, "connect_main", main)
    monkeypatch.setenv("SPARKPUSH_LEFT_OVER", "from the test process")
    before = Path.cwd()
    result = run_connect_in_process(["sync"], env={"ONLY": "this"}, cwd=tmp_path)
    assert result.returncode == 0
    assert seen == {"environ": {"ONLY": "this"}, "cwd": str(tmp_path), "args": ["sync"]}
    assert os.environ["SPARKPUSH_LEFT_OVER"] == "from the test process"
    assert Path.cwd() == before


def test_output_of_a_child_that_inherited_stdout_and_stderr_is_captured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def main(args: list[str]) -> None:
        print("from the CLI")
        subprocess.run(["sh", "-c", "echo from the child; echo child error >&2"], check=True)
        sys.exit(3)

    monkeypatch.setattr(cli_runs, "connect_main", main)
    result = run_connect_in_process(["x"], env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == "from the CLI\nfrom the child\n"
    assert result.stderr == "child error\n"


def test_an_escaping_exception_is_a_traceback_and_exit_code_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def main(args: list[str]) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_runs, "connect_main", main)
    result = run_connect_in_process(["x"], env={}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback")
    assert "RuntimeError: a bug" in result.stderr


def leaky_exit_handler() -> None:
    pass


class Leaks:
    """One leak of each kind a run in the test process could make, and how to undo them."""

    def __init__(self) -> None:
        self.before = ProcessState.now()
        self.usr1 = signal.getsignal(signal.SIGUSR1)
        self.stop = threading.Event()
        self.held: list[socket.socket | subprocess.Popen[bytes]] = []

    def make(self, kind: str) -> None:
        if kind == "environment":
            os.environ["LEAKED"] = "1"
        elif kind == "sys.path":
            sys.path.append("/leaked")
        elif kind == "handler":
            logging.getLogger("leaky").addHandler(logging.NullHandler())
        elif kind == "level":
            logging.getLogger().setLevel(logging.DEBUG)
        elif kind == "signal":
            signal.signal(signal.SIGUSR1, lambda *_: None)
        elif kind == "umask":
            os.umask(0o077)
        elif kind == "socket":
            self.held.append(socket.socket())
        elif kind == "child":
            self.held.append(subprocess.Popen(["sleep", "60"]))
        elif kind == "thread":
            threading.Thread(target=self.stop.wait, name="leaky", daemon=True).start()
        elif kind == "atexit":
            atexit.register(leaky_exit_handler)

    def undo(self) -> None:
        os.environ.clear()
        os.environ.update(self.before.environ)
        sys.path[:] = self.before.path
        logging.getLogger("leaky").handlers.clear()
        logging.getLogger().setLevel(self.before.loggers[""][0])
        signal.signal(signal.SIGUSR1, self.usr1)
        os.umask(self.before.umask)
        self.stop.set()
        atexit.unregister(leaky_exit_handler)
        for each in self.held:
            if isinstance(each, socket.socket):
                each.close()
            else:
                each.kill()
                each.wait()


LEAKS = {
    "environment": "environment variables ['LEAKED']",
    "sys.path": "sys.path",
    "handler": "loggers ['leaky']",
    "level": "loggers ['root']",
    "signal": "signal handlers ['SIGUSR1']",
    "umask": "umask 77",
    "socket": "1 open sockets",
    "child": "child processes [",
    "thread": "threads ['leaky']",
    "atexit": "1 atexit callbacks (atexit: tests.unit.test_in_process_runner.leaky_exit_handler)",
}
"""Each kind of leak, and how the failure names it."""


@pytest.mark.parametrize("kind", LEAKS)
def test_a_run_that_leaves_state_behind_fails_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(process_state, "WIND_DOWN_S", 0.5)
    leaks = Leaks()
    monkeypatch.setattr(cli_runs, "connect_main", lambda args: leaks.make(kind))
    try:
        with pytest.raises(AssertionError, match="run in-process leaked") as failure:
            run_connect_in_process(["sync"], env=dict(os.environ), cwd=tmp_path)
    finally:
        leaks.undo()
    assert LEAKS[kind] in str(failure.value)


def test_a_run_of_a_real_command_leaves_nothing_behind(tmp_path: Path) -> None:
    """The check each in-process run makes, done here once in the open."""
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\n")
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    before = ProcessState.now()
    run_connect_in_process(["artifacts", "--json"], env=env, cwd=tmp_path)
    run_connect_in_process(["sync", "--remote", "sc://localhost:1"], env=env, cwd=tmp_path)
    assert leaks_since(before) == []


def test_wait_until_returns_the_first_true_value() -> None:
    answers = iter([None, 0, "", "found", "later"])
    assert wait_until(lambda: next(answers), 10, interval=0) == "found"


def test_wait_until_names_what_it_waited_for_after_its_timeout() -> None:
    calls: list[float] = []

    def never() -> bool:
        calls.append(time.monotonic())
        return False

    with pytest.raises(AssertionError, match=r"after 0.2 s waiting for the sky \(False\)"):
        wait_until(never, 0.2, what="the sky", interval=0.05)
    assert calls[-1] - calls[0] >= 0.2  # checked once more at the deadline


def test_wait_until_stops_at_an_exception_from_its_condition() -> None:
    def process_gone() -> bool:
        raise AssertionError("the process it waits on exited")

    with pytest.raises(AssertionError, match="exited"):
        wait_until(process_gone, 60)
