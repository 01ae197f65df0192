"""Running one SQL statement on a session and collecting its rows as a pyarrow Table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.ipc as ipc

from sparkpush.connect.proto import pb, relations
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ServerError, UdfFailedError

_ACTION = "running the query failed: "


def run_sql(client: SessionClient, query: str, timeout: float | None = None) -> pa.Table | None:
    """The query's rows; None for a statement that returns no result set (most DDL).

    A server error is a ServerError whose message is the server's own first line.
    """
    plan = pb.Plan(root=relations.Relation(sql=relations.SQL(query=query)))
    batches: list[pa.RecordBatch] = []
    schema: pa.Schema | None = None
    try:
        for response in client.execute_plan(plan, timeout=timeout):
            if response.HasField("arrow_batch") and response.arrow_batch.data:
                reader = ipc.open_stream(response.arrow_batch.data)
                schema = reader.schema
                batches.extend(reader)
    except UdfFailedError as exc:
        message = exc.message.removeprefix(_ACTION)
        raise UdfFailedError(message, exc.traceback, error_class=exc.error_class) from None
    except ServerError as exc:
        message = exc.message[len(_ACTION) :] if exc.message.startswith(_ACTION) else exc.message
        raise ServerError(message, error_class=exc.error_class) from None
    if schema is None:
        return None
    return pa.Table.from_batches(batches, schema=schema)
