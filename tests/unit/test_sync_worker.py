from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from sparkpush.daemon import worker as worker_module
from sparkpush.daemon.worker import SyncWorker
from tests.support import wait_until


def counted(calls: list[int], result: Callable[[], bool] = lambda: True) -> Callable[[], bool]:
    """A sync that counts its calls in `calls` and returns `result()`."""

    def sync() -> bool:
        calls.append(1)
        return result()

    return sync


def test_a_burst_of_changes_gives_one_sync() -> None:
    calls: list[int] = []
    worker = SyncWorker(counted(calls), quiet_s=0.2, settled=lambda: True)
    worker.start()
    try:
        for _ in range(500):
            worker.mark_dirty()
        # up to date: a sync ran, none runs or is due, so no other can follow
        wait_until(worker.up_to_date, 30, interval=0.005)
        assert len(calls) == 1
    finally:
        worker.stop()


def test_flush_waits_for_a_sync_that_started_after_it() -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow_sync() -> bool:
        runs.append(len(runs))
        started.set()
        release.wait(5)
        return True

    worker = SyncWorker(slow_sync, quiet_s=0.01)
    worker.start()
    try:
        worker.mark_dirty()
        assert started.wait(5)
        done = []
        flusher = threading.Thread(target=lambda: done.append(worker.flush(10)))
        flusher.start()
        wait_until(lambda: worker.flushes_waiting == 1, 30, interval=0.005)
        release.set()
        flusher.join(10)
        # the sync running when flush was asked cannot have seen the save: a second one ran
        assert done == [True]
        assert len(runs) == 2
    finally:
        release.set()
        worker.stop()


def test_a_failing_sync_is_retried_and_the_worker_survives_bugs() -> None:
    results = iter([False, True])
    calls: list[int] = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug in one sync")
        return next(results)

    worker = SyncWorker(flaky, quiet_s=0.01)
    worker.start()
    try:
        assert worker.flush(5)
        assert worker.flush(5)
        assert len(calls) == 2
    finally:
        worker.stop()


def test_flush_after_stop_returns_false() -> None:
    worker = SyncWorker(lambda: True)
    worker.start()
    worker.stop()
    assert worker.flush(1) is False


def test_a_settled_flush_answers_without_a_sync() -> None:
    calls: list[int] = []
    worker = SyncWorker(counted(calls), quiet_s=0.01, settled=lambda: True)
    worker.start()
    try:
        assert not worker.up_to_date()  # the first sync always runs
        assert worker.flush(5)
        assert worker.up_to_date() or worker.flush(5)
        assert worker.up_to_date() or worker.flush(5)
        assert len(calls) == 1
    finally:
        worker.stop()


def test_a_flush_syncs_when_not_settled_or_when_a_change_came_in_meanwhile() -> None:
    calls: list[int] = []
    behaviours = iter(["unknown", "changed meanwhile"])
    worker: SyncWorker

    def settled() -> bool:
        if next(behaviours) == "unknown":
            return False
        worker.mark_dirty()  # a change reported while the barrier waited
        return True

    # a long quiet time: no sync of its own, only the ones the flushes ask for
    worker = SyncWorker(counted(calls), quiet_s=30, settled=settled)
    worker.start()
    try:
        assert worker.up_to_date() or worker.flush(5)
        assert worker.up_to_date() or worker.flush(5)  # not settled: syncs
        assert worker.up_to_date() or worker.flush(5)  # settled, but a change came in: syncs
        assert len(calls) == 3
    finally:
        worker.stop()


def test_a_flush_after_a_failed_sync_syncs_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # no retry of the worker's own between the two flushes, however slow the machine
    monkeypatch.setattr(worker_module, "RETRY_MIN_S", 600.0)
    results = iter([False, True, True])
    calls: list[int] = []
    worker = SyncWorker(counted(calls, lambda: next(results)), quiet_s=0.01, settled=lambda: True)
    worker.start()
    try:
        assert worker.up_to_date() or worker.flush(5)  # unreachable: a retry is due
        assert worker.up_to_date() or worker.flush(5)
        assert len(calls) == 2
    finally:
        worker.stop()


def test_a_sync_waiting_for_something_cheap_retries_on_its_own_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A daemon waiting for a stopped server looks again every second, not with a backoff
    that would leave a restarted server unseen for half a minute."""
    monkeypatch.setattr(worker_module, "RETRY_MIN_S", 600.0)
    calls: list[float] = []
    worker: SyncWorker

    def waits() -> bool:
        calls.append(time.monotonic())
        worker.retry_in(0.05)
        return False

    worker = SyncWorker(waits)
    worker.start()
    try:
        worker.mark_dirty()
        wait_until(lambda: len(calls) >= 4, 30, interval=0.005)
    finally:
        worker.stop()


def test_late_reports_of_a_change_the_sync_reads_ask_for_no_second_sync() -> None:
    """A save reports itself more than once (a modification, then its close): the reports
    that come in while the worker waits for the watcher (`settle`) are of changes the sync
    is about to read, and must not cost a second load of the same code."""
    runs: list[int] = []

    def sync() -> bool:
        runs.append(len(runs))
        return True

    def settle() -> bool:
        worker.mark_dirty()  # the save's late report
        return True

    worker = SyncWorker(sync, quiet_s=0.01, settled=lambda: True, settle=settle)
    worker.start()
    try:
        worker.mark_dirty()
        assert worker.flush(10)
        wait_until(worker.up_to_date, 30, interval=0.005)
        assert runs == [0]
    finally:
        worker.stop()


def test_a_change_reported_after_the_sync_started_gets_a_sync_of_its_own() -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def sync() -> bool:
        runs.append(len(runs))
        started.set()
        release.wait(5)
        return True

    worker = SyncWorker(sync, quiet_s=0.01, settled=lambda: True, settle=lambda: True)
    worker.start()
    try:
        worker.mark_dirty()
        assert started.wait(5)
        worker.mark_dirty()  # saved while the sync reads: it may have missed it
        release.set()
        wait_until(lambda: len(runs) == 2, 30, interval=0.005)
        wait_until(worker.up_to_date, 30, interval=0.005)
    finally:
        release.set()
        worker.stop()


def test_a_change_reported_during_the_barrier_skips_the_servers_round_trip() -> None:
    """A flush that comes before its save's event: once the barrier brings the event in, a
    sync is due whatever the server says, so the generation is not asked (a round trip on
    the way from the edit to its answer)."""
    calls: list[int] = []
    asked: list[int] = []
    worker: SyncWorker

    def settled() -> bool:
        worker.mark_dirty()  # the save's event, brought in by the barrier
        return True

    def usable() -> bool:
        asked.append(1)
        return True

    worker = SyncWorker(counted(calls), quiet_s=30, settled=settled, usable=usable)
    worker.start()
    try:
        assert worker.flush(5)  # the first sync
        assert not worker.up_to_date()
        assert asked == []
        assert worker.flush(5)
        assert len(calls) == 2
    finally:
        worker.stop()


def test_a_settled_worker_asks_whether_the_generation_still_answers() -> None:
    answers = iter([True, False])
    worker = SyncWorker(counted([]), quiet_s=30, settled=lambda: True, usable=lambda: next(answers))
    worker.start()
    try:
        assert worker.flush(5)
        assert worker.up_to_date()
        assert not worker.up_to_date()  # the server lost the session: a sync is needed
    finally:
        worker.stop()
