"""A UDF load in a fork of a process that has imported PySpark already.

Both the warm loader (`warm_loader.serve`) and `connect submit`'s pre-forked script process
load this way: the fork imports the user's modules in its own memory, so the forking
process stays untouched, and a crash or endless loop only costs the fork.

The fork can be made before the load is known (`SpareFork`): forking a process with PySpark,
pandas and gRPC imported takes tens of milliseconds, which the warm loader pays between loads
instead of after an edit. A spare holds nothing of the user's: it imports the user's modules
only once its request came, so it runs the code on disk then, however long it waited.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
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
    return SpareFork(events, log_path).load(request, env)


class SpareFork:
    """A forked child waiting (on a pipe of its own) for the one load it will run."""

    def __init__(
        self, events: int, log_path: str | None = None, prepare: Callable[[], None] | None = None
    ) -> None:
        """`prepare` runs in the fork before it waits: work every load needs done ahead."""
        self._events = events
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(write_end)
                _set_scheduling(0, idle=True)
                _prepare_quietly(prepare)
                _wait_for_request(read_end, events, log_path)
            finally:
                os._exit(1)  # never back into the forking process's code
        os.close(read_end)
        self.pid = pid
        self._requests: int | None = write_end

    def load(self, request: Mapping[str, Any], env: Mapping[str, str]) -> int:
        """Hand the spare its load, wait for it, then add its `exit` event; its status."""
        message = json.dumps({"request": dict(request), "env": dict(env)}).encode()
        _set_scheduling(self.pid, idle=False)  # a spare still preparing finishes at full speed
        self._send(message)
        status = self._reap()
        os.write(self._events, (json.dumps(LoaderEvent.exited(status).to_json()) + "\n").encode())
        return status

    def discard(self) -> None:
        """The spare is not needed: EOF without a request, and it exits having done nothing."""
        self._send(b"")
        self._reap()

    def _send(self, message: bytes) -> None:
        requests, self._requests = self._requests, None
        assert requests is not None, "a spare runs one load"
        try:
            view = memoryview(message)
            while view:
                view = view[os.write(requests, view) :]
        except BrokenPipeError:
            pass  # the spare died waiting (killed): its exit status says so
        finally:
            os.close(requests)

    def _reap(self) -> int:
        _, wait_status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(wait_status)


def _set_scheduling(pid: int, *, idle: bool) -> None:
    """A spare prepares at idle priority (Linux's SCHED_IDLE): what it does ahead never takes
    a core from the user's query, which runs right after the load that forked it. Its load
    runs as usual. Where the policy is missing or refused, the spare runs as usual throughout."""
    policy = getattr(os, "SCHED_IDLE" if idle else "SCHED_OTHER", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(pid, policy, os.sched_param(0))


def _prepare_quietly(prepare: Callable[[], None] | None) -> None:
    """Work ahead is only a head start: a failure leaves it to the load, which does it again."""
    if prepare is None:
        return
    with contextlib.suppress(Exception):
        prepare()


def _wait_for_request(requests: int, events: int, log_path: str | None) -> NoReturn:
    """The spare's side: read the request to EOF, then load; nothing read: exit quietly."""
    chunks = []
    try:
        while chunk := os.read(requests, 65536):
            chunks.append(chunk)
    finally:
        os.close(requests)
    if not chunks:
        os._exit(0)
    _set_scheduling(0, idle=False)
    message = json.loads(b"".join(chunks))
    _run_loader(message["request"], message["env"], events, log_path)


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
