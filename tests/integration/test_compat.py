"""What differs between the pyspark versions sparkpush supports, checked on the version running.

`scripts/compat.sh` runs these (and every test marked `compat`) with pyspark 4.0 and 4.1, client
and embedded server of the same version; the main suite runs them with the newest.
"""

from __future__ import annotations

import pyspark
import pytest

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import CloneUnsupportedError
from tests.conftest import EmbeddedServer

pytestmark = [pytest.mark.integration, pytest.mark.compat]


def minor(version: str) -> tuple[int, int]:
    major, minor_version = version.split(".")[:2]
    return int(major), int(minor_version)


def test_client_and_embedded_server_are_the_same_version(embedded_server: EmbeddedServer) -> None:
    with SessionClient(parse_connection_string(embedded_server.remote_with_token)) as client:
        try:
            assert client.spark_version() == pyspark.__version__
        finally:
            client.release_session()


def test_clone_session_works_from_4_1_and_says_unsupported_before(
    embedded_server: EmbeddedServer,
) -> None:
    with SessionClient(parse_connection_string(embedded_server.remote_with_token)) as client:
        client.spark_version()
        try:
            if minor(pyspark.__version__) < (4, 1):
                with pytest.raises(CloneUnsupportedError):
                    client.clone_session()
            else:
                clone_id, _ = client.clone_session()
                with SessionClient(
                    parse_connection_string(embedded_server.remote_with_token), clone_id
                ) as clone:
                    clone.release_session()
        finally:
            client.release_session()
