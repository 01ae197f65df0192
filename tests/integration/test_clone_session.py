"""`CloneSession` on the real server: the clone has the source's artifacts and confs, and what
is added to the clone stays out of the source."""

from __future__ import annotations

import io
import zipfile

import pytest
from pyspark.sql.connect.proto import base_pb2 as pb

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ArtifactConflictError
from tests.conftest import EmbeddedServer

pytestmark = pytest.mark.integration


def _one_file_artifact(name: str, data: bytes) -> pb.AddArtifactsRequest:
    import zlib

    single = pb.AddArtifactsRequest.SingleChunkArtifact(
        name=name, data=pb.AddArtifactsRequest.ArtifactChunk(data=data, crc=zlib.crc32(data))
    )
    return pb.AddArtifactsRequest(batch=pb.AddArtifactsRequest.Batch(artifacts=[single]))


def _module_zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("clonemod.py", text)
    return buffer.getvalue()


def test_a_clone_keeps_artifacts_and_confs_and_its_own_additions_stay_its_own(
    embedded_server: EmbeddedServer,
) -> None:
    spec = parse_connection_string(embedded_server.remote_with_token)
    with SessionClient(spec) as source:
        source.spark_version()
        source.add_artifacts([_one_file_artifact("files/base.txt", b"base")])
        source.set_conf({"spark.sql.shuffle.partitions": "3"})
        clone_id, clone_server_side = source.clone_session()
        assert clone_id != source.session_id and clone_server_side
        with SessionClient(spec, clone_id, server_side_session_id=clone_server_side) as clone:
            assert clone.get_conf(["spark.sql.shuffle.partitions"]) == {
                "spark.sql.shuffle.partitions": "3"
            }
            # the same name with other bytes is refused: the clone holds the source's file
            try:
                clone.add_artifacts([_one_file_artifact("files/base.txt", b"other")])
            except ArtifactConflictError:
                pass
            else:
                raise AssertionError("the clone accepted other bytes under the source's name")
            clone.add_artifacts([_one_file_artifact("pyfiles/clonemod.zip", _module_zip("x=1"))])
            clone.set_conf({"spark.sql.shuffle.partitions": "1"})
            clone.release_session()
        assert source.get_conf(["spark.sql.shuffle.partitions"]) == {
            "spark.sql.shuffle.partitions": "3"
        }
        # the clone's pyfile is not the source's: adding other bytes under its name succeeds
        source.add_artifacts([_one_file_artifact("pyfiles/clonemod.zip", _module_zip("x=2"))])
        source.release_session()
