"""Where sparkpush keeps what it writes: the user's state and config folders, and each
project's own `<project>/.sparkpush` (user-only, never synced)."""

from __future__ import annotations

import os
from pathlib import Path

from sparkpush.state.private_files import ensure_private_dir

STATE_DIR_NAME = ".sparkpush"


def state_dir(project_root: Path) -> Path:
    """`<project_root>/.sparkpush`, created user-only (0700)."""
    return ensure_private_dir(project_root / STATE_DIR_NAME)


def user_state_dir() -> Path:
    """`$XDG_STATE_HOME/sparkpush` (default `~/.local/state/sparkpush`), 0700."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return ensure_private_dir(Path(base) / "sparkpush")


def user_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/sparkpush` (default `~/.config/sparkpush`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sparkpush"
