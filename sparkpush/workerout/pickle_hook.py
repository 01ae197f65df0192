"""Every Python function this process sends to the server carries `worker_print` with it.

PySpark pickles a UDF, UDTF or data source with `CloudPickleSerializer.dumps`; wrapped here,
the pickle unpickles on the worker by first installing the whole-line print, then giving
back the very object that was pickled. Installed in the processes that run user code against
a sparkpush session (the submitted script, `connect test`, the shell) and in the UDF loader.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_HOOKED = "__sparkpush_whole_lines__"
_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()


class _WithWholeLines:
    """Pickles as `worker_print.with_whole_lines(obj)`."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        from sparkpush.workerout import worker_print

        return worker_print.with_whole_lines, (self.obj,)


def install_pickle_hook(on_pickled: Callable[[], None] | None = None) -> None:
    """Wrap PySpark's pickler (once per process); `on_pickled` is called for every pickle."""
    from pyspark import cloudpickle
    from pyspark.serializers import CloudPickleSerializer

    from sparkpush.workerout import worker_print

    with _lock:
        if on_pickled is not None:
            _listeners.append(on_pickled)
        if getattr(CloudPickleSerializer.dumps, _HOOKED, False):
            return
        # by value: the workers have no sparkpush to import it from
        cloudpickle.register_pickle_by_value(worker_print)
        original = CloudPickleSerializer.dumps

        @functools.wraps(original)
        def dumps(self: CloudPickleSerializer, obj: Any) -> bytes:
            for listener in list(_listeners):
                listener()
            return original(self, _WithWholeLines(obj))

        setattr(dumps, _HOOKED, True)
        CloudPickleSerializer.dumps = dumps  # type: ignore[method-assign]


def remove_listener(on_pickled: Callable[[], None]) -> None:
    with _lock:
        if on_pickled in _listeners:
            _listeners.remove(on_pickled)
