"""The artifact stream against an in-memory server: batching, chunking, CRC resends, retries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.connect.artifact_stream import BATCH_BYTES, CHUNK_BYTES, upload_artifacts
from sparkpush.connect.retry import RetryPolicy
from sparkpush.errors import (
    ArtifactConflictError,
    ArtifactUploadError,
    AuthenticationError,
    CallCancelledError,
    CallTimeoutError,
    ExitCode,
    ServerUnavailableError,
    SparkpushError,
)
from tests.fake_session import FakeServer, FakeSession


class FakeClock:
    """Time that passes only when the retry policy sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def policy(self, deadline_s: float = 30.0) -> RetryPolicy:
        return RetryPolicy(deadline_s=deadline_s, sleep=self.sleep, clock=lambda: self.now)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def session(server: FakeServer) -> FakeSession:
    return server.open()


def payloads(server: FakeServer, call: int = 0) -> list[str | None]:
    return [r.WhichOneof("payload") for r in server.calls[call].requests]


def test_small_artifacts_travel_together_in_one_batch(
    server: FakeServer, session: FakeSession
) -> None:
    artifacts = [LocalArtifact(f"pyfiles/m{i}.py", data=b"x = %d\n" % i) for i in range(3)]
    report = upload_artifacts(session, artifacts)
    assert payloads(server) == ["batch"]
    assert len(server.calls[0].requests[0].batch.artifacts) == 3
    assert [a.name for a in report.artifacts] == [a.name for a in artifacts]
    assert server.stored(session.session_id)["pyfiles/m1.py"] == b"x = 1\n"


def test_a_batch_is_closed_before_it_would_pass_the_batch_size(
    server: FakeServer, session: FakeSession
) -> None:
    half = BATCH_BYTES // 2 + 1
    artifacts = [LocalArtifact(f"files/f{i}.bin", data=bytes([i]) * half) for i in range(3)]
    upload_artifacts(session, artifacts)
    assert payloads(server) == ["batch", "batch", "batch"]


def test_an_artifact_over_the_batch_size_is_sent_in_chunks(
    server: FakeServer, session: FakeSession, tmp_path: Path
) -> None:
    big = tmp_path / "big.jar"
    big.write_bytes(bytes(range(256)) * (CHUNK_BYTES * 5 // 2 // 256))
    small = LocalArtifact("pyfiles/small.py", data=b"y = 2\n")
    report = upload_artifacts(session, [small, LocalArtifact("jars/big.jar", path=big)])
    assert payloads(server) == ["batch", "begin_chunk", "chunk", "chunk"]
    assert server.calls[0].requests[1].begin_chunk.num_chunks == 3
    assert server.stored(session.session_id)["jars/big.jar"] == big.read_bytes()
    sent = {a.name: a.sha256 for a in report.artifacts}
    assert sent["jars/big.jar"] == hashlib.sha256(big.read_bytes()).hexdigest()


def test_progress_counts_every_byte_once(session: FakeSession, tmp_path: Path) -> None:
    big = tmp_path / "big.jar"
    big.write_bytes(b"j" * (CHUNK_BYTES + 10))
    seen: list[tuple[int, int]] = []
    artifacts = [LocalArtifact("jars/big.jar", path=big), LocalArtifact("files/a", data=b"abc")]
    upload_artifacts(session, artifacts, lambda sent, total: seen.append((sent, total)))
    total = CHUNK_BYTES + 13
    assert seen[-1] == (total, total)
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)


def test_an_artifact_the_server_dropped_on_crc_is_sent_again_alone(
    server: FakeServer, session: FakeSession
) -> None:
    artifacts = [LocalArtifact("files/a", data=b"a"), LocalArtifact("files/b", data=b"b")]
    server.corrupt_next.append("files/b")
    report = upload_artifacts(session, artifacts)
    assert len(server.calls) == 2
    assert [s.name for s in server.calls[1].requests[0].batch.artifacts] == ["files/b"]
    assert report.crc_resends == 1
    assert sorted(a.name for a in report.artifacts) == ["files/a", "files/b"]


def test_an_artifact_corrupted_at_every_attempt_gives_up_with_the_upload_exit_code(
    server: FakeServer, session: FakeSession
) -> None:
    server.corrupt_next.extend(["files/a"] * 3)
    with pytest.raises(ArtifactUploadError, match="files/a after 3 attempts") as failure:
        upload_artifacts(session, [LocalArtifact("files/a", data=b"a")])
    assert failure.value.exit_code == ExitCode.UPLOAD_FAILED
    assert "files/a" not in server.stored(session.session_id)


def test_an_unavailable_server_is_retried_with_backoff_until_it_answers(
    server: FakeServer, session: FakeSession
) -> None:
    clock = FakeClock()
    server.fail("add_artifacts", ServerUnavailableError("down"), CallCancelledError("cut"))
    report = upload_artifacts(session, [LocalArtifact("files/a", data=b"a")], retry=clock.policy())
    assert clock.sleeps == [0.2, 0.4]
    assert len(server.calls) == 3
    assert [a.name for a in report.artifacts] == ["files/a"]


@pytest.mark.parametrize(
    ("error", "raised", "exit_code"),
    [
        (ServerUnavailableError("cannot reach"), ServerUnavailableError, ExitCode.UNREACHABLE),
        (CallCancelledError("uploading failed"), ArtifactUploadError, ExitCode.UPLOAD_FAILED),
    ],
)
def test_a_transient_failure_past_the_retry_deadline_gives_up(
    server: FakeServer,
    session: FakeSession,
    error: SparkpushError,
    raised: type[SparkpushError],
    exit_code: int,
) -> None:
    clock = FakeClock()
    server.fail("add_artifacts", *[error] * 100)
    with pytest.raises(raised) as failure:
        upload_artifacts(session, [LocalArtifact("files/a", data=b"a")], retry=clock.policy(5))
    assert failure.value.exit_code == exit_code
    assert 0 < clock.now <= 5
    assert len(server.calls) == len(clock.sleeps) + 1


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (ArtifactConflictError("[ARTIFACT_ALREADY_EXISTS]"), ArtifactConflictError),
        (AuthenticationError("token refused"), AuthenticationError),
    ],
)
def test_an_answer_from_the_server_is_not_retried(
    server: FakeServer,
    session: FakeSession,
    error: SparkpushError,
    raised: type[SparkpushError],
) -> None:
    clock = FakeClock()
    server.fail("add_artifacts", error)
    with pytest.raises(raised):
        upload_artifacts(session, [LocalArtifact("files/a", data=b"a")], retry=clock.policy())
    assert len(server.calls) == 1 and clock.sleeps == []


def test_a_name_stored_with_other_bytes_is_a_conflict(session: FakeSession) -> None:
    upload_artifacts(session, [LocalArtifact("pyfiles/m.py", data=b"old")])
    with pytest.raises(ArtifactConflictError) as failure:
        upload_artifacts(session, [LocalArtifact("pyfiles/m.py", data=b"new")])
    assert failure.value.exit_code == ExitCode.UPLOAD_FAILED


def test_a_stalled_call_ends_in_an_upload_error_naming_the_artifacts(
    server: FakeServer, session: FakeSession
) -> None:
    server.fail("add_artifacts", CallTimeoutError("no answer in time"))
    artifacts = [LocalArtifact("files/a", data=b"a"), LocalArtifact("files/b", data=b"b")]
    with pytest.raises(ArtifactUploadError, match=r"files/a and 1 more.*stalled") as failure:
        upload_artifacts(session, artifacts)
    assert failure.value.exit_code == ExitCode.UPLOAD_FAILED
    assert len(server.calls) == 1
    assert server.calls[0].timeout is not None and server.calls[0].timeout >= 60


def test_a_file_that_cannot_be_read_is_named_in_the_error(
    session: FakeSession, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    with pytest.raises(ArtifactUploadError, match=r"cannot read .*not-a-file while uploading"):
        upload_artifacts(session, [LocalArtifact("files/x", path=folder)])
