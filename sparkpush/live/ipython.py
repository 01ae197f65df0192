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
from sparkpush.live.ipython_errors import explain_errors
from sparkpush.live.live_project import LiveOptions, LiveProject
from sparkpush.live.shell import LiveShell
from sparkpush.workerout.settings import worker_output_on

WORKER_OUTPUT_ENV = "SPARKPUSH_SHELL_WORKER_OUTPUT"

_loaded: dict[int, tuple[LiveShell, Callable[..., None], Callable[..., None]]] = {}
"""Per IPython shell: the live shell and its pre_run_cell and post_run_cell callbacks."""


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
        shell.before_cell()

    def after_cell(*_: object) -> None:
        shell.after_cell()

    ipython.events.register("pre_run_cell", before_cell)
    ipython.events.register("post_run_cell", after_cell)
    explain_errors(ipython, shell)
    atexit.register(shell.close)
    _loaded[id(ipython)] = (shell, before_cell, after_cell)


def unload(ipython: Any) -> None:
    loaded = _loaded.pop(id(ipython), None)
    if loaded is None:
        return
    shell, before_cell, after_cell = loaded
    ipython.events.unregister("pre_run_cell", before_cell)
    ipython.events.unregister("post_run_cell", after_cell)
    ipython.set_custom_exc((), None)
    atexit.unregister(shell.close)
    shell.close()
    for name in ("spark", "refresh"):
        ipython.user_ns.pop(name, None)


def _open(ipython: Any) -> LiveShell:
    config_file = os.environ.get("SPARKPUSH_CONFIG")
    options = LiveOptions(
        remote=os.environ.get("SPARKPUSH_SHELL_REMOTE") or None,
        config_file=Path(config_file) if config_file else None,
    )
    project = LiveProject.open(options, notify=lambda line: print(f"connect: {line}"))
    shell = LiveShell(project, ipython.user_ns, say=print)
    try:
        shell.start(worker_output=_worker_output_on(project))
    except BaseException:
        shell.close()
        raise
    return shell


def _worker_output_on(project: LiveProject) -> bool:
    """`SPARKPUSH_SHELL_WORKER_OUTPUT` (as `connect shell --[no-]worker-output`), else the
    config."""
    raw = os.environ.get(WORKER_OUTPUT_ENV, "").strip().lower()
    flag = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(raw)
    return worker_output_on(flag, project.config.worker_output)
