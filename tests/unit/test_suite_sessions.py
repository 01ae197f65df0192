"""The interception that makes a suite's own SparkSessions the run's session, without a server:
builders, getActiveSession/active, confs a session cannot set, and no classic JVM."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sparkpush.live.pyspark_session import make_default
from sparkpush.live.suite_sessions import (
    CONNECT_MODE_ENV,
    ClassicSparkRefused,
    SuiteSessions,
    keep_running,
)
from sparkpush.submit.script_error import NO_RDD_HINT, api_gap_hint


class Refusal(Exception):
    """What the server answers for a conf a session cannot set (PySpark's AnalysisException)."""

    def __init__(self, condition: str) -> None:
        super().__init__(condition)
        self.condition = condition

    def getCondition(self) -> str:  # PySpark's name for it
        return self.condition


class StubConf:
    """A session's conf as the server treats it: static keys refused, batches stop there."""

    def __init__(self, static: dict[str, str] | None = None) -> None:
        self.static = static if static is not None else {"spark.driver.memory": ""}
        self.values: dict[str, str] = {}
        self.batches: list[dict[str, str]] = []

    def _set_all(self, configs: dict[str, str], silent: bool) -> None:
        assert not silent
        self.batches.append(dict(configs))
        for key, value in configs.items():
            self.set(key, value)

    def set(self, key: str, value: str) -> None:
        if key in self.static:
            raise Refusal(self.static[key] or "CANNOT_MODIFY_CONFIG")
        self.values[key] = value


class StubSession:
    def __init__(self, conf: StubConf | None = None) -> None:
        self.conf = conf or StubConf()
        self.is_stopped = False


@pytest.fixture
def installed() -> Iterator[tuple[SuiteSessions, StubSession]]:
    run = StubSession()
    suite = SuiteSessions(lambda: run)  # type: ignore[arg-type, return-value]
    saved = os.environ.pop(CONNECT_MODE_ENV, None)
    suite.install()
    try:
        yield suite, run
    finally:
        suite.uninstall()
        make_default(None)
        assert os.environ.get(CONNECT_MODE_ENV) is None
        if saved is not None:
            os.environ[CONNECT_MODE_ENV] = saved


def test_every_builder_returns_the_run_session_with_its_runtime_confs(
    installed: tuple[SuiteSessions, StubSession],
) -> None:
    from pyspark.sql import SparkSession

    suite, run = installed
    built = (
        SparkSession.builder.master("local[2]")
        .appName("tests")
        .config("spark.sql.shuffle.partitions", "3")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    assert built is run
    assert run.conf.values == {"spark.sql.shuffle.partitions": "3"}
    assert suite.ignored_confs == {"spark.driver.memory"}
    # a refused conf is not asked for again; master, remote and appName never are
    again = SparkSession.builder.remote("sc://localhost:15002").config("spark.driver.memory", "1g")
    assert again.create() is run
    assert run.conf.batches == [{"spark.sql.shuffle.partitions": "3", "spark.driver.memory": "2g"}]


def test_get_active_session_and_active_return_it_in_every_thread(
    installed: tuple[SuiteSessions, StubSession],
) -> None:
    from pyspark.sql import SparkSession

    _, run = installed
    assert SparkSession.getActiveSession() is run
    assert SparkSession.active() is run
    seen: list[Any] = []
    thread = threading.Thread(target=lambda: seen.append(SparkSession.getActiveSession()))
    thread.start()
    thread.join()
    assert seen == [run]


def test_no_classic_jvm_can_start_and_the_failure_gets_the_submit_hint(
    installed: tuple[SuiteSessions, StubSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyspark.java_gateway
    from pyspark import SparkContext

    # a launch would fail differently: spark-submit refuses these arguments
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--not-a-spark-submit-option pyspark-shell")
    with pytest.raises(ClassicSparkRefused) as refused:
        SparkContext._ensure_initialized()
    assert api_gap_hint(refused.value) == NO_RDD_HINT
    with pytest.raises(ClassicSparkRefused):
        pyspark.java_gateway.launch_gateway()
    assert SparkContext._gateway is None


def test_uninstall_puts_pyspark_back() -> None:
    import pyspark.core.context
    import pyspark.java_gateway
    from pyspark.sql.connect.session import SparkSession as ConnectSession
    from pyspark.sql.session import SparkSession

    before = (
        SparkSession.Builder.__dict__["getOrCreate"],
        SparkSession.Builder.__dict__["create"],
        ConnectSession.__dict__["getActiveSession"],
        pyspark.java_gateway.launch_gateway,
        pyspark.core.context.launch_gateway,
    )
    suite = SuiteSessions(lambda: StubSession())  # type: ignore[arg-type, return-value]
    suite.install()
    assert SparkSession.Builder.__dict__["getOrCreate"] is not before[0]
    suite.uninstall()
    after = (
        SparkSession.Builder.__dict__["getOrCreate"],
        SparkSession.Builder.__dict__["create"],
        ConnectSession.__dict__["getActiveSession"],
        pyspark.java_gateway.launch_gateway,
        pyspark.core.context.launch_gateway,
    )
    assert after == before
    assert ConnectSession.getActiveSession() is None


def test_a_conf_the_server_refuses_for_another_reason_raises() -> None:
    session = StubSession(StubConf({"spark.sql.ansi.enabled": "INVALID_CONF_VALUE"}))
    suite = SuiteSessions(lambda: session)  # type: ignore[arg-type, return-value]
    with pytest.raises(Refusal):
        suite.apply_confs(session, {"spark.sql.ansi.enabled": "maybe"})  # type: ignore[arg-type]
    assert suite.ignored_confs == set()


def test_without_a_batch_call_confs_go_one_by_one() -> None:
    class OldConf(StubConf):
        _set_all = None  # type: ignore[assignment]

    session = StubSession(OldConf())
    suite = SuiteSessions(lambda: session)  # type: ignore[arg-type, return-value]
    suite.apply_confs(session, {"a.b": "1", "spark.driver.memory": "1g"})  # type: ignore[arg-type]
    assert session.conf.values == {"a.b": "1"}
    assert suite.ignored_confs == {"spark.driver.memory"}


def test_the_run_session_outlives_stop() -> None:
    from pyspark.sql.connect.session import SparkSession

    from sparkpush.live.pyspark_session import close_pyspark

    session = SparkSession(connection="sc://localhost:1")
    session.release_session_on_close = False
    keep_running(session)
    session.stop()
    assert not session.is_stopped
    close_pyspark(session)
    assert session.is_stopped
    make_default(None)
