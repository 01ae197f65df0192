"""Stops a test session's embedded server once the process that started it is gone.

`python tests/support/server_lifeline.py STATE_DIR` reads its stdin, a pipe whose write end
only the starting process holds, until EOF: the kernel closes the pipe when that process ends,
also when pytest-timeout's thread ends an xdist worker with `os._exit` or it is killed with
SIGKILL, where the fixture's teardown never runs. It then stops the server recorded in
STATE_DIR (nothing, if the teardown already did). A session of its own keeps it out of a
signal sent to the test run's process group.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def watch(state_dir: Path) -> subprocess.Popen[bytes]:
    """Start the lifeline of the server recorded in `state_dir`; close its stdin (or end this
    process) to have it stop that server and end."""
    return subprocess.Popen(
        [sys.executable, __file__, str(state_dir)],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )


if __name__ == "__main__":
    sys.stdin.buffer.read()
    from sparkpush.server.process import stop_server
    from sparkpush.state.server_state import StateFiles

    stop_server(StateFiles(Path(sys.argv[1])))
