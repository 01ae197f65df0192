"""The benchmarks' delay line (benchmarks/_throttle.py), on a fake clock: order, contents, and
that each chunk waits for its own due time only (latency without serialising the stream)."""

from __future__ import annotations

from pytest import approx

from benchmarks._throttle import DelayLine


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_chunks_come_out_in_order_with_their_bytes_then_the_end() -> None:
    clock = FakeClock()
    line = DelayLine(0.025, clock, clock.sleep)
    for chunk in (b"first", b"", b"third", None):
        line.put(chunk)
    assert [line.get() for _ in range(4)] == [b"first", b"", b"third", None]


def test_a_chunk_leaves_when_due_and_one_already_due_leaves_at_once() -> None:
    clock = FakeClock()
    line = DelayLine(0.025, clock, clock.sleep)
    line.put(b"a")
    clock.now = 0.010
    assert line.get() == b"a"
    assert clock.now == approx(0.025)  # put at 0, due at 0.025
    line.put(b"b")
    clock.now = 1.0
    assert line.get() == b"b"
    assert clock.slept == [approx(0.015)]  # b was overdue: no wait


def test_back_to_back_chunks_each_wait_their_own_delay_not_the_sum() -> None:
    clock = FakeClock()
    line = DelayLine(0.025, clock, clock.sleep)
    for index in range(10):
        clock.now = index * 0.001
        line.put(bytes([index]))
    clock.now = 0.010
    out = [line.get() for _ in range(10)]
    assert out == [bytes([i]) for i in range(10)]
    assert clock.now == approx(0.025 + 9 * 0.001)  # the last chunk's due time, not 10 delays


def test_no_delay_passes_chunks_straight_through() -> None:
    clock = FakeClock()
    line = DelayLine(0.0, clock, clock.sleep)
    line.put(b"x")
    assert line.get() == b"x" and clock.slept == []
