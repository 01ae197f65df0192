"""The embedded server's own packages and static confs (`[tool.sparkpush.server] packages`
and `conf`): what cannot be per session (SQL extensions, catalogs, Connect plugins).

They are resolved like session packages (lock scope `server`) and applied when the server
starts. A running server remembers the digest of what it started with; a project that asks
for other server settings gets one line naming the restart command, never a silent mismatch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.packages.resolve import ensure_packages
from sparkpush.packages.spec import Scope, packages_configured, read_spec
from sparkpush.server.server_conf import ServerExtras, check_server_conf

RESTART = "connect server stop && connect server start"


def server_settings_digest(config: Config) -> str:
    """A digest of what the project asks of the server ("" for nothing); resolves nothing."""
    if not config.server.packages and not config.server.conf:
        return ""
    spec_text = read_spec(config, Scope.SERVER).key_text() if config.server.packages else ""
    text = json.dumps([spec_text, sorted(config.server.conf.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def server_extras(config: Config) -> ServerExtras:
    """The jars (resolved if the lock lacks them) and confs the server should start with."""
    conf = check_server_conf(config.server.conf, "server.conf")
    jars: tuple[Path, ...] = ()
    if packages_configured(config, Scope.SERVER):
        resolved = ensure_packages(config, read_spec(config, Scope.SERVER))
        jars = tuple(cached.path for cached in resolved.cached)
    return ServerExtras(jars=jars, conf=conf, digest=server_settings_digest(config))


def extras_mismatch(config: Config, running_with: str) -> str | None:
    """One line when the running server started with other server settings than these."""
    wanted = server_settings_digest(config)
    if wanted == running_with:
        return None
    if not wanted:
        return (
            "the embedded server runs with server packages or confs this project does not "
            f"ask for; '{RESTART}' starts it without them"
        )
    return (
        "the embedded server runs without this project's [tool.sparkpush.server] packages "
        f"or conf (it was started with other settings); restart it: '{RESTART}'"
    )
