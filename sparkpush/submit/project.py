"""What a submit takes from the project: its configured artifacts, or its current generation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sparkpush.artifacts.upload import ProgressCallback
from sparkpush.config import Config
from sparkpush.project_session import ready_session
from sparkpush.remote import Target
from sparkpush.submit.runner import SubmitRequest
from sparkpush.submit.session import SessionLease, attached_session
from sparkpush.sync.engine import collect_project_artifacts

Notify = Callable[[str], None]


def with_project_artifacts(config: Config, request: SubmitRequest, notify: Notify) -> SubmitRequest:
    """The request with `[tool.sparkpush.artifacts]` added to the flags' artifacts."""
    desired, warnings = collect_project_artifacts(config, request.artifacts)
    for warning in warnings:
        notify(f"warning: {warning}")
    return replace(request, artifacts=[d.artifact for d in desired])


def attach_to_project(
    config: Config,
    target: Target,
    request: SubmitRequest,
    notify: Notify,
    on_progress: ProgressCallback | None,
) -> tuple[SessionLease, SubmitRequest]:
    """Sync the project (flag artifacts included) and lease its current generation."""
    result = ready_session(config, target, extra=request.artifacts, on_progress=on_progress)
    for warning in result.warnings:
        notify(f"warning: {warning}")
    manifest = result.manifest
    assert manifest is not None
    notify(f"attached to generation {manifest.generation} (session {manifest.session_id})")
    lease = attached_session(target, manifest.session_id, manifest.server_side_session_id)
    # the generation already holds every artifact: nothing more to upload
    return lease, replace(request, artifacts=())
