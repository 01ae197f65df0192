"""sparkpush: submit, watch and serve PySpark code over Spark Connect."""

from __future__ import annotations

__version__ = "0.1.0"
