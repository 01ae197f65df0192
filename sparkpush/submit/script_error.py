"""How a script's uncaught exception reaches the run report: one line, written by the child.

The child prints the traceback on the script's stderr as Python would, and writes the
traceback's last line (and a hint for the APIs Spark Connect lacks) as JSON to the file named
by SPARKPUSH_SCRIPT_ERROR_FILE; the parent reads it once the child has ended. Anything that
looks like a credential is cut out before it can reach a report.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sparkpush.connect.worker_failure import parse_worker_failure

SCRIPT_ERROR_ENV = "SPARKPUSH_SCRIPT_ERROR_FILE"
MAX_MESSAGE_CHARS = 1000
MIN_SECRET_CHARS = 4

NO_RDD_HINT = (
    "Spark Connect has no RDD or SparkContext API (sparkContext, .rdd, _jvm...): "
    "use DataFrame operations instead"
)
_NO_JVM_CLASSES = {"JVM_ATTRIBUTE_NOT_SUPPORTED", "CONTEXT_UNAVAILABLE_FOR_REMOTE_CLIENT"}
_NOT_IMPLEMENTED_RDD = re.compile(r"\b(rdd|sparkContext|SparkContext)\b")
_TOKEN_PARAM = re.compile(r"(token=)[^;\s'\"]+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class ScriptError:
    """`Type: message` of the exception that ended the script, and a hint if one applies."""

    message: str
    hint: str | None = None


def describe_exception(exc: BaseException) -> ScriptError:
    """The traceback's last line (the message's first line) and, for RDD/JVM APIs, a hint."""
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = f"{kind.__module__}.{name}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    failure = parse_worker_failure(text) if "PythonException" in name else None
    if failure is not None:  # the worker's exception, not PySpark's preamble
        first = failure.summary()
    message = f"{name}: {first}" if first else name
    return ScriptError(message[:MAX_MESSAGE_CHARS], api_gap_hint(exc))


def api_gap_hint(exc: BaseException) -> str | None:
    """The one-line hint for an exception raised by an API Spark Connect lacks (RDD,
    `sparkContext`, `_jdf`, `_jsc`...), else None."""
    text = str(exc)
    condition = error_condition(exc)
    if condition in _NO_JVM_CLASSES:
        return NO_RDD_HINT
    if condition == "NOT_IMPLEMENTED" and _NOT_IMPLEMENTED_RDD.search(text):
        return NO_RDD_HINT
    return None


def error_condition(exc: BaseException) -> str | None:
    """A PySpark error's condition (`JVM_ATTRIBUTE_NOT_SUPPORTED`...), else None."""
    get = getattr(exc, "getCondition", None)
    try:
        condition = get() if callable(get) else None
    except Exception:  # an exception class of the script's own with a broken method
        return None
    return condition if isinstance(condition, str) else None


def write_script_error(exc: BaseException, environ: Mapping[str, str]) -> None:
    """In the child: leave the description where the parent looks (if it asked). Never raises."""
    path = environ.get(SCRIPT_ERROR_ENV)
    if not path:
        return
    error = describe_exception(exc)
    with contextlib.suppress(Exception):
        Path(path).write_text(json.dumps({"message": error.message, "hint": error.hint}))


@contextlib.contextmanager
def script_error_file() -> Iterator[Path]:
    """In the parent: a path in a private (0700) temporary folder, removed afterwards."""
    folder = tempfile.mkdtemp(prefix="sparkpush-run-")
    try:
        yield Path(folder) / "script-error.json"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_script_error(path: Path, secrets: Iterable[str]) -> ScriptError | None:
    """What the child wrote, with every secret and token-looking value cut out."""
    try:
        data = json.loads(path.read_text())
        message = str(data["message"])
        hint = data.get("hint")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ScriptError(
        scrub(message, secrets)[:MAX_MESSAGE_CHARS], str(hint) if hint is not None else None
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` without the given secrets, `token=...` values and bearer tokens."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS:  # a header value like `1` is no secret to cut
            text = text.replace(secret, "***")
    text = _TOKEN_PARAM.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)
