"""Whose sessions an unfinished record keeps: any of its processes still running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sparkpush.sync.unfinished import UnfinishedSession
from tests.support import wait_until


def test_a_process_that_exited_but_was_not_reaped_yet_uses_nothing() -> None:
    """Right after `kill -9` the dead run may still be a zombie (init reaps it seconds later):
    its clone is due all the same."""
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{exited.pid}/stat")
        wait_until(
            lambda: "Z" in stat.read_text().rpartition(")")[2][:3],
            30,
            what="the exited child to be a zombie",
            interval=0.01,
        )
        assert not UnfinishedSession("sc://x:1", "s", pids=(exited.pid,)).owner_alive()
        assert UnfinishedSession("sc://x:1", "s", pids=(exited.pid, os.getpid())).owner_alive()
    finally:
        exited.wait()
