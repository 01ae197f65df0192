"""The UDF loader's answers asked once per load, some ahead (no server: the questions are
plain functions; order is arranged with events, nothing is timed)."""

from __future__ import annotations

import threading

import pytest

from sparkpush.udf.once_answers import OnceAnswers


class Question:
    """Counts its calls; answers `answer`, raises `error`, or first waits for `go`."""

    def __init__(
        self, answer: object = None, error: Exception | None = None, wait: bool = False
    ) -> None:
        self.answer = answer
        self.error = error
        self.calls = 0
        self.started = threading.Event()
        self.go = threading.Event()
        if not wait:
            self.go.set()

    def __call__(self) -> object:
        self.calls += 1
        self.started.set()
        assert self.go.wait(60)
        if self.error is not None:
            raise self.error
        return self.answer


def test_a_question_is_asked_once() -> None:
    answers, question = OnceAnswers(), Question("StringType()")
    assert answers.ask("string", question) == answers.ask("string", question) == "StringType()"
    assert question.calls == 1


def test_a_question_asked_ahead_and_in_flight_is_waited_for_not_asked_again() -> None:
    answers = OnceAnswers()
    ahead, own = Question("ahead", wait=True), Question("own")
    answers.ask_ahead("key", ahead)
    assert ahead.started.wait(60)
    got: list[object] = []
    asker = threading.Thread(target=lambda: got.append(answers.ask("key", own)))
    asker.start()
    ahead.go.set()
    asker.join(60)
    assert got == ["ahead"] and own.calls == 0 and ahead.calls == 1


def test_a_question_asked_ahead_that_failed_is_asked_again_by_whoever_needs_it() -> None:
    answers = OnceAnswers()
    ahead = Question(error=ConnectionError("cut"), wait=True)
    answers.ask_ahead("key", ahead)
    ahead.go.set()
    own = Question("own")
    assert answers.ask("key", own) == "own" and own.calls == 1


def test_a_failed_question_of_ones_own_raises_and_is_asked_again_next_time() -> None:
    answers = OnceAnswers()
    with pytest.raises(ValueError, match="bad type"):
        answers.ask("blabla", Question(error=ValueError("bad type")))
    assert answers.ask("blabla", Question("fixed")) == "fixed"


def test_asking_ahead_twice_asks_once() -> None:
    answers, question = OnceAnswers(), Question("x")
    answers.ask_ahead("key", question)
    answers.ask_ahead("key", question)
    assert answers.ask("key", Question("other")) == "x" and question.calls == 1
