"""PySpark's own Spark Connect `SparkSession`, attached to one session of ours, in this process.

The token travels inside the in-memory connection string only: it is put in no environment
variable (a test's subprocesses would inherit it) and in no argv.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from typing import TYPE_CHECKING

from sparkpush.connect.client_environment import CA_ENV
from sparkpush.connect.session_client import default_user_id
from sparkpush.remote.target import Target

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession


def attach_pyspark(target: Target, session_id: str) -> SparkSession:
    """A PySpark session on `session_id`; it never releases the session when stopped (the
    owner of the session does that), and it becomes the process's default session."""
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    if target.ca_file is not None:
        # PySpark's client has no CA option; gRPC's default roots can be pointed at a file.
        os.environ[CA_ENV] = os.fspath(target.ca_file)
    spec = replace(
        target.spec.with_session(session_id), user_id=target.spec.user_id or default_user_id()
    )
    session = SparkSession(connection=DefaultChannelBuilder(spec.url(include_token=True)))
    session.release_session_on_close = False
    make_default(session)
    return session


def make_default(session: SparkSession | None) -> None:
    """What `SparkSession.builder.getOrCreate()` and `getActiveSession()` return from now on."""
    from pyspark.sql.connect.session import SparkSession

    with SparkSession._lock:
        SparkSession._default_session = session
    SparkSession._active_session.session = session


def default_session() -> SparkSession | None:
    from pyspark.sql.connect.session import SparkSession

    return SparkSession._default_session


def close_pyspark(session: SparkSession) -> None:
    """Close the client's channel; the session itself is left to its owner. Never raises."""
    with contextlib.suppress(Exception):
        # the class's stop: a run's session ignores its own `stop()` (see `suite_sessions`)
        type(session).stop(session)
