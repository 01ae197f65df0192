"""The embedded server's Spark settings: where it writes, and its token, kept out of argv and env.

The settings reach spark-submit as a properties file (0600, in the 0700 state folder): the
token given this way is in neither the JVM's command line nor its environment, so Python
workers and executors, which inherit the environment, never see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TOKEN_CONF = "spark.connect.authenticate.token"


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
