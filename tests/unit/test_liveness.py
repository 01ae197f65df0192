"""The liveness probe: a question on the side, unanswered for `timeout` seconds means hung."""

from __future__ import annotations

import threading
import time

from sparkpush.connect.liveness import LivenessProbe
from sparkpush.errors import ServerUnavailableError
from tests.support import wait_until


def test_a_server_that_answers_is_never_hung() -> None:
    asked: list[float] = []
    probe = LivenessProbe(lambda deadline: asked.append(deadline), timeout=0.2, every=0.01)
    try:
        wait_until(lambda: len(asked) >= 20, 30, interval=0.01)
        assert not probe.hung()
    finally:
        probe.close()


def test_a_question_left_unanswered_past_the_timeout_is_a_hung_server() -> None:
    answer = threading.Event()
    probe = LivenessProbe(lambda deadline: answer.wait(deadline), timeout=0.2, every=0.01)
    try:
        wait_until(probe.hung, 30, interval=0.01)
    finally:
        answer.set()
        probe.close()
    # answered at last (SIGCONT): no longer hung
    wait_until(lambda: not probe.hung(), 30, interval=0.01)


def test_an_error_is_an_answer_and_refused_connections_are_not_its_business() -> None:
    def refused(_deadline: float) -> None:
        raise ServerUnavailableError("connection refused")

    probe = LivenessProbe(refused, timeout=0.1, every=0.01)
    try:
        time.sleep(0.3)
        assert not probe.hung()
    finally:
        probe.close()
