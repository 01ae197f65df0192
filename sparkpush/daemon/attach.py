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
    EmbeddedServerStoppedError,
    ExitCode,
)
from sparkpush.progress.notify import Notify
from sparkpush.remote.target import Target, resolve_target
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


def project_target(
    config: Config,
    remote: str | None,
    *,
    notify: Notify | None = None,
    ca_file: Path | None = None,
) -> Target:
    """The server a project's command uses (see `resolve_target`), which starts the embedded
    server when it is not running, except while the project's daemon runs: the daemon waits
    for a server the user stopped, and its commands end with one line (exit 3) instead."""
    try:
        return resolve_target(config, remote, notify=notify, ca_file=ca_file, start_embedded=False)
    except EmbeddedServerStoppedError:
        if daemon_running(config.project_root):
            raise EmbeddedServerStoppedError(
                "the embedded server is not running and the project's daemon waits for it "
                "(a stopped server is not restarted): start it with 'connect server start'"
            ) from None
    return resolve_target(config, remote, notify=notify, ca_file=ca_file)


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
        # the exit code of what keeps it from serving (an untrusted config: 2)
        raise DaemonSyncError(
            f"the project's daemon cannot serve: {error}", reply.exit_code or ExitCode.UNREACHABLE
        )
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
    generation = ready_session(config, target).current_generation
    assert generation is not None
    return CurrentGeneration(
        generation.session_id, generation.server_side_session_id, generation.number
    )
