"""Which Python worker daemons the embedded server's reaper stops, and when (no server)."""

from __future__ import annotations

from sparkpush.server.reaper import ChildlessSince, ProcessInfo, worker_daemons

DAEMON = ("/venv/bin/python", "-m", "pyspark.daemon", "pyspark.worker")
JAVA = ("/usr/bin/java", "-cp", "x", "org.apache.spark.deploy.SparkSubmit")
SERVER_SESSION = 100
ME = 1000


def proc(
    pid: int,
    ppid: int,
    args: tuple[str, ...] = DAEMON,
    session: int = SERVER_SESSION,
    uid: int = ME,
) -> ProcessInfo:
    return ProcessInfo(pid=pid, ppid=ppid, session=session, uid=uid, started=pid * 7, args=args)


def test_daemons_are_found_with_whether_they_have_workers() -> None:
    server = proc(100, 1, JAVA)
    busy, worker = proc(200, 100), proc(201, 200)
    idle = proc(300, 100)
    other_session = proc(400, 1, session=999)
    other_user = proc(500, 100, uid=0)
    shell = proc(600, 100, ("/bin/sh", "-c", "true"))
    found = worker_daemons(
        [server, busy, worker, idle, other_session, other_user, shell], {SERVER_SESSION}, ME
    )
    assert found == {busy: True, idle: False}


def test_orphaned_daemons_of_the_session_still_count() -> None:
    orphan = proc(200, 1)
    assert worker_daemons([orphan], {SERVER_SESSION}, ME) == {orphan: False}


def test_a_daemon_is_due_only_after_staying_childless_for_the_grace() -> None:
    tracker = ChildlessSince(grace=10.0)
    daemon = proc(200, 100)
    tracker.expired({daemon: True}, now=0.0)
    assert tracker.expired({daemon: False}, now=1.0) == []
    assert tracker.expired({daemon: False}, now=10.0) == []
    assert tracker.expired({daemon: False}, now=11.0) == [daemon]


def test_a_daemon_that_never_had_a_worker_may_still_be_starting() -> None:
    """On a loaded machine a daemon took more than 10 s to start: reaped, it failed the task
    (EOFException reading its port)."""
    tracker = ChildlessSince(grace=10.0, starting=120.0)
    starting = proc(200, 100)
    assert tracker.expired({starting: False}, now=0.0) == []
    assert tracker.expired({starting: False}, now=30.0) == []
    assert tracker.expired({starting: False}, now=120.0) == [starting]


def test_a_worker_restarts_the_clock() -> None:
    tracker = ChildlessSince(grace=10.0)
    daemon = proc(200, 100)
    tracker.expired({daemon: False}, now=0.0)
    tracker.expired({daemon: True}, now=8.0)
    assert tracker.expired({daemon: False}, now=12.0) == []
    assert tracker.expired({daemon: False}, now=22.0) == [daemon]


def test_a_recycled_pid_is_a_new_daemon() -> None:
    tracker = ChildlessSince(grace=10.0)
    tracker.expired({proc(200, 100): True}, now=0.0)
    tracker.expired({proc(200, 100): False}, now=0.0)
    reborn = ProcessInfo(pid=200, ppid=100, session=SERVER_SESSION, uid=ME, started=1, args=DAEMON)
    assert tracker.expired({reborn: False}, now=15.0) == []
