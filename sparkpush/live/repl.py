"""The interactive loop of `connect shell`: IPython when installed, else the standard REPL."""

from __future__ import annotations

import code
import contextlib
import importlib.util
import sys

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
    """The standard REPL, where an error the shell explains is its one line."""

    def __init__(self, shell: LiveShell) -> None:
        # the console reads the very dict the shell rebinds `spark` in
        super().__init__(shell.namespace)  # type: ignore[arg-type]
        self.shell = shell

    def showtraceback(self) -> None:
        error = sys.exc_info()[1]
        line = self.shell.error_line(error) if error is not None else None
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

    from sparkpush.live.ipython import explain_errors

    config = Config()
    config.TerminalInteractiveShell.banner2 = shell.banner() + "\n"
    config.TerminalIPythonApp.display_banner = True
    shell.watch_generations()
    # IPython.start_ipython's own steps, with the error lines put in before the loop starts
    app = TerminalIPythonApp.instance(user_ns=shell.namespace, config=config)
    app.initialize(argv=[])
    explain_errors(app.shell, shell)
    app.start()


def _python_banner() -> str:
    return f"Python {sys.version.split()[0]} on {sys.platform}\n"
