"""The project's own state folder, `<project>/.sparkpush`: user-only, never synced."""

from __future__ import annotations

from pathlib import Path

from sparkpush.private_files import ensure_private_dir

STATE_DIR_NAME = ".sparkpush"


def state_dir(project_root: Path) -> Path:
    """`<project_root>/.sparkpush`, created user-only (0700)."""
    return ensure_private_dir(project_root / STATE_DIR_NAME)
