"""A small user-only JSON file of values keyed by a server's identity: answers that belong to
a server (its workers' Python, whether it clones sessions), remembered across commands.

`{"servers": [[key, value], ...]}`, newest last, at most `limit` entries. Only a cache: a
write that fails is ignored and the next run asks the server again.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from sparkpush.state.private_files import read_json, write_private_json


class ServerRecords:
    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit

    def read(self) -> dict[str, object]:
        data = read_json(self.path)
        servers = data.get("servers") if isinstance(data, dict) else None
        if not isinstance(servers, list):
            return {}
        return {
            str(entry[0]): entry[1]
            for entry in servers
            if isinstance(entry, list) and len(entry) == 2
        }

    def store(self, key: str, value: object) -> None:
        """Set `key` (as the newest entry), dropping the oldest past the limit."""
        entries = self.read()
        entries.pop(key, None)
        entries[key] = value
        kept = [[k, v] for k, v in entries.items()][-self.limit :]
        with contextlib.suppress(OSError):
            write_private_json(self.path, {"servers": kept})
