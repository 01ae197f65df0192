"""One-line messages for everything that can go wrong while loading UDF modules."""

from __future__ import annotations

import signal

from sparkpush.udf.loader_messages import LoadProblem


def _where(problem: LoadProblem) -> str:
    if problem.file and problem.line:
        return f"{problem.file}:{problem.line}"
    return problem.file or "UDF loader"


def describe_problem(problem: LoadProblem) -> str:
    """`udfs.py:3: SyntaxError: invalid syntax` and friends."""
    where, message = _where(problem), first_line(problem.message)
    if problem.kind == "syntax":
        return f"{where}: {problem.error_type or 'SyntaxError'}: {message}"
    if problem.kind == "import":
        detail = f"{problem.error_type}: {message}" if message else f"{problem.error_type}"
        return f"{where}: {detail} (while importing)"
    if problem.kind == "exit":
        code = "" if message in ("", "None") else message
        return f"{problem.file} called sys.exit({code}) while being imported"
    if problem.kind == "pickle":
        return f"{where}: cannot pickle UDF '{problem.name}': {message}"
    if problem.kind == "register":
        return f"{where}: the server refused UDF '{problem.name}': {message}"
    if problem.kind == "java":
        return f"java_udfs.{problem.name}: cannot register it: {message}"
    if problem.kind == "missing":
        return f"UDF module {problem.file} does not exist"
    return message


def describe_timeout(file: str | None, seconds: float) -> str:
    if file is None:
        return f"the UDF loader gave no answer within {seconds:g} s"
    return f"{file}: still loading after {seconds:g} s (an infinite loop at import?)"


def describe_exit(file: str | None, returncode: int) -> str:
    """A child that died without reporting: killed by a signal or `os._exit`."""
    who = file if file is not None else "the UDF loader"
    when = " while being imported" if file is not None else ""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"{who} crashed the interpreter (signal {name})"
    return f"{who} ended the interpreter with exit code {returncode}{when}"


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:500] if stripped else ""
