"""The interactive loop of `connect shell`: IPython when installed, else the standard REPL."""

from __future__ import annotations

import code
import contextlib
import importlib.util
import sys
from types import CodeType
from typing import Any

from sparkpush.live.shell import LiveShell


def ipython_installed() -> bool:
    return importlib.util.find_spec("IPython") is not None


def interact(shell: LiveShell, *, plain: bool = False) -> None:
    """Run the loop until the user leaves it (Ctrl-D, exit()); `spark` lives in its namespace."""
    if ipython_installed() and not plain:
        _ipython(shell)
    else:
        _standard(shell)


class _Console(code.InteractiveConsole):
    """The standard console, with the worker output of each statement shown after it."""

    def __init__(self, shell: LiveShell) -> None:
        # the console reads the very dict the shell rebinds `spark` in
        super().__init__(shell.namespace)  # type: ignore[arg-type]
        self.shell = shell

    def runcode(self, code: CodeType) -> None:
        self.shell.before_cell()
        try:
            super().runcode(code)
        finally:
            self.shell.after_cell()

    def showtraceback(self) -> None:
        _, error, tb = sys.exc_info()
        # the first frame is the console's own, as the console shows it
        if error is None or not self.shell.show_exception(error, tb.tb_next if tb else None):
            super().showtraceback()


def _standard(shell: LiveShell) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    shell.namespace.setdefault("__name__", "__console__")
    console = _Console(shell)
    shell.watch_generations()
    console.interact(banner=_python_banner() + shell.banner(), exitmsg="")


def _ipython(shell: LiveShell) -> None:
    from IPython.terminal.ipapp import TerminalIPythonApp
    from traitlets.config import Config

    config = Config()
    config.TerminalInteractiveShell.banner2 = shell.banner() + "\n"
    config.TerminalIPythonApp.display_banner = True
    shell.watch_generations()
    # IPython.start_ipython, with the cell events registered between its two steps
    app = TerminalIPythonApp.instance(config=config, user_ns=shell.namespace)
    app.initialize(argv=[])
    follow_cells(app.shell, shell)
    app.start()


def follow_cells(ipython: Any, shell: LiveShell) -> None:
    """After each IPython cell, the worker output of its queries; a failed UDF's traceback
    cut to the user's frames."""
    from sparkpush.live.ipython_errors import show_failed_udfs

    ipython.events.register("pre_run_cell", lambda *_: shell.before_cell())
    ipython.events.register("post_run_cell", lambda *_: shell.after_cell())
    show_failed_udfs(ipython, shell)


def _python_banner() -> str:
    return f"Python {sys.version.split()[0]} on {sys.platform}\n"
