"""The child process of `connect submit`: attach to the prepared session, run the script.

Run as `python -m sparkpush.submit.child (--path APP | --module NAME) [ARGS...]`, with the
session's URL in SPARK_REMOTE and its token, if any, in SPARK_CONNECT_AUTHENTICATE_TOKEN.
With SPARKPUSH_LOCAL_PATHS_BASE (a server on this machine), relative paths of reads and
writes resolve against that directory (see local_paths).
Every operation of the script's main thread carries the run's tag (SPARKPUSH_RUN_TAG) so that
the parent can interrupt exactly this run's work; SPARKPUSH_QUERY_PROGRESS=1 draws query
progress on stderr.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import runpy
import sys
import traceback
from types import TracebackType

from sparkpush.submit.local_paths import BASE_DIR_ENV
from sparkpush.submit.local_paths import install as install_local_paths
from sparkpush.submit.script_error import write_script_error


def main(argv: list[str]) -> int:
    mode, target, *args = argv
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    # The parent owns the session's life: a script's own spark.stop() must not release it.
    session.release_session_on_close = False  # type: ignore[attr-defined]
    base = os.environ.get(BASE_DIR_ENV)
    if base:
        install_local_paths(base)
    run_tag = os.environ.get("SPARKPUSH_RUN_TAG")
    if run_tag:
        session.addTag(run_tag)
    if os.environ.get("SPARKPUSH_QUERY_PROGRESS") == "1":
        from sparkpush.submit.query_progress import QueryProgressLine

        session.registerProgressHandler(QueryProgressLine(sys.stderr))
    try:
        return _run(mode, target, args)
    finally:
        # the script may have stopped it already; closing is best effort
        with contextlib.suppress(Exception):
            session.stop()


def _run(mode: str, target: str, args: list[str]) -> int:
    try:
        if mode == "--module":
            sys.argv = [target, *args]
            sys.path.insert(0, os.getcwd())
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            path = os.path.abspath(target)
            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(path))
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        return _exit_code(exc.code)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # the script's own failure: show it as Python would
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
    traceback.print_exception(type(exc), exc, tb)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: open gRPC channels can hang it (see the notes).
    os._exit(code)
