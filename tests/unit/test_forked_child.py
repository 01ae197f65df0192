"""The pre-forked script child before its script starts."""

from __future__ import annotations

import os
import signal
import time

import pytest

from sparkpush.submit.forked_child import ForkedChild, prefork


@pytest.fixture
def waiting_child() -> ForkedChild:
    forked = prefork()
    if forked is None:
        pytest.skip("no fork on this platform")
    return forked


def test_sigint_before_the_script_starts_leaves_the_child_quiet(
    waiting_child: ForkedChild, capfd: pytest.CaptureFixture[str]
) -> None:
    # what `kill -INT -- -PGID` does to a run still preparing its session
    time.sleep(0.5)
    os.kill(waiting_child.pid, signal.SIGINT)
    time.sleep(0.5)
    waiting_child.abandon()
    assert waiting_child.returncode == 0
    assert "KeyboardInterrupt" not in capfd.readouterr().err
