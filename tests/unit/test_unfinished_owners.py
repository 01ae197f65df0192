"""Whose sessions an unfinished record keeps: any of its processes still running."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sparkpush.sync.unfinished import UnfinishedSession


def test_a_process_that_exited_but_was_not_reaped_yet_uses_nothing() -> None:
    """Right after `kill -9` the dead run may still be a zombie (init reaps it seconds later):
    its clone is due all the same."""
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        stat = Path(f"/proc/{exited.pid}/stat")
        while "Z" not in stat.read_text().rpartition(")")[2][:3]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not UnfinishedSession("sc://x:1", "s", pids=(exited.pid,)).owner_alive()
        assert UnfinishedSession("sc://x:1", "s", pids=(exited.pid, os.getpid())).owner_alive()
    finally:
        exited.wait()
