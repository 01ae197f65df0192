"""Using a running daemon's generation from other commands: flush, then lease or read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkpush.config import Config
from sparkpush.daemon.client import DaemonConnection, DaemonUnavailable, connect_to_daemon
from sparkpush.errors import ServerUnreachableError, SparkpushError
from sparkpush.project_session import ready_session
from sparkpush.remote import Target

Notify = Callable[[str], None]


class DaemonSyncError(SparkpushError):
    """The daemon's last sync failed (e.g. a broken UDF module); carries its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class DaemonGeneration:
    """The daemon's current generation after a flush; `connection` holds a lease if leased."""

    session_id: str
    generation: int
    server_side_session_id: str | None
    reply: dict[str, Any]
    connection: DaemonConnection | None = None

    @property
    def error(self) -> str | None:
        value = self.reply.get("error")
        return str(value) if value else None

    def raise_error(self) -> None:
        if self.error:
            raise DaemonSyncError(self.error, int(self.reply.get("exit_code") or 2))

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def daemon_running(project_root: Path) -> bool:
    connection = connect_to_daemon(project_root)
    if connection is None:
        return False
    connection.close()
    return True


def daemon_generation(project_root: Path, *, lease: bool) -> DaemonGeneration | None:
    """Flush the daemon (read-your-writes) and get its generation; None without a daemon.

    With `lease`, the connection stays open and holds the generation until `close()`.
    """
    connection = connect_to_daemon(project_root)
    if connection is None:
        return None
    try:
        reply = connection.call("lease" if lease else "flush")
    except DaemonUnavailable:
        connection.close()
        return None
    if not lease:
        connection.close()
    if not reply.get("session_id"):
        if lease:
            connection.close()
        error = reply.get("error") or "the daemon has no generation yet"
        raise ServerUnreachableError(f"the project's daemon cannot serve: {error}")
    return DaemonGeneration(
        session_id=str(reply["session_id"]),
        generation=int(reply.get("generation") or 0),
        server_side_session_id=reply.get("server_side_session_id"),
        reply=reply,
        connection=connection if lease else None,
    )


@dataclass(frozen=True)
class CurrentGeneration:
    session_id: str
    server_side_session_id: str | None
    generation: int


def current_generation(config: Config, target: Target, notify: Notify) -> CurrentGeneration:
    """The project's generation with every save so far synced: by its daemon if one runs
    (read-your-writes through a flush), else by this process."""
    held = daemon_generation(config.project_root, lease=False)
    if held is not None:
        if held.error:
            notify(f"warning: {held.error} (the last good generation keeps serving)")
        return CurrentGeneration(held.session_id, held.server_side_session_id, held.generation)
    manifest = ready_session(config, target).manifest
    assert manifest is not None
    return CurrentGeneration(
        manifest.session_id, manifest.server_side_session_id, manifest.generation
    )
