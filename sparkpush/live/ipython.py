"""`%load_ext sparkpush`: `spark` on the project's live generation in IPython and notebooks.

The project is found from the kernel's working folder; `SPARKPUSH_CONFIG` and
`SPARKPUSH_SHELL_REMOTE` choose the config file and the server as they do for `connect shell`.
Before each cell, a line says when the project's generation changed since `spark` was made;
`spark.refresh()` moves it. A DataFrame of the session it replaced answers with one line.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sparkpush.errors import SparkpushError
from sparkpush.live.live_project import LiveOptions, LiveProject
from sparkpush.live.shell import LiveShell

_loaded: dict[int, tuple[LiveShell, Callable[..., None]]] = {}
"""Per IPython shell: the live shell and its pre_run_cell callback."""


def load(ipython: Any) -> None:
    """Put `spark` (and `refresh`) in the user namespace; an error is one line, not a trace."""
    if id(ipython) in _loaded:
        print("sparkpush: already loaded; spark.refresh() moves spark to the newest generation")
        return
    try:
        shell = _open(ipython)
    except SparkpushError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return
    print(shell.banner())

    def before_cell(*_: object) -> None:
        notice = shell.newer_generation()
        if notice:
            print(notice)

    ipython.events.register("pre_run_cell", before_cell)
    explain_errors(ipython, shell)
    atexit.register(shell.close)
    _loaded[id(ipython)] = (shell, before_cell)


def unload(ipython: Any) -> None:
    loaded = _loaded.pop(id(ipython), None)
    if loaded is None:
        return
    shell, before_cell = loaded
    ipython.events.unregister("pre_run_cell", before_cell)
    ipython.set_custom_exc((), None)
    atexit.unregister(shell.close)
    shell.close()
    for name in ("spark", "refresh"):
        ipython.user_ns.pop(name, None)


def explain_errors(ipython: Any, shell: LiveShell) -> None:
    """Errors of Spark Connect that the shell explains (`LiveShell.error_line`) show as their
    one line; every other one as IPython shows it."""
    from pyspark.errors.exceptions.connect import SparkConnectException

    def handler(
        ip: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
    ) -> None:
        line = shell.error_line(value)
        if line is None:
            ip.showtraceback((etype, value, tb), tb_offset=tb_offset)
        else:
            print(line)

    ipython.set_custom_exc((SparkConnectException,), handler)


def _open(ipython: Any) -> LiveShell:
    config_file = os.environ.get("SPARKPUSH_CONFIG")
    options = LiveOptions(
        remote=os.environ.get("SPARKPUSH_SHELL_REMOTE") or None,
        config_file=Path(config_file) if config_file else None,
    )
    project = LiveProject.open(options, notify=lambda line: print(f"connect: {line}"))
    shell = LiveShell(project, ipython.user_ns, say=print)
    try:
        shell.start()
    except BaseException:
        shell.close()
        raise
    return shell
