"""Which server a command talks to: --remote, SPARK_REMOTE, config, or the embedded server."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.connect.connection_string import ConnectionSpec, parse_connection_string
from sparkpush.connect.secret import Secret
from sparkpush.connect.session import Session, SessionFactory
from sparkpush.connect.session_client import SessionClient
from sparkpush.connect.session_release import release
from sparkpush.errors import (
    ConfigError,
    ConnectionStringError,
    EmbeddedServerStoppedError,
    UntrustedConfigError,
)
from sparkpush.packages.server_side import extras_mismatch, server_extras
from sparkpush.progress.notify import Notify
from sparkpush.server.last_start import load_last_start
from sparkpush.server.process import server_status, start_server
from sparkpush.server.reclaim import reclaim_session_folders
from sparkpush.state.server_state import ServerState, StateFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A server to talk to, with credentials; `source` says where it came from.

    `embedded` is the embedded server's state the URL and token were read from; `transport`
    opens sessions in place of gRPC (an in-memory server in unit tests).
    """

    spec: ConnectionSpec
    source: str
    ca_file: Path | None = None
    embedded: ServerState | None = None
    transport: SessionFactory | None = field(default=None, compare=False, repr=False)

    def client(
        self, session_id: str | None = None, server_side_session_id: str | None = None
    ) -> SessionClient:
        """The gRPC client itself, for what `Session` does not offer (running a query:
        `connect sql`); everything else opens a `session`."""
        return SessionClient(
            self.spec,
            session_id,
            ca_file=self.ca_file,
            server_side_session_id=server_side_session_id,
            on_released=self._reclaim_released(),
        )

    def _reclaim_released(self) -> Callable[[str], object] | None:
        """On the embedded server, a session released through us leaves no files behind."""
        if self.embedded is None or self.embedded.scratch is None:
            return None
        return partial(reclaim_session_folders, Path(self.embedded.scratch))

    def session(
        self, session_id: str | None = None, server_side_session_id: str | None = None
    ) -> Session:
        """A session on this server: through `transport` when one is set, else over gRPC."""
        if self.transport is not None:
            return self.transport(session_id, server_side_session_id)
        return self.client(session_id, server_side_session_id)


def resolve_target(
    config: Config,
    remote_flag: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    start_embedded: bool = True,
    notify: Notify | None = None,
    ca_file: Path | None = None,
) -> Target:
    """The server a command should use; starts the embedded server if nothing else is set.

    `ca_file` (the --ca-file flag) overrides the config's `ca_file`.
    """
    env = os.environ if env is None else env
    for source, value in (
        ("--remote", remote_flag),
        ("SPARK_REMOTE", env.get("SPARK_REMOTE")),
        ("config", config.remote),
    ):
        if value:
            spec = parse_connection_string(value)
            use_token_file = spec.token is None and token_file_goes_to(config, spec, source)
            require_trusted(
                config,
                remote=source == "config",
                token_file=use_token_file,
                ca_file=ca_file is None and config.ca_file is not None,
            )
            if use_token_file:
                assert config.token_file is not None
                spec = spec.with_token(read_remote_token(config.token_file))
            if spec.user_id is None and config.user_id is not None:
                spec = replace(spec, user_id=config.user_id)
            ca = ca_file.absolute() if ca_file is not None else config.ca_file
            return Target(spec=spec, source=source, ca_file=ca)
    return embedded_target(config, start=start_embedded, notify=notify)


def token_file_goes_to(config: Config, spec: ConnectionSpec, source: str) -> bool:
    """Whether `token_file` is sent to `spec`: only to the remote written beside it (the same
    host and port), so a project's `remote`, `SPARK_REMOTE` or `--remote` naming another host
    never receives a token meant for someone else."""
    if config.token_file is None:
        return False
    if token_meant_for(config, spec):
        return True
    log.warning(
        "not sending token_file %s to %s (from %s): it is only sent to %s",
        config.token_file,
        spec.display(),
        source,
        token_destination_shown(config),
    )
    return False


def token_meant_for(config: Config, spec: ConnectionSpec) -> bool:
    meant_for = token_destination(config)
    return meant_for is not None and same_server(meant_for, spec)


def token_destination_shown(config: Config) -> str:
    meant_for = token_destination(config)
    return meant_for.display() if meant_for is not None else "the remote set beside it (none is)"


def token_plan(config: Config) -> str:
    """What token goes where with this config, for people (`connect trust`): never a token."""
    if not config.remote:
        return "the embedded server's own token, to the embedded server only"
    try:
        spec = parse_connection_string(config.remote)
    except ConnectionStringError:
        return "none (the remote is not a valid connection string)"
    if spec.token is not None:
        return f"the token written in the remote's URL, to {spec.display()}"
    if config.token_file is None:
        return "none"
    if token_meant_for(config, spec):
        return f"{config.token_file}, to {spec.display()}"
    return f"none: {config.token_file} is only sent to {token_destination_shown(config)}"


def token_destination(config: Config) -> ConnectionSpec | None:
    """The server `token_file` was configured for, if any."""
    if config.token_file is None or not config.token_remote:
        return None
    try:
        return parse_connection_string(config.token_remote)
    except ConnectionStringError:
        return None


def same_server(a: ConnectionSpec, b: ConnectionSpec) -> bool:
    return (a.host.lower(), a.port) == (b.host.lower(), b.port)


def require_trusted(config: Config, **used: bool) -> None:
    """An UntrustedConfigError if a key about to take effect comes from an untrusted config."""
    keys = [key for key in config.untrusted_keys if used.get(key)]
    if keys:
        raise UntrustedConfigError(
            f"{config.source} sets {', '.join(keys)} ({config.trust.value}): a project's "
            "config decides where your files and tokens go only once you trust it; "
            "read them, then run 'connect trust' (nothing was sent)"
        )


def read_remote_token(path: Path) -> Secret:
    """A token file for a remote server: never the embedded server's own token."""
    if is_embedded_token_file(path):
        raise ConfigError(
            f"token_file {path} is the embedded server's token, which is only ever sent to "
            "the embedded server (leave remote unset to use it)"
        )
    return read_token_file(path)


def is_embedded_token_file(path: Path) -> bool:
    embedded = StateFiles().token
    if os.path.realpath(path) == os.path.realpath(embedded):
        return True
    try:
        return os.path.samefile(path, embedded)
    except OSError:
        return False


def embedded_target(config: Config, *, start: bool = True, notify: Notify | None = None) -> Target:
    """The user's embedded server, started first if it is not running and `start` is set."""
    files = StateFiles()
    status = server_status(files)
    state = status.state
    if state is None:
        if not start:
            raise EmbeddedServerStoppedError(
                "no remote is configured and the embedded server is not running; "
                "start it with 'connect server start'"
            )
        require_trusted(config, master=True)
        # as the user last started it, unless the project's config says otherwise
        settings = config.server.over(load_last_start(files))
        extras = server_extras(config)
        if notify is not None:
            notify("starting the embedded Spark Connect server")
        state, started = start_server(settings, files, probe_embedded, notify=notify, extras=extras)
        if started and notify is not None:
            notify(f"the embedded Spark Connect server runs at {state.url}")
    else:
        mismatch = extras_mismatch(config, state.extras)
        if mismatch is not None:
            (notify or log.warning)(mismatch)
    return Target(spec=embedded_spec(state), source="embedded", embedded=state)


def target_still_current(target: Target) -> bool:
    """False when `target` is the embedded server and it was restarted since: its port and
    token changed, resolve the target again (both together, from the new state).

    Raises ServerUnreachableError when it was stopped: its token goes to no port that may
    no longer be its own.
    """
    if target.embedded is None:
        return True
    state = StateFiles().load()
    if state is None:
        raise EmbeddedServerStoppedError(
            "the embedded server is not running; start it with 'connect server start'"
        )
    return state == target.embedded


def embedded_spec(state: ServerState) -> ConnectionSpec:
    spec = parse_connection_string(state.url)
    return spec.with_token(read_token_file(Path(state.token_file)))


def probe_embedded(state: ServerState) -> None:
    """Raises ServerUnreachableError until the embedded server answers a real RPC."""
    probe(Target(spec=embedded_spec(state), source="embedded"), timeout=2.0)


def probe(target: Target, timeout: float = 10.0) -> str:
    """Check reachability and authentication with a short deadline; returns the Spark version."""
    with target.session() as client:
        version = client.spark_version(timeout=timeout)
        release(client, timeout)  # its own throwaway session: a failure loses nothing
        return version


def read_token_file(path: Path) -> Secret:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read token file {path}: {exc.strerror}") from None
    if not token:
        raise ConfigError(f"token file {path} is empty")
    return Secret(token)
