"""The embedded server's Spark settings: where it writes, and its token, kept out of argv and env.

The settings reach spark-submit as a properties file (0600, in the 0700 state folder): the
token given this way is in neither the JVM's command line nor its environment, so Python
workers and executors, which inherit the environment, never see it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkpush.errors import ConfigError

TOKEN_CONF = "spark.connect.authenticate.token"
_CONF_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
OWN_PREFIXES = ("spark.connect.grpc.", "spark.connect.authenticate.")
"""Where the server listens and how it checks tokens: ours alone, never a project's."""
OWN_KEYS = (
    "spark.master",
    "spark.driver.host",
    "spark.driver.bindAddress",
    "spark.driver.extraJavaOptions",
    "spark.executor.extraJavaOptions",
    "spark.ui.enabled",
    "spark.sql.warehouse.dir",
    "spark.local.dir",
    "spark.jars",
    "spark.jars.packages",
)
"""Set by sparkpush (or by `server.master`, `server.ui`, `server.packages`)."""


@dataclass(frozen=True)
class ServerExtras:
    """What a project adds to the embedded server: jars on its own class path and static
    confs (`[tool.sparkpush.server] packages` and `conf`); `digest` names them, so a running
    server started with other extras can be told apart."""

    jars: tuple[Path, ...] = ()
    conf: Mapping[str, str] = field(default_factory=dict)
    digest: str = ""


def check_server_conf(conf: Mapping[str, str], where: str) -> dict[str, str]:
    """`conf` unless it sets what sparkpush owns (the binding, the token, the master...)."""
    for key, value in conf.items():
        if not _CONF_KEY.fullmatch(key):
            raise ConfigError(f"{where}: {key!r} is not a Spark conf key")
        if any(char in value for char in "\r\n"):
            raise ConfigError(f"{where}: {key}: a line break in its value")
        if key in OWN_KEYS or key.startswith(OWN_PREFIXES) or key == TOKEN_CONF:
            raise ConfigError(
                f"{where}: {key} is set by sparkpush (its loopback binding, token, master, "
                "UI and folders are not a project's to change)"
            )
    return dict(conf)


@dataclass(frozen=True)
class ServerDirs:
    """Where the server's JVMs and Python workers write; `scratch` is theirs alone."""

    scratch: Path
    warehouse: Path
    metastore: Path

    @property
    def tmp(self) -> Path:
        """`java.io.tmpdir` and TMPDIR: artifact folders land here."""
        return self.scratch / "tmp"

    @property
    def local(self) -> Path:
        """Spark's local dirs (SPARK_LOCAL_DIRS): shuffle and block files, session file copies."""
        return self.scratch / "local"

    @property
    def work(self) -> Path:
        """Standalone workers' work dirs (executor logs and copies of jars)."""
        return self.scratch / "work"


def server_properties(dirs: ServerDirs, token: str) -> dict[str, str]:
    """The properties file's entries for the Connect server's driver and its executors."""
    driver_options = java_options({"java.io.tmpdir": dirs.tmp, "derby.system.home": dirs.metastore})
    return {
        TOKEN_CONF: token,
        "spark.driver.extraJavaOptions": driver_options,
        "spark.executor.extraJavaOptions": java_options({"java.io.tmpdir": dirs.tmp}),
        "spark.sql.warehouse.dir": str(dirs.warehouse),
    }


def daemon_environment(dirs: ServerDirs) -> dict[str, str]:
    """Environment for the server and cluster JVMs, so that they and their children write in
    scratch (SPARK_LOCAL_DIRS wins over `spark.local.dir`, hence it is set only here)."""
    return {
        "TMPDIR": str(dirs.tmp),
        "SPARK_LOCAL_DIRS": str(dirs.local),
        # master and workers read their JVM options from here
        "SPARK_DAEMON_JAVA_OPTS": java_options({"java.io.tmpdir": dirs.tmp}),
    }


def java_options(properties: dict[str, Path]) -> str:
    """`-Dkey=value` options, quoted for Spark's launcher (paths may hold spaces)."""
    return " ".join(_quote(f"-D{key}={value}") for key, value in properties.items())


def properties_text(entries: dict[str, str]) -> str:
    """A Java properties file (Spark reads it as UTF-8)."""
    lines = []
    for key, value in entries.items():
        if any(char in value for char in "\r\n"):
            raise ValueError(f"a line break in the value of {key}")
        lines.append(f"{key}={_escape(value)}")
    return "\n".join(lines) + "\n"


def _quote(option: str) -> str:
    if not any(char in option for char in " \"\\'"):
        return option
    return '"' + option.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape(value: str) -> str:
    escaped = value.replace("\\", "\\\\")
    # a leading space would be dropped by the properties reader
    return "\\" + escaped if escaped.startswith(" ") else escaped
