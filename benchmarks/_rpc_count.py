"""Counting gRPC channels and calls, in this process and in the children it starts.

    log = RpcLog(work / "rpcs.jsonl")
    with log.installed():            # this process, and children started inside the block
        ...                          # (PYTHONPATH gets a sitecustomize that installs it)
    log.counts(since=mark)           # {"channel": 3, "AnalyzePlan": 2, ...}

Every `grpc.insecure_channel`/`grpc.secure_channel` made is wrapped with an interceptor that
appends one JSON line per channel and per call (method and pid) to the log. For benchmarks:
what a sync asks of a remote server, call by call.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOG_ENV = "SPARKPUSH_BENCH_RPC_LOG"


def install(log_path: str) -> None:
    """Wrap every channel this process makes from now on (idempotent)."""
    import grpc

    if getattr(grpc, "_sparkpush_counted", False):
        return

    def record(what: str, method: str = "") -> None:
        line = json.dumps({"pid": os.getpid(), "what": what, "method": method}) + "\n"
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    class Counter(
        grpc.UnaryUnaryClientInterceptor,
        grpc.UnaryStreamClientInterceptor,
        grpc.StreamUnaryClientInterceptor,
        grpc.StreamStreamClientInterceptor,
    ):
        def _count(self, continuation: Any, details: Any, request: Any) -> Any:
            record("call", str(details.method).rsplit("/", 1)[-1])
            return continuation(details, request)

        intercept_unary_unary = _count
        intercept_unary_stream = _count
        intercept_stream_unary = _count
        intercept_stream_stream = _count

    plain, secure = grpc.insecure_channel, grpc.secure_channel

    def insecure_channel(*args: Any, **kwargs: Any) -> Any:
        record("channel")
        return grpc.intercept_channel(plain(*args, **kwargs), Counter())

    def secure_channel(*args: Any, **kwargs: Any) -> Any:
        record("channel")
        return grpc.intercept_channel(secure(*args, **kwargs), Counter())

    grpc.insecure_channel = insecure_channel
    grpc.secure_channel = secure_channel
    grpc._sparkpush_counted = True


def install_from_env() -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        install(path)


class RpcLog:
    """The log file; `mark()` and `counts(since)` delimit one measured step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch(mode=0o600)

    @contextmanager
    def installed(self) -> Iterator[None]:
        # here, not at the top: this file's text is also the children's sitecustomize
        from _server import restored_environment

        install(str(self.path))
        with (
            tempfile.TemporaryDirectory(prefix="sparkpush-rpc-count-") as site,
            restored_environment(LOG_ENV, "PYTHONPATH"),
        ):
            source = Path(__file__).read_text()
            Path(site, "sitecustomize.py").write_text(f"{source}\ninstall_from_env()\n")
            inherited = os.environ.get("PYTHONPATH")
            os.environ[LOG_ENV] = str(self.path)
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (site, inherited) if p)
            yield

    def mark(self) -> int:
        return self.path.stat().st_size

    def counts(self, since: int = 0) -> dict[str, int]:
        """Channels made ("channel", "channel in children") and calls per method."""
        found: collections.Counter[str] = collections.Counter()
        with open(self.path, "rb") as log:
            log.seek(since)
            for raw in log:
                entry = json.loads(raw)
                child = "" if entry["pid"] == os.getpid() else " in children"
                name = entry["method"] if entry["what"] == "call" else "channel"
                found[name + child] += 1
        return dict(sorted(found.items()))


if __name__ == "__main__":
    print(RpcLog(Path(sys.argv[1])).counts())
