"""Fixtures and helpers the integration modules share: projects, the daemon, another user."""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sparkpush.connect.connection_string import parse_connection_string
from sparkpush.connect.session_client import SessionClient
from sparkpush.errors import ServerError
from tests.conftest import EmbeddedServer, clean_env, free_port
from tests.jvm import add_constant_udf, build_jar, compile_java
from tests.server_resources import sessions_in
from tests.support import run_connect, run_connect_in_process, wait_until

# --- scripts -----------------------------------------------------------------------------

SIMPLE_APP = [
    "submit",
    "--py-files",
    "examples/text_predicates.py",
    "examples/simple_app.py",
    "examples/data/README.md",
]
"""The README's main job, run from the repository root."""


EVERY_KIND = """
import os
from pyspark.sql.functions import udf
from pyspark.sql.types import LongType

@udf("string")
def shipped(_):
    from pyspark import SparkFiles
    import mypkg.helpers, wheelmod
    with open(os.path.join("env", "greeting.txt")) as a, open(SparkFiles.get("lookup.txt")) as f:
        return "|".join([mypkg.helpers.tag(), wheelmod.g(), a.read(), f.read()])

print("python:", spark.range(1).select(shipped("id")).first()[0])
spark.udf.registerJavaFunction("add_ten", "com.ex.AddTen", LongType())
spark.udf.registerJavaFunction("add_one", "com.jar.AddOne", LongType())
one = "CAST(1 AS BIGINT)"
print("java:", spark.sql(f"SELECT add_ten({one}) + add_one({one})").first()[0])
"""


USE_PACKAGE = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
spark = SparkSession.builder.getOrCreate()

@udf("string")
def tag(_):
    import mypkg.helpers
    return mypkg.helpers.tag()

print("session", spark.client._session_id)
print("tag", spark.range(1).select(tag("id")).first()[0])
spark.stop()
"""

UDF_MODULE_WITH_HELPER = """
import pandas as pd
from pyspark.sql.functions import pandas_udf, udf, udtf

import helpers


@udf("string")
def tagged(s):
    return f"{s}-{helpers.tag()}"


@pandas_udf("long")
def plus_one(x: pd.Series) -> pd.Series:
    return x + 1


@udtf(returnType="n: int, square: int")
class Squares:
    def eval(self, k: int):
        for i in range(k):
            yield i, i * i
"""

# --- projects ----------------------------------------------------------------------------


def make_pure_wheel(path: Path, module: str, body: str) -> Path:
    dist = f"{module}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{module}.py", body)
        wheel.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        wheel.writestr(f"{dist}/RECORD", "")
    return path


@pytest.fixture
def every_kind_project(tmp_path: Path) -> Path:
    """A project using every artifact kind."""
    root = tmp_path / "project"
    pkg = root / "src" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("def tag():\n    return 'helpers-v1'\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "junk.pyc").write_bytes(b"junk")
    (root / "dist").mkdir()
    make_pure_wheel(
        root / "dist" / "wheelmod-1.0-py3-none-any.whl",
        "wheelmod",
        "def g():\n    return 'wheel'\n",
    )
    compile_java(add_constant_udf("com.ex", "AddTen", 10), "com.ex.AddTen", root / "classes")
    jar_classes = tmp_path / "jar-classes"
    compile_java(add_constant_udf("com.jar", "AddOne", 1), "com.jar.AddOne", jar_classes)
    build_jar(jar_classes, root / "lib" / "udfs.jar")
    with zipfile.ZipFile(root / "env.zip", "w") as archive:
        archive.writestr("greeting.txt", "from-archive")
    (root / "lookup.txt").write_text("from-file")
    (root / "pyproject.toml").write_text(
        """
[tool.sparkpush.artifacts]
python = ["src/mypkg"]
wheels = ["dist/*.whl"]
classes = ["classes"]
jars = ["lib/*.jar"]
archives = ["env.zip#env"]
files = ["lookup.txt"]
"""
    )
    return root


@pytest.fixture
def daemon_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    pkg = root / "src" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("def tag():\n    return 'v1'\n")
    compile_java(add_constant_udf("com.ex", "AddTen", 10), "com.ex.AddTen", root / "classes")
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("a")
    (root / "pyproject.toml").write_text(
        """
[tool.sparkpush.artifacts]
python = ["src/mypkg"]
classes = ["classes"]
files = ["data/*.txt"]
"""
    )
    return root


def write_udf_project(root: Path, extra_config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "helpers.py").write_text("def tag():\n    return 'v1'\n")
    (root / "udfs.py").write_text(UDF_MODULE_WITH_HELPER)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n' + extra_config
    )
    return root


def sync_json(server: EmbeddedServer, root: Path, *extra: str) -> dict[str, Any]:
    result = run_connect_in_process(["sync", "--json", *extra], env=server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# --- a standalone cluster ------------------------------------------------------------------


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """`connect server start --workers 2`: a master, two workers and the server (4 JVMs), with
    executors in JVMs of their own; started once for the modules that need one. Stopping it
    leaves none of its processes running."""
    state_home = tmp_path_factory.mktemp("cluster-state")
    env = clean_env(XDG_STATE_HOME=str(state_home))
    port = free_port()
    started = run_connect(
        ["server", "start", "--port", str(port), "--workers", "2"], env=env, timeout=300
    )
    assert started.returncode == 0, started.stderr
    token = (state_home / "sparkpush" / "server.token").read_text().strip()
    try:
        yield EmbeddedServer(
            state_home=state_home, port=port, url=f"sc://localhost:{port}", token=token
        )
    finally:
        status = json.loads(run_connect_in_process(["server", "status", "--json"], env=env).stdout)
        stopped = run_connect(["server", "stop"], env=env)
        assert stopped.returncode == 0
        for pid in [status["pid"], *status["cluster_pids"]]:
            stat = Path(f"/proc/{pid}/stat")
            assert not stat.exists() or ") Z" in stat.read_text(), f"pid {pid} still runs"


# --- the daemon --------------------------------------------------------------------------


@pytest.fixture
def daemon(embedded_server: EmbeddedServer, daemon_project: Path) -> Iterator[Path]:
    started = run_connect(["daemon", "start"], env=embedded_server.env, cwd=daemon_project)
    assert started.returncode == 0, started.stderr
    try:
        yield daemon_project
    finally:
        run_connect_in_process(["daemon", "stop"], env=embedded_server.env, cwd=daemon_project)


def daemon_status(root: Path, env: dict[str, str]) -> dict[str, Any]:
    result = run_connect_in_process(["daemon", "status", "--json"], env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def generation_after(root: Path, env: dict[str, str], previous: int) -> dict[str, Any]:
    """The daemon's status once a generation after `previous` is current and the sync that
    made it has ended: a generation is saved (and current) before its sync is done (releases,
    UDFs in place), and until then the status still shows the previous attempt's error."""
    found: dict[str, Any] = {}

    def advanced() -> bool:
        found.update(daemon_status(root, env))
        current = int(found.get("generation") or 0)
        synced = int((found.get("last_sync") or {}).get("generation") or 0)
        return current > previous and synced >= current

    wait_until(advanced, what=f"a generation after {previous}")
    return found


@dataclass
class ServerSessions:
    """Sessions the server logged since `offset`: touched and released. The server logs every
    session it creates or touches ("Session with userId: U and sessionId: S accessed") and
    every one it releases ("Closing session ... sessionId: S")."""

    log: Path
    offset: int

    @classmethod
    def from_now(cls, server: EmbeddedServer) -> ServerSessions:
        log = server.state_home / "sparkpush" / "server.log"
        return cls(log, log.stat().st_size)

    def alive(self) -> set[str]:
        accessed, closed = sessions_in(self.log, self.offset)
        return accessed - closed


def session_alive(server: EmbeddedServer, session_id: str) -> bool:
    with SessionClient(parse_connection_string(server.remote_with_token), session_id) as client:
        try:
            client.spark_version()
        except ServerError as exc:
            if exc.error_class == "INVALID_HANDLE.SESSION_CLOSED":
                return False
            raise
    return True


# --- another user (uid 65534, nobody): CI runs as root --------------------------------------

NOBODY = 65534


as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")


def other_user_python() -> str:
    """An interpreter another user can run (ours may sit under root's home)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def start_as_nobody(args: list[str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*AS_NOBODY, other_user_python(), *args],
        pass_fds=pass_fds,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "listening":
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"the listener run as nobody did not start: {stderr}")
    return process


@contextmanager
def traversable_by_others(folder: Path) -> Iterator[None]:
    """Every folder from / down to `folder` searchable by others for a while, so that what
    refuses another user below it is the project's own modes, not pytest's private tmp."""
    changed: list[tuple[Path, int]] = []
    try:
        for each in [*reversed(folder.parents), folder]:
            mode = stat.S_IMODE(each.stat().st_mode)
            if not mode & stat.S_IXOTH:
                changed.append((each, mode))
                each.chmod(mode | stat.S_IXOTH)
        yield
    finally:
        for each, mode in reversed(changed):
            each.chmod(mode)


def status_json(env: dict[str, str]) -> dict[str, object]:
    """`connect server status --json` of the embedded server `env` points at."""
    result = run_connect_in_process(["server", "status", "--json"], env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def server_pid(env: dict[str, str]) -> int:
    return int(str(status_json(env)["pid"]))


class Lines:
    """A process's stdout, read in a thread so that waiting for a line has a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout

        def pump() -> None:
            for line in stdout:
                self._queue.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, seconds: float = 180) -> None:
        def next_line_has_it() -> bool:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                return False
            self.seen.append(line)
            return text in line

        try:
            wait_until(next_line_has_it, seconds, interval=0)
        except AssertionError:
            raise AssertionError(f"no {text!r} in the watch's output: {self.seen}") from None


@contextmanager
def watching(
    args: list[str], env: dict[str, str], cwd: Path, *, with_stderr: bool = False
) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """`connect watch ARGS` in the background; stopped with Ctrl-C (killed if it hangs).
    `with_stderr`: its stderr (and its runs') is read with its stdout."""
    watch = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "watch", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if with_stderr else subprocess.DEVNULL,
        text=True,
    )
    try:
        yield watch, Lines(watch)
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            watch.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()
            raise


@dataclass(frozen=True)
class RestartableServer:
    """An embedded server besides the session's, for tests that stop and start it: its state
    folder and port."""

    state_home: Path
    port: int

    @property
    def env(self) -> dict[str, str]:
        return clean_env(XDG_STATE_HOME=str(self.state_home))


@pytest.fixture(scope="session")
def restartable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableServer]:
    """Shared by the tests that restart a server: each restart is then one start, not three
    (start, stop, start) per test. Stopped at the end of the session."""
    server = RestartableServer(tmp_path_factory.mktemp("own-state"), free_port())
    try:
        yield server
    finally:
        run_connect(["server", "stop"], env=server.env)


@contextmanager
def own_server(project: Path, server: RestartableServer) -> Iterator[dict[str, str]]:
    """`server` for `project` (the test may stop and start it): its port in the project's
    config, running on entry; yields the environment. The project's daemon is stopped at the
    end."""
    config = project / "pyproject.toml"
    config.write_text(config.read_text() + f"\n[tool.sparkpush.server]\nport = {server.port}\n")
    env = server.env
    try:
        if not status_json(env)["running"]:
            assert run_connect(["server", "start"], env=env, cwd=project).returncode == 0
        yield env
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=project)
