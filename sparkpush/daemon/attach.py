"""Using a running daemon's generation from other commands: flush, then lease or read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.daemon.client import DaemonConnection, DaemonUnavailable, connect_to_daemon
from sparkpush.daemon.control_messages import GenerationReply, ProtocolError
from sparkpush.errors import (
    DaemonSyncError,
    DaemonVersionMismatchError,
    ExitCode,
    ServerUnreachableError,
)
from sparkpush.progress.notify import Notify
from sparkpush.remote.target import Target
from sparkpush.sync.ready_session import ready_session


@dataclass
class DaemonGeneration:
    """The daemon's current generation after a flush; `connection` holds a lease if leased."""

    session_id: str
    generation: int
    server_side_session_id: str | None
    reply: GenerationReply
    connection: DaemonConnection | None = None

    @property
    def error(self) -> str | None:
        return self.reply.error or None

    def raise_error(self) -> None:
        if self.error:
            raise DaemonSyncError(self.error, self.reply.exit_code or ExitCode.USAGE)

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
        reply = connection.lease() if lease else connection.flush()
    except DaemonUnavailable:
        connection.close()
        return None
    except ProtocolError:
        connection.close()
        raise DaemonVersionMismatchError() from None
    if not lease:
        connection.close()
    if not reply.session_id:
        if lease:
            connection.close()
        error = reply.error or "the daemon has no generation yet"
        raise ServerUnreachableError(f"the project's daemon cannot serve: {error}")
    return DaemonGeneration(
        session_id=reply.session_id,
        generation=reply.generation or 0,
        server_side_session_id=reply.server_side_session_id,
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
    return CurrentGeneration(manifest.session_id, manifest.server_side_session_id, manifest.number)
