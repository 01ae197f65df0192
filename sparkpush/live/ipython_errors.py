"""How IPython shows a failed query in `connect shell` and `%load_ext sparkpush`."""

from __future__ import annotations

import logging
import os
from typing import Any

from sparkpush.live.shell import LiveShell

_IPYTHON_DIRS = (os.path.join("site-packages", "IPython") + os.sep,)


def show_failed_udfs(ipython: Any, shell: LiveShell) -> None:
    """A failed UDF's traceback cut to the user's frames (other errors as IPython shows them)."""
    from pyspark.errors.exceptions.connect import PythonException

    quiet_pyspark_client_log()

    def show(self: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        if not shell.show_exception(value, tb, _IPYTHON_DIRS):
            self.showtraceback((etype, value, tb), tb_offset=tb_offset)

    ipython.set_custom_exc((PythonException,), show)


def quiet_pyspark_client_log() -> None:
    """PySpark's client logger is off unless SPARK_CONNECT_LOG_LEVEL is set, but IPython's
    logging setup turns every existing logger back on: a failed query then also printed the
    gRPC error's whole traceback, twice, before the exception itself."""
    if "SPARK_CONNECT_LOG_LEVEL" not in os.environ:
        logging.getLogger("pyspark.sql.connect.logging").disabled = True
