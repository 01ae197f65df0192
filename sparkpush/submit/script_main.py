"""What runs inside the script's process of `connect submit` (started by `script_process`).

`main` attaches to the prepared session and runs the script. Spawned, the process runs
`python -m sparkpush.submit.script_main (--path APP | --module NAME) [ARGS...]`; pre-forked,
`wait_for_start` waits on the parent's pipe (forking UDF loaders meanwhile) and then calls
`main` with the arguments and environment it was sent.

The session's URL is in SPARK_REMOTE and its token, if any, in SPARK_CONNECT_AUTHENTICATE_TOKEN.
SPARKPUSH_DRIVER_PATH holds the project's Python artifacts for the script's own `sys.path`.
With SPARKPUSH_LOCAL_PATHS_BASE (a server on this machine), relative paths of reads and
writes resolve against that directory (see local_paths).
Every operation of the script's main thread carries the run's tag (SPARKPUSH_RUN_TAG) so that
the parent can interrupt exactly this run's work; SPARKPUSH_QUERY_PROGRESS=1 draws query
progress on stderr. The process watches its lifeline to the parent (see `lifeline`): if the
parent dies, it interrupts the run's operations itself (all of the session's, with
SPARKPUSH_RUN_OWNS_SESSION=1) and exits.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import runpy
import signal
import sys
import traceback
from types import TracebackType
from typing import IO, Any

from sparkpush.submit.driver_path import extend_sys_path
from sparkpush.submit.group_interrupt import GroupInterrupts
from sparkpush.submit.group_interrupt import from_environment as group_interrupts
from sparkpush.submit.lifeline import die_with_parent, lifeline_from_environment
from sparkpush.submit.local_paths import BASE_DIR_ENV
from sparkpush.submit.local_paths import install as install_local_paths
from sparkpush.submit.script_error import write_script_error
from sparkpush.udf.loader_fork import load_in_fork
from sparkpush.workerout.activity import EVENTS_ENV, EventFile
from sparkpush.workerout.settings import ENABLED_ENV
from sparkpush.workerout.worker_traceback import format_worker_failure

RUN_TAG_ENV = "SPARKPUSH_RUN_TAG"
QUERY_PROGRESS_ENV = "SPARKPUSH_QUERY_PROGRESS"
OWNS_SESSION_ENV = "SPARKPUSH_RUN_OWNS_SESSION"


def main(argv: list[str], lifeline: IO[str] | None = None) -> int:
    mode, target, *args = argv
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    # The parent owns the session's life: a script's own spark.stop() must not release it.
    session.release_session_on_close = False  # type: ignore[attr-defined]
    if lifeline is not None:
        owns = os.environ.pop(OWNS_SESSION_ENV, "") == "1"
        die_with_parent(lifeline, lambda: _interrupt_orphaned_run(session, owns))
    base = os.environ.get(BASE_DIR_ENV)
    if base:
        install_local_paths(base)
    run_tag = os.environ.get(RUN_TAG_ENV)
    if run_tag:
        session.addTag(run_tag)
    if os.environ.get(QUERY_PROGRESS_ENV) == "1":
        from sparkpush.submit.query_progress import QueryProgressLine

        session.registerProgressHandler(QueryProgressLine(sys.stderr))
    _guard_worker_output(session)
    interrupts = group_interrupts(os.environ)
    if interrupts is not None:
        interrupts.install()
    try:
        return _run(mode, target, args, interrupts)
    finally:
        if interrupts is not None:  # the run is over: a late stop signal changes nothing
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # the script may have stopped it already; closing is best effort
        with contextlib.suppress(Exception):
            session.stop()


_events: EventFile | None = None
"""Where this process tells the parent about its queries (with worker output on)."""
FLUSH_WAIT_S = 10.0


def _show_worker_output_first() -> None:
    """Let the parent show what the UDFs printed before the traceback (bounded wait)."""
    if _events is not None:
        _events.flush(FLUSH_WAIT_S)


def _guard_worker_output(session: Any) -> None:
    """Every UDF the script sends carries the workers' whole-line print (which also keeps a
    session that captures worker output from hanging, see `worker_print`); with worker output
    on, the parent, which reads it, learns when queries run and UDFs are sent."""
    from sparkpush.workerout.activity import PICKLED, ProgressEvents
    from sparkpush.workerout.pickle_hook import install_pickle_hook

    if os.environ.get(ENABLED_ENV) != "1":
        install_pickle_hook()
        return
    global _events
    events = _events = EventFile(os.environ[EVENTS_ENV])
    install_pickle_hook(lambda: events.emit(PICKLED))
    session.registerProgressHandler(ProgressEvents(events.emit))


def _interrupt_orphaned_run(session: Any, owns_session: bool) -> None:
    """`connect submit` is gone (killed): stop what this run left running on the server."""
    print("connect: connect submit is gone: interrupting the run's operations", file=sys.stderr)
    interrupted: list[str] = []
    tag = os.environ.get(RUN_TAG_ENV)
    with contextlib.suppress(Exception):
        if tag:
            interrupted += session.interruptTag(tag)
        if owns_session:
            # operations the script started from other threads carry no tag
            interrupted += session.interruptAll()
    print(
        f"connect: interrupted {len(set(interrupted))} operation(s); stopping the script",
        file=sys.stderr,
    )


def _run(mode: str, target: str, args: list[str], interrupts: GroupInterrupts | None) -> int:
    try:
        if mode == "--module":
            sys.argv = [target, *args]
            sys.path.insert(0, os.getcwd())
            extend_sys_path(sys.path, os.environ)
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            path = os.path.abspath(target)
            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(path))
            extend_sys_path(sys.path, os.environ)
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        return _exit_code(exc.code)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # the script's own failure: show it as Python would
        if interrupts is not None and interrupts.noted:
            return 130  # its query failed because the run's operations were interrupted
        _show_worker_output_first()
        _print_script_traceback(exc, target)
        write_script_error(exc, os.environ)
        return 1
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_script_traceback(exc: BaseException, target: str) -> None:
    """The traceback from the script's first frame on, without our runner's frames."""
    tb: TracebackType | None = exc.__traceback__
    here = os.path.dirname(__file__)
    while tb is not None and (
        tb.tb_frame.f_code.co_filename.startswith(here)
        or tb.tb_frame.f_code.co_filename.endswith("runpy.py")
        or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")
    ):
        tb = tb.tb_next
    shortened = format_worker_failure(exc, tb)
    if shortened is not None:  # a failed UDF: the user's frames, not PySpark's
        sys.stderr.write(shortened)
        return
    traceback.print_exception(type(exc), exc, tb)


def wait_for_start(read_end: int) -> int:
    """The pre-forked process: warm PySpark's imports, then run what the parent sends."""
    # The parent's exit handlers, log handlers and signal handlers are not the script's.
    atexit._clear()
    # as `python -u`: the script's output reaches CI logs as it is printed
    sys.stdout.reconfigure(write_through=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(write_through=True)  # type: ignore[union-attr]
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)
    # Until the script starts, a Ctrl-C (or a SIGINT sent to the whole process group) is the
    # parent's to handle: it closes the pipe, and we exit quietly instead of with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        import pyspark.sql.connect.session  # noqa: F401  (warm while the parent prepares)
    # after the order to start, the parent keeps the pipe open: it is the run's lifeline
    pipe = os.fdopen(read_end)
    for line in pipe:
        order = json.loads(line)
        if "load" not in order:
            break
        _load_udfs(order["load"])
    else:
        pipe.close()
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(order["env"])
    code = main(order["argv"], lifeline=pipe)
    atexit._run_exitfuncs()
    return code


def _load_udfs(load: dict[str, Any]) -> None:
    """A load ordered by `forked_loader`: in a fork, its events into the order's FIFO."""
    events = os.open(load["events"], os.O_WRONLY)
    try:
        load_in_fork(load["request"], load["env"], events, load["log"])
    finally:
        os.close(events)


if __name__ == "__main__":
    code = main(sys.argv[1:], lifeline=lifeline_from_environment())
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: open gRPC channels can hang it (see the notes).
    os._exit(code)
