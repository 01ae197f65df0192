"""Runs on the server's Python workers, not here: one `print()` is one write, named after its UDF.

PySpark's worker log capture (Spark >= 4.1) records every non-blank write to `sys.stdout` as
one row, stripped: `print("n =", 3)` makes two rows (`n =`, `3`) and nothing in them says that
they were one line (the space and newline writes are dropped; two rows of one print are as
close in time as two prints). The print installed here joins its parts and writes once.

It also names the UDF: the capture looks for the function that wrote by walking the stack
outward to the first frame of a `pyspark.*` module, which for a UDF defined in a script
(`__main__`, and the worker's own `__main__` is PySpark's) ends in PySpark's code. So the
line is written through a function named after the UDF (its frame right below PySpark's),
from a print whose module name begins with `pyspark.`: the capture's walk then stops there.
Should a PySpark version walk differently, only the name is lost; lines stay whole.

And it keeps the session's capture from hanging the query (Spark 4.1 to 4.3): the server
reads the workers' log lines in a function that calls itself once per line until a line that
is not a log line comes, so a few thousand log lines in a row overflow its stack, its reader
thread dies, and the worker blocks for good on the full pipe. An empty line after every
`BREAK_EVERY` lines the worker writes there ends the recursion (the server's log shows it).

Sent inside every UDF pickle a sparkpush process makes (see `pickle_hook`), by value: this
module imports nothing of sparkpush and nothing PySpark does not load already.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
import types
from typing import Any

_INSTALLED = "__sparkpush_whole_lines__"
_original: Any = None
"""The print replaced (set in the installed print's own globals, see `install`)."""
_CAPTURE_MODULE = "pyspark.sparkpush_whole_lines"
_CAPTURED = "PYSPARK_SPARK_SESSION_UUID"
"""Set in a worker whose session captures its output (what PySpark's capture checks)."""
BREAK_EVERY = 64
"""Log lines between two empty lines on the captured stream (see the module docstring)."""
"""The module name the installed print claims (see the module docstring)."""


def with_whole_lines(obj: Any) -> Any:
    """The unpickling step: make `print` write whole lines in this worker, give back `obj`."""
    with contextlib.suppress(Exception):  # never the reason a UDF fails
        install()
    return obj


def install() -> None:
    """Replace `builtins.print` once per process (a worker runs many tasks), and break the
    run of log lines where the session captures them."""
    original = builtins.print
    if getattr(original, _INSTALLED, False):
        return
    if _CAPTURED in os.environ and sys.stdout is not None:
        sys.stdout = _LineBreaks(sys.stdout)
    namespace: dict[str, Any] = {
        "__name__": _CAPTURE_MODULE,
        "sys": sys,
        "_original": original,
        "_writer_for": _writer_for,
        "_udf_frame": _udf_frame,
        "_joined": _joined,
    }
    whole = types.FunctionType(_print.__code__, namespace, "print")
    whole.__kwdefaults__ = dict(_print.__kwdefaults__ or {})
    setattr(whole, _INSTALLED, True)
    whole.__doc__ = original.__doc__
    builtins.print = whole


def _print(
    *args: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: bool = False
) -> None:
    try:
        stream = sys.stdout if file is None else file
        text = _joined(args, sep, end)
        frame = _udf_frame(sys._getframe(1))
        writer = _writer_for(frame.f_code.co_name if frame is not None else "print")
        this = frame.f_locals.get("self") if frame is not None else None
    except Exception:  # unusual arguments: print's own behaviour, errors included
        _original(*args, sep=sep, end=end, file=file, flush=flush)
        return
    if stream is None:
        return
    writer(stream, text, this)
    if flush:
        stream.flush()


def _joined(args: tuple[Any, ...], sep: Any, end: Any) -> str:
    if not isinstance(sep, (str, type(None))) or not isinstance(end, (str, type(None))):
        raise TypeError("sep and end must be None or a string")
    return (" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end)


def _udf_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """The outermost frame of user code below PySpark's: the UDF (or UDTF method) itself."""
    pyspark_dir = _pyspark_dir()
    found = None
    while frame is not None:
        if pyspark_dir and frame.f_code.co_filename.startswith(pyspark_dir):
            return found
        found = frame
        frame = frame.f_back
    return found


def _pyspark_dir() -> str:
    module = sys.modules.get("pyspark")
    path = getattr(module, "__file__", None)
    return os.path.dirname(path) + os.sep if path else ""


_writers: dict[str, Any] = {}


def _writer_for(name: str) -> Any:
    """`_write` under the UDF's name (cached): the capture reads the name from its frame."""
    writer = _writers.get(name)
    if writer is None:
        code = _write.__code__.replace(co_name=name)
        if hasattr(code, "co_qualname"):  # Python >= 3.11
            renamed: dict[str, Any] = {"co_qualname": name}
            code = code.replace(**renamed)
        writer = types.FunctionType(code, {"__name__": "sparkpush_worker_output"}, name)
        _writers[name] = writer
    return writer


def _write(stream: Any, text: str, self: Any) -> None:
    # `self` is the UDTF instance (or None): the capture names its class from this frame.
    if self is None:
        del self
    stream.write(text)


class _LineBreaks:
    """The worker's stdout, where the capture writes its log lines: an empty line after every
    `BREAK_EVERY` lines."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lines = 0

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._lines += text.count("\n")
        if self._lines >= BREAK_EVERY:
            self._lines = 0
            self._stream.write("\n")
        return int(written)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
