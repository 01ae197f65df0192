"""The settings of the embedded server's last start, kept in the user's state dir.

A server that a command starts by itself (no `connect server start` first, or after a
`connect server stop`) starts as the user last started it: `--workers 2`, a master, the UI.
A port is kept only when it was set explicitly; otherwise the next start picks again.
"""

from __future__ import annotations

from typing import Any

from sparkpush.config.settings import ServerSettings
from sparkpush.state.private_files import read_json, write_private_json
from sparkpush.state.server_state import StateFiles


def save_last_start(files: StateFiles, settings: ServerSettings) -> None:
    document: dict[str, Any] = {
        "master": settings.master,
        "ui": settings.ui,
        "workers": settings.workers,
    }
    if settings.port is not None:
        document["port"] = settings.port
        document["port_source"] = settings.port_source
    write_private_json(files.last_start, document)


def load_last_start(files: StateFiles) -> ServerSettings:
    """The last start's settings; nothing set when there was none (or the file is damaged)."""
    document = read_json(files.last_start)
    if not isinstance(document, dict):
        return ServerSettings()
    port = document.get("port")
    source = document.get("port_source")
    master = document.get("master")
    ui = document.get("ui")
    workers = document.get("workers")
    explicit_port = isinstance(port, int) and not isinstance(port, bool)
    return ServerSettings(
        port=port if explicit_port else None,
        master=master if isinstance(master, str) else None,
        ui=ui if isinstance(ui, bool) else None,
        workers=workers if isinstance(workers, int) and not isinstance(workers, bool) else None,
        port_source=_last_start_source(source) if explicit_port else None,
    )


_KEPT = ", kept from the server's last start"


def _last_start_source(source: object) -> str:
    where = source if isinstance(source, str) else "an explicit setting"
    return where if where.endswith(_KEPT) else where + _KEPT
