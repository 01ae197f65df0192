"""What a submit takes from the project: its configured artifacts, or its current generation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sparkpush.artifacts.upload import ProgressCallback
from sparkpush.config.settings import Config
from sparkpush.connect.session import Session
from sparkpush.daemon.attach import daemon_generation, daemon_running
from sparkpush.environment.session_parts import environment_conf
from sparkpush.environment.worker_probe import WorkerPythonCache, server_identity
from sparkpush.errors import UsageError
from sparkpush.progress.notify import Notify
from sparkpush.remote.target import Target
from sparkpush.submit.report import remote_for_report
from sparkpush.submit.run_clone import run_session
from sparkpush.submit.run_session import SessionLease
from sparkpush.submit.runner import SubmitRequest
from sparkpush.sync.engine import collect_project_artifacts
from sparkpush.sync.ready_session import ready_session
from sparkpush.udf.loading import Loader
from sparkpush.udf.registration import has_udfs, register_udfs_knowing_python


def with_project_artifacts(
    config: Config, target: Target, request: SubmitRequest, notify: Notify
) -> SubmitRequest:
    """The request with the project's configured artifacts and UDFs for its fresh session."""
    desired, warnings = collect_project_artifacts(config, request.artifacts, target)
    for warning in warnings:
        notify(f"warning: {warning}")

    def register(client: Session, loader: Loader | None) -> list[str]:
        cache = WorkerPythonCache()
        identity = server_identity(client, remote_for_report(target.spec) or "")
        registered, worker_python = register_udfs_knowing_python(
            config, target, client.session_id, cache.get(identity), loader=loader
        )
        cache.put(identity, worker_python)
        if registered:
            notify(f"registered {len(registered)} UDF(s): {', '.join(u.name for u in registered)}")
        return [u.name for u in registered]

    return replace(
        request,
        artifacts=[d.artifact for d in desired],
        conf={**environment_conf(d.name for d in desired), **request.conf},
        register_udfs=register if has_udfs(config) else None,
    )


@dataclass(frozen=True)
class AttachedRun:
    """A leased generation and the request to run on it (its artifacts are already there)."""

    lease: SessionLease
    request: SubmitRequest


@contextmanager
def attach_to_project(
    config: Config,
    target: Target,
    request: SubmitRequest,
    notify: Notify,
    on_progress: ProgressCallback | None,
) -> Iterator[AttachedRun]:
    """Lease the project's current generation, synced first, for the `with` block.

    With the project's daemon running, the daemon syncs and holds the generation for the run
    (released when the block ends or this process dies); otherwise this process syncs. The
    run gets a clone of the generation where the server can clone (see `run_clone`).
    """
    if request.artifacts and daemon_running(config.project_root):
        raise UsageError(
            "the project's daemon serves its generation: put extra artifacts in "
            "[tool.sparkpush.artifacts], or use --fresh for an isolated session"
        )
    # the generation already holds every artifact: nothing more to upload
    bare = replace(request, artifacts=())
    held = daemon_generation(config.project_root, lease=True)
    if held is not None:
        try:
            if held.error:
                notify(f"warning: {held.error} (running on the last good generation)")
            notify(
                f"attached to the daemon's generation {held.generation} (session {held.session_id})"
            )
            with run_session(
                config, target, held.session_id, held.server_side_session_id, notify
            ) as lease:
                yield AttachedRun(lease, bare)
        finally:
            held.close()
        return
    result = ready_session(config, target, extra=request.artifacts, on_progress=on_progress)
    for warning in result.warnings:
        notify(f"warning: {warning}")
    manifest = result.manifest
    assert manifest is not None
    notify(f"attached to generation {manifest.number} (session {manifest.session_id})")
    with run_session(
        config, target, manifest.session_id, manifest.server_side_session_id, notify
    ) as lease:
        yield AttachedRun(lease, bare)
