"""The server workers' Python version compared with ours.

Pickles only load in the same Python minor version, and the worker checks that itself: a
probe UDF either answers its version or fails with PYTHON_VERSION_MISMATCH naming both (read
by `sparkpush.remote.worker_target.worker_python_from_error`). The version is a fact about the
server (`sparkpush.remote.server_facts.WORKER_PYTHON`).
"""

from __future__ import annotations

import sys

from sparkpush.errors import UdfLoadError


def local_python() -> str:
    """The minor version our pickles are made by, as PySpark writes it (`3.11`)."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def version_mismatch(local: str, worker: str) -> str | None:
    """The message refusing to register pickles made by `local` on `worker`, or None."""
    if _minor(local) == _minor(worker):
        return None
    return (
        f"the server's Python workers run Python {worker} but UDFs here are pickled by "
        f"Python {local}; pickles only load in the same minor version: run connect with "
        f"Python {worker} (or the server's workers with Python {local})"
    )


def check_worker_python(local: str, worker: str) -> None:
    """Raises UdfLoadError when the two minor versions differ."""
    message = version_mismatch(local, worker)
    if message is not None:
        raise UdfLoadError(message)


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.strip().split(".")[:2])
