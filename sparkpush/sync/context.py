"""`SyncContext`: what one sync of a project works with from start to end, handed down as one
record instead of the same long list of parameters at every step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.connect.session import Session
from sparkpush.progress.notify import ProgressCallback
from sparkpush.remote.target import Target
from sparkpush.sync.generation import Generation
from sparkpush.sync.process_cache import ProcessCache

GenerationHook = Callable[[Session, Generation], Generation]
"""Runs on a session before it becomes current (e.g. registers UDFs); returns the generation."""


@dataclass(frozen=True)
class SyncContext:
    """The project, its server, and how the sync reports and prepares what it builds."""

    config: Config
    target: Target
    on_progress: ProgressCallback | None = None
    """Told the bytes sent so far and in all, during uploads."""
    prepare_generation: GenerationHook | None = None
    reuse: ProcessCache | None = None
    """What a long-lived process keeps from one sync to the next."""

    @property
    def root(self) -> Path:
        return self.config.project_root

    @property
    def remote(self) -> str:
        """The server's URL as generation records name it (never with its token)."""
        return self.target.spec.display()
