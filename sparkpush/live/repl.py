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


def _standard(shell: LiveShell) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    shell.namespace.setdefault("__name__", "__console__")
    # the console reads the very dict the shell rebinds `spark` in
    console = code.InteractiveConsole(shell.namespace)  # type: ignore[arg-type]
    shell.watch_generations()
    console.interact(banner=_python_banner() + shell.banner(), exitmsg="")


def _ipython(shell: LiveShell) -> None:
    import IPython
    from traitlets.config import Config

    config = Config()
    config.TerminalInteractiveShell.banner2 = shell.banner() + "\n"
    config.TerminalIPythonApp.display_banner = True
    shell.watch_generations()
    IPython.start_ipython(argv=[], user_ns=shell.namespace, config=config)


def _python_banner() -> str:
    return f"Python {sys.version.split()[0]} on {sys.platform}\n"
