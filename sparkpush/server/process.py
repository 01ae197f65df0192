"""Starting, finding and stopping the embedded Spark Connect server process."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sparkpush.config.settings import DEFAULT_SERVER_PORT, ServerSettings
from sparkpush.errors import EmbeddedServerError, ServerUnreachableError
from sparkpush.server.cluster import start_cluster, stop_cluster
from sparkpush.server.java import find_java
from sparkpush.server.last_start import save_last_start
from sparkpush.server.process_group import (
    command_line,
    spawn_orphan,
    stop_session,
    terminate_group,
)
from sparkpush.server.server_conf import (
    ServerDirs,
    ServerExtras,
    daemon_environment,
    properties_text,
    server_properties,
)
from sparkpush.state.private_files import ensure_private_dir, private_opener, write_private_file
from sparkpush.state.server_state import ServerState, StateFiles

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
REAPER_MODULE = "sparkpush.server.reaper"
START_TIMEOUT_S = 180.0
DEFAULT_PORT_ENV = "SPARKPUSH_DEFAULT_PORT"
LOOPBACK = "127.0.0.1"
# everything the server and its children create is user-only
SERVER_UMASK = 0o077

ReadyProbe = Callable[[ServerState], None]
"""Raises ServerUnreachableError until the server answers a real RPC."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    state: ServerState | None


def spark_home() -> Path:
    """The installed pyspark package folder, which holds the jars and bin/spark-submit."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("pyspark is not installed; pip install 'pyspark[connect]'")
    return Path(next(iter(spec.submodule_search_locations)))


def server_status(files: StateFiles) -> ServerStatus:
    """What the state dir says, checked against the live process; stale state is cleaned."""
    state = files.load()
    if state is None:
        return ServerStatus(running=False, state=None)
    if _is_our_server(state.pid, state.port):
        return ServerStatus(running=True, state=state)
    files.clear()
    return ServerStatus(running=False, state=None)


def start_server(
    settings: ServerSettings,
    files: StateFiles,
    ready: ReadyProbe,
    on_wait: Callable[[float], None] | None = None,
    notify: Callable[[str], None] | None = None,
    extras: ServerExtras | None = None,
) -> tuple[ServerState, bool]:
    """Start the server unless ours is running; returns (state, started_now).

    Two commands starting it at once (parallel submits with no server yet) take turns: the
    second finds the first's server instead of starting a JVM of its own beside it. The
    server and everything it starts are adopted by init at once, never this process's
    children, and `settings` are recorded for the next start. `notify` hears when the
    default port was taken and another one chosen; `extras`: the project's server packages
    (their jars) and static confs.
    """
    with _start_lock(files):
        return _start_unless_running(
            settings, files, ready, on_wait, notify, extras or ServerExtras()
        )


@contextmanager
def _start_lock(files: StateFiles) -> Iterator[None]:
    """Held while a server starts; the kernel drops it if the holder dies (kill -9 included)."""
    fd = private_opener(ensure_private_dir(files.root) / "start.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _start_unless_running(
    settings: ServerSettings,
    files: StateFiles,
    ready: ReadyProbe,
    on_wait: Callable[[float], None] | None,
    notify: Callable[[str], None] | None,
    extras: ServerExtras,
) -> tuple[ServerState, bool]:
    status = server_status(files)
    if status.running and status.state is not None:
        return status.state, False
    java = find_java()
    port = _choose_port(settings, notify)
    dirs = _fresh_server_dirs(files)
    token = secrets.token_urlsafe(32)
    write_private_file(files.token, token.encode())
    # The token reaches the server in a 0600 properties file: never argv, never the
    # environment that its Python workers and executors inherit.
    properties = {**extras.conf, **server_properties(dirs, token)}
    write_private_file(files.properties, properties_text(properties).encode())
    env = {**_server_env(java.home), **daemon_environment(dirs)}
    cluster = None
    try:
        if settings.effective_workers > 0:
            cluster = start_cluster(
                spark_home(), settings.effective_workers, env, files.root / "cluster", dirs.work
            )
        master = cluster.master_url if cluster is not None else settings.effective_master
        command = _server_command(settings, port, master, files.properties, extras.jars)
        pid = _spawn(command, env, files.log)
    except BaseException:
        if cluster is not None:
            stop_cluster(cluster.pids)
        files.clear()
        raise
    state = ServerState(
        pid=pid,
        port=port,
        url=f"sc://localhost:{port}",
        token_file=str(files.token),
        master=master,
        log_file=str(files.log),
        started_at=time.time(),
        master_url=cluster.master_url if cluster is not None else None,
        cluster_pids=cluster.pids if cluster is not None else (),
        scratch=str(dirs.scratch),
        extras=extras.digest,
    )
    files.save(state)
    try:
        _wait_until_ready(state, ready, on_wait)
    except BaseException:
        stop_session(pid)
        if cluster is not None:
            stop_cluster(cluster.pids)
        files.clear()
        raise
    # read at start: no copy of the token needs to outlive it
    files.properties.unlink(missing_ok=True)
    save_last_start(files, settings)
    reaper = _spawn(
        [sys.executable, "-m", REAPER_MODULE, str(pid), *map(str, state.cluster_pids)],
        env,
        files.reaper_log,
    )
    state = replace(state, reaper_pid=reaper)
    files.save(state)
    return state, True


def _spawn(command: list[str], env: dict[str, str], log: Path) -> int:
    """Start a server process, its working folder the state dir that holds its log."""
    try:
        return spawn_orphan(command, env, log, cwd=log.parent, umask=SERVER_UMASK)
    except OSError as exc:
        raise EmbeddedServerError(f"{exc} (log: {log})") from None


def stop_server(files: StateFiles) -> bool:
    """Stop the server this user started and wait until it is gone; False when none ran."""
    status = server_status(files)
    if not status.running or status.state is None:
        return False
    state = status.state
    if state.reaper_pid is not None and _is_reaper(state.reaper_pid):
        terminate_group(state.reaper_pid)
    stop_session(state.pid)
    stop_cluster(state.cluster_pids)
    files.clear()
    return True


def _server_command(
    settings: ServerSettings,
    port: int,
    master: str,
    properties: Path,
    jars: tuple[Path, ...] = (),
) -> list[str]:
    home = spark_home()
    # the server's own class path: what a session cannot add (SQL extensions, catalogs)
    on_class_path = ["--jars", ",".join(str(jar) for jar in jars)] if jars else []
    return [
        str(home / "bin" / "spark-submit"),
        "--properties-file",
        str(properties),
        *on_class_path,
        "--class",
        CONNECT_SERVER_CLASS,
        "--name",
        "Spark Connect server (sparkpush)",
        "--master",
        master,
        "--conf",
        f"spark.connect.grpc.binding.address={LOOPBACK}",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        # The driver's own RPC and block manager ports carry no token: keep them on loopback.
        "--conf",
        f"spark.driver.host={LOOPBACK}",
        "--conf",
        f"spark.driver.bindAddress={LOOPBACK}",
        "--conf",
        f"spark.ui.enabled={'true' if settings.ui else 'false'}",
        "spark-internal",
    ]


def _server_env(java_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for leaked in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE"):
        env.pop(leaked, None)
    env["SPARK_HOME"] = str(spark_home())
    env["JAVA_HOME"] = str(java_home)
    # Python workers must run our interpreter: UDF pickles need the same minor version and
    # the same pyspark, pandas and pyarrow.
    env["PYSPARK_PYTHON"] = sys.executable
    env["SPARK_LOCAL_IP"] = LOOPBACK
    env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
    return env


def _fresh_server_dirs(files: StateFiles) -> ServerDirs:
    """The server's folders; the scratch left by a server that died is removed first."""
    dirs = ServerDirs(scratch=files.scratch, warehouse=files.warehouse, metastore=files.metastore)
    shutil.rmtree(dirs.scratch, ignore_errors=True)
    for folder in (dirs.scratch, dirs.tmp, dirs.local, dirs.work, dirs.warehouse, dirs.metastore):
        ensure_private_dir(folder)
    return dirs


def default_port() -> int:
    """The port a server without an explicit one tries first (SPARKPUSH_DEFAULT_PORT: tests)."""
    raw = os.environ.get(DEFAULT_PORT_ENV, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else DEFAULT_SERVER_PORT


def _choose_port(settings: ServerSettings, notify: Callable[[str], None] | None) -> int:
    """An explicit port must be free; without one, the default if free, else any free port."""
    if settings.port is not None:
        _check_port_free(settings.port, settings.port_source)
        return settings.port
    preferred = default_port()
    if _port_free(preferred):
        return preferred
    port = _any_free_port()
    if notify is not None:
        notify(f"port {preferred} is in use (another Spark Connect server?): using port {port}")
    return port


def _port_free(port: int) -> bool:
    """Whether `port` can be bound; sockets of a killed server in TIME-WAIT do not count
    (the server binds with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _check_port_free(port: int, source: str | None = None) -> None:
    """Raise unless the explicitly set `port` can be bound, naming where it was set."""
    if _port_free(port):
        return
    where = f" (set by {source})" if source else ""
    raise EmbeddedServerError(
        f"port {port} on {LOOPBACK} is already in use{where}; pick another there, or set "
        f"none: without `port` in [tool.sparkpush.server] or `connect server start --port N` "
        f"the server takes a free port"
    )


def _wait_until_ready(
    state: ServerState,
    ready: ReadyProbe,
    on_wait: Callable[[float], None] | None,
) -> None:
    started = time.monotonic()
    while True:
        if command_line(state.pid) is None:
            raise EmbeddedServerError(
                f"the Spark Connect server exited while starting: "
                f"{_last_log_line(Path(state.log_file))} (log: {state.log_file})"
            )
        try:
            ready(state)
            return
        except ServerUnreachableError:
            pass
        elapsed = time.monotonic() - started
        if elapsed > START_TIMEOUT_S:
            raise EmbeddedServerError(
                f"the Spark Connect server did not answer within {START_TIMEOUT_S:.0f} s "
                f"(log: {state.log_file})"
            )
        if on_wait is not None:
            on_wait(elapsed)
        time.sleep(0.5)


def _last_log_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if "Exception" in line or "ERROR" in line]
    return (errors or lines or ["empty log"])[-1].strip()[:300]


def _is_reaper(pid: int) -> bool:
    args = command_line(pid)
    return args is not None and REAPER_MODULE in args


def _is_our_server(pid: int, port: int) -> bool:
    """True when `pid` is alive and is a Connect server on `port` (not a recycled pid)."""
    args = command_line(pid)
    return (
        args is not None
        and CONNECT_SERVER_CLASS in args
        and f"spark.connect.grpc.binding.port={port}" in args
    )
