"""Starts a command whose parent is not us: `python -m sparkpush.server.orphan_launch LOG_FD`.

Reads the command (a JSON list) on stdin, starts it in a new session with stdout and stderr
on LOG_FD, prints its pid and exits without waiting: the command is then adopted by init
(or the nearest subreaper), so a server started by the daemon or by any command is never
that process's child, and outlives it the same way whoever started it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    log_fd = int(argv[0])
    command = json.loads(sys.stdin.read())
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    print(process.pid, flush=True)
    return 0


if __name__ == "__main__":
    # no interpreter teardown: the Popen object must not wait for (or warn about) the child
    os._exit(main(sys.argv[1:]))
