"""Where the pytest plugin keeps a run's live project, so `connect test` can report on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sparkpush.live.live_project import LiveProject

PROJECT_KEY = pytest.StashKey["LiveProject | None"]()


def held_by(config: pytest.Config) -> LiveProject | None:
    """The run's project if a test used the fixtures."""
    return config.stash.get(PROJECT_KEY, None)
