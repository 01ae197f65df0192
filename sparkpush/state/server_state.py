"""Where the embedded server's pid, port, token and log live: one per user, user-only."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sparkpush.state.folders import user_state_dir
from sparkpush.state.private_files import ensure_private_dir, read_json, write_private_json


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    url: str
    token_file: str
    master: str
    log_file: str
    started_at: float
    master_url: str | None = None
    cluster_pids: tuple[int, ...] = ()
    reaper_pid: int | None = None
    scratch: str | None = None
    """The server's scratch folder (see `StateFiles.scratch`); None in a record written by an
    older sparkpush."""
    extras: str = ""
    """The digest of the server packages and confs it started with (`ServerExtras`)."""


class StateFiles:
    """The files of the embedded server inside the user's state dir."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = ensure_private_dir(root) if root else user_state_dir()

    @property
    def state(self) -> Path:
        return self.root / "server.json"

    @property
    def token(self) -> Path:
        return self.root / "server.token"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def properties(self) -> Path:
        """The server's Spark settings, its token included (read once at start, then removed)."""
        return self.root / "server.properties"

    @property
    def scratch(self) -> Path:
        """The server's temp, artifact and local dirs; what a dead server left is wiped at start."""
        return self.root / "scratch"

    @property
    def warehouse(self) -> Path:
        """`spark.sql.warehouse.dir`: where `saveAsTable` writes managed tables (kept)."""
        return self.root / "warehouse"

    @property
    def metastore(self) -> Path:
        """Derby's home, should the server use a Hive metastore (kept)."""
        return self.root / "metastore"

    @property
    def last_start(self) -> Path:
        """The settings of the last start, for the next one (see `server.last_start`)."""
        return self.root / "last-start.json"

    @property
    def reaper_log(self) -> Path:
        return self.root / "reaper.log"

    def load(self) -> ServerState | None:
        raw = read_json(self.state)
        if not isinstance(raw, dict):
            return None
        try:
            raw["cluster_pids"] = tuple(raw.get("cluster_pids", ()))
            return ServerState(**raw)
        except TypeError:
            return None

    def save(self, state: ServerState) -> None:
        write_private_json(self.state, asdict(state))

    def clear(self) -> None:
        for path in (self.state, self.token, self.properties):
            path.unlink(missing_ok=True)
