"""Answers that cannot change within one UDF load, each asked of the server once.

Decorating a UDF asks the server to parse its return type and reads the session's Arrow
default: a round trip each, one after the other. `OnceAnswers` asks each question once per
load, and lets the loader ask the likely ones ahead, all at once, while it connects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class OnceAnswers:
    """`ask(key, question)` calls `question` only if no one asked `key` yet, else returns (or
    waits for) that answer; `ask_ahead` asks in the background. A failed answer is not kept,
    and one that failed in the background is asked again by whoever needs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[Hashable, Future[Any]] = {}

    def ask(self, key: Hashable, question: Callable[[], Any]) -> Any:
        future, mine = self._claim(key)
        if mine:
            self._answer(key, future, question)
        try:
            return future.result()
        except Exception:
            if mine:
                raise
            return self.ask(key, question)  # a guess asked ahead failed: ask for real

    def ask_ahead(self, key: Hashable, question: Callable[[], Any]) -> None:
        future, mine = self._claim(key)
        if mine:
            threading.Thread(target=self._answer, args=(key, future, question), daemon=True).start()

    def _claim(self, key: Hashable) -> tuple[Future[Any], bool]:
        with self._lock:
            future = self._answers.get(key)
            if future is not None:
                return future, False
            future = self._answers[key] = Future()
            return future, True

    def _answer(self, key: Hashable, future: Future[Any], question: Callable[[], Any]) -> None:
        try:
            answer = question()
        except BaseException as exc:
            with self._lock:
                del self._answers[key]
            future.set_exception(exc)
        else:
            future.set_result(answer)
