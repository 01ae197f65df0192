"""Streaming artifacts to a session through AddArtifacts: batches, chunks, CRC checks, resends."""

from __future__ import annotations

import hashlib
import io
import logging
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from sparkpush.connect.proto import pb
from sparkpush.connect.retry import RetryPolicy
from sparkpush.connect.session import Session
from sparkpush.errors import (
    ArtifactChangedError,
    ArtifactUploadError,
    CallTimeoutError,
    ServerUnreachableError,
    SparkpushError,
)
from sparkpush.progress.notify import ProgressCallback

log = logging.getLogger(__name__)

# 1 MiB chunks halve a large jar's upload time against PySpark's 32 KiB (measured, see the
# notes) and stay far below the server's 128 MiB message limit.
CHUNK_BYTES = 1024 * 1024
# Artifacts up to this size travel together in one batch message.
BATCH_BYTES = 1024 * 1024
MAX_CRC_ATTEMPTS = 3
# Each AddArtifacts call gets a deadline, so a stalled link (a proxy that stops forwarding,
# a half-open connection) ends in an error instead of hanging: a fixed allowance, plus the
# server's cost per artifact (about 10 ms, see the notes), plus the time the bytes need at a
# very slow but still working link.
CALL_BASE_S = 60.0
CALL_PER_ARTIFACT_S = 0.05
CALL_MIN_BYTES_PER_S = 128 * 1024
# Long enough to ride out a server restart or a dropped connection behind a proxy.
UPLOAD_RETRY = RetryPolicy(deadline_s=30.0)


class ArtifactSource(Protocol):
    """An artifact to send: its server-side name and its bytes, from `path` or `data`."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path | None: ...

    @property
    def data(self) -> bytes | None: ...

    @property
    def sha256(self) -> str | None:
        """What the bytes must hash to, when the caller knows (None: whatever is read)."""

    def size(self) -> int: ...


@dataclass(frozen=True)
class UploadedArtifact:
    name: str
    size: int
    sha256: str


@dataclass
class UploadReport:
    artifacts: list[UploadedArtifact] = field(default_factory=list)
    seconds: float = 0.0
    crc_resends: int = 0

    @property
    def bytes(self) -> int:
        return sum(a.size for a in self.artifacts)


def upload_artifacts(
    session: Session,
    artifacts: Sequence[ArtifactSource],
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
) -> UploadReport:
    """Upload every artifact; success is reported only for what the server confirmed."""
    retry = retry or UPLOAD_RETRY
    report = UploadReport()
    if not artifacts:
        return report
    started = time.monotonic()
    total = sum(a.size() for a in artifacts)
    stream = _RequestStream(total, on_progress)
    pending = list(artifacts)
    for attempt in range(1, MAX_CRC_ATTEMPTS + 1):
        summaries = _send(session, stream, pending, retry)
        stored = {s.name for s in summaries if s.is_crc_successful}
        for artifact in pending:
            if artifact.name in stored:
                report.artifacts.append(stream.uploaded[artifact.name])
        pending = [a for a in pending if a.name not in stored]
        if not pending:
            break
        report.crc_resends += len(pending)
        log.warning(
            "server dropped %d artifact(s) on CRC mismatch (attempt %d): %s",
            len(pending),
            attempt,
            ", ".join(a.name for a in pending),
        )
    if pending:
        raise ArtifactUploadError(
            f"the server rejected {pending[0].name} after {MAX_CRC_ATTEMPTS} attempts: "
            "its data arrived corrupted (CRC mismatch)"
        )
    report.seconds = time.monotonic() - started
    return report


def _send(
    session: Session,
    stream: _RequestStream,
    artifacts: Sequence[ArtifactSource],
    retry: RetryPolicy,
) -> list[pb.AddArtifactsResponse.ArtifactSummary]:
    """One AddArtifacts call for `artifacts`, sent again on transient failures."""
    call_timeout = call_deadline_s(artifacts)

    def attempt() -> list[pb.AddArtifactsResponse.ArtifactSummary]:
        try:
            response = session.add_artifacts(stream.requests(artifacts), timeout=call_timeout)
        finally:
            stream.raise_read_error()  # the real cause when the call was cut off by it
        return list(response.artifacts)

    try:
        return retry.call(attempt)
    except CallTimeoutError:
        raise ArtifactUploadError(
            f"uploading {_names(artifacts)} did not finish within {call_timeout:.0f} s "
            f"(the connection to {session.endpoint} stalled)"
        ) from None
    except (ServerUnreachableError, ArtifactUploadError):
        raise
    except SparkpushError as exc:
        raise ArtifactUploadError(exc.message) from None


def call_deadline_s(artifacts: Sequence[ArtifactSource]) -> float:
    """How long one AddArtifacts call for `artifacts` may take before it counts as stalled."""
    size = sum(a.size() for a in artifacts)
    return CALL_BASE_S + CALL_PER_ARTIFACT_S * len(artifacts) + size / CALL_MIN_BYTES_PER_S


def _names(artifacts: Sequence[ArtifactSource]) -> str:
    first = artifacts[0].name if artifacts else "nothing"
    return first if len(artifacts) <= 1 else f"{first} and {len(artifacts) - 1} more artifact(s)"


class _RequestStream:
    """Turns artifacts into AddArtifactsRequests, hashing exactly the bytes it sends."""

    def __init__(self, total: int, on_progress: ProgressCallback | None) -> None:
        self.total = total
        self.sent = 0
        self.on_progress = on_progress
        self.uploaded: dict[str, UploadedArtifact] = {}
        self._read_error: OSError | None = None
        self._read_error_name = ""
        self._refused: ArtifactChangedError | None = None

    def raise_read_error(self) -> None:
        if self._refused is not None:
            refused, self._refused = self._refused, None
            raise refused
        if self._read_error is not None:
            error, self._read_error = self._read_error, None
            raise ArtifactUploadError(
                f"cannot read {self._read_error_name} while uploading: {error.strerror or error}"
            )

    def requests(self, artifacts: Sequence[ArtifactSource]) -> Iterator[pb.AddArtifactsRequest]:
        # grpc swallows exceptions raised inside a request iterator (it just cancels the
        # call), so a read error or a refusal is kept and raised by the caller afterwards.
        try:
            yield from self._requests(artifacts)
        except OSError as exc:
            self._read_error = exc
            raise
        except ArtifactChangedError as exc:
            self._refused = exc
            raise

    def _requests(self, artifacts: Sequence[ArtifactSource]) -> Iterator[pb.AddArtifactsRequest]:
        batch: list[pb.AddArtifactsRequest.SingleChunkArtifact] = []
        batch_size = 0
        for artifact in artifacts:
            self._read_error_name = str(artifact.path or artifact.name)
            size = artifact.size()
            if size > BATCH_BYTES:
                if batch:
                    yield pb.AddArtifactsRequest(
                        batch=pb.AddArtifactsRequest.Batch(artifacts=batch)
                    )
                    batch, batch_size = [], 0
                yield from self._chunked(artifact)
                continue
            if batch and batch_size + size > BATCH_BYTES:
                yield pb.AddArtifactsRequest(batch=pb.AddArtifactsRequest.Batch(artifacts=batch))
                batch, batch_size = [], 0
            data = _read_all(artifact)
            digest = hashlib.sha256(data)
            _check_digest(artifact, digest)
            self._record(artifact.name, data, digest)
            batch.append(
                pb.AddArtifactsRequest.SingleChunkArtifact(
                    name=artifact.name,
                    data=pb.AddArtifactsRequest.ArtifactChunk(data=data, crc=zlib.crc32(data)),
                )
            )
            batch_size += len(data)
        if batch:
            yield pb.AddArtifactsRequest(batch=pb.AddArtifactsRequest.Batch(artifacts=batch))

    def _chunked(self, artifact: ArtifactSource) -> Iterator[pb.AddArtifactsRequest]:
        digest = hashlib.sha256()
        size = 0
        with _open(artifact) as source:
            first = source.read(CHUNK_BYTES)
            total = artifact.size()
            chunks = max(1, -(-total // CHUNK_BYTES))
            digest.update(first)
            size += len(first)
            if chunks == 1:
                _check_digest(artifact, digest)
            self._advance(len(first))
            yield pb.AddArtifactsRequest(
                begin_chunk=pb.AddArtifactsRequest.BeginChunkedArtifact(
                    name=artifact.name,
                    total_bytes=total,
                    num_chunks=chunks,
                    initial_chunk=pb.AddArtifactsRequest.ArtifactChunk(
                        data=first, crc=zlib.crc32(first)
                    ),
                )
            )
            for index in range(1, chunks):
                data = source.read(CHUNK_BYTES)
                digest.update(data)
                size += len(data)
                if index == chunks - 1:
                    _check_digest(artifact, digest)  # before the last chunk completes it
                self._advance(len(data))
                yield pb.AddArtifactsRequest(
                    chunk=pb.AddArtifactsRequest.ArtifactChunk(data=data, crc=zlib.crc32(data))
                )
        if size != total:
            raise OSError(f"{artifact.path} changed size while being uploaded")
        self.uploaded[artifact.name] = UploadedArtifact(artifact.name, size, digest.hexdigest())

    def _record(self, name: str, data: bytes, digest: hashlib._Hash) -> None:
        self.uploaded[name] = UploadedArtifact(name, len(data), digest.hexdigest())
        self._advance(len(data))

    def _advance(self, count: int) -> None:
        self.sent += count
        if self.on_progress is not None:
            self.on_progress(min(self.sent, self.total), self.total)


def _check_digest(artifact: ArtifactSource, digest: hashlib._Hash) -> None:
    """Refuse bytes other than the ones the caller recorded, before the server has them all
    (the server stores nothing of a call that is cut off)."""
    expected = getattr(artifact, "sha256", None)
    if expected is not None and digest.hexdigest() != expected:
        raise ArtifactChangedError(
            f"{artifact.path or artifact.name} does not hash to its recorded sha256 "
            f"{expected[:12]}...: refused, not sent"
        )


@contextmanager
def _open(artifact: ArtifactSource) -> Iterator[BinaryIO]:
    if artifact.data is not None:
        yield io.BytesIO(artifact.data)
        return
    assert artifact.path is not None
    with artifact.path.open("rb") as stream:
        yield stream


def _read_all(artifact: ArtifactSource) -> bytes:
    with _open(artifact) as stream:
        return stream.read()
