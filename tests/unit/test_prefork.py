"""The pre-forked script child before its script starts."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkpush.submit.prefork import ForkedScript, prefork
from tests.support import wait_until

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def waiting_child() -> Iterator[ForkedScript]:
    # what the child warms up is then already loaded: it reaches its pipe at once, well within
    # `abandon`'s 5 s even on a loaded machine (else it is killed mid-import: -9, not 0)
    import pyspark.sql.connect.session  # noqa: F401

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
    wait_until(lambda: ignores_sigint(waiting_child.pid), 60, interval=0.01)
    os.kill(waiting_child.pid, signal.SIGINT)
    waiting_child.abandon()
    assert waiting_child.returncode == 0
    assert "KeyboardInterrupt" not in capfd.readouterr().err
