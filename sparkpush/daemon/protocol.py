"""The control channel's wire format: one JSON object per line, each way (JSON Lines)."""

from __future__ import annotations

import json
from typing import Any

MAX_LINE_BYTES = 1024 * 1024


class ProtocolError(Exception):
    """A line that is not one JSON object."""


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, sort_keys=True, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError("message too long")
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("not a JSON object")
    return value
