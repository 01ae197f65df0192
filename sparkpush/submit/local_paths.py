"""Relative paths of a submitted script resolve where `connect submit` ran, as in local Spark.

A Spark Connect server resolves a relative, scheme-less path such as `data/people.json`
against its own working directory; with `spark-submit` in local mode, or
`SparkSession.builder.remote("local")`, it is the user's directory. When the server runs on
this machine (it sees the same files), the script's process makes those paths absolute
before they go on the wire: in the plans of reads (`spark.read`, `spark.readStream`) and
writes (`df.write`, `df.writeTo`, `df.writeStream`), at the level of PySpark's plan classes
so that every reader and writer method is covered. Paths inside SQL text are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkpush.remote.target import Target

BASE_DIR_ENV = "SPARKPUSH_LOCAL_PATHS_BASE"
"""Set by `connect submit` for a server on this machine: the directory it ran in."""

PATH_OPTIONS = ("path", "checkpointLocation")
"""Options that name a location (`.option("path", ...)`, streaming checkpoints)."""

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def server_is_local(target: Target) -> bool:
    """The embedded server, or a Spark server of this machine on loopback: it sees our files."""
    from sparkpush.server.local_listener import is_local_spark_server

    return target.source == "embedded" or is_local_spark_server(target.spec.host, target.spec.port)


def resolve_here_if_local(target: Target, base: str) -> bool:
    """In this process, make relative paths resolve against `base` when `target` runs on this
    machine (for the sessions of a test run, a shell or a notebook); whether it did."""
    if not server_is_local(target):
        return False
    install(base)
    return True


def is_relative_local(path: str) -> bool:
    """A path Hadoop would resolve against the server's working directory."""
    return bool(path) and not path.startswith("/") and _SCHEME.match(path) is None


def absolute_path(path: str, base: str) -> str:
    """`path` against `base` when relative and scheme-less; anything else unchanged."""
    if not is_relative_local(path):
        return path
    return os.path.normpath(os.path.join(base, path))


def absolute_paths(paths: list[str] | None, base: str) -> list[str] | None:
    return None if paths is None else [absolute_path(path, base) for path in paths]


def absolute_options(options: Mapping[str, str | None], base: str) -> dict[str, str | None]:
    """The options with every location-naming value made absolute (keys are case-insensitive)."""
    names = {name.lower() for name in PATH_OPTIONS}
    return {
        key: absolute_path(value, base) if value is not None and key.lower() in names else value
        for key, value in options.items()
    }


def install(base: str) -> None:
    """Make relative paths of every later read and write absolute against `base`."""
    from pyspark.sql.connect import plan

    if getattr(plan, "_sparkpush_local_paths", None) is not None:
        plan._sparkpush_local_paths = base  # type: ignore[attr-defined]
        return
    plan._sparkpush_local_paths = base  # type: ignore[attr-defined]

    def current() -> str:
        return str(plan._sparkpush_local_paths)  # type: ignore[attr-defined]

    def read(source: Any) -> None:
        source._paths = absolute_paths(source._paths, current())
        if source._options:
            source._options = absolute_options(source._options, current())

    def write(operation: Any) -> None:
        if operation.path is not None:
            operation.path = absolute_path(operation.path, current())
        operation.options = absolute_options(operation.options, current())

    def write_v2(operation: Any) -> None:
        operation.options = absolute_options(operation.options, current())

    def write_stream(operation: Any) -> None:
        start = operation.write_op
        if start.path:
            start.path = absolute_path(start.path, current())
        for key, value in absolute_options(dict(start.options), current()).items():
            start.options[key] = value

    _before(plan, "DataSource", "plan", read)
    _before(plan, "WriteOperation", "command", write)
    _before(plan, "WriteOperationV2", "command", write_v2)
    _before(plan, "WriteStreamOperation", "command", write_stream)


def _before(module: Any, name: str, method: str, rewrite: Callable[[Any], None]) -> None:
    """Run `rewrite(plan)` before `name.method`; a PySpark without that class is left alone,
    and a plan whose fields differ from what we know goes out unchanged."""
    cls = getattr(module, name, None)
    original = getattr(cls, method, None)
    if cls is None or original is None:
        return

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(AttributeError, TypeError):
            rewrite(self)
        return original(self, *args, **kwargs)

    wrapper.__doc__ = original.__doc__
    setattr(cls, method, wrapper)
