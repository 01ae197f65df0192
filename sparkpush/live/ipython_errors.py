"""How IPython shows a failed query in `connect shell` and `%load_ext sparkpush`."""

from __future__ import annotations

import logging
import os
from typing import Any

from sparkpush.live.shell import LiveShell

_IPYTHON_DIRS = (os.path.join("site-packages", "IPython") + os.sep,)


def explain_errors(ipython: Any, shell: LiveShell) -> None:
    """A failed UDF's traceback cut to the user's frames; errors of Spark Connect that the
    shell explains (`LiveShell.error_line`) as their one line; every other one as IPython
    shows it."""
    from pyspark.errors.exceptions.connect import SparkConnectException

    quiet_pyspark_client_log()

    def handler(
        ip: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
    ) -> None:
        if shell.show_exception(value, tb, _IPYTHON_DIRS):
            return
        line = shell.error_line(value)
        if line is None:
            ip.showtraceback((etype, value, tb), tb_offset=tb_offset)
        else:
            print(line)

    ipython.set_custom_exc((SparkConnectException,), handler)


def quiet_pyspark_client_log() -> None:
    """PySpark's client logger is off unless SPARK_CONNECT_LOG_LEVEL is set, but IPython's
    logging setup turns every existing logger back on: a failed query then also printed the
    gRPC error's whole traceback, twice, before the exception itself."""
    if "SPARK_CONNECT_LOG_LEVEL" not in os.environ:
        logging.getLogger("pyspark.sql.connect.logging").disabled = True
