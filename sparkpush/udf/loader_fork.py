"""A UDF load in a fork of a process that has imported PySpark already.

Both the warm loader (`warm_loader.serve`) and `connect submit`'s pre-forked script process
load this way: the fork imports the user's modules in its own memory, so the forking
process stays untouched, and a crash or endless loop only costs the fork.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NoReturn

from sparkpush.state.private_files import private_opener
from sparkpush.udf.loader_messages import LoaderEvent, LoadRequest


def load_in_fork(
    request: Mapping[str, Any], env: Mapping[str, str], events: int, log_path: str | None = None
) -> int:
    """Run `loader_child.run` in a fork, wait for it, then add its `exit` event; its status.

    The fork writes its events on the file descriptor `events`; what the user's modules
    print goes to `log_path` (a private file, truncated), or without one to our stderr.
    """
    pid = os.fork()
    if pid == 0:
        _run_loader(request, env, events, log_path)
    _, wait_status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    os.write(events, (json.dumps(LoaderEvent.exited(status).to_json()) + "\n").encode())
    return status


def _run_loader(
    request: Mapping[str, Any], env: Mapping[str, str], events: int, log_path: str | None
) -> NoReturn:
    code = 1
    try:
        os.environ.clear()
        os.environ.update(env)
        result = os.fdopen(os.dup(events), "w", buffering=1)
        output = 2
        if log_path is not None:
            output = private_opener(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        # imported in the fork only: the script process that forks it stays without it
        from sparkpush.udf import loader_child

        code = loader_child.run(LoadRequest.from_json(request), result)
        result.flush()
    finally:
        os._exit(code)
