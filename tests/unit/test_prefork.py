"""The pre-forked script child before its script starts."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.submit.prefork import ForkedScript, prefork

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def waiting_child() -> Iterator[ForkedScript]:
    forked = prefork()
    if forked is None:
        pytest.skip("no fork on this platform")
    yield forked
    forked.abandon()


def ignores_sigint(pid: int) -> bool:
    """Whether the process has set SIGINT to be ignored (Linux: SigIgn in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def test_sigint_before_the_script_starts_leaves_the_child_quiet(
    waiting_child: ForkedScript, capfd: pytest.CaptureFixture[str]
) -> None:
    # what `kill -INT -- -PGID` does to a run still preparing its session
    deadline = time.monotonic() + 60
    while not ignores_sigint(waiting_child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(waiting_child.pid, signal.SIGINT)
    waiting_child.abandon()
    assert waiting_child.returncode == 0
    assert "KeyboardInterrupt" not in capfd.readouterr().err
