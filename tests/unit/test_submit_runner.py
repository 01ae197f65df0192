"""The submit runner's decisions on each way a run can end, against an in-memory server.

The script's process is a stand-in that ends when the test says so; the session is the fake
server's (tests/fake_session.py). What a real script and server do stays in the integration
tests (test_submit.py, test_submit_ci.py).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sparkpush.errors import CallTimeoutError, ExitCode, ServerHungError, ServerUnreachableError
from sparkpush.remote.target import Target
from sparkpush.submit import runner
from sparkpush.submit.control import RunControl
from sparkpush.submit.outcome import RunStatus, SubmitOutcome
from sparkpush.submit.run_session import SessionLease, new_run_tag
from sparkpush.submit.script_error import SCRIPT_ERROR_ENV, write_script_error
from sparkpush.submit.script_main import RUN_TAG_ENV
from tests.fake_session import USER_ID, FakeServer, FakeSession
from tests.unit.conftest import ManualClock


@dataclass
class RunSession(FakeSession):
    """The fake server's session with what a run needs besides RPCs; interrupts are logged."""

    user_id: str = "tester"
    interrupt_answers: list[str] = field(default_factory=list)
    """What the server says it interrupted by tag."""
    interrupts: list[str] = field(default_factory=list)
    lose_connection: bool = False
    hung: threading.Event = field(default_factory=threading.Event)
    """Set: the server keeps the connection but answers nothing (a JVM under SIGSTOP)."""

    def spark_version(self, timeout: float = 10.0) -> str:
        if self.hung.is_set():
            time.sleep(timeout)
            raise CallTimeoutError("no answer within the deadline")
        return super().spark_version(timeout)

    def interrupt_tag(self, tag: str, timeout: float = 10.0) -> list[str]:
        if self.hung.is_set():
            time.sleep(timeout)
            raise CallTimeoutError("no answer within the deadline")
        super().interrupt_tag(tag, timeout)
        self.interrupts.append(f"tag {tag}")
        return list(self.interrupt_answers)

    def interrupt_all(self, timeout: float = 10.0) -> list[str]:
        super().interrupt_all(timeout)
        self.interrupts.append("all")
        return []

    def watch_connection(self) -> ConnectionLostAfterStart:
        return ConnectionLostAfterStart(self)


@dataclass
class ConnectionLostAfterStart:
    session: RunSession
    closed: bool = False

    def poke(self) -> None:
        pass

    def lost(self) -> bool:
        return self.session.lose_connection

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeScript:
    """A script's process that runs until `end` or a signal (SIGINT: it exits 130)."""

    env: dict[str, str]
    ignores_sigint: bool = False
    signals: list[int] = field(default_factory=list)
    returncode: int | None = None
    _ended: threading.Event = field(default_factory=threading.Event)

    def end(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired("script", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        if signum == signal.SIGINT and not self.ignores_sigint:
            self.end(130)

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)
        self.end(-signal.SIGKILL)


ScriptBehaviour = Callable[[FakeScript], None]
"""What the script does once started (end, raise, wait to be stopped)."""


@dataclass
class Run:
    server: FakeServer
    target: Target
    session: RunSession
    lease: SessionLease
    behaviour: ScriptBehaviour = lambda script: script.end(0)
    control: RunControl = field(default_factory=RunControl)
    """Its deadline and signals: a script's behaviour can send them."""
    scripts: list[FakeScript] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def start_script(self, argv: list[str], env: dict[str, str], forked: object) -> FakeScript:
        script = FakeScript(env=dict(env))
        self.scripts.append(script)
        self.behaviour(script)
        return script

    def __call__(self, request: runner.SubmitRequest | None = None) -> SubmitOutcome:
        request = request or runner.SubmitRequest(app="app.py")
        return runner.run_on_lease(
            self.target, self.lease, request, self.messages.append, control=self.control
        )

    @property
    def script(self) -> FakeScript:
        (script,) = self.scripts
        return script


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    server = FakeServer()
    session = RunSession(server, "session-1")
    lease = SessionLease(client=session, owned=True, run_tag=new_run_tag())
    the_run = Run(server, server.target(), session, lease)
    monkeypatch.setattr(runner, "start_script", the_run.start_script)
    monkeypatch.setattr(runner, "STOP_GRACE_S", 0.5)
    yield the_run
    for script in the_run.scripts:
        if script.returncode is None:
            script.end(0)


def test_a_script_that_succeeds_ends_a_released_run_with_exit_0(run: Run) -> None:
    outcome = run()
    assert (outcome.status, outcome.exit_code, outcome.error) == (RunStatus.SUCCEEDED, 0, None)
    assert outcome.session_released
    assert run.server.released == ["session-1"]
    assert run.session.closed
    assert outcome.spark_version == "4.0.0"
    assert run.session.interrupts == [], "nothing to interrupt after a clean end"


def test_the_script_runs_with_the_runs_tag_and_the_sessions_conf_is_set_first(run: Run) -> None:
    request = runner.SubmitRequest(app="app.py", conf={"spark.sql.ansi.enabled": "true"})
    run(request)
    assert run.script.env[RUN_TAG_ENV] == run.lease.run_tag
    assert run.server.sessions["session-1"].conf == {"spark.sql.ansi.enabled": "true"}


def test_a_script_exit_code_is_the_runs_exit_code(run: Run) -> None:
    run.behaviour = lambda script: script.end(7)
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.FAILED, 7)
    assert outcome.error == "the script exited with code 7"
    assert outcome.session_released


def test_a_script_killed_by_a_signal_exits_as_a_shell_says(run: Run) -> None:
    run.behaviour = lambda script: script.end(-signal.SIGKILL)
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.FAILED, 128 + signal.SIGKILL)


def test_the_exception_that_ended_the_script_is_the_error_and_its_hint_is_shown(
    run: Run,
) -> None:
    class JvmAttributeError(AttributeError):
        """As PySpark's PySparkAttributeError for `spark.sparkContext` over Spark Connect."""

        def getCondition(self) -> str:
            return "JVM_ATTRIBUTE_NOT_SUPPORTED"

    def raises(script: FakeScript) -> None:
        write_script_error(JvmAttributeError("sparkContext is not supported"), script.env)
        script.end(1)

    run.behaviour = raises
    outcome = run()
    assert outcome.status is RunStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith("the script raised ")
    assert "JvmAttributeError: sparkContext is not supported" in outcome.error
    assert "Spark Connect has no RDD" in outcome.error
    assert any("Spark Connect has no RDD" in message for message in run.messages)


def test_the_script_error_file_is_gone_after_the_run(run: Run) -> None:
    run()
    assert not Path(run.script.env[SCRIPT_ERROR_ENV]).exists()


def test_a_deadline_reached_while_the_script_runs_interrupts_stops_and_exits_124(
    run: Run,
) -> None:
    clock = ManualClock()
    run.control = RunControl(timeout_s=30, clock=clock)
    run.session.interrupt_answers = ["op-1"]

    def runs_past_the_deadline(script: FakeScript) -> None:
        clock.now += 31

    run.behaviour = runs_past_the_deadline
    outcome = run(runner.SubmitRequest(app="app.py", timeout_s=30))
    assert (outcome.status, outcome.exit_code) == (RunStatus.TIMEOUT, ExitCode.TIMEOUT)
    assert outcome.error == "timed out after 30 s"
    assert run.script.signals == [signal.SIGINT]
    # interrupted before the script is stopped, and again for what it started meanwhile
    assert run.session.interrupts == [f"tag {run.lease.run_tag}"] * 2
    assert outcome.interrupted_operations == ["op-1", "op-1"]
    assert outcome.session_released


def test_a_script_that_ignores_sigint_is_killed_after_the_grace(run: Run) -> None:

    def ignores_sigint(script: FakeScript) -> None:
        script.ignores_sigint = True
        run.control.receive(signal.SIGTERM)

    run.behaviour = ignores_sigint
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, ExitCode.TERMINATED)
    assert outcome.signal_name == "SIGTERM"
    assert run.script.signals == [signal.SIGINT, signal.SIGKILL]
    assert outcome.session_released


def test_nothing_interrupted_by_tag_on_an_owned_session_interrupts_all(run: Run) -> None:
    run.behaviour = lambda script: run.control.receive(signal.SIGINT)
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED)
    # operations of the script's other threads carry no tag
    assert run.session.interrupts[:2] == [f"tag {run.lease.run_tag}", "all"]


def test_a_signal_that_also_ended_the_script_is_an_interruption_not_a_failure(
    run: Run,
) -> None:

    def the_whole_group_gets_sigterm(script: FakeScript) -> None:
        run.control.receive(signal.SIGTERM)
        script.end(-signal.SIGTERM)

    run.behaviour = the_whole_group_gets_sigterm
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, ExitCode.TERMINATED)
    assert outcome.session_released


def test_a_second_ctrl_c_kills_the_script_and_skips_the_release(run: Run) -> None:

    def ctrl_c_twice(script: FakeScript) -> None:
        script.ignores_sigint = True
        run.control.receive(signal.SIGINT)
        run.control.receive(signal.SIGINT)

    run.behaviour = ctrl_c_twice
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED)
    assert signal.SIGKILL in run.script.signals
    assert not outcome.session_released
    assert run.server.released == []
    assert run.session.closed


def test_a_server_lost_during_the_run_stops_the_script_and_says_so(run: Run) -> None:
    def server_goes_away(script: FakeScript) -> None:
        run.session.lose_connection = True

    run.behaviour = server_goes_away
    outcome = run()
    assert outcome.status is RunStatus.ERROR
    assert outcome.exit_code == ServerUnreachableError.exit_code
    assert outcome.error is not None and "lost the Spark Connect server at" in outcome.error
    assert run.script.signals == [signal.SIGINT]
    assert run.lease.server_unresponsive
    assert run.session.interrupts == [], "nothing is left to interrupt on a lost server"


def test_a_server_error_while_preparing_fails_the_run_before_the_script(run: Run) -> None:
    run.server.fail("spark_version", ServerUnreachableError("the server is not reachable"))
    outcome = run()
    assert outcome.status is RunStatus.ERROR
    assert outcome.exit_code == ServerUnreachableError.exit_code
    assert outcome.error == "the server is not reachable"
    assert run.scripts == []
    assert run.session.closed


def test_a_signal_while_the_session_is_prepared_ends_the_run_without_a_script(
    run: Run,
) -> None:
    held = threading.Event()
    original_set_conf = run.session.set_conf

    def set_conf_held_until_the_test_ends(pairs: Mapping[str, str], timeout: float = 10.0) -> None:
        run.control.receive(signal.SIGINT)
        held.wait(60)
        original_set_conf(pairs, timeout)

    run.session.set_conf = set_conf_held_until_the_test_ends  # type: ignore[method-assign]
    try:
        outcome = run()
    finally:
        held.set()
    assert (outcome.status, outcome.exit_code) == (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED)
    assert run.scripts == []
    assert outcome.session_released


def test_udfs_are_registered_on_an_owned_session_before_the_script(run: Run) -> None:
    registered: list[object] = []

    def register(session: object, loader: object) -> list[str]:
        registered.append(session)
        assert run.scripts == [], "registration comes before the script"
        return ["plus_one"]

    outcome = run(runner.SubmitRequest(app="app.py", register_udfs=register))
    assert registered == [run.session]
    assert outcome.udfs == ["plus_one"]


def test_a_session_the_run_does_not_own_is_neither_released_nor_given_udfs(run: Run) -> None:
    run.lease.owned = False
    registered: list[object] = []
    run.behaviour = lambda script: run.control.receive(signal.SIGINT)

    def register_udfs(session: object, _loader: object) -> list[str]:
        registered.append(session)
        return []

    outcome = run(runner.SubmitRequest(app="app.py", register_udfs=register_udfs))
    assert registered == []
    assert not outcome.session_released
    assert run.server.released == []
    assert "all" not in run.session.interrupts, "someone else's operations are left alone"
    assert run.session.closed


def test_uploaded_artifacts_are_announced(run: Run, tmp_path: Path) -> None:
    from sparkpush.artifacts.local_artifact import artifacts_from_flags

    helper = tmp_path / "helper.py"
    helper.write_text("X = 1\n")
    artifacts = artifacts_from_flags(py_files=(str(helper),))
    outcome = run(runner.SubmitRequest(app="app.py", artifacts=artifacts))
    assert run.server.stored("session-1") == {"pyfiles/helper.py": b"X = 1\n"}
    assert outcome.upload.artifacts
    assert any(message.startswith("uploaded 1 artifact(s)") for message in run.messages)


def test_a_fresh_run_opens_its_session_through_the_target(run: Run, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("")
    request = runner.SubmitRequest(app=str(app), conf={"spark.sql.shuffle.partitions": "3"})
    outcome = runner.run_submit(run.target, request, run.messages.append)
    assert (outcome.status, outcome.exit_code) == (RunStatus.SUCCEEDED, 0)
    # the fake server, not a gRPC channel to it, saw the fresh session from start to release
    assert outcome.session_id is not None
    fresh = run.server.sessions[outcome.session_id]
    assert fresh.conf == {"spark.sql.shuffle.partitions": "3"} and fresh.released
    assert run.server.released == [outcome.session_id]
    (script,) = run.scripts
    assert f";user_id={USER_ID}" in script.env["SPARK_REMOTE"]


def test_a_quiet_connection_lets_a_long_run_end_by_itself(run: Run) -> None:
    plain = FakeSession(run.server, "session-2")
    run.lease = SessionLease(client=plain, owned=True, run_tag=new_run_tag())
    run.behaviour = lambda script: threading.Timer(0.5, script.end, (0,)).start()
    outcome = run()
    assert (outcome.status, outcome.exit_code) == (RunStatus.SUCCEEDED, 0)
    assert run.server.released == ["session-2"]


def test_a_server_that_stops_answering_under_the_run_ends_it_with_one_line(run: Run) -> None:
    """A JVM under `kill -STOP` keeps its connections: only an unanswered question shows it."""
    run.behaviour = lambda script: run.session.hung.set()
    outcome = run(runner.SubmitRequest(app="app.py", liveness_timeout_s=0.5))
    assert outcome.status is RunStatus.ERROR
    assert outcome.exit_code == ServerHungError.exit_code == 3
    assert outcome.error is not None
    assert "stopped answering during the run (no answer for 0.5 s" in outcome.error
    assert "\n" not in outcome.error
    assert run.script.signals == [signal.SIGINT], "the script is stopped"
    assert run.lease.server_unresponsive


def test_without_a_liveness_timeout_nothing_is_asked(run: Run) -> None:
    def slow_script(script: FakeScript) -> None:
        threading.Timer(0.5, script.end, args=(0,)).start()

    run.behaviour = slow_script
    asked_before = run.server.rpcs["spark_version"]
    outcome = run(runner.SubmitRequest(app="app.py", liveness_timeout_s=None))
    assert outcome.exit_code == 0
    # the one question is the session's preparation (its version), none on the side
    assert run.server.rpcs["spark_version"] == asked_before + 1
