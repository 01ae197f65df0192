"""When the worker output is read: only after a task or query ended, paced by the reads' cost,
and once more at the end of a run if something ended since; the script child's events
through a file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sparkpush.errors import ServerUnavailableError
from sparkpush.workerout.activity import (
    BACKLOGGED,
    DONE,
    FLUSH,
    IDLE,
    PICKLED,
    RUNNING,
    TASKS_ENDED,
    EventFile,
    FollowedEventFile,
    ProgressEvents,
    QueryActivity,
)
from sparkpush.workerout.bounded import BoundedLines
from sparkpush.workerout.follower import WorkerOutputFollower
from sparkpush.workerout.reader import WorkerLogReader


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class View:
    """A view whose rows are numbered lines; each read can cost clock time."""

    def __init__(self, clock: Clock, cost: float = 0.0) -> None:
        self.clock = clock
        self.cost = cost
        self.lines: list[str] = []
        self.reads = 0
        self.fail_next = False

    def __call__(self, sql: str, timeout: float) -> list[Mapping[str, Any]]:
        self.reads += 1
        self.clock.now += self.cost
        if self.fail_next:
            self.fail_next = False
            raise ServerUnavailableError("busy")
        if sql.startswith("SELECT count(*)"):
            return [{"records": len(self.lines), "lines": len(self.lines)}]
        return [
            {"ts": i, "position": 0, "level": "INFO", "logger": "stdout", "msg": line}
            for i, line in enumerate(self.lines)
        ]


def follower(
    relevant: bool = True, cost: float = 0.0, show_limit: int = 1000
) -> tuple[WorkerOutputFollower, View, QueryActivity, list[str], Clock]:
    clock = Clock()
    view = View(clock, cost)
    activity = QueryActivity(relevant)
    shown: list[str] = []
    output = BoundedLines(shown.append, show_limit=show_limit)
    return (
        WorkerOutputFollower(WorkerLogReader(view), output, activity, clock=clock),
        view,
        activity,
        shown,
        clock,
    )


def test_nothing_is_read_before_a_query_ran() -> None:
    one, view, _, _, _ = follower()
    assert not one.due()
    one.finish()
    assert view.reads == 0


def test_a_finished_query_is_read_once() -> None:
    one, view, activity, shown, _ = follower()
    view.lines.append("hello")
    activity.add(DONE)
    assert one.due()
    one.read_now()
    assert not one.due()
    one.finish()
    assert shown == ["[worker] hello"]
    assert view.reads == 1


def test_a_session_without_python_code_is_never_read() -> None:
    one, _, activity, _, _ = follower(relevant=False)
    activity.add(DONE)
    assert not one.due()
    activity.add(PICKLED)  # the script sent a UDF: now it is
    assert one.due()


def test_a_running_query_whose_tasks_have_not_ended_is_not_read() -> None:
    """The server saves a task's output when the task ends: before that a read finds nothing."""
    one, view, activity, _, _ = follower()
    activity.add(RUNNING)
    assert not one.due()
    activity.add(TASKS_ENDED)
    assert one.due()
    one.read_now()
    assert not one.due()
    assert view.reads == 1


def test_a_running_query_is_read_again_no_sooner_than_its_reads_cost_allow() -> None:
    one, _, activity, _, clock = follower(cost=1.5)
    activity.add(RUNNING + TASKS_ENDED)
    assert one.due()
    one.read_now()  # 1.5 s: the next read waits 3 x 1.5 s
    activity.add(TASKS_ENDED)
    clock.now += 4.0
    assert not one.due()
    clock.now += 0.6
    assert one.due()


def test_a_slow_read_holds_the_next_back_five_seconds_at_most() -> None:
    one, _, activity, _, clock = follower(cost=7.0)
    activity.add(RUNNING + TASKS_ENDED)
    one.read_now()
    activity.add(TASKS_ENDED)
    clock.now += 4.9
    assert not one.due()
    clock.now += 0.2
    assert one.due()


def test_quick_reads_still_leave_a_second_between_them() -> None:
    one, _, activity, _, clock = follower(cost=0.01)
    activity.add(RUNNING + TASKS_ENDED)
    one.read_now()
    activity.add(DONE)
    clock.now += 0.5
    assert not one.due()
    clock.now += 0.6
    assert one.due()


def test_the_end_of_a_run_reads_what_is_left() -> None:
    one, view, activity, shown, _ = follower()
    activity.add(RUNNING)
    one.read_now()
    view.lines += ["from the last task"]
    activity.add(DONE + IDLE)
    counts = one.finish()
    assert shown == ["[worker] from the last task"]
    assert counts.lines == 1


def test_no_last_read_when_nothing_happened_since_the_last() -> None:
    one, view, activity, _, _ = follower()
    activity.add(DONE)
    one.read_now()
    one.finish()
    assert view.reads == 1


def test_a_failed_read_is_tried_again() -> None:
    one, view, activity, shown, _ = follower()
    view.lines.append("kept for later")
    view.fail_next = True
    activity.add(DONE)
    one.read_now()
    assert shown == []
    one.finish()
    assert shown == ["[worker] kept for later"]


def test_past_the_bound_lines_are_counted_not_read() -> None:
    one, view, activity, shown, _ = follower(show_limit=2)
    view.lines += ["a", "b", "c"]
    activity.add(DONE)
    one.read_now()
    view.lines += ["d", "e"]
    activity.add(DONE)
    counts = one.finish()
    assert counts.lines == 5 and counts.shown == 2
    assert shown[-1].startswith("[worker] 3 more worker line(s) not shown")


def test_an_old_server_gets_one_line_once_when_there_would_be_output() -> None:
    clock = Clock()
    view = View(clock)
    activity = QueryActivity(True)
    shown: list[str] = []
    one = WorkerOutputFollower(
        WorkerLogReader(view), BoundedLines(shown.append), activity, unavailable="needs 4.1"
    )
    one.finish()
    assert shown == []  # no query ran: nothing to say
    activity.add(DONE)
    one.read_now()
    activity.add(DONE)
    one.read_now()
    assert shown == ["[worker] needs 4.1"]
    assert view.reads == 0


def test_an_urgent_stop_reads_nothing_more() -> None:
    one, view, activity, _, _ = follower()
    activity.add(DONE)
    one.finish(read_rest=False)
    assert view.reads == 0


# --- events ---------------------------------------------------------------------------------


def test_progress_events_say_running_done_and_idle() -> None:
    events: list[str] = []
    handler = ProgressEvents(events.append)
    handler(stages=[], inflight_tasks=1, operation_id="a", done=False)
    handler(stages=[], inflight_tasks=1, operation_id="a", done=False)
    handler(stages=[], inflight_tasks=1, operation_id="b", done=False)
    handler(stages=[], inflight_tasks=0, operation_id="a", done=True)
    handler(stages=[], inflight_tasks=0, operation_id="b", done=True)
    handler(stages=[], inflight_tasks=0, operation_id="quick", done=True)
    assert events == [RUNNING, RUNNING, DONE, DONE + IDLE, DONE]


class Stage:
    def __init__(self, num_tasks: int, num_completed_tasks: int, done: bool = False) -> None:
        self.num_tasks = num_tasks
        self.num_completed_tasks = num_completed_tasks
        self.done = done


def test_a_query_with_tasks_waiting_for_a_slot_is_not_read_live() -> None:
    """Spark runs jobs first come, first served: a read now would wait behind those tasks."""
    events: list[str] = []
    handler = ProgressEvents(events.append)
    handler(stages=[Stage(1, 1, done=True), Stage(16, 2)], inflight_tasks=2, operation_id="q")
    handler(stages=[Stage(1, 1, done=True), Stage(16, 9)], inflight_tasks=2, operation_id="q")
    handler(stages=[Stage(1, 1, done=True), Stage(16, 14)], inflight_tasks=2, operation_id="q")
    handler(stages=[], inflight_tasks=0, operation_id="q", done=True)
    assert events == [BACKLOGGED, RUNNING + TASKS_ENDED, DONE + IDLE]
    activity = QueryActivity()
    activity.add(BACKLOGGED)
    assert not activity.take().running
    activity.add(RUNNING)
    assert activity.take().running


def test_tasks_ending_in_a_running_query_are_told_once_none_waits() -> None:
    events: list[str] = []
    handler = ProgressEvents(events.append)
    handler(stages=[Stage(2, 0)], inflight_tasks=2, operation_id="q")
    handler(stages=[Stage(2, 0)], inflight_tasks=2, operation_id="q")
    handler(stages=[Stage(2, 1)], inflight_tasks=1, operation_id="q")
    handler(stages=[Stage(2, 1)], inflight_tasks=1, operation_id="q")
    handler(stages=[Stage(4, 1)], inflight_tasks=2, operation_id="r")  # one waits
    handler(stages=[Stage(4, 2)], inflight_tasks=2, operation_id="r")
    handler(stages=[Stage(4, 3)], inflight_tasks=1, operation_id="r")
    handler(stages=[], inflight_tasks=0, operation_id="q", done=True)
    assert events == [RUNNING, TASKS_ENDED, BACKLOGGED, RUNNING + TASKS_ENDED, TASKS_ENDED, DONE]


def test_activity_sums_events_up_and_take_resets_ended() -> None:
    activity = QueryActivity()
    activity.add(PICKLED + RUNNING + DONE)
    first = activity.take()
    assert (first.relevant, first.running, first.ended) == (True, True, True)
    activity.add(IDLE)
    second = activity.take()
    assert (second.relevant, second.running, second.ended) == (True, False, False)
    activity.add(TASKS_ENDED)
    assert activity.take().ended


def test_the_childs_events_reach_the_parent_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "events"
    path.touch()
    activity = QueryActivity()
    followed = FollowedEventFile(path, activity)
    child = EventFile(str(path))
    child.emit(PICKLED)
    followed.look()
    assert activity.take().relevant
    child.emit(DONE)
    followed.look()
    followed.look()
    assert activity.take().ended
    assert not activity.take().ended


def test_a_flush_reads_at_once_and_tells_the_child(tmp_path: Path) -> None:
    path = tmp_path / "events"
    path.touch()
    clock = Clock()
    view = View(clock, cost=5.0)
    activity = QueryActivity(True)
    followed = FollowedEventFile(path, activity)
    shown: list[str] = []
    one = WorkerOutputFollower(
        WorkerLogReader(view),
        BoundedLines(shown.append),
        activity,
        look=followed.look,
        flushed=followed.flushed,
        clock=clock,
    )
    activity.add(DONE)
    one.read_now()  # the next read would wait 15 s
    view.lines.append("printed before the script failed")
    child = EventFile(str(path))
    child.emit(FLUSH)
    assert one.due()
    one.read_now()
    assert shown == ["[worker] printed before the script failed"]
    assert Path(f"{path}.flushed").exists()  # what the child waits for
