"""Uploads through a proxy that flips bytes, cuts streams and stalls: never a corrupt artifact.

Every upload that reports success is read back on the server by a Python UDF that hashes the
stored file (over a direct connection, not the proxy); every upload that fails must fail with
a one-line ArtifactUploadError or ServerUnreachableError in bounded time, and must not have
left a corrupt file under its name either.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.connect import artifact_stream
from sparkpush.connect.connection_string import new_session_id, parse_connection_string
from sparkpush.connect.retry import RetryPolicy
from sparkpush.connect.session_client import SessionClient, default_user_id
from sparkpush.errors import ArtifactUploadError, ServerUnreachableError, SparkpushError
from tests.conftest import EmbeddedServer, clean_env, run_connect
from tests.fault_proxy import Fault, FaultKind, FaultProxy, running_proxy

pytestmark = pytest.mark.integration

SEED = 7_2024
UPLOADS = 100
UPLOADS_PER_SESSION = 20
SMALL_CHUNK = 64 * 1024
MARKER = b"<<sparkpush-fault-marker>>"


@pytest.fixture
def proxy(embedded_server: EmbeddedServer) -> Iterator[FaultProxy]:
    with running_proxy(embedded_server.port) as running:
        yield running


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks per artifact, and short bounds so that stalls end quickly."""
    monkeypatch.setattr(artifact_stream, "CHUNK_BYTES", SMALL_CHUNK)
    monkeypatch.setattr(artifact_stream, "BATCH_BYTES", SMALL_CHUNK)
    monkeypatch.setattr(artifact_stream, "CALL_BASE_S", 4.0)
    monkeypatch.setattr(artifact_stream, "UPLOAD_RETRY", RetryPolicy(deadline_s=6.0))


def through(proxy: FaultProxy, server: EmbeddedServer, session_id: str) -> SessionClient:
    spec = parse_connection_string(f"sc://localhost:{proxy.port}/;token={server.token}")
    return SessionClient(spec, session_id)


def payload(rng: random.Random, size: int) -> bytes:
    """Random bytes with markers sprinkled in, so FLIP_MARKER always hits artifact data."""
    body = bytearray(rng.randbytes(size))
    for position in range(0, size - len(MARKER), 50_000):
        body[position : position + len(MARKER)] = MARKER
    return bytes(body)


def random_fault(rng: random.Random, wire_bytes: int) -> Fault:
    roll = rng.random()
    offset = rng.randrange(0, wire_bytes)
    if roll < 0.10:
        return Fault()
    if roll < 0.45:
        # past the HTTP/2 preface and the call's headers: mostly inside chunk data
        return Fault(FaultKind.FLIP, offset=max(offset, 2_000), mask=rng.randrange(1, 256))
    if roll < 0.55:
        return Fault(FaultKind.FLIP_MARKER, marker=MARKER, mask=rng.randrange(1, 256))
    if roll < 0.80:
        return Fault(FaultKind.CUT, offset=offset)
    return Fault(FaultKind.STALL, offset=offset, seconds=rng.uniform(0.2, 1.5))


@dataclass
class Attempt:
    session_id: str
    fault: Fault
    artifacts: dict[str, str]
    """name -> sha256 of the bytes we meant to store"""
    error: SparkpushError | None = None
    seconds: float = 0.0
    fired: bool = False


@dataclass
class SessionCheck:
    session_id: str
    names: list[str] = field(default_factory=list)


VERIFY = r"""
import hashlib, json, os, sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
from pyspark.sql.types import StringType

@udf(StringType())
def stored_sha256(name):
    from pyspark import SparkFiles
    path = SparkFiles.get(name)
    if not os.path.exists(path):
        return "missing"
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()

found = {}
for session_id, names in json.load(sys.stdin).items():
    url = f"{os.environ['BASE_REMOTE']}/;session_id={session_id};user_id={os.environ['USER_ID']}"
    spark = SparkSession.builder.remote(url).getOrCreate()
    spark.release_session_on_close = False
    frame = spark.createDataFrame([(n,) for n in names], "name string")
    for row in frame.select("name", stored_sha256("name").alias("sha")).collect():
        found[f"{session_id}/files/{row['name']}"] = row["sha"]
    spark.stop()
print(json.dumps(found))
"""


def stored_hashes(server: EmbeddedServer, wanted: dict[str, list[str]]) -> dict[str, str]:
    """`session/files/name` -> sha256 of what the server holds (or "missing"), via a UDF."""
    env = clean_env(
        BASE_REMOTE=f"sc://localhost:{server.port}",
        USER_ID=default_user_id(),
        SPARK_CONNECT_AUTHENTICATE_TOKEN=server.token,
        SPARK_CONNECT_MODE_ENABLED="1",
    )
    basenames = {sid: [n.removeprefix("files/") for n in names] for sid, names in wanted.items()}
    result = subprocess.run(
        [sys.executable, "-c", VERIFY],
        input=json.dumps(basenames),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def assert_one_line(error: SparkpushError) -> None:
    assert isinstance(error, (ArtifactUploadError, ServerUnreachableError)), repr(error)
    assert "\n" not in error.message and error.message, repr(error.message)


def test_hundred_uploads_under_faults_never_store_a_corrupt_artifact(
    embedded_server: EmbeddedServer, proxy: FaultProxy, small_chunks: None
) -> None:
    rng = random.Random(SEED)
    attempts: list[Attempt] = []
    session_id = new_session_id()
    for index in range(UPLOADS):
        if index % UPLOADS_PER_SESSION == 0:
            session_id = new_session_id()
        big = payload(rng, rng.randrange(200_000, 400_000))
        smalls = [rng.randbytes(rng.randrange(100, 20_000)) for _ in range(2)]
        artifacts = [
            LocalArtifact(name=f"files/u{index}-small{n}.bin", data=data)
            for n, data in enumerate(smalls)
        ] + [LocalArtifact(name=f"files/u{index}-big.bin", data=big)]
        fault = random_fault(rng, sum(a.size() for a in artifacts))
        attempt = Attempt(
            session_id,
            fault,
            {a.name: hashlib.sha256(a.data or b"").hexdigest() for a in artifacts},
        )
        started = time.monotonic()
        state = proxy.arm(fault)
        with through(proxy, embedded_server, session_id) as client:
            try:
                report = artifact_stream.upload_artifacts(client, artifacts)
                assert {a.name for a in report.artifacts} == set(attempt.artifacts)
                for uploaded in report.artifacts:
                    assert uploaded.sha256 == attempt.artifacts[uploaded.name]
            except SparkpushError as exc:
                attempt.error = exc
        attempt.seconds = time.monotonic() - started
        attempt.fired = state.applied
        attempts.append(attempt)

    for attempt in attempts:
        if attempt.error is not None:
            assert_one_line(attempt.error)
        # bounded: at most 3 CRC rounds of (one stalled call + 6 s of reconnects)
        assert attempt.seconds < 3 * (4.0 + 6.0 + 5.0), attempt

    wanted: dict[str, list[str]] = {}
    for attempt in attempts:
        wanted.setdefault(attempt.session_id, []).extend(attempt.artifacts)
    stored = stored_hashes(embedded_server, wanted)
    corrupt = []
    for attempt in attempts:
        for name, sha in attempt.artifacts.items():
            found = stored[f"{attempt.session_id}/{name}"]
            if attempt.error is None and found != sha:
                corrupt.append((name, attempt.fault.describe(), "reported stored, holds", found))
            if attempt.error is not None and found not in (sha, "missing"):
                corrupt.append((name, attempt.fault.describe(), "failed, yet holds", found))
    assert corrupt == []

    succeeded = [a for a in attempts if a.error is None]
    failed = [a for a in attempts if a.error is not None]
    fired = [a for a in attempts if a.fired]
    recovered = [a for a in succeeded if a.fired]
    summary: dict[str, object] = {
        "uploads": len(attempts),
        "succeeded": len(succeeded),
        "failed": len(failed),
        "faults_fired": len(fired),
        "succeeded_despite_a_fault": len(recovered),
        "errors": sorted({type(a.error).__name__ for a in failed}),
        "seconds": round(sum(a.seconds for a in attempts), 1),
    }
    print(json.dumps(summary))
    # The mix really exercised both paths: recovered faults and clean errors.
    assert len(recovered) >= 20, summary
    assert len(failed) >= 5, summary
    # Persistent corruption (every marker flipped, every resend too) can never succeed.
    for attempt in attempts:
        if attempt.fault.kind is FaultKind.FLIP_MARKER:
            assert isinstance(attempt.error, ArtifactUploadError), attempt


def test_stalled_link_ends_in_a_bounded_upload_error(
    embedded_server: EmbeddedServer, proxy: FaultProxy, small_chunks: None
) -> None:
    """A proxy that stops forwarding mid-upload used to hang the upload forever."""
    artifact = LocalArtifact(name="files/stalled.bin", data=random.Random(1).randbytes(300_000))
    proxy.arm(Fault(FaultKind.BLACKHOLE, offset=100_000))
    outcome: list[BaseException | None] = []

    def run() -> None:
        with through(proxy, embedded_server, new_session_id()) as client:
            try:
                artifact_stream.upload_artifacts(client, [artifact])
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the upload hung on a stalled connection"
    assert time.monotonic() - started < 30
    error = outcome[0]
    assert isinstance(error, ArtifactUploadError), repr(error)
    assert_one_line(error)
    assert "stalled" in error.message


def test_cli_upload_under_persistent_corruption_exits_4_with_one_line(
    embedded_server: EmbeddedServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    data = payload(random.Random(3), 3 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "app.py").write_text("print('never runs')\n")
    proxy.arm(Fault(FaultKind.FLIP_MARKER, marker=MARKER))
    env = clean_env(
        XDG_STATE_HOME=str(embedded_server.state_home),
        SPARK_REMOTE=f"sc://localhost:{proxy.port}/;token={embedded_server.token}",
    )
    result = run_connect(["submit", "--files", "big.bin", "app.py"], env=env, cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the server rejected files/big.bin after 3 attempts: "
        "its data arrived corrupted (CRC mismatch)"
    ], result.stderr
    assert "never runs" not in result.stdout
    assert embedded_server.token not in result.stderr
