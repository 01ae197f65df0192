"""The two callbacks long operations report through, typed once for every layer."""

from __future__ import annotations

from collections.abc import Callable

Notify = Callable[[str], None]
"""Receives one human line (a warning, "starting the embedded server...")."""

ProgressCallback = Callable[[int, int], None]
"""Receives (bytes done, bytes total) while artifacts upload."""
