"""The environment of a child process that attaches PySpark's own client to one session."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sparkpush.connect.connection_string import ConnectionSpec

TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
CA_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


def session_environment(
    spec: ConnectionSpec, session_id: str, user_id: str | None, ca_file: os.PathLike[str] | None
) -> dict[str, str]:
    """This process's environment plus SPARK_REMOTE for the session (no token in the URL:
    PySpark reads it from SPARK_CONNECT_AUTHENTICATE_TOKEN, so it never reaches argv)."""
    env = dict(os.environ)
    attached = replace(spec.with_session(session_id), user_id=user_id or spec.user_id, token=None)
    env["SPARK_REMOTE"] = attached.url(include_token=False)
    env["SPARK_CONNECT_MODE_ENABLED"] = "1"
    env.pop(TOKEN_ENV, None)
    if spec.token is not None:
        env[TOKEN_ENV] = spec.token.reveal()
    # PySpark's client has no CA option; gRPC's default roots can be pointed at a file.
    if ca_file is not None:
        env[CA_ENV] = os.fspath(ca_file)
    return env


def answer_from_a_worker(key: str, facts: Callable[[], Any]) -> int:
    """In a child attached to a new session (the probe child, `remote.worker_probe`): call
    `facts` once on one of the server's Python workers and print `{key: its JSON answer}`,
    or `{"error": ...}`, as one line.

    `facts` and its module's functions travel by value: the workers have nothing of ours.
    """
    from pyspark import cloudpickle
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import udf

    cloudpickle.register_pickle_by_value(sys.modules[facts.__module__])
    spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    try:
        on_a_worker = udf(lambda _: json.dumps(facts()), "string")
        row = spark.range(1).select(on_a_worker("id").alias("v")).collect()[0]
        print(json.dumps({key: json.loads(row["v"])}))
    except Exception as exc:  # reported to the parent as data
        print(json.dumps({"error": " ".join(str(exc).split())[:500]}))
    finally:
        # the session is throwaway: if it cannot be released it expires on its own
        with contextlib.suppress(Exception):
            spark.stop()
    return 0
