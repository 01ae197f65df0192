"""A long day on the embedded server: N code generations over a big base, a submit every few.

    .venv/bin/python benchmarks/soak.py [--generations 300] [--submit-every 5]
                                        [--report-every 50] [--base-mb 100] [--as-remote]

A project with a `--base-mb` jar (the base layer), a Python package (the code layer) whose
`VERSION` changes at every step, and a UDF that answers the package's version from the
workers. With the project's daemon running, each step writes `VERSION = n`, then asks
`connect sql "SELECT app_version(1)"` (the daemon flushes first: a new generation, a clone of
the base) and checks that the answer is n; every `--submit-every` steps `connect submit` runs
a script on a clone of the generation and checks the same. At 0 and every `--report-every`
steps it prints the server's disk (files under its scratch folder plus deleted files its
processes hold open), the JVM's RSS, its Python processes, the live sessions (from its log)
and the daemon's RSS; then the growth between N/2 and N.

Goals: disk <= (live sessions + 2) x base size at every reading; JVM and daemon RSS within
10 % between N/2 and N; no stale answer. The last line is one JSON object.

`--as-remote` reaches the same server through `SPARK_REMOTE`, as a remote server would be:
sparkpush then cannot reclaim the server's copies, and the figures show what a remote Spark
Connect server keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import bench_server, sigterm_as_interrupt

from sparkpush.state.daemon_paths import daemon_paths
from tests.server_resources import jvm_memory, read_server, rss_bytes

UDFS = """
from pyspark.sql.functions import udf


@udf("string")
def app_version(_):
    import app.version

    return str(app.version.VERSION)
"""

SCRIPT = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("version", spark.sql("SELECT app_version(1) AS v").first()[0])
"""

PYPROJECT = """
[tool.sparkpush.artifacts]
python = ["src/app"]
jars = ["lib/*.jar"]

[tool.sparkpush.udf]
modules = ["udfs.py"]
"""

MB = 1 << 20


def make_project(root: Path, base_mb: int) -> None:
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "__init__.py").write_text("")
    write_version(root, 0)
    (root / "lib").mkdir()
    with zipfile.ZipFile(root / "lib" / "deps.jar", "w", zipfile.ZIP_STORED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for index in range(max(1, base_mb // 50)):
            jar.writestr(f"data/blob{index}.bin", os.urandom(min(base_mb, 50) * MB))
    (root / "udfs.py").write_text(UDFS)
    (root / "app.py").write_text(SCRIPT)
    (root / "pyproject.toml").write_text(PYPROJECT)


def write_version(root: Path, version: int) -> None:
    target = root / "src" / "app" / "version.py"
    staged = target.with_suffix(".tmp")
    staged.write_text(f"VERSION = {version}\n")
    os.replace(staged, target)


def connect(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sparkpush", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def sql_answer(env: dict[str, str], root: Path) -> str:
    done = connect(["sql", "--json", "SELECT app_version(1) AS v"], env, root)
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    return str(json.loads(done.stdout.strip().splitlines()[-1])[0]["v"])


def submit_answer(env: dict[str, str], root: Path) -> str:
    done = connect(["submit", "app.py"], env, root)
    for line in done.stdout.splitlines():
        if line.startswith("version "):
            return line.split(" ", 1)[1]
    return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"


def daemon_rss(root: Path) -> int:
    try:
        pid = int(daemon_paths(root).pid.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return rss_bytes(pid)


def growth(first: float, last: float) -> float:
    return (last - first) / first if first else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    base_bytes = args.base_mb * MB
    with tempfile.TemporaryDirectory(prefix="sparkpush-soak-") as temp, bench_server() as server:
        home = Path(temp)
        state_home = Path(server.state.token_file).parent.parent
        env = {
            **os.environ,
            "XDG_STATE_HOME": str(state_home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("SPARK_REMOTE", "SPARK_CONNECT_AUTHENTICATE_TOKEN"):
            env.pop(key, None)
        if args.as_remote:  # the same server, reached as a remote one: nothing reclaimed
            token = server.token_file.read_text().strip()
            env["SPARK_REMOTE"] = f"sc://localhost:{server.port}/;token={token}"
        root = home / "project"
        make_project(root, args.base_mb)
        scratch = Path(server.state.scratch or state_home / "sparkpush" / "scratch")
        log = Path(server.state.log_file)
        started = connect(["daemon", "start"], env, root)
        if started.returncode != 0:
            raise SystemExit(f"daemon start failed: {started.stderr.strip()}")
        readings: list[dict[str, Any]] = []
        stale: list[str] = []
        began = time.monotonic()
        try:
            first = sql_answer(env, root)
            if first != "0":
                stale.append(f"step 0: sql answered {first!r}")
            for step in range(args.generations + 1):
                if step > 0:
                    write_version(root, step)
                    answer = sql_answer(env, root)
                    if answer != str(step):
                        stale.append(f"step {step}: sql answered {answer!r}")
                    if step % args.submit_every == 0:
                        answer = submit_answer(env, root)
                        if answer != str(step):
                            stale.append(f"step {step}: submit answered {answer!r}")
                if step % args.report_every == 0 or step == args.generations:
                    reading = {
                        "step": step,
                        "seconds": round(time.monotonic() - began, 1),
                        "load": round(os.getloadavg()[0], 1),
                        **read_server(server.state.pid, scratch, log).as_dict(),
                        "daemon_rss": daemon_rss(root),
                        **jvm_memory(server.state.pid),
                    }
                    readings.append(reading)
                    print_reading(reading, base_bytes)
        finally:
            connect(["daemon", "stop"], env, root)
    return summary(args, readings, stale, base_bytes)


def print_reading(r: dict[str, Any], base_bytes: int) -> None:
    print(
        f"step {r['step']:>4} ({r['seconds']:>7.1f} s, load {r['load']:>4}): "
        f"disk {r['disk_bytes'] / MB:8.1f} MB (scratch {r['scratch_bytes'] / MB:.1f}, "
        f"held deleted {r['held_deleted_bytes'] / MB:.1f}; bound "
        f"{(r['live_sessions'] + 2) * base_bytes / MB:.0f}), JVM RSS {r['jvm_rss'] / MB:.0f} MB, "
        f"Python processes {r['python_processes']}, live sessions {r['live_sessions']}, "
        f"daemon RSS {r['daemon_rss'] / MB:.1f} MB; heap {r.get('heap_used', 0) / MB:.0f} "
        f"of {r.get('heap_committed', 0) / MB:.0f} MB, metaspace "
        f"{r.get('metaspace_used', 0) / MB:.0f} MB",
        flush=True,
    )


def summary(
    args: argparse.Namespace, readings: list[dict[str, Any]], stale: list[str], base_bytes: int
) -> dict[str, Any]:
    half = min(readings, key=lambda r: abs(r["step"] - args.generations / 2))
    last = readings[-1]
    jvm_growth = growth(half["jvm_rss"], last["jvm_rss"])
    daemon_growth = growth(half["daemon_rss"], last["daemon_rss"])
    over = [r["step"] for r in readings if r["disk_bytes"] > (r["live_sessions"] + 2) * base_bytes]
    for line in stale:
        print("STALE", line)
    print(
        f"from step {half['step']} to {last['step']}: JVM RSS {jvm_growth:+.1%}, "
        f"daemon RSS {daemon_growth:+.1%}, disk "
        f"{(last['disk_bytes'] - half['disk_bytes']) / MB:+.1f} MB; "
        f"disk over (live + 2) x base at steps {over or 'none'}; stale answers {len(stale)}"
    )
    return {
        "benchmark": "soak",
        "generations": args.generations,
        "submit_every": args.submit_every,
        "base_mb": args.base_mb,
        "as_remote": args.as_remote,
        "machine": f"{os.cpu_count()} cores {platform.machine()}",
        "readings": readings,
        "jvm_rss_growth": round(jvm_growth, 4),
        "daemon_rss_growth": round(daemon_growth, 4),
        "disk_over_bound_at": over,
        "stale": stale,
        "goals_met": not over
        and abs(jvm_growth) <= 0.10
        and abs(daemon_growth) <= 0.10
        and not stale,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--submit-every", type=int, default=5)
    parser.add_argument("--report-every", type=int, default=50)
    parser.add_argument("--base-mb", type=int, default=100)
    parser.add_argument(
        "--as-remote",
        action="store_true",
        help="reach the server through SPARK_REMOTE, as a remote server (what sparkpush "
        "cannot reclaim there stays)",
    )
    args = parser.parse_args()
    with sigterm_as_interrupt():
        result = run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
