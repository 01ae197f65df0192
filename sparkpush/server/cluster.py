"""A local Spark standalone cluster (one master, N workers) on loopback, from the pyspark wheel.

In local mode executors live inside the driver JVM, which hides bugs in how artifacts reach
executors; a standalone cluster has separate executor JVMs and Python workers, like a real one.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sparkpush.errors import EmbeddedServerError
from sparkpush.server.process_group import command_line, spawn_orphan, stop_session

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
LOOPBACK = "127.0.0.1"
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LocalCluster:
    master_url: str
    pids: tuple[int, ...]


def start_cluster(
    spark_home: Path, workers: int, env: dict[str, str], log_dir: Path, work_dir: Path
) -> LocalCluster:
    """Start a master and `workers` workers (1 core, 1 GiB each); wait until all registered.

    Workers keep their executors' files in `work_dir`.
    """
    port, ui_port = _free_port(), _free_port()
    cluster_env = {**env, "SPARK_LOCAL_IP": LOOPBACK, "SPARK_MASTER_HOST": LOOPBACK}
    spark_class = str(spark_home / "bin" / "spark-class")
    started: list[int] = []
    try:
        started.append(
            _spawn(
                [
                    spark_class,
                    MASTER_CLASS,
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(port),
                    "--webui-port",
                    str(ui_port),
                ],
                cluster_env,
                log_dir / "master.log",
            )
        )
        master_url = f"spark://{LOOPBACK}:{port}"
        for index in range(workers):
            started.append(
                _spawn(
                    [
                        spark_class,
                        WORKER_CLASS,
                        master_url,
                        "--host",
                        LOOPBACK,
                        "--cores",
                        "1",
                        "--memory",
                        "1g",
                        "--webui-port",
                        str(_free_port()),
                        "--work-dir",
                        str(work_dir / f"worker-{index}"),
                    ],
                    cluster_env,
                    log_dir / f"worker-{index}.log",
                )
            )
        _wait_for_workers(ui_port, workers, started)
    except BaseException:
        stop_cluster(tuple(started))
        raise
    return LocalCluster(master_url=master_url, pids=tuple(started))


def stop_cluster(pids: tuple[int, ...]) -> None:
    """Stop workers before the master; only processes that are ours (checked by command line)."""
    for pid in reversed(pids):
        if is_cluster_process(pid):
            stop_session(pid)


def is_cluster_process(pid: int) -> bool:
    args = command_line(pid)
    return args is not None and (MASTER_CLASS in args or WORKER_CLASS in args)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return spawn_orphan(command, env, log, umask=0o077)
    except OSError as exc:
        raise EmbeddedServerError(f"{exc} (log: {log})") from None


def _wait_for_workers(ui_port: int, workers: int, pids: list[int]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    alive = 0
    while time.monotonic() < deadline:
        for pid in pids:
            if command_line(pid) is None:
                raise EmbeddedServerError(f"a cluster process (pid {pid}) exited while starting")
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{ui_port}/json/", timeout=2) as reply:
                alive = int(json.load(reply).get("aliveworkers", 0))
        except (OSError, ValueError):
            alive = 0
        if alive >= workers:
            return
        time.sleep(0.5)
    raise EmbeddedServerError(
        f"the local cluster did not get {workers} workers within {READY_TIMEOUT_S:.0f} s "
        f"({alive} registered)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])
