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


class LiveConsole(code.InteractiveConsole):
    """The standard REPL: the worker output of each statement shown after it; a failed UDF's
    traceback cut to the user's frames; an error the shell explains is its one line."""

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
        if error is None:
            super().showtraceback()
            return
        # the first frame is the console's own, as the console shows it
        if self.shell.show_exception(error, tb.tb_next if tb else None):
            return
        line = self.shell.error_line(error)
        if line is None:
            super().showtraceback()
        else:
            self.write(line + "\n")


def _standard(shell: LiveShell) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    shell.namespace.setdefault("__name__", "__console__")
    console = LiveConsole(shell)
    shell.watch_generations()
    console.interact(banner=_python_banner() + shell.banner(), exitmsg="")


def _ipython(shell: LiveShell) -> None:
    from IPython.terminal.ipapp import TerminalIPythonApp
    from traitlets.config import Config

    config = Config()
    config.TerminalInteractiveShell.banner2 = shell.banner() + "\n"
    config.TerminalIPythonApp.display_banner = True
    shell.watch_generations()
    # IPython.start_ipython's own steps, with the cell events and the error lines put in
    # before the loop starts
    app = TerminalIPythonApp.instance(config=config, user_ns=shell.namespace)
    app.initialize(argv=[])
    follow_cells(app.shell, shell)
    app.start()


def follow_cells(ipython: Any, shell: LiveShell) -> None:
    """After each IPython cell, the worker output of its queries; errors as `explain_errors`
    shows them."""
    from sparkpush.live.ipython_errors import explain_errors

    ipython.events.register("pre_run_cell", lambda *_: shell.before_cell())
    ipython.events.register("post_run_cell", lambda *_: shell.after_cell())
    explain_errors(ipython, shell)


def _python_banner() -> str:
    return f"Python {sys.version.split()[0]} on {sys.platform}\n"
