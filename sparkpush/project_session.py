"""The project's current session, ready to use: artifacts synced (and UDFs registered)."""

from __future__ import annotations

from sparkpush.artifacts.upload import ProgressCallback
from sparkpush.config import Config
from sparkpush.remote import Target
from sparkpush.sync.engine import SyncResult, sync_project


def ready_session(
    config: Config,
    target: Target,
    *,
    keep_old: bool = False,
    on_progress: ProgressCallback | None = None,
) -> SyncResult:
    """Bring the project's current generation up to date; `result.manifest` describes it."""
    return sync_project(config, target, keep_old=keep_old, on_progress=on_progress)
