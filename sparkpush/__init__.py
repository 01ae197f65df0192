"""sparkpush: submit, watch and serve PySpark code over Spark Connect."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext sparkpush`: `spark` on the project's live generation (see sparkpush.live)."""
    from sparkpush.live.ipython import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from sparkpush.live.ipython import unload

    unload(ipython)
